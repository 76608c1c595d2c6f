"""Write the ECGFounder test fixtures in ``tests/data/foundation`` with the authors' own code.

The package re-implements ECGFounder's network and preprocessing; the tests
compare it with what the authors' code computes. This script runs their code
(never copied into the package) on randomly initialised models and writes:

- ``ecgfounder-{12,1}lead-reduced.pth``: checkpoints of a reduced configuration
  of the authors' ``Net1D`` (same classes and structure, fewer channels), in
  the released format (``torch.save({"state_dict": ...})``), every parameter
  and buffer random (BatchNorm buffers too, though the released
  configuration never runs them);
- ``ecgfounder-{12,1}lead-released-keys.tsv``: the name and shape of every
  tensor of the released configuration (too large to commit);
- ``ecgfounder-fixtures.npz``: a fixed preprocessed input ``x_pre`` and the
  models' pooled features and 150 logits on it, and on raw records in mV
  passed through the authors' full preprocessing (``util.filter_bandpass``
  then the datasets' ``z_score_normalization``);
- ``ecgfounder-fixtures.json``: the configurations and how the raw records
  are made (PTB-XL sample records shipped with this package, upsampled from
  100 to 500 Hz, plus 50 Hz mains and baseline drift so that every filter
  has work to do; the tests rebuild them the same way).

Get the authors' repository at the commit the fixtures were made from and
run from this repository's root::

    git clone https://github.com/PKUDigitalHealth/ECGFounder /tmp/ECGFounder
    git -C /tmp/ECGFounder checkout 04edac7
    python tools/make_ecgfounder_fixtures.py /tmp/ECGFounder

``--check-released`` writes nothing: it builds the released configuration
with the authors' code (random weights), saves it in the released format and
prints the largest differences of the package's features and probabilities
from theirs, on the fixtures' raw records.

Their ``net1d.py`` imports matplotlib; their ``util.py`` and ``dataset.py``
import packages the preprocessing does not need (h5py, wfdb, torchvision), so
the two functions used are read from the files and run with only the imports
that succeed.
"""

import argparse
import ast
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch

DEFAULT_DEST = Path(__file__).resolve().parents[1] / "tests" / "data" / "foundation"
AUTHORS_COMMIT = "04edac7"

RELEASED = dict(base_filters=64, ratio=1, filter_list=[64, 160, 160, 400, 400, 1024, 1024],
                m_blocks_list=[2, 2, 2, 3, 3, 4, 4], kernel_size=16, stride=2, groups_width=16,
                use_bn=False, use_do=False, n_classes=150)
REDUCED = dict(base_filters=16, ratio=1, filter_list=[16, 32, 32, 48, 48, 64, 64],
               m_blocks_list=[2, 1, 1, 2, 1, 2, 1], kernel_size=16, stride=2, groups_width=16,
               use_bn=False, use_do=False, n_classes=150)

# How the raw records are made (the tests read this from the JSON file).
RAW = dict(ecg_ids=[1, 2, 3], upsample=5, fs=500.0, mains_hz=50.0, mains_mv=0.05,
           drift_hz=0.3, drift_mv=0.4, one_lead="I")
SEED = 0


def raw_records(spec):
    """PTB-XL sample records in mV at 500 Hz, with mains and drift added (float64)."""
    from scipy.signal import resample_poly

    from sklearn_ecg.datasets import load_ptbxl_sample

    data = load_ptbxl_sample(ecg_ids=spec["ecg_ids"])
    x = resample_poly(data.X.astype(np.float64), spec["upsample"], 1, axis=-1)
    t = np.arange(x.shape[-1]) / spec["fs"]
    x = x + spec["mains_mv"] * np.sin(2 * np.pi * spec["mains_hz"] * t)
    x = x + spec["drift_mv"] * np.sin(2 * np.pi * spec["drift_hz"] * t)
    return x, list(data.lead_names)


def _load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_function(path, name, class_name=None):
    """One function of a source file, run with the file's imports that succeed."""
    tree = ast.parse(Path(path).read_text())
    namespace = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            try:
                exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
            except ImportError:
                pass
    body = tree.body
    if class_name is not None:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == class_name).body
    func = next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == name)
    exec(compile(ast.Module([func], []), str(path), "exec"), namespace)
    return namespace[name]


