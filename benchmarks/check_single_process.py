"""Check that the single-process fit and transform give the arrays of another checkout.

Fits LCD and METS with fixed seeds on a slice of the embedded sample (float32,
float64 and single-lead input) and saves, or compares with a saved file, the
fitted weights, the loss history and the embeddings. Run it from the root of
each checkout (``import sklearn_ecg`` must pick up that checkout)::

    git worktree add /tmp/base 764cc6b
    (cd /tmp/base && PYTHONPATH=$PWD python $OLDPWD/benchmarks/check_single_process.py --save /tmp/base.npz)
    PYTHONPATH=$PWD python benchmarks/check_single_process.py --compare /tmp/base.npz

Weights, histories and the embeddings of the fitted module itself must be
bit-identical; the default ``transform`` (BatchNorm folded into the
convolutions) must agree within a relative 1e-4.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def _fits():
    from _text_encoders import BagOfWords
    from sklearn_ecg import LCDPretrainer, METSPretrainer
    from sklearn_ecg.datasets import load_ptbxl_sample

    d = load_ptbxl_sample()
    X = np.ascontiguousarray(d.X[:80, :8, :500])
    yield "lcd", LCDPretrainer(max_epochs=2, batch_size=32, random_state=0, device="cpu"), X, {}
    yield "lcd64", LCDPretrainer(max_epochs=1, batch_size=16, random_state=3, device="cpu",
                                 standardize="lead"), X.astype(np.float64), {}
    yield "lcd2d", LCDPretrainer(max_epochs=1, batch_size=16, random_state=1, device="cpu"), X[:, 0], {}
    yield "mets", METSPretrainer(width=0.125, max_epochs=2, batch_size=16, random_state=0, device="cpu",
                                 text_encoder=BagOfWords()), X, {"reports": d.report[:80]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save")
    group.add_argument("--compare")
    args = parser.parse_args(argv)
    results = {}
    for name, est, X, kwargs in _fits():
        est.fit(X, **kwargs)
        for key, value in est.net_.module_.state_dict().items():
            results[f"{name}/state/{key}"] = value.numpy()
        results[f"{name}/loss"] = np.asarray(est.history_[:, "train_loss"])
        results[f"{name}/transform"] = est.transform(X)
        est._fold_batchnorm = False  # the fitted module itself (no-op before folding existed)
        results[f"{name}/exact_transform"] = est.transform(X)
    if args.save:
        np.savez(args.save, **results)
        print(f"saved {len(results)} arrays to {args.save}")
        return 0
    ref = np.load(args.compare)
    failures = []
    for key in ref.files:
        if key.endswith("/transform"):
            ok = np.allclose(results[key], ref[key], rtol=1e-4, atol=1e-6)
        else:
            ok = np.array_equal(results[key], ref[key])
        if not ok:
            failures.append(key)
    print(f"compared {len(ref.files)} arrays: {len(failures)} differ {failures[:10]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
