"""Regenerate tests/data/foundation/st_mem/ with the ST-MEM authors' code.

Usage::

    python tools/make_st_mem_fixtures.py PATH/TO/ST-MEM [OUT_DIR]

``PATH/TO/ST-MEM`` is a checkout of https://github.com/bakqui/ST-MEM (the
fixtures were made at 69ec702). Its dependencies must be importable: torch,
einops, scipy, pandas, PyYAML. The script

* builds the authors' pretraining model ``ST_MEM`` (reduced size, same
  classes), whose initialisation sets the frozen sine-cosine position
  embedding, perturbs every other tensor so that no LayerNorm or bias keeps
  its trivial value, and saves its encoder as ``main_pretrain.py`` does
  (``encoder.pth``: ``{'epoch', 'model', 'optimizer', 'scaler', 'config'}``)
  and the whole pretraining model (``full.pth``, encoder + decoder);
* runs the authors' ``ST_MEM_ViT`` (built by ``st_mem_vit_base``'s recipe
  at the reduced size and loaded as ``main_downstream.py`` loads it) on
  (a) a fixed random preprocessed batch and (b) raw PTB-XL records in mV
  through the authors' own evaluation pipeline (``ECGDataset`` with
  ``fs_col`` resampling and the ``eval_transforms`` of
  ``configs/downstream/st_mem.yaml``: 3 crops, high-pass, low-pass,
  standardise), averaging the crops' features as ``engine_downstream.evaluate``
  averages their outputs;
* writes the key-and-shape list of the released ViT-B/75 encoder.
"""

import copy
import math
import os
import pickle
import sys
import tempfile
import types

import numpy as np
import torch
from scipy.signal import resample

from _fixture_io import write_key_shapes

REDUCED = dict(embed_dim=64, depth=2, num_heads=2, decoder_embed_dim=32, decoder_depth=1,
               decoder_num_heads=2, mlp_ratio=4)


def raw_records():
    """Raw test records in mV: {name: (X, fs)}."""
    from sklearn_ecg.datasets import load_ptbxl_sample

    x100 = load_ptbxl_sample(ecg_ids=[1, 2, 3, 4]).X.astype(np.float64)
    return {
        "raw_100hz_10s": (x100, 100),
        "raw_100hz_9p5s": (x100[:2, :, :950], 100),
        "raw_500hz_10s": (resample(x100[2:], 5000, axis=-1), 500),
    }


def main(repo, out_dir):
    sys.path.insert(0, os.path.abspath(repo))
    # util/misc.py imports ``inf`` from ``torch._six``, which torch 2 removed.
    six = types.ModuleType("torch._six")
    six.inf = math.inf
    sys.modules.setdefault("torch._six", six)
    import yaml
    from models.encoder import st_mem_vit
    from models.st_mem import ST_MEM
    from util.dataset import ECGDataset
    from util.transforms import Compose, ToTensor, get_transforms_from_config

    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    full = ST_MEM(seq_len=2250, patch_size=75, num_leads=12, **REDUCED)
    with torch.no_grad():
        for name, p in full.named_parameters():
            if "pos_embed" not in name:
                p.add_(0.05 * torch.randn_like(p))
    with open(os.path.join(repo, "configs/downstream/st_mem.yaml")) as f:
        cfg = yaml.safe_load(f)
    torch.save({"epoch": 0, "model": full.encoder.state_dict(), "optimizer": None,
                "scaler": None, "config": copy.deepcopy(cfg)},
               os.path.join(out_dir, "encoder.pth"))
    torch.save({"epoch": 0, "model": full.state_dict(), "optimizer": None, "scaler": None,
                "config": copy.deepcopy(cfg)}, os.path.join(out_dir, "full.pth"))

    # The downstream model, loaded as main_downstream.py loads it.
    model = st_mem_vit.ST_MEM_ViT(seq_len=2250, patch_size=75, num_leads=12, num_classes=None,
                                  width=REDUCED["embed_dim"], depth=REDUCED["depth"],
                                  heads=REDUCED["num_heads"],
                                  mlp_dim=REDUCED["mlp_ratio"] * REDUCED["embed_dim"])
    checkpoint = torch.load(os.path.join(out_dir, "encoder.pth"), map_location="cpu",
                            weights_only=False)
    msg = model.load_state_dict(checkpoint["model"], strict=False)
    assert set(msg.missing_keys) == set() and not msg.unexpected_keys, msg
    model.eval()

    expected = {}
    g = torch.Generator().manual_seed(1)
    same_input = torch.randn(3, 12, 2250, generator=g)
    with torch.no_grad():
        expected["same_input"] = same_input.numpy()
        expected["same_input_embedding"] = model(same_input).numpy()

    transform = Compose(get_transforms_from_config(cfg["dataset"]["eval_transforms"])
                        + [ToTensor()])
    with tempfile.TemporaryDirectory() as tmp:
        for name, (x, fs) in raw_records().items():
            files = []
            for i, record in enumerate(x):
                fname = f"{name}_{i}.pkl"
                with open(os.path.join(tmp, fname), "wb") as f:
                    pickle.dump(record.astype(np.float32), f)
                files.append(fname)
            dataset = ECGDataset(tmp, filenames=files, fs_list=[fs] * len(files),
                                 target_lead="12lead", target_fs=250, transform=transform)
            feats = []
            with torch.no_grad():
                for i in range(len(dataset)):
                    samples = dataset[i][None]  # (1, n_crops, 12, 2250)
                    assert samples.ndim == 4
                    per_crop = torch.stack([model(samples[:, c]) for c in range(samples.size(1))],
                                           dim=1)
                    feats.append(per_crop.mean(dim=1)[0].numpy())
            expected[name] = np.asarray(x, dtype=np.float32)
            expected[f"{name}_fs"] = np.asarray(fs)
            expected[f"{name}_embedding"] = np.stack(feats)
    np.savez_compressed(os.path.join(out_dir, "expected.npz"), **expected)

    released = st_mem_vit.st_mem_vit_base(num_leads=12)
    shapes = {k: list(v.shape) for k, v in released.state_dict().items()}
    write_key_shapes(shapes, os.path.join(out_dir, "released_keys.json"))
    print(f"wrote {out_dir}: {sorted(os.listdir(out_dir))}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2
         else os.path.join(here, "tests", "data", "foundation", "st_mem"))
