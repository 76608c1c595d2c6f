"""Fingerprint of fits, transforms, predictions, loads and explanations, for refactors.

Run from a checkout root:
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/fingerprint.py OUT.npz
Compare two runs:
    python benchmarks/fingerprint.py --compare A.npz B.npz
"""

import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np


def compare(a, b):
    A, B = np.load(a, allow_pickle=False), np.load(b, allow_pickle=False)
    keys = sorted(set(A) | set(B))
    bad = 0
    for k in keys:
        if k not in A or k not in B:
            print("MISSING", k, k in A, k in B)
            bad += 1
            continue
        x, y = A[k], B[k]
        if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            diff = np.abs(x.astype(float) - y.astype(float)).max() if x.shape == y.shape and x.dtype.kind in "fiu" else "-"
            print("DIFF", k, x.shape, y.shape, x.dtype, y.dtype, diff)
            bad += 1
    print(f"{len(keys)} entries, {bad} differ")
    return bad


def main(out_path):
    import torch
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    repo = Path.cwd()
    sys.path.insert(0, str(repo / "tests"))
    from _text_encoders import BagOfWords
    from test_reference_checkpoint import _reference_checkpoint
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import sklearn_ecg
    from sklearn_ecg import (ECGClassifier, LCDPretrainer, LeadwiseEmbedder, METSPretrainer,
                             ZeroShotECGClassifier, load_pretrained)
    from sklearn_ecg.datasets import load_ptbxl_sample
    from sklearn_ecg.inspection import explain_prediction

    print("sklearn_ecg from", sklearn_ecg.__file__)
    out = {}

    def state_hash(module):
        h = hashlib.sha256()
        for k, v in module.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return np.frombuffer(h.digest(), dtype=np.uint8)

    def hist(est, name):
        rows = [{k: v for k, v in r.items() if k not in ("batches", "dur")} for r in est.history_]
        keys = sorted({k for r in rows for k in r if isinstance(r[k], (int, float))})
        out[name + "/history"] = np.array([[float(r.get(k, np.nan)) for k in keys] for r in rows], dtype=float).reshape(len(rows), len(keys))
        out[name + "/history_keys"] = np.array(keys)

    def saved(est, name):
        with tempfile.TemporaryDirectory() as tmp:
            folder = est.save_pretrained(Path(tmp) / "m")
            cfg = json.loads((folder / "config.json").read_text())
            cfg.pop("sklearn_ecg_version", None)
            for row in cfg.get("history", []):
                row.pop("dur", None)
            out[name + "/config"] = np.array(json.dumps(cfg, sort_keys=True))
            from safetensors import safe_open
            h = hashlib.sha256()
            with safe_open(str(folder / "model.safetensors"), "pt") as f:
                h.update(json.dumps(f.metadata(), sort_keys=True).encode())
                for k in sorted(f.keys()):
                    h.update(k.encode())
                    h.update(f.get_tensor(k).contiguous().numpy().tobytes())
            out[name + "/weights"] = np.frombuffer(h.digest(), np.uint8)
            out[name + "/card"] = np.array((folder / "README.md").read_text())
            loaded = load_pretrained(folder, device="cpu")
            out[name + "/loaded_state"] = state_hash(loaded.net_.module_)
            return loaded

    def record(est, name):
        out[name + "/state"] = state_hash(est.net_.module_)
        hist(est, name)
        attrs = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
        out[name + "/attrs"] = np.array(sorted(attrs))
        ic = getattr(est, "input_contract_", None)
        out[name + "/input_contract"] = np.array(repr(ic))

    data = load_ptbxl_sample()
    X = np.ascontiguousarray(data.X[:48, :, :256])
    X2 = np.ascontiguousarray(data.X[:48, :2, :256])
    reports = np.asarray(data.report[:48], dtype=object)
    y = data.y[:48]
    ylab = np.array(["NORM" if r[0] else "OTHER" for r in y])
    y3 = np.array(["a", "b", "c"])[np.arange(48) % 3]

    # -- LCD -----------------------------------------------------------------
    lcd = LCDPretrainer(projector_dim=16, predictor_dim=16, max_epochs=2, batch_size=16, random_state=0,
                        device="cpu", fs=100, lead_names=["I", "II"]).fit(X2)
    record(lcd, "lcd")
    out["lcd/transform"] = lcd.transform(X2)
    out["lcd/feature_names"] = lcd.get_feature_names_out().astype(str)
    l2 = saved(lcd, "lcd")
    out["lcd/loaded_transform"] = l2.transform(X2)
    lcd_w = LCDPretrainer(projector_dim=16, predictor_dim=16, max_epochs=1, batch_size=16, random_state=1,
                          device="cpu", warm_start=True, standardize="record").fit(X2)
    lcd_w.set_params(max_epochs=1, lr=3e-4).fit(X2[:40])
    record(lcd_w, "lcd_warm")
    out["lcd_warm/transform"] = lcd_w.transform(X2)
    lcd0 = LCDPretrainer(max_epochs=0, random_state=0, device="cpu").fit(X2)
    record(lcd0, "lcd0")
    out["lcd0/transform"] = lcd0.transform(X2)

    # -- METS ----------------------------------------------------------------
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=2, batch_size=16, text_encoder=BagOfWords(),
                          translate_reports=False, random_state=0, device="cpu").fit(X, reports=reports)
    record(mets, "mets")
    out["mets/transform"] = mets.transform(X)
    out["mets/encode_ecg"] = mets.encode_ecg(X)
    out["mets/encode_text"] = mets.encode_text(["normal ecg", "myocardial infarction"])
    mets_w = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, text_encoder=BagOfWords(),
                            translate_reports=False, random_state=3, device="cpu", warm_start=True).fit(X, reports=reports)
    mets_w.fit(X[:32], reports=reports[:32])
    record(mets_w, "mets_warm")
    out["mets_warm/transform"] = mets_w.transform(X)
    # save/load with a named encoder: the default text model
    try:
        mets_d = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16,
                                translate_reports=False, random_state=0, device="cpu").fit(X[:32], reports=reports[:32])
        record(mets_d, "mets_default")
        out["mets_default/transform"] = mets_d.transform(X)
        m2 = saved(mets_d, "mets_default")
        out["mets_default/loaded_transform"] = m2.transform(X)
        out["mets_default/loaded_text"] = m2.encode_text(["normal ecg"])
    except Exception as exc:  # the text extra missing
        print("mets_default skipped:", exc)

    zs = ZeroShotECGClassifier(mets).fit(X, y)
    out["zs/proba"] = zs.predict_proba(X)
    out["zs/decision"] = zs.decision_function(X)
    zs2 = ZeroShotECGClassifier(mets, class_names=["normal", "infarction"]).fit(X, ylab)
    out["zs2/proba"] = zs2.predict_proba(X)

    # -- ECGClassifier ---------------------------------------------------------
    clfs = {
        "clf_lcd": ECGClassifier(lcd, max_epochs=2, batch_size=16, random_state=0, device="cpu"),
        "clf_lcd_shared": ECGClassifier(lcd, share_encoder=True, max_epochs=2, batch_size=16, random_state=0,
                                        device="cpu", encoder_lr=1e-5, freeze_epochs=1),
        "clf_scratch": ECGClassifier(architecture="lcd", max_epochs=2, batch_size=16, random_state=0, device="cpu",
                                     class_weight="balanced", validation_fraction=None),
        "clf_mets": ECGClassifier(mets, max_epochs=2, batch_size=16, random_state=0, device="cpu", patience=1),
        "clf_mets_scratch": ECGClassifier(architecture="mets", encoder_params={"width": 0.0625, "standardize": "lead"},
                                          max_epochs=1, batch_size=16, random_state=0, device="cpu"),
    }
    targets = {"clf_lcd": ylab, "clf_lcd_shared": y3, "clf_scratch": y3, "clf_mets": y,
               "clf_mets_scratch": ylab}
    inputs = {"clf_lcd": X2, "clf_lcd_shared": X2, "clf_scratch": X2, "clf_mets": X, "clf_mets_scratch": X}
    groups = data.patient_id[:48]
    for name, clf in clfs.items():
        Xi = inputs[name]
        clf.fit(Xi, targets[name], groups=groups if name == "clf_lcd" else None)
        record(clf, name)
        out[name + "/best_epoch"] = np.array(clf.best_epoch_)
        out[name + "/proba"] = clf.predict_proba(Xi)
        out[name + "/decision"] = clf.decision_function(Xi)
        out[name + "/predict"] = np.asarray(clf.predict(Xi)).astype(str)
        c2 = saved(clf, name)
        out[name + "/loaded_proba"] = c2.predict_proba(Xi)
    # warm start
    w = ECGClassifier(lcd, max_epochs=1, batch_size=16, random_state=0, device="cpu", warm_start=True)
    w.fit(X2, y3)
    w.set_params(max_epochs=2, lr=3e-4, encoder_lr=1e-5, class_weight={"a": 2.0})
    w.fit(X2[:40], y3[:40])
    record(w, "clf_warm")
    out["clf_warm/proba"] = w.predict_proba(X2)
    w2 = ECGClassifier(lcd, max_epochs=1, batch_size=16, random_state=0, device="cpu", warm_start=True,
                       encoder_lr=1e-5)
    w2.fit(X2, y3).fit(X2, y3)
    record(w2, "clf_warm2")
    out["clf_warm2/proba"] = w2.predict_proba(X2)

    # -- leadwise ------------------------------------------------------------
    lw = LeadwiseEmbedder(lcd).fit(X2)
    out["leadwise/transform"] = lw.transform(X2)

    # -- shipped models, legacy folders, reference checkpoint ------------------
    lcdp = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
    metsp = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
    full = load_ptbxl_sample()
    for name, m in (("shipped_lcd", lcdp), ("shipped_mets", metsp)):
        Xs = np.ascontiguousarray(full.X[:8, : m.n_leads_])
        out[name + "/transform"] = m.transform(Xs)
        out[name + "/attrs"] = np.array(sorted(k for k in vars(m) if k.endswith("_") and not k.startswith("_")))
        out[name + "/input_contract"] = np.array(repr(m.input_contract_))
        out[name + "/params"] = np.array(repr(sorted(m.get_params(deep=False).items(), key=str)))
    legacy = repo / "tests" / "data" / "legacy_folders"
    XL = np.load(legacy / "input.npy")
    for name in sorted(p.name for p in legacy.iterdir() if p.is_dir()):
        m = load_pretrained(legacy / name, device="cpu")
        out["legacy_" + name + "/params"] = np.array(repr(sorted(m.get_params(deep=False).items(), key=str)))
        out["legacy_" + name + "/attrs"] = np.array(sorted(k for k in vars(m) if k.endswith("_") and not k.startswith("_")))
        out["legacy_" + name + "/out"] = m.predict_proba(XL) if hasattr(m, "predict_proba") else m.transform(XL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pth"
        torch.manual_seed(0)
        _reference_checkpoint(path)
        ref = LCDPretrainer.from_reference_checkpoint(path, device="cpu")
        Xr = np.ascontiguousarray(full.X[:8, :8, :500])
        out["ref/transform"] = ref.transform(Xr)
        out["ref/state"] = state_hash(ref.net_.module_)
        out["ref/attrs"] = np.array(sorted(k for k in vars(ref) if k.endswith("_") and not k.startswith("_")))
        out["ref/input_contract"] = np.array(repr(getattr(ref, "input_contract_", "ABSENT")))
        saved(ref, "ref")

    # -- inspection ----------------------------------------------------------
    pipe = make_pipeline(lcd, StandardScaler(), LogisticRegression()).fit(X2, y3)
    pipe_lw = make_pipeline(LeadwiseEmbedder(lcd, leads=[1]), LogisticRegression()).fit(X2, ylab)
    for name, est, Xi in (("clf_lcd", clfs["clf_lcd"], X2), ("clf_mets", clfs["clf_mets"], X),
                          ("zs", zs, X), ("zs2", zs2, X), ("pipe", pipe, X2), ("pipe_lw", pipe_lw, X2)):
        for method in ("integrated_gradients", "occlusion"):
            for output in ("proba", "decision"):
                e = explain_prediction(est, Xi[:2], method=method, output=output, n_steps=8, window=32)
                key = f"explain/{name}/{method}/{output}"
                out[key + "/attr"] = e.attributions
                out[key + "/scores"] = np.asarray(e.scores, dtype=np.float64)
                out[key + "/target"] = e.target
    np.savez(out_path, **out)
    print(f"wrote {len(out)} entries to {out_path}")


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
    main(sys.argv[1])
