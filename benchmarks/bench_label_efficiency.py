"""Label efficiency on PTB-XL superclasses: linear probes, fine-tuning and training from scratch.

Pretrains (or loads from ``--cache-dir``) :class:`~sklearn_ecg.LCDPretrainer`
and :class:`~sklearn_ecg.METSPretrainer` on every record of the training pool
(folds 1-8 of all PTB-XL folders given), then, at each fraction of the
labels, trains on the same random draws of labelled records:

- ``probe-lcd``, ``probe-mets``, ``probe-untrained``: logistic regression per
  superclass on the frozen embeddings (LCD, METS, an untrained LCD encoder);
- ``minirocket``: the same probe on MiniRocket features (needs ``aeon``, from the
  ``bench`` extra: ``pip install -e ".[bench]"``);
- ``ft-lcd``, ``ft-mets``: :class:`~sklearn_ecg.ECGClassifier` fine-tuning the
  pretrained encoder with a linear head;
- ``scratch-lcd``, ``scratch-mets``: the same networks from random weights.

It reports the macro ROC-AUC over NORM, MI, STTC, CD and HYP on folds 9-10 of
the first folder (``--validate``: trains on folds 1-7 and tests on fold 8 of
every folder, for choosing settings without looking at folds 9-10). Every
result is appended to ``results.jsonl`` in ``--out-dir`` as soon as it is
known, so that runs can be split (``--methods``, ``--fractions``) or resumed;
``label_efficiency.{csv,md,png}`` summarise them (mean ± standard deviation
over the draws). The LCD networks see the eight independent leads (II, III,
V1-V6) as in the LCD paper; METS and MiniRocket see all twelve.

By default the pretrained models are the ones the package ships
(``lcd-ptbxl``, ``mets-ptbxl``), which were pretrained without labels on the
2,331 records of folds 1-8 of the shared PTB-XL data, that is on this study's
training pool; ``--pretrained fit`` pretrains them here instead
(``--lcd-epochs``, ``--mets-epochs``). With ``--validate`` the shipped models
have seen the unlabelled signals of fold 8.

Networks are trained for at least ``--ft-epochs`` epochs and ``--min-steps``
optimiser steps, keeping the epoch with the lowest loss on an internal
validation split of the labelled draw (patients kept apart; ``--patience``
stops early); a draw whose split would hold fewer than ``--min-validation``
records has none and keeps its last epoch. ``label_efficiency.rst`` holds the
table for the documentation.

The study of the benchmarks page (docs/benchmarks.rst) runs one queue per pretraining
method, one thread each, on a 2-core CPU, with the settings chosen on the
validation split (``--validate --fractions 0.1 --seeds 2``; see the same page)::

    P="--ptbxl path/to/ptbxl500 path/to/ptbxl-more --batch-size 32 --ft-epochs 40 \\
       --min-steps 200 --patience 10 --threads 1 --out-dir label_efficiency"
    B=benchmarks/bench_label_efficiency.py
    python $B $P --methods probe-lcd probe-untrained minirocket probe-mets
    python $B $P --methods ft-lcd ft-mets --lr 1e-3 --encoder-lr 1e-4 --freeze-epochs 5
    python $B $P --methods scratch-lcd --lr 1e-4
    python $B $P --methods scratch-mets --lr 1e-3
    python $B --report-only --out-dir label_efficiency

``--smallest`` runs every method on a corner of the embedded sample with tiny
networks in well under a minute (a smoke test, not a measurement).
"""

import argparse
import json
import time
import warnings
import zlib
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer
from sklearn_ecg.datasets import load_ptbxl, load_ptbxl_sample

LCD_LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
ALL_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
METHODS = ["probe-lcd", "probe-mets", "probe-untrained", "minirocket", "ft-lcd", "ft-mets", "scratch-lcd",
           "scratch-mets"]
LABELS = {
    "probe-lcd": "linear probe, LCD", "probe-mets": "linear probe, METS",
    "probe-untrained": "linear probe, untrained encoder", "minirocket": "MiniRocket + logistic regression",
    "ft-lcd": "fine-tuned LCD", "ft-mets": "fine-tuned METS encoder", "scratch-lcd": "LCD network from scratch",
    "scratch-mets": "METS encoder from scratch",
}


