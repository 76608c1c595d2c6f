"""MiniRocket baseline for the PTB-XL superclass linear-probe comparison.

MiniRocket features (about 10k) + StandardScaler + LogisticRegression(C=0.01)
per superclass, trained on folds 1-8 and tested on folds 9-10 of the first
folder, as in the baselines quoted for the quickstart. ``--label-fraction``
trains on a random subset of the labelled training records, drawn exactly as
``examples/quickstart.py`` draws it. Needs ``aeon``, which the ``bench`` extra
installs (it is not a dependency of sklearn_ecg itself)::

    pip install -e ".[bench]"
    python benchmarks/minirocket_baseline.py --ptbxl path/to/ptbxl500 path/to/ptbxl-more
"""

import argparse
import time

import numpy as np

try:
    from aeon.transformations.collection.convolution_based import MiniRocket
except ImportError as exc:
    raise SystemExit(
        f"minirocket_baseline.py needs aeon ({exc}); install the benchmarks' extra: "
        'pip install "sklearn-ecg[bench]" (or pip install -e ".[bench]" in a clone).'
    ) from None
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg.datasets import load_ptbxl, load_ptbxl_sample


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--ptbxl", nargs="+")
    parser.add_argument("--label-fraction", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.ptbxl:
        train = load_ptbxl(args.ptbxl, folds=range(1, 9))
        test = load_ptbxl(args.ptbxl[0], folds=[9, 10])
        X_train, y_train, X_test, y_test, names = train.X, train.y, test.X, test.y, train.target_names
    else:
        data = load_ptbxl_sample()
        tr, te = data.strat_fold <= 8, data.strat_fold >= 9
        X_train, y_train, X_test, y_test, names = data.X[tr], data.y[tr], data.X[te], data.y[te], data.target_names
    if args.label_fraction < 1.0:
        rng = np.random.default_rng(args.seed)
        keep = rng.choice(len(X_train), size=max(8, int(round(args.label_fraction * len(X_train)))), replace=False)
        X_train, y_train = X_train[keep], y_train[keep]
    start = time.perf_counter()
    # MiniRocket learns no labels; aeon's version only takes a 1-D y, so it is fitted apart.
    rocket = MiniRocket(random_state=args.seed).fit(X_train.astype(np.float64))
    probe = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(C=0.01, max_iter=2000)))
    probe.fit(rocket.transform(X_train.astype(np.float64)), y_train)
    scores = probe.predict_proba(rocket.transform(X_test.astype(np.float64)))
    aucs = [roc_auc_score(y_test[:, k], scores[:, k]) for k in range(len(names))]
    print(f"MiniRocket, {len(X_train)} labelled records: " + " ".join(f"{n} {a:.3f}" for n, a in zip(names, aucs))
          + f"  macro {np.mean(aucs):.3f}  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
