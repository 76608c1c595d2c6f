"""Regenerate the MERL test fixtures with the authors' own code.

MERL (Liu et al., ICML 2024) is read from a snapshot of its authors'
repository, never copied into this one::

    git clone https://github.com/cheliu-computation/MERL-ICML2024 /tmp/merl
    pip install einops            # their vit1d.py needs it
    python tools/make_merl_fixtures.py /tmp/merl

The script imports their ``utils/resnet1d.py``, ``utils/vit1d.py``,
``utils/utils_builder.py`` (``ECGCLIP``), ``utils/zeroshot_val.py`` and
``finetune/finetune_dataset.py`` without editing them. Three things keep
their code from running offline on a CPU and are worked around from the
outside: ``from cgi import test`` (``cgi`` left the standard library in
Python 3.13: a stand-in module is put in ``sys.modules`` when it is missing),
an unused ``import torchvision`` (a stand-in as well when it is not
installed), and the MedCPT text model downloaded in ``ECGCLIP.__init__``
(``network_config['text_model']`` is given the folder of a tiny randomly
initialised ``BertModel`` with a WordPiece vocabulary written here). Their
zero-shot functions are called with ``device='cpu'`` instead of their
default ``'cuda'``, and without ``DataParallel``.

What is written under ``--out`` (default ``tests/data/foundation/merl``):

- ``merl_{resnet18,vit_tiny}_ckpt.pth``: ``ECGCLIP.state_dict()``, the
  format of the released ``*_ckpt.pth`` (encoder, ECG and text projection
  heads and ``lm_model.*``);
- ``merl_{resnet18,vit_tiny}_encoder.pth``: ``ecg_encoder.state_dict()``,
  the format of the released ``*_encoder.pth``;
- ``text_model/``: the tiny BERT's ``config.json`` and tokenizer files (its
  weights are the ``lm_model.*`` entries of the checkpoints);
- ``merl_{resnet18,vit_tiny}_expected.npz``: inputs and the outputs of the
  authors' code (see ``_expected``);
- ``released_keys.json``: every key and shape of ``ECGCLIP.state_dict()``
  and of the bare encoder at the released size (ResNet1d-18, ViT-tiny),
  without ``lm_model.*``.

The released models are small (ResNet1d-18: 3.85 M parameters; ViT-tiny:
5.47 M) but their checkpoints together with a text model that projects from
768-d would weigh about 80 MB, so the committed checkpoints are of *reduced
configurations of the same classes*: ``ResNet(BasicBlock, [1, 1, 1, 1])``
(one block per stage instead of two) and ``ViT(depth=2)`` (two blocks
instead of twelve), with a BERT of width 768 (``proj_t`` takes 768-d input)
and no transformer layer. ``--released`` builds the released configurations
instead and writes them to another folder (nothing is committed from it):
``--compare`` then checks the package's loader against the authors' code at
that size and prints the largest differences.
"""

import argparse
import importlib.util
import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "data" / "foundation" / "merl"

# MIMIC-IV-ECG's lead order, the order MERL was pretrained in.
PTBXL_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

# Prompts: entries of their CKEPE_prompt.json (read from the snapshot).
PROMPT_KEYS = ["NORM", "IMI", "AFIB", "LVH", "CLBBB"]

# Whole words of the tiny vocabulary; anything else is spelled letter by letter.
WORDS = ["normal", "ecg", "sinus", "rhythm", "myocardial", "infarction", "inferior",
         "atrial", "fibrillation", "left", "bundle", "branch", "block", "ventricular",
         "hypertrophy", "the", "of", "and", "with", "wave", "st", "t"]


def import_authors_code(repo):
    """Import MERL's modules from the snapshot ``repo`` (their files are not touched)."""
    repo = Path(repo).resolve()
    if not (repo / "utils" / "utils_builder.py").is_file():
        raise SystemExit(f"{repo} is not a snapshot of MERL-ICML2024 (no utils/utils_builder.py).")
    if importlib.util.find_spec("cgi") is None:
        # `from cgi import test` (unused) on Python >= 3.13.
        stub = types.ModuleType("cgi")
        stub.test = None
        sys.modules["cgi"] = stub
    for sub in ("utils", "finetune"):
        sys.path.insert(0, str(repo / sub))
    import transformers  # noqa: F401  (before the stand-in below, which it would probe)

    stand_in = importlib.util.find_spec("torchvision") is None
    if stand_in:
        sys.modules["torchvision"] = types.ModuleType("torchvision")  # imported, never used
    try:
        import utils_builder
    finally:
        if stand_in:
            del sys.modules["torchvision"]
    import finetune_dataset
    import resnet1d
    import vit1d
    import zeroshot_val

    return types.SimpleNamespace(resnet1d=resnet1d, vit1d=vit1d, builder=utils_builder,
                                 zeroshot=zeroshot_val, dataset=finetune_dataset, repo=repo)


