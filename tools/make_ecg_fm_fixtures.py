"""Regenerate tests/data/foundation/ecg_fm/ with fairseq-signals' and ecg-transform's code.

Usage::

    python tools/make_ecg_fm_fixtures.py PATH/TO/fairseq-signals [OUT_DIR]

``PATH/TO/fairseq-signals`` is a checkout of
https://github.com/Jwoo5/fairseq-signals (the fixtures were made at 6b9e137);
``ecg_transform`` (PyPI ``ecg-transform``, the preprocessing of ECG-FM's
inference notebook) must be importable, with torch and scipy.

fairseq-signals itself cannot be imported on Python 3.11 (its dataclass
configs use mutable defaults, and its package ``__init__`` registers them with
hydra), so the script loads its ``fairseq_signals.modules`` without the
package's ``__init__`` and runs the model's own forward code:
``ECGTransformerModel.get_embeddings`` and ``get_output``
(``models/ecg_transformer.py``) are taken from the source file and bound to a
module holding the same layers, built as ``ECGTransformerModel.__init__``
and ``TransformerModel.__init__`` build them (``ConvFeatureExtraction``,
``LayerNorm``, ``post_extract_proj``, ``ConvPositionalEncoding``,
``TransformerEncoder``). The script

* builds that encoder at a reduced size with random weights perturbed so that
  no LayerNorm or bias keeps its trivial value, and saves it as fairseq
  checkpoints (``{'args', 'cfg', 'model', ...}`` as ``Trainer.state_dict``
  writes them): the pretraining model (with ``mask_emb``, the quantizer,
  ``project_q`` and ``final_proj``) and the fine-tuned classifier
  (``encoder.*`` and ``proj``);
* computes the embedding of ``ecg_transformer_classifier.py`` (the encoder's
  output summed over time and divided by the count of its non-zero entries)
  for (a) a fixed preprocessed input and (b) raw PTB-XL records in mV through
  the inference notebook's transforms (``LinearResample`` to 500 Hz,
  ``HandleConstantLeads``, ``Standardize``, ``SegmentNonoverlapping`` of 5 s),
  one embedding per segment;
* writes the key-and-shape list of the released configuration.
"""

import ast
import os
import sys
import types

import numpy as np
import torch
from torch import nn

from _fixture_io import write_key_shapes

REDUCED = dict(conv_feature_layers="[(32, 2, 2)] * 4", encoder_embed_dim=64, encoder_layers=2,
               encoder_attention_heads=4, encoder_ffn_embed_dim=128, conv_pos=16,
               conv_pos_groups=4)
RELEASED = dict(conv_feature_layers="[(256, 2, 2)] * 4", encoder_embed_dim=768,
                encoder_layers=12, encoder_attention_heads=12, encoder_ffn_embed_dim=3072,
                conv_pos=128, conv_pos_groups=16)


def config(sizes):
    """The model config fields the encoder reads, at fairseq-signals' defaults otherwise."""
    return types.SimpleNamespace(
        in_d=12, extractor_mode="default", conv_bias=False, feature_grad_mult=0.0,
        dropout=0.1, attention_dropout=0.1, activation_dropout=0.0, encoder_layerdrop=0.0,
        dropout_input=0.0, dropout_features=0.0, layer_norm_first=False, saliency=False,
        apply_mask=True, **sizes)


def import_modules(repo):
    root = os.path.join(os.path.abspath(repo), "fairseq_signals")
    for name, path in (("fairseq_signals", root),
                       ("fairseq_signals.distributed", os.path.join(root, "distributed"))):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    utils = types.ModuleType("fairseq_signals.distributed.utils")  # only for GatherLayer
    sys.modules["fairseq_signals.distributed.utils"] = utils
    import fairseq_signals.modules as modules
    return modules


def authors_methods(path, class_name, names, namespace):
    """Methods of a class in a source file, compiled without importing the file."""
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    funcs = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name in names]
    exec(compile(ast.Module(body=funcs, type_ignores=[]), path, "exec"), namespace)
    return namespace


def build_encoder(modules, methods, cfg):
    class ECGTransformerEncoder(nn.Module):
        get_embeddings = methods["get_embeddings"]
        get_output = methods["get_output"]

        def __init__(self):
            super().__init__()
            layers = eval(cfg.conv_feature_layers)  # as ECGTransformerModel.__init__ does
            self.cfg = cfg
            self.embed = layers[-1][0]
            # TransformerModel.__init__
            self.mask_emb = nn.Parameter(torch.FloatTensor(cfg.encoder_embed_dim).uniform_())
            self.dropout_input = nn.Dropout(cfg.dropout_input)
            self.dropout_features = nn.Dropout(cfg.dropout_features)
            self.encoder = modules.TransformerEncoder(cfg)
            # ECGTransformerModel.__init__
            self.feature_extractor = modules.ConvFeatureExtraction(
                conv_layers=layers, in_d=cfg.in_d, dropout=0.0, mode=cfg.extractor_mode,
                conv_bias=cfg.conv_bias)
            self.post_extract_proj = (nn.Linear(self.embed, cfg.encoder_embed_dim)
                                      if self.embed != cfg.encoder_embed_dim else None)
            self.feature_grad_mult = cfg.feature_grad_mult
            self.conv_pos = modules.ConvPositionalEncoding(cfg)
            self.layer_norm = modules.LayerNorm(self.embed)

        def forward(self, source):
            x, padding_mask = self.get_embeddings(source, None)
            return self.get_output(x, padding_mask)["x"]

    return ECGTransformerEncoder()


