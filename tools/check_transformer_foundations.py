"""Released-size models built with the authors' code against the package, on real records.

Usage::

    python tools/check_transformer_foundations.py MODEL AUTHORS_CHECKOUT RECORDS [FS]

MODEL is ``st-mem``, ``hubert-ecg-small|base|large`` or ``ecg-fm``;
AUTHORS_CHECKOUT the checkout given to the model's ``tools/make_*_fixtures.py``
(with the same dependencies importable); RECORDS a folder of WFDB or
PhysioNet/CinC 2021 records (read with ``sklearn_ecg.datasets.load_cinc``)
or ``ptbxl-sample`` (the package's PTB-XL sample, 100 Hz). The script builds
the model at its released size with the authors' code (random weights),
saves it in the released format, embeds up to 3 records with the authors'
full pipeline and with the package (records given in another lead order and
in µV, brought to the model by ``input_pipeline``) and prints the largest
difference relative to the largest embedding value.
"""
import math
import os
import sys
import tempfile
import types
import warnings

import numpy as np
import torch

from sklearn_ecg.foundation import FoundationEmbedder

which, repo, records = sys.argv[1:4]
TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
if records == "ptbxl-sample":
    from sklearn_ecg.datasets import load_ptbxl_sample
    data = load_ptbxl_sample(ecg_ids=[1, 2, 3])
    X, fs = data.X.astype(np.float32), 100.0
else:
    from sklearn_ecg.datasets import load_cinc
    data = load_cinc(records)
    X, fs = data.X[:3].astype(np.float32), float(data.fs)
print("records", X.shape, fs)
torch.manual_seed(0)
tmp = tempfile.mkdtemp()

def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())

if which == "st-mem":
    sys.path.insert(0, repo)
    six = types.ModuleType("torch._six"); six.inf = math.inf; sys.modules["torch._six"] = six
    import yaml
    from models.st_mem import st_mem_vit_base_dec256d4b
    from models.encoder.st_mem_vit import st_mem_vit_base
    from util.transforms import Compose, ToTensor, get_transforms_from_config, Resample
    full = st_mem_vit_base_dec256d4b(num_leads=12)
    with torch.no_grad():
        for n, p in full.named_parameters():
            if "pos_embed" not in n:
                p.add_(0.02 * torch.randn_like(p))
    torch.save({"model": full.encoder.state_dict()}, f"{tmp}/encoder.pth")
    model = st_mem_vit_base(num_leads=12); model.load_state_dict(full.encoder.state_dict(), strict=False); model.eval()
    cfg = yaml.safe_load(open(os.path.join(repo, "configs/downstream/st_mem.yaml")))
    tr = Compose(get_transforms_from_config(cfg["dataset"]["eval_transforms"]) + [ToTensor()])
    ref = []
    with torch.no_grad():
        for r in X:
            s = tr(Resample(target_fs=250)(r, fs))
            ref.append(torch.stack([model(s[None, i]) for i in range(s.shape[0])], 1).mean(1)[0].numpy())
    ref = np.stack(ref)
    emb = FoundationEmbedder("st-mem", f"{tmp}/encoder.pth").fit()
elif which.startswith("hubert"):
    size = which.split("-")[-1]
    sys.path.insert(0, os.path.join(repo, "code"))
    import make_hubert_ecg_fixtures as mk
    filter_signal = mk.import_biosppy_tools()
    from scipy.signal import resample, decimate
    pre, = mk.authors_functions(os.path.join(repo, "code", "utils.py"), ["apply_filter", "scaling", "ecg_preprocessing"],
                                {"np": np, "resample": resample, "filter_signal": filter_signal})[-1:]
    from hubert_ecg import HuBERTECG, HuBERTECGConfig
    m = HuBERTECG(HuBERTECGConfig(**mk.SIZES[size], **mk.ENCODER_100HZ, vocab_sizes=[100], ensemble_length=1))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.02 * torch.randn_like(p))
    m.eval()
    torch.save({"model_config": m.config, "model_state_dict": m.state_dict()}, f"{tmp}/h.pt")
    inputs = np.stack([decimate(pre(r.astype(np.float64), fs)[:, :2500].reshape(-1), 5) for r in X])
    with torch.no_grad():
        ref = m(torch.tensor(inputs, dtype=torch.float32)).last_hidden_state.mean(1).numpy()
    emb = FoundationEmbedder(f"hubert-ecg-{size}", f"{tmp}/h.pt").fit()
else:
    import make_ecg_fm_fixtures as mk
    modules = mk.import_modules(repo)
    methods = mk.authors_methods(os.path.join(repo, "fairseq_signals/models/ecg_transformer.py"),
                                 "ECGTransformerModel", ["get_embeddings", "get_output"],
                                 {"torch": torch, "GradMultiply": modules.GradMultiply})
    cfg = mk.config(mk.RELEASED)
    enc = mk.build_encoder(modules, methods, cfg)
    with torch.no_grad():
        for p in enc.parameters():
            p.add_(0.02 * torch.randn_like(p))
    enc.eval()
    torch.save({"cfg": {"model": {"_name": "wav2vec2_cmsc", **vars(cfg)}}, "model": enc.state_dict()}, f"{tmp}/e.pt")
    segs = mk.authors_segments(X, int(fs))
    with torch.no_grad():
        ref = np.stack([mk.pooled(enc(torch.from_numpy(s))).numpy().mean(0) for s in segs])
    emb = FoundationEmbedder("ecg-fm", f"{tmp}/e.pt").fit()

# the package, from records in another lead order and in µV
order = [6, 0, 11, 3, 1, 2, 4, 5, 7, 8, 9, 10]
names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
prep = emb.input_pipeline(fs=fs, lead_names=[names[i] for i in order], units="uV")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    out = emb.transform(prep.fit_transform(X[:, order] * 1000))
print(which, "max relative difference", rel(out, ref), "shape", out.shape)