def write_tiny_text_model(folder, seed):
    """A randomly initialised BertModel of width 768 and its WordPiece tokenizer, saved to ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    punct = list(".,;:-/()'%+")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + letters + punct
    vocab += ["##" + c for c in letters] + WORDS
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    config = BertConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=0,
                        num_attention_heads=12, intermediate_size=64,
                        max_position_embeddings=256, type_vocab_size=2)
    torch.manual_seed(seed)
    model = BertModel(config)
    randomise_norms(model, seed + 1)
    model.save_pretrained(str(folder))
    return folder


def randomise_norms(module, seed):
    """Give normalisation layers non-trivial weights and running statistics.

    Freshly built, a BatchNorm in eval mode is the identity and a LayerNorm
    has unit scale; random values make the comparison see every one of them.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))


def build_authors_model(code, ecg_model, text_folder, reduced, seed):
    """``ECGCLIP`` built by the authors' code, randomly initialised, in eval mode."""
    config = {
        "ecg_model": ecg_model,
        "num_leads": 12,
        "text_model": str(text_folder),
        "projection_head": {"mlp_hidden_size": 256, "projection_size": 256},
    }
    saved = code.builder.ResNet18, code.builder.vit_tiny
    if reduced:
        # The same classes, fewer blocks (see the module docstring).
        code.builder.ResNet18 = lambda: code.resnet1d.ResNet(code.resnet1d.BasicBlock, [1, 1, 1, 1])
        code.builder.vit_tiny = lambda num_leads: code.vit1d.ViT(
            num_leads=num_leads, seq_len=5000, patch_size=50, width=192, depth=2, heads=3,
            mlp_dim=768)
    try:
        torch.manual_seed(seed)
        model = code.builder.ECGCLIP(config)
    finally:
        code.builder.ResNet18, code.builder.vit_tiny = saved
    # Their ECGCLIP re-reads the text model from text_folder; keep its
    # randomised LayerNorms and give the rest of the model random norms too.
    randomise_norms(model.ecg_encoder, seed + 1)
    if not hasattr(model.tokenizer, "batch_encode_plus"):
        # transformers >= 5 dropped batch_encode_plus, which their _tokenize
        # calls; it was the tokenizer's __call__ on a batch.
        tokenizer = model.tokenizer
        tokenizer.batch_encode_plus = lambda batch_text_or_text_pairs, **kw: tokenizer(
            batch_text_or_text_pairs, **kw)
    for name in ("proj_e",):
        if hasattr(model, name):
            randomise_norms(getattr(model, name), seed + 2)
    return model.eval()


def synthetic_raw_records(n, length, seed):
    """Records in mV at 500 Hz, PTB-XL lead order: PTB-XL sample records (100 Hz) upsampled, plus noise."""
    sys.path.insert(0, str(ROOT))
    from sklearn_ecg.datasets import load_ptbxl_sample

    data = load_ptbxl_sample()
    rng = np.random.default_rng(seed)
    t100 = np.arange(data.X.shape[2]) / 100.0
    t500 = np.arange(length) / 500.0 % t100[-1]
    out = np.empty((n, 12, length))
    for i in range(n):
        for lead in range(12):
            out[i, lead] = np.interp(t500, t100, data.X[i, lead])
    return out + 0.01 * rng.standard_normal(out.shape)


