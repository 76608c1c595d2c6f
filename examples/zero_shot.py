"""Zero-shot ECG classification with METS, and a linear probe of its embeddings.

Pretrains METS (ECG–report contrastive learning with a frozen language model)
on PTB-XL folds 1-8 with their reports, then classifies the five diagnostic
superclasses (NORM, MI, STTC, CD, HYP) of folds 9-10 from descriptions alone
(the statements of PTB-XL's knowledge base), and prints per-class and macro ROC-AUC. Beside it: a logistic-regression probe
on the METS embeddings, and the same probe on an untrained encoder.

By default it runs on the PTB-XL sample shipped with the package (353
pretraining records). Given PTB-XL folders, it pretrains on folds 1-8 of all
of them and tests on folds 9-10 of the first::

    python examples/zero_shot.py --ptbxl path/to/ptbxl500 path/to/ptbxl-more

No label is used for pretraining or for the zero-shot classifier; labels of
folds 1-8 train only the linear probes.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl, load_ptbxl_sample


def load(args):
    if not args.ptbxl:
        return load_ptbxl_sample(folds=range(1, 9)), load_ptbxl_sample(folds=[9, 10]), "embedded sample"
    train = load_ptbxl(args.ptbxl, 100, folds=range(1, 9), verbose=0)
    test = load_ptbxl(args.ptbxl[0], 100, folds=[9, 10], verbose=0)
    return train, test, ", ".join(args.ptbxl)


def macro_auc(Y, scores, names, label):
    aucs = [roc_auc_score(Y[:, k], scores[:, k]) for k in range(Y.shape[1]) if 0 < Y[:, k].sum() < len(Y)]
    per_class = "  ".join(f"{n} {roc_auc_score(Y[:, k], scores[:, k]):.3f}"
                          for k, n in enumerate(names) if 0 < Y[:, k].sum() < len(Y))
    print(f"{label:<32} macro ROC-AUC {np.mean(aucs):.3f}   ({per_class})")
    return float(np.mean(aucs))


def linear_probe(pretrainer, train, test):
    keep = train.y.sum(axis=1) > 0  # records without a diagnostic statement have no target
    probe = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=2000)))
    probe.fit(pretrainer.transform(train.X[keep]), train.y[keep])
    return probe.predict_proba(pretrainer.transform(test.X))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptbxl", nargs="+", help="PTB-XL folders (default: the embedded sample)")
    parser.add_argument("--epochs", type=int, default=50,
                        help="pretraining epochs (default: 50, as in the paper; about 6 min on the sample on a 2-core CPU, 6.9 s per epoch)")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs = args.epochs

    start = time.perf_counter()
    train, test, source = load(args)
    print(f"Data: {source}; pretraining on {len(train.X)} records (folds 1-8), "
          f"testing on {len(test.X)} (folds 9-10); {train.X.shape[1]} leads x {train.X.shape[2]} samples.")

    mets = METSPretrainer(max_epochs=epochs, batch_size=args.batch_size, device=args.device,
                          random_state=args.seed, verbose=1)
    t0 = time.perf_counter()
    mets.fit(train.X, reports=train.report)
    fit_s = time.perf_counter() - t0
    print(f"Pretrained {epochs} epoch(s) on {mets.net_.device} in {fit_s:.0f} s "
          f"({fit_s / max(epochs, 1):.1f} s per epoch); {mets.n_reports_} distinct reports; "
          f"learnt temperature {1 / mets.logit_scale_:.4f}.")

    names = list(test.target_names)
    # fit only names the classes (the columns of y); it learns nothing from labels.
    zero_shot = ZeroShotECGClassifier(mets).fit(train.X[:1], train.y[:1])
    macro_auc(test.y, zero_shot.decision_function(test.X), names, "METS zero-shot")
    macro_auc(test.y, linear_probe(mets, train, test), names, "METS linear probe")
    # The same pipeline with the randomly initialised encoder, to show what
    # pretraining adds.
    untrained = METSPretrainer(max_epochs=0, batch_size=args.batch_size, device=args.device,
                               random_state=args.seed)
    untrained.fit(train.X, reports=train.report)
    macro_auc(test.y, linear_probe(untrained, train, test), names, "untrained encoder, linear probe")
    print(f"Total time {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
