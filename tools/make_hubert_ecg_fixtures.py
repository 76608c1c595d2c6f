"""Regenerate tests/data/foundation/hubert_ecg/ with the HuBERT-ECG authors' code.

Usage::

    python tools/make_hubert_ecg_fixtures.py PATH/TO/HuBERT-ECG [OUT_DIR]

``PATH/TO/HuBERT-ECG`` is a checkout of https://github.com/Edoar-do/HuBERT-ECG
(the fixtures were made at affe1f9). Needs torch, transformers, scipy, pandas,
joblib and biosppy (only ``biosppy.signals.tools`` is imported, so biosppy's
own optional dependencies are not needed). The script

* builds the authors' ``HuBERTECG`` (``code/hubert_ecg.py``) at a reduced size
  with the released 100 Hz feature encoder (kernels 10,3,3,2,2; strides
  4,2,2,2,2), perturbs every tensor so that no LayerNorm or bias keeps its
  trivial value, and saves it (a) as the ``.pt`` dict that ``pretrain.py``
  writes (``model_config`` — the config object — , ``model_state_dict``,
  step counters, vocabulary sizes; the optimizer and scheduler states are
  left out), (b) the same with the position convolution's weight-norm tensors
  under the names older torch versions use (``weight_g``/``weight_v``), and
  (c) as a ``transformers`` folder (``save_pretrained``: config.json +
  model.safetensors);
* computes the authors' embedding, the time average of ``last_hidden_state``
  (``hubert_ecg_classification.py`` with ``attention_mask=None``), for
  (a) a fixed random input of 6,000 samples and (b) raw PTB-XL records in mV
  through the authors' preprocessing (``utils.ecg_preprocessing``: biosppy FIR
  band-pass 0.05-47 Hz, FFT resampling to 500 Hz, min-max scaling per lead)
  and their ``ECGDataset`` (first 5 s, NaN filling, the 12 leads concatenated,
  ``scipy.signal.decimate`` by 5);
* writes the key-and-shape lists of the released small, base and large models.
"""

import ast
import os
import sys
import tempfile
import types

import numpy as np
import pandas as pd
import torch
from scipy.signal import resample

from _fixture_io import write_key_shapes

REDUCED = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               classifier_proj_size=16)
SIZES = {  # finetune.py:198-216
    "small": dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
                  intermediate_size=2048, classifier_proj_size=256),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, classifier_proj_size=256),
    "large": dict(hidden_size=960, num_hidden_layers=16, num_attention_heads=12,
                  intermediate_size=3840, classifier_proj_size=512),
}
ENCODER_100HZ = dict(conv_kernel=(10, 3, 3, 2, 2), conv_stride=(4, 2, 2, 2, 2), conv_dim=(512,) * 5)


def raw_records():
    """Raw test records in mV: {name: (X, fs)}."""
    from sklearn_ecg.datasets import load_ptbxl_sample

    x100 = load_ptbxl_sample(ecg_ids=[1, 2, 3, 4]).X.astype(np.float64)
    x500 = resample(x100[2:], 5000, axis=-1)[..., :3000].astype(np.float32)
    return {"raw_100hz_10s": (x100.astype(np.float32), 100), "raw_500hz_6s": (x500, 500)}


def authors_functions(path, names, namespace):
    """The named top-level functions of a source file, without importing the file."""
    tree = ast.parse(open(path).read())
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    exec(compile(tree, path, "exec"), namespace)
    return [namespace[n] for n in names]


def import_biosppy_tools():
    """biosppy.signals.tools without biosppy's package __init__ (and its many imports)."""
    import importlib.util

    spec = importlib.util.find_spec("biosppy")
    root = spec.submodule_search_locations[0]
    for name, path in (("biosppy", root), ("biosppy.signals", os.path.join(root, "signals"))):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules.setdefault(name, module)
    from biosppy.signals.tools import filter_signal
    return filter_signal