def read_through_authors_dataset(code, raw, folder):
    """Write ``raw`` (n, 12, T) mV as WFDB records, read them back through MERL's PTB-XL dataset.

    Returns the records as ``wfdb.rdsamp`` gives them to MERL (n, 12, T) and
    the tensors MERL's ``ECGDataset`` makes of them (n, 12, 5000): first 5000
    samples, min-max over the record, aVL and aVF swapped.
    """
    import pandas as pd
    import wfdb

    names = []
    for i, record in enumerate(raw):
        name = f"rec{i}"
        wfdb.wrsamp(name, fs=500, units=["mV"] * 12, sig_name=PTBXL_LEADS, p_signal=record.T,
                    fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                    write_dir=str(folder))
        names.append(name)
    meta = {c: [0] * len(names) for c in ("ecg_id", "patient_id", "age", "sex", "strat_fold")}
    table = pd.DataFrame({**meta, "filename_hr": names, "NORM": [1] * len(names)})
    dataset = code.dataset.ECGDataset(str(folder), table, mode="test", dataset_name="ptbxl")
    read = np.stack([wfdb.rdsamp(str(folder / n))[0].T for n in names])
    inputs = torch.stack([dataset[i][0] for i in range(len(names))])
    return read, inputs


def _expected(code, model, ecg_model, x, prompts):
    """Outputs of the authors' code for the preprocessed records ``x`` (n, 12, 5000)."""
    with torch.no_grad():
        feature_map = model.ecg_encoder(x)
        if ecg_model == "resnet18":
            # Their linear probe: AdaptiveAvgPool1d over the last stage's map.
            encoder = model.ecg_encoder.avgpool(feature_map).view(len(x), -1)
        else:
            encoder = feature_map
        projected = model.ext_ecg_emb(x)
        tokens = model._tokenize([p.lower() for p in prompts])
        pooled = model.get_text_emb(tokens.input_ids, tokens.attention_mask)
        text = model.proj_t(pooled)
    weights = code.zeroshot.get_class_emd(model, prompts, device="cpu")
    loader = [(x, torch.zeros(len(x)))]
    sims = code.zeroshot.get_ecg_emd(model, loader, weights, device="cpu", softmax_eval=True)
    return {
        "encoder": encoder.numpy(),
        "projected": projected.numpy(),
        "text_projected": text.numpy(),
        "class_embeddings": weights.T.numpy(),
        "similarities": np.asarray(sims),
    }


def released_keys(code, text_folder):
    """Keys and shapes of the released configurations' state dicts (without ``lm_model.*``)."""
    out = {}
    for ecg_model in ("resnet18", "vit_tiny"):
        model = build_authors_model(code, ecg_model, text_folder, reduced=False, seed=0)
        full = {k: list(v.shape) for k, v in model.state_dict().items() if not k.startswith("lm_model.")}
        out[ecg_model] = {
            "ckpt": full,
            "encoder": {k: list(v.shape) for k, v in model.ecg_encoder.state_dict().items()},
            "n_parameters_encoder": sum(p.numel() for p in model.ecg_encoder.parameters()),
        }
    return out


