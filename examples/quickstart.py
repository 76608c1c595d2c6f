"""
Quickstart: what LCD pretraining buys a linear probe
====================================================

Pretrain :class:`~sklearn_ecg.LCDPretrainer` on the unlabelled records of
PTB-XL folds 1-8, then train a logistic regression per diagnostic superclass
(NORM, MI, STTC, CD, HYP) on the embeddings and report ROC-AUC on folds 9-10,
beside the same pipeline with an untrained (randomly initialised) encoder.

By default it runs on the PTB-XL sample shipped with the package (500 records,
100 Hz) in a few minutes on a laptop CPU::

    python examples/quickstart.py

Given local PTB-XL folders in the official layout, it pretrains and trains on
folds 1-8 of all of them and tests on folds 9-10 of the first::

    python examples/quickstart.py --ptbxl path/to/ptbxl500 path/to/ptbxl-more

``--label-fraction 0.1`` trains the probe on a random tenth of the labelled
training records (pretraining still sees all of them).
"""

import argparse
import time

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import LCDPretrainer
from sklearn_ecg.datasets import load_ptbxl, load_ptbxl_sample

# The reference trains on the eight independent leads (I, aVR, aVL and aVF are
# linear combinations of II and III).
LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]


def load(paths):
    """Training records (folds 1-8 of every folder) and test records (folds 9-10 of the first)."""
    if not paths:
        data = load_ptbxl_sample()
        idx = [data.lead_names.index(lead) for lead in LEADS]
        train = data.strat_fold <= 8
        test = data.strat_fold >= 9
        return (data.X[train][:, idx], data.y[train]), (data.X[test][:, idx], data.y[test]), data.target_names
    train = load_ptbxl(paths, folds=range(1, 9), leads=LEADS, verbose=1)
    test = load_ptbxl(paths[0], folds=[9, 10], leads=LEADS, verbose=1)
    return (train.X, train.y), (test.X, test.y), train.target_names


def linear_probe(pretrainer):
    # One logistic regression per superclass; its C is chosen by an inner
    # cross-validation on the training records only.
    clf = GridSearchCV(
        LogisticRegression(max_iter=2000), {"C": np.logspace(-3, 1, 9)}, cv=4, scoring="roc_auc"
    )
    return make_pipeline(pretrainer, StandardScaler(), OneVsRestClassifier(clf))


def evaluate(name, pipe, X_train, y_train, X_test, y_test, names):
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    scores = pipe.predict_proba(X_test)
    aucs = [roc_auc_score(y_test[:, k], scores[:, k]) for k in range(len(names))]
    print(f"{name:<22}" + "".join(f"{a:>7.3f}" for a in aucs) + f"{np.mean(aucs):>8.3f}   ({seconds:.0f} s)")
    return aucs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--ptbxl", nargs="+", help="PTB-XL folders (official layout); default: the embedded sample")
    parser.add_argument("--epochs", type=int, default=100, help="pretraining epochs (default 100, as the reference)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="pretraining batch (default 64: the reference's 256 leaves a few hundred records "
        "only 2 optimiser steps per epoch)",
    )
    parser.add_argument("--label-fraction", type=float, default=1.0, help="fraction of training labels for the probe")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (X_train, y_train), (X_test, y_test), names = load(args.ptbxl)
    # Pretraining is self-supervised: it always sees every training record.
    lcd = LCDPretrainer(
        max_epochs=args.epochs, batch_size=args.batch_size, device=args.device, random_state=args.seed, verbose=1
    )
    start = time.perf_counter()
    lcd.fit(X_train)
    print(f"Pretrained LCD on {len(X_train)} records x {len(LEADS)} leads in {time.perf_counter() - start:.0f} s")

    if args.label_fraction < 1.0:
        rng = np.random.default_rng(args.seed)
        keep = rng.choice(len(X_train), size=max(8, int(round(args.label_fraction * len(X_train)))), replace=False)
        X_probe, y_probe = X_train[keep], y_train[keep]
    else:
        X_probe, y_probe = X_train, y_train
    print(f"Linear probe on {len(X_probe)} labelled records, ROC-AUC on {len(X_test)} test records (folds 9-10)\n")
    print(f"{'encoder':<22}" + "".join(f"{n:>7}" for n in names) + f"{'macro':>8}")
    evaluate("LCD-pretrained", linear_probe(FrozenEstimator(lcd)), X_probe, y_probe, X_test, y_test, names)
    untrained = LCDPretrainer(max_epochs=0, device=args.device, random_state=args.seed)
    evaluate("untrained encoder", linear_probe(untrained), X_probe, y_probe, X_test, y_test, names)


if __name__ == "__main__":
    main()