def main(repo, out_dir):
    code = os.path.join(os.path.abspath(repo), "code")
    sys.path.insert(0, code)
    # dataset.py imports loguru (logging) and neurokit2 (beat-based masks only).
    if "loguru" not in sys.modules:
        loguru = types.ModuleType("loguru")
        loguru.logger = types.SimpleNamespace(info=print, warning=print, debug=print)
        sys.modules["loguru"] = loguru
    sys.modules.setdefault("neurokit2", types.ModuleType("neurokit2"))
    from dataset import ECGDataset
    from hubert_ecg import HuBERTECG, HuBERTECGConfig

    filter_signal = import_biosppy_tools()
    ecg_preprocessing, = authors_functions(
        os.path.join(code, "utils.py"), ["apply_filter", "scaling", "ecg_preprocessing"],
        {"np": np, "resample": resample, "filter_signal": filter_signal})[-1:]

    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    config = HuBERTECGConfig(**REDUCED, conv_kernel=ENCODER_100HZ["conv_kernel"],
                             conv_stride=ENCODER_100HZ["conv_stride"], conv_dim=(32,) * 5,
                             vocab_sizes=[10],
                             ensemble_length=1)
    model = HuBERTECG(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert "encoder.pos_conv_embed.conv.parametrizations.weight.original0" in state
    base = {"global_step": 100, "patience_count": 0, "model_config": model.config,
            "model_state_dict": state, "best_val_loss": 1.0, "best_val_accuracy": 0.5,
            "pretraining_vocab_sizes": [10]}
    torch.save(base, os.path.join(out_dir, "hubert_ecg_reduced.pt"))
    old_names = {k.replace("parametrizations.weight.original0", "weight_g")
                 .replace("parametrizations.weight.original1", "weight_v"): v
                 for k, v in state.items()}
    torch.save({**base, "model_state_dict": old_names},
               os.path.join(out_dir, "hubert_ecg_reduced_weight_g.pt"))
    model.save_pretrained(os.path.join(out_dir, "hf_folder"))

    def embed(x):
        with torch.no_grad():
            out = model(torch.as_tensor(x, dtype=torch.float32), attention_mask=None,
                        output_attentions=False, output_hidden_states=False, return_dict=True)
            return out.last_hidden_state.mean(dim=1).numpy()

    expected = {}
    g = torch.Generator().manual_seed(1)
    same = torch.rand(3, 6000, generator=g) * 2 - 1
    expected["same_input"] = same.numpy()
    expected["same_input_embedding"] = embed(same)

    with tempfile.TemporaryDirectory() as tmp:
        for name, (x, fs) in raw_records().items():
            files = []
            for i, record in enumerate(x):
                fname = f"{name}_{i}.npy"
                np.save(os.path.join(tmp, fname), ecg_preprocessing(record, fs))
                files.append(fname)
            csv = os.path.join(tmp, f"{name}.csv")
            pd.DataFrame({"filename": files, "label": 0}).to_csv(csv, index=False)
            dataset = ECGDataset(path_to_dataset_csv=csv, ecg_dir_path=tmp, downsampling_factor=5,
                                 label_start_index=1, pretrain=False,
                                 encode=True)
            inputs = np.stack([dataset[i][0].numpy() for i in range(len(dataset))])
            expected[name] = np.asarray(x, dtype=np.float32)
            expected[f"{name}_fs"] = np.asarray(fs)
            expected[f"{name}_input"] = inputs
            expected[f"{name}_embedding"] = embed(inputs)
    np.savez_compressed(os.path.join(out_dir, "expected.npz"), **expected)

    shapes = {}
    for size, dims in SIZES.items():
        with torch.device("meta"):
            released = HuBERTECG(HuBERTECGConfig(**dims, **ENCODER_100HZ, vocab_sizes=[100],
                                                 ensemble_length=1))
        shapes[size] = {k: list(v.shape) for k, v in released.state_dict().items()}
        write_key_shapes(shapes[size], os.path.join(out_dir, f"released_keys_{size}.json"))
    print(f"wrote {out_dir}: {sorted(os.listdir(out_dir))}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2
         else os.path.join(here, "tests", "data", "foundation", "hubert_ecg"))