def _compact_json(tables):
    """JSON with one key (and its shape) per line."""
    lines = ["{"]
    for i, (model, parts) in enumerate(tables.items()):
        lines.append(f" {json.dumps(model)}: {{")
        for j, (part, value) in enumerate(parts.items()):
            end = "," if j < len(parts) - 1 else ""
            if isinstance(value, dict):
                lines.append(f"  {json.dumps(part)}: {{")
                rows = [f"   {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
                lines.append(",\n".join(rows))
                lines.append("  }" + end)
            else:
                lines.append(f"  {json.dumps(part)}: {json.dumps(value)}{end}")
        lines.append(" }" + ("," if i < len(tables) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="folder of a MERL-ICML2024 snapshot")
    parser.add_argument("--out", default=None, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--released", action="store_true",
                        help="build the released configurations (not committed)")
    parser.add_argument("--compare", action="store_true",
                        help="load the written checkpoints with the package and print the largest differences")
    args = parser.parse_args(argv)
    code = import_authors_code(args.repo)
    out = Path(args.out) if args.out else DEFAULT_OUT
    if args.released and args.out is None:
        raise SystemExit("--released needs --out: its checkpoints are not committed.")
    out.mkdir(parents=True, exist_ok=True)
    text_folder = write_tiny_text_model(out / "text_model", seed=1)
    prompt_table = json.loads((code.repo / "zeroshot" / "CKEPE_prompt.json").read_text())
    prompts = [prompt_table[k] for k in PROMPT_KEYS]

    raw = synthetic_raw_records(3, 5200, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        raw_read, raw_inputs = read_through_authors_dataset(code, raw, Path(tmp))
    # A fixed preprocessed input, in [0, 1] like MERL's.
    rng = np.random.default_rng(1)
    x_fixed = rng.random((2, 12, 5000)).cumsum(axis=2)
    x_fixed = (x_fixed - x_fixed.min(axis=(1, 2), keepdims=True)) / np.ptp(x_fixed, axis=(1, 2), keepdims=True)
    x_fixed = torch.from_numpy(x_fixed.astype(np.float32))

    for seed, ecg_model in enumerate(("resnet18", "vit_tiny"), start=10):
        model = build_authors_model(code, ecg_model, text_folder, reduced=not args.released, seed=seed)
        torch.save(model.state_dict(), out / f"merl_{ecg_model}_ckpt.pth")
        if args.released:
            # Committed fixtures leave it out (it is the ckpt's ecg_encoder.* entries).
            torch.save(model.ecg_encoder.state_dict(), out / f"merl_{ecg_model}_encoder.pth")
        fixed = _expected(code, model, ecg_model, x_fixed, prompts)
        from_raw = _expected(code, model, ecg_model, raw_inputs, prompts)
        arrays = {"x": x_fixed.numpy(), "raw_mv": raw_read.astype(np.float32),
                  "raw_inputs": raw_inputs.numpy(), "prompts": np.asarray(prompts),
                  "prompt_keys": np.asarray(PROMPT_KEYS)}
        arrays.update({k: v for k, v in fixed.items()})
        arrays.update({f"raw_{k}": v for k, v in from_raw.items()})
        np.savez_compressed(out / f"merl_{ecg_model}_expected.npz", **arrays)
        print(f"{ecg_model}: {sum(p.numel() for p in model.ecg_encoder.parameters()):,} encoder "
              f"parameters, {sum(p.numel() for p in model.parameters()):,} in all")
    if not args.released:
        (out / "released_keys.json").write_text(_compact_json(released_keys(code, text_folder)),
                                                encoding="utf-8")
        # Only the configuration and tokenizer are kept: the weights are lm_model.* of the checkpoints.
        for heavy in ("model.safetensors", "pytorch_model.bin"):
            (text_folder / heavy).unlink(missing_ok=True)
    if args.compare:
        compare(out, text_folder, reduced=not args.released)


def compare(out, text_folder, reduced):
    """Load every checkpoint in ``out`` with the package and print the largest differences."""
    sys.path.insert(0, str(ROOT))
    from sklearn_ecg.foundation import MERLEmbedder

    lead_names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for ecg_model, name in (("resnet18", "merl-resnet18"), ("vit_tiny", "merl-vit-tiny")):
        arch = None
        if reduced:
            arch = {"resnet_blocks": [1, 1, 1, 1]} if ecg_model == "resnet18" else {"vit": {"depth": 2}}
        ref = np.load(out / f"merl_{ecg_model}_expected.npz")
        files = [out / f"merl_{ecg_model}_ckpt.pth", out / f"merl_{ecg_model}_encoder.pth"]
        for path in [f for f in files if f.exists()]:
            outputs = ["encoder", "projected"] if path.name.endswith("_ckpt.pth") else ["encoder"]
            for output in outputs:
                model = MERLEmbedder(name, path, output=output, text_model=text_folder,
                                     architecture=arch).fit()
                steps = model.input_pipeline(fs=500, lead_names=lead_names)
                fixed = np.abs(model.transform(ref["x"]) - ref[output]).max()
                raw = model.transform(steps.transform(ref["raw_mv"]))
                rel = np.abs(raw - ref[f"raw_{output}"]).max() / np.abs(ref[f"raw_{output}"]).max()
                print(f"{name} {path.name} {output}: max |difference| {fixed:.2e} on the "
                      f"preprocessed input; {rel:.2e} of the largest value from raw mV")
            if output == "projected":
                text = model.encode_text([str(p) for p in ref["prompts"]])
                sims = model.encode_ecg(ref["x"]) @ text.T
                print(f"{name} zero-shot similarities: max |difference| "
                      f"{np.abs(sims - ref['similarities']).max():.2e}")


if __name__ == "__main__":
    main()