class HashedWords:
    """A tiny offline text encoder (hashed word counts) for ``--smallest``."""

    def __init__(self, dim=32):
        self.dim = dim

    def __call__(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        return out

    def __repr__(self):
        return f"HashedWords(dim={self.dim})"


def load_split(args):
    """(pool, test) Bunches: the labelled training pool and the test records, 12 leads."""
    if args.smallest:
        data = load_ptbxl_sample()
        X = data.X[:, :, :256]
        pool = data.strat_fold <= (7 if args.validate else 8)
        test = data.strat_fold == 8 if args.validate else data.strat_fold >= 9
        take = lambda m: dict(X=X[m], y=data.y[m], patient_id=np.asarray(data.patient_id)[m],  # noqa: E731
                              report=np.asarray(data.report, dtype=object)[m])
        return take(pool), take(test), list(data.target_names)
    pool_folds = range(1, 8) if args.validate else range(1, 9)
    pool = load_ptbxl(args.ptbxl, folds=pool_folds, leads=ALL_LEADS, verbose=0)
    test = (load_ptbxl(args.ptbxl, folds=[8], leads=ALL_LEADS, verbose=0) if args.validate
            else load_ptbxl(args.ptbxl[0], folds=[9, 10], leads=ALL_LEADS, verbose=0))
    as_dict = lambda b: dict(X=b.X, y=b.y, patient_id=np.asarray(b.patient_id),  # noqa: E731
                             report=np.asarray(b.report, dtype=object))
    return as_dict(pool), as_dict(test), list(pool.target_names)


def lcd_leads(X):
    return X[:, [ALL_LEADS.index(lead) for lead in LCD_LEADS]]


def draws(n, fractions, seeds):
    """The labelled subsets: ``(fraction, seed, indices)``, shared by every method."""
    out = []
    for fraction in fractions:
        if fraction >= 1:
            out.append((1.0, 0, np.arange(n)))
            continue
        size = max(8, int(round(fraction * n)))
        # Several draws where few labels make the result depend on which records are labelled.
        for seed in range(seeds if fraction < 0.25 else 1):
            rng = np.random.default_rng([seed, int(round(fraction * 1e6))])
            out.append((fraction, seed, np.sort(rng.choice(n, size=size, replace=False))))
    return out


SHIPPED = {"lcd": (LCDPretrainer, "lcd-ptbxl"), "mets": (METSPretrainer, "mets-ptbxl")}


def pretrained(kind, pool, args):
    """The pretrainer of ``kind``: shipped, or loaded from the cache, or fitted on the pool and cached."""
    if args.pretrained == "shipped" and not args.smallest:
        cls, name = SHIPPED[kind]
        return cls.from_pretrained(name, device=args.device)
    tag = "validate" if args.validate else "test"
    if args.smallest:
        tag += "-smallest"
    epochs = args.lcd_epochs if kind == "lcd" else args.mets_epochs
    path = Path(args.cache_dir) / f"{kind}_{tag}_e{epochs}_s{args.seed}.joblib"
    if path.exists():
        return joblib.load(path)
    start = time.perf_counter()
    if kind == "lcd":
        width = 0.0625 if args.smallest else 0.125
        est = LCDPretrainer(width=width, max_epochs=epochs, batch_size=64, device=args.device,
                            random_state=args.seed, verbose=args.verbose)
        est.fit(lcd_leads(pool["X"]))
    else:
        extra = dict(width=0.125, text_encoder=HashedWords(), translate_reports=False) if args.smallest else {}
        # The recipe of the shipped mets-ptbxl (initial temperature chosen on fold 8).
        est = METSPretrainer(max_epochs=epochs, batch_size=32, temperature=0.2, device=args.device,
                             random_state=args.seed, verbose=args.verbose, **extra)
        est.fit(pool["X"], reports=pool["report"])
    print(f"pretrained {kind} on {len(pool['X'])} records, {epochs} epochs, {time.perf_counter() - start:.0f} s",
          flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(est, path)
    return est


def macro_auc(y_true, scores):
    aucs = []
    for k in range(y_true.shape[1]):
        positives = y_true[:, k].sum()
        aucs.append(roc_auc_score(y_true[:, k], scores[:, k]) if 0 < positives < len(y_true) else np.nan)
    return float(np.nanmean(aucs)), aucs


def probe(C):
    return make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(C=C, max_iter=2000)))


class Features:
    """Embeddings of pool and test records, computed once per method."""

    def __init__(self, args, pool, test):
        self.args, self.pool, self.test, self.cache = args, pool, test, {}

    def __call__(self, method):
        if method not in self.cache:
            self.cache[method] = self._compute(method)
        return self.cache[method]

    def _compute(self, method):
        args, pool, test = self.args, self.pool, self.test
        start = time.perf_counter()
        if method == "minirocket":
            from aeon.transformations.collection.convolution_based import MiniRocket

            # MiniRocket learns no labels: fitted once on the whole pool, like the pretrainers.
            rocket = MiniRocket(random_state=args.seed).fit(pool["X"].astype(np.float64))
            out = [rocket.transform(d["X"].astype(np.float64)) for d in (pool, test)]
        elif method == "probe-untrained":
            width = 0.0625 if args.smallest else 0.125
            enc = LCDPretrainer(width=width, max_epochs=0, device=args.device, random_state=args.seed)
            enc.fit(lcd_leads(pool["X"][:2]))
            out = [enc.transform(lcd_leads(d["X"])) for d in (pool, test)]
        elif method == "probe-lcd":
            enc = pretrained("lcd", pool, args)
            out = [enc.transform(lcd_leads(d["X"])) for d in (pool, test)]
        else:
            enc = pretrained("mets", pool, args)
            out = [enc.transform(d["X"]) for d in (pool, test)]
        print(f"{method}: features {out[0].shape[1]} in {time.perf_counter() - start:.0f} s", flush=True)
        return out