def randomise(model, seed):
    """Every parameter and buffer random: also those the released configuration never runs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
                scale = (1.0 / max(1, fan_in)) ** 0.5
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * scale)


def _authors_code(repo):
    net1d = _load_module(repo / "net1d.py", "ecgfounder_net1d")
    filter_bandpass = _load_function(repo / "util.py", "filter_bandpass")
    z_score = _load_function(repo / "dataset.py", "z_score_normalization",
                             class_name="LVEF_12lead_cls_Dataset")
    return net1d, filter_bandpass, z_score


def check_released(repo, tmp):
    """Compare the package with the authors' code at the released size (random weights)."""
    from sklearn_ecg import load_foundation_model

    net1d, filter_bandpass, z_score = _authors_code(repo)
    x_raw, _ = raw_records(RAW)
    for n_leads, name in ((12, "ecgfounder-12lead"), (1, "ecgfounder-1lead")):
        model = net1d.Net1D(in_channels=n_leads, return_features=True, **RELEASED)
        randomise(model, SEED + n_leads)
        model.eval()
        x = x_raw[:, :n_leads]  # lead I for the single-lead model
        pre = np.stack([z_score(None, filter_bandpass(r, 500)) for r in x])
        with torch.no_grad():
            logits, features = (t.numpy() for t in model(torch.FloatTensor(pre)))
        path = Path(tmp) / f"{name}.pth"
        torch.save({"state_dict": model.state_dict()}, path)
        del model
        ours = load_foundation_model(name, path).transform(x)
        ours_pre = load_foundation_model(name, path, preprocess=False).transform(pre.astype(np.float32))
        proba = load_foundation_model(name, path, kind="classifier").predict_proba(x)
        print(json.dumps({
            "model": name,
            "features_max_abs_diff_preprocessed": float(np.abs(ours_pre - features).max()),
            "features_max_rel_diff_raw": float(np.abs(ours - features).max() / np.abs(features).max()),
            "proba_max_abs_diff_raw": float(np.abs(proba - 1 / (1 + np.exp(-logits))).max()),
        }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a checkout of PKUDigitalHealth/ECGFounder")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--check-released", action="store_true",
                        help="write nothing; compare the package with the authors' code at the "
                             "released size (random weights) and print the largest differences")
    args = parser.parse_args(argv)
    repo, dest = args.repo.resolve(), args.dest
    if args.check_released:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            check_released(repo, tmp)
        return
    dest.mkdir(parents=True, exist_ok=True)

    net1d, filter_bandpass, z_score = _authors_code(repo)
    tasks = (repo / "tasks.txt").read_text().splitlines()

    x_raw, lead_names = raw_records(RAW)
    one = lead_names.index(RAW["one_lead"])
    rng = np.random.default_rng(SEED)
    # A fixed input as the network sees it (z-scored records), stored in float16.
    x_pre = rng.standard_normal((2, 12, 5000)).astype(np.float16)

    arrays = {"x_pre": x_pre}
    config = {"authors_commit": AUTHORS_COMMIT, "reduced": REDUCED, "released": RELEASED,
              "raw": RAW, "n_tasks": len(tasks), "models": {}}
    for n_leads, tag in ((12, "12lead"), (1, "1lead")):
        leads = slice(None) if n_leads == 12 else slice(one, one + 1)
        released = net1d.Net1D(in_channels=n_leads, **RELEASED)
        with open(dest / f"ecgfounder-{tag}-released-keys.tsv", "w") as f:
            for key, tensor in released.state_dict().items():
                f.write(f"{key}\t{','.join(str(s) for s in tensor.shape)}\n")
        n_params = sum(p.numel() for p in released.parameters())
        del released

        torch.manual_seed(SEED)
        model = net1d.Net1D(in_channels=n_leads, return_features=True, **REDUCED)
        randomise(model, SEED + n_leads)
        model.eval()
        path = dest / f"ecgfounder-{tag}-reduced.pth"
        torch.save({"state_dict": model.state_dict()}, path)

        # (b) raw records in mV through the authors' preprocessing, record by record.
        pre = np.stack([z_score(None, filter_bandpass(r[leads], 500)) for r in x_raw])
        with torch.no_grad():
            for key, x in (("pre", x_pre[:, leads].astype(np.float32)), ("raw", pre)):
                logits, features = model(torch.FloatTensor(x))
                arrays[f"{tag}_{key}_features"] = features.numpy()
                arrays[f"{tag}_{key}_logits"] = logits.numpy()
        config["models"][tag] = {"checkpoint": path.name, "in_channels": n_leads,
                                 "released_parameters": n_params,
                                 "reduced_parameters": sum(p.numel() for p in model.parameters())}
    np.savez_compressed(dest / "ecgfounder-fixtures.npz", **arrays)
    (dest / "ecgfounder-fixtures.json").write_text(json.dumps(config, indent=2) + "\n")
    print(json.dumps(config["models"], indent=2))


if __name__ == "__main__":
    main()