def pooled(x):
    """ecg_transformer_classifier.py: ``torch.div(x.sum(dim=1), (x != 0).sum(dim=1))``."""
    return torch.div(x.sum(dim=1), (x != 0).sum(dim=1))


def raw_records():
    from scipy.signal import resample
    from sklearn_ecg.datasets import load_ptbxl_sample

    x100 = load_ptbxl_sample(ecg_ids=[1, 2, 3]).X.astype(np.float32)
    x250 = resample(x100[1:].astype(np.float64), 2500, axis=-1)[..., :2000].astype(np.float32)
    x250[1, 4] = 0.3  # a constant lead
    return {"raw_100hz_10s": (x100, 100), "raw_250hz_8s": (x250, 250)}


def authors_segments(x, fs):
    """The inference notebook's transforms (ecg_transform), record by record."""
    from ecg_transform.inp import ECGInput, ECGInputSchema
    from ecg_transform.sample import ECGMetadata, ECGSample
    from ecg_transform.t.common import HandleConstantLeads, LinearResample, ReorderLeads
    from ecg_transform.t.cut import SegmentNonoverlapping
    from ecg_transform.t.scale import Standardize

    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    schema = ECGInputSchema(sample_rate=500, expected_lead_order=leads, required_num_samples=2500)
    transforms = [ReorderLeads(expected_order=leads, missing_lead_strategy="raise"),
                  LinearResample(desired_sample_rate=500), HandleConstantLeads(strategy="zero"),
                  Standardize(), SegmentNonoverlapping(segment_length=2500)]
    out = []
    for record in x:
        meta = ECGMetadata(sample_rate=fs, num_samples=record.shape[1], lead_names=leads,
                           unit=None, input_start=0, input_end=record.shape[1])
        sample = ECGSample(ECGInput(record, meta), schema, transforms)
        out.append(np.stack([np.asarray(s.signal, dtype=np.float32) for s in sample.input_processed]))
    return out


def main(repo, out_dir):
    modules = import_modules(repo)
    methods = authors_methods(os.path.join(repo, "fairseq_signals/models/ecg_transformer.py"),
                              "ECGTransformerModel", ["get_embeddings", "get_output"],
                              {"torch": torch, "GradMultiply": modules.GradMultiply})
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    cfg = config(REDUCED)
    encoder = build_encoder(modules, methods, cfg)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    encoder.eval()

    # wav2vec2_cmsc pretraining extras (Wav2Vec2Model.__init__ with quantize_targets)
    final_dim = 16
    extras = nn.Module()
    extras.quantizer = modules.GumbelVectorQuantizer(
        dim=encoder.embed, num_vars=8, temp=(2, 0.5, 0.999995), groups=2, combine_groups=False,
        vq_dim=final_dim, time_first=True)
    extras.project_q = nn.Linear(final_dim, final_dim)
    extras.final_proj = nn.Linear(cfg.encoder_embed_dim, final_dim)
    state = {k: v.clone() for k, v in encoder.state_dict().items()}
    assert any("parametrizations.weight.original0" in k for k in state)
    model_cfg = {"_name": "wav2vec2_cmsc", **vars(cfg), "final_dim": final_dim}
    common = {"args": None, "criterion": None, "task_state": {},
              "optimizer_history": [{"criterion_name": "Wav2Vec2Criterion",
                                     "optimizer_name": "FairseqAdam",
                                     "lr_scheduler_state": {"best": None}, "num_updates": 10}],
              "extra_state": {"metrics": {}, "previous_training_time": 1.0}}
    torch.save({**common, "cfg": {"model": model_cfg, "task": {"sample_rate": 500}},
                "model": {**state, **extras.state_dict()}},
               os.path.join(out_dir, "ecg_fm_reduced_pretrained.pt"))
    proj = nn.Linear(cfg.encoder_embed_dim, 5)
    finetuned = {f"encoder.{k}": v for k, v in state.items() if k != "mask_emb"}
    finetuned.update({f"proj.{k}": v for k, v in proj.state_dict().items()})
    torch.save({**common, "cfg": {"model": {**model_cfg, "_name": "ecg_transformer_classifier",
                                            "num_labels": 5}}, "model": finetuned},
               os.path.join(out_dir, "ecg_fm_reduced_finetuned.pt"))

    expected = {}
    g = torch.Generator().manual_seed(1)
    same = torch.randn(3, 12, 2500, generator=g)
    with torch.no_grad():
        expected["same_input"] = same.numpy()
        expected["same_input_embedding"] = pooled(encoder(same)).numpy()
        for name, (x, fs) in raw_records().items():
            segments = authors_segments(x, fs)
            expected[name] = x
            expected[f"{name}_fs"] = np.asarray(fs)
            if fs != 100:  # one set of the transforms' outputs (the 100 Hz ones would be large)
                expected[f"{name}_segments"] = np.stack(segments)
            expected[f"{name}_segment_embeddings"] = np.stack(
                [pooled(encoder(torch.from_numpy(s))).numpy() for s in segments])
    np.savez_compressed(os.path.join(out_dir, "expected.npz"), **expected)

    released = build_encoder(modules, methods, config(RELEASED))
    shapes = {k: list(v.shape) for k, v in released.state_dict().items()}
    write_key_shapes(shapes, os.path.join(out_dir, "released_keys.json"))
    print(f"wrote {out_dir}: {sorted(os.listdir(out_dir))}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2
         else os.path.join(here, "tests", "data", "foundation", "ecg_fm"))