def run_one(method, idx, seed, args, pool, test, features):
    """Scores on the test records of ``method`` trained on the pool's records ``idx``."""
    if method.startswith("probe") or method == "minirocket":
        F_pool, F_test = features(method)
        C = args.minirocket_C if method == "minirocket" else args.probe_C
        y = pool["y"][idx]
        with warnings.catch_warnings():
            # A class absent from a small draw gets a constant predictor (AUC 0.5).
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            model = probe(C).fit(F_pool[idx], y)
        return model.predict_proba(F_test), {"C": C}
    kind = method.split("-")[1]
    X_pool = lcd_leads(pool["X"]) if kind == "lcd" else pool["X"]
    X_test = lcd_leads(test["X"]) if kind == "lcd" else test["X"]
    # A validation split of a handful of records picks a random epoch: below
    # --min-validation records there is none, and the last epoch is kept.
    validation = args.validation_fraction
    if validation and int(np.floor(len(idx) * validation)) < args.min_validation:
        validation = None
    # Few labels give few steps per epoch: train for at least --min-steps optimiser steps.
    n_train = int(np.ceil(len(idx) * (1 - (validation or 0))))
    steps_per_epoch = max(1, n_train // min(args.batch_size, n_train))
    epochs = max(args.ft_epochs, int(np.ceil(args.min_steps / steps_per_epoch)))
    settings = dict(lr=args.lr, encoder_lr=args.encoder_lr, freeze_epochs=args.freeze_epochs,
                    weight_decay=args.weight_decay, max_epochs=epochs, batch_size=args.batch_size,
                    validation_fraction=validation, patience=args.patience if validation else None)
    if method.startswith("ft"):
        clf = ECGClassifier(pretrained(kind, pool, args), **settings, device=args.device, random_state=seed)
    else:
        encoder_params = ({"width": 0.0625} if kind == "lcd" else {"width": 0.125}) if args.smallest else None
        clf = ECGClassifier(architecture=kind, encoder_params=encoder_params, **settings, device=args.device,
                            random_state=seed)
    clf.fit(X_pool[idx], pool["y"][idx], groups=pool["patient_id"][idx])
    return clf.predict_proba(X_test), {**settings, "best_epoch": int(clf.best_epoch_),
                                       "epochs_run": len(clf.history_)}


def summarise(rows, names, out_dir):
    """Mean ± standard deviation per method and fraction: CSV, Markdown and a PNG plot."""
    out_dir = Path(out_dir)
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    fractions = sorted({r["fraction"] for r in rows})
    stats = {}
    for m in methods:
        for f in fractions:
            vals = [r["macro"] for r in rows if r["method"] == m and r["fraction"] == f]
            if vals:
                stats[m, f] = (float(np.mean(vals)), float(np.std(vals)), len(vals))
    n_labels = {f: next(r["n_labels"] for r in rows if r["fraction"] == f) for f in fractions}
    lines = ["method," + ",".join(f"{f:g}" for f in fractions)]
    for m in methods:
        cells = [f"{stats[m, f][0]:.4f}±{stats[m, f][1]:.4f} (n={stats[m, f][2]})" if (m, f) in stats else ""
                 for f in fractions]
        lines.append(f"{m}," + ",".join(cells))
    (out_dir / "label_efficiency.csv").write_text("\n".join(lines) + "\n")
    head = "| method | " + " | ".join(f"{100 * f:g} % ({n_labels[f]})" for f in fractions) + " |"
    md = [head, "|---" * (len(fractions) + 1) + "|"]
    for m in methods:
        cells = []
        for f in fractions:
            if (m, f) not in stats:
                cells.append("")
                continue
            mean, std, n = stats[m, f]
            cells.append(f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}")
        md.append(f"| {LABELS[m]} | " + " | ".join(cells) + " |")
    (out_dir / "label_efficiency.md").write_text("\n".join(md) + "\n")
    # The same table for the Sphinx documentation (``.. include::``).
    rst = [".. list-table::", "   :header-rows: 1", "", "   * - method"]
    rst += [f"     - {100 * f:g} % ({n_labels[f]})" for f in fractions]
    for line in md[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rst.append(f"   * - {cells[0]}")
        rst += [f"     - {c}" if c else "     -" for c in cells[1:]]
    (out_dir / "label_efficiency.rst").write_text("\n".join(rst) + "\n")
    print("\n".join(md))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'sklearn-ecg[bench]'): no plot.")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in methods:
        fs = [f for f in fractions if (m, f) in stats]
        mean = np.array([stats[m, f][0] for f in fs])
        std = np.array([stats[m, f][1] for f in fs])
        style = "-" if m.startswith("ft") else "--" if m.startswith("scratch") else ":"
        line, = ax.plot([100 * f for f in fs], mean, style, marker="o", label=LABELS[m])
        ax.fill_between([100 * f for f in fs], mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.set_xticks([100 * f for f in fractions], [f"{100 * f:g}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("labelled training records (%)")
    ax.set_ylabel("macro ROC-AUC (" + ", ".join(names) + ")")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "label_efficiency.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptbxl", nargs="+", help="PTB-XL folders; the first holds the test folds 9-10")
    parser.add_argument("--validate", action="store_true", help="train on folds 1-7, test on fold 8")
    parser.add_argument("--smallest", action="store_true", help="smoke test on the embedded sample (< 1 min)")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05, 0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--seeds", type=int, default=3, help="draws of the labelled records below 25 %%")
    parser.add_argument("--pretrained", choices=["shipped", "fit"], default="shipped",
                        help="shipped: the package's lcd-ptbxl and mets-ptbxl, pretrained on the 2,331 records of "
                             "folds 1-8 of the shared data (no labels); fit: pretrain here on the pool")
    parser.add_argument("--lcd-epochs", type=int, default=100, help="LCD pretraining epochs")
    parser.add_argument("--mets-epochs", type=int, default=3, help="METS pretraining epochs (3: the zero-shot recipe)")
    parser.add_argument("--ft-epochs", type=int, default=100, help="fine-tuning / from-scratch epochs")
    parser.add_argument("--min-steps", type=int, default=0,
                        help="at least this many optimiser steps, whatever the fraction (more epochs)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--encoder-lr", type=float, default=None)
    parser.add_argument("--freeze-epochs", type=int, default=0)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--min-validation", type=int, default=20,
                        help="no internal validation split (keep the last epoch) below this many validation records")
    parser.add_argument("--probe-C", type=float, default=0.01)
    parser.add_argument("--minirocket-C", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0, help="seed of the pretraining and of MiniRocket")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--cache-dir", default="benchmark_cache")
    parser.add_argument("--out-dir", default="label_efficiency")
    parser.add_argument("--report-only", action="store_true", help="only summarise results.jsonl")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    if args.smallest:
        args.fractions, args.seeds = [0.1, 1.0], 1
        args.lcd_epochs = args.mets_epochs = args.ft_epochs = 1
        args.batch_size = 64
    elif not args.ptbxl and not args.report_only:
        parser.error("--ptbxl is required (or --smallest for the smoke test on the embedded sample)")
    if args.threads:
        torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.jsonl"
    if args.report_only:
        rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
        summarise(rows, ["NORM", "MI", "STTC", "CD", "HYP"], out_dir)
        return rows

    methods = list(args.methods)
    if "minirocket" in methods:
        try:
            import aeon  # noqa: F401
        except ImportError:
            hint = ('minirocket needs aeon, from the benchmarks\' extra: '
                    'pip install "sklearn-ecg[bench]"')
            methods.remove("minirocket")
            if not methods:
                raise SystemExit(hint) from None
            print(f"{hint}; minirocket skipped.", flush=True)
    pool, test, names = load_split(args)
    features = Features(args, pool, test)
    split = "validate (folds 1-7 -> 8)" if args.validate else "test (folds 1-8 -> 9-10)"
    print(f"{split}: pool {pool['X'].shape}, test {test['X'].shape}", flush=True)
    rows = []
    for fraction, seed, idx in draws(len(pool["X"]), args.fractions, args.seeds):
        for method in methods:
            start = time.perf_counter()
            scores, settings = run_one(method, idx, seed, args, pool, test, features)
            macro, aucs = macro_auc(test["y"], scores)
            row = {"method": method, "fraction": fraction, "seed": seed, "n_labels": int(len(idx)),
                   "macro": macro, **dict(zip(names, aucs)), "seconds": round(time.perf_counter() - start, 1),
                   "split": "validate" if args.validate else "test", "smallest": bool(args.smallest),
                   "settings": settings}
            rows.append(row)
            with results.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"{method:<16} {100 * fraction:>5g} % ({len(idx):>4} labels) seed {seed}: macro ROC-AUC "
                  f"{macro:.3f}  ({row['seconds']:.0f} s)", flush=True)
    summarise([json.loads(line) for line in results.read_text().splitlines() if line.strip()], names, out_dir)
    return rows


if __name__ == "__main__":
    main()
