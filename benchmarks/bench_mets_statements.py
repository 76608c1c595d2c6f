"""METS zero-shot on single PTB-XL statements, superclasses and lead subsets, with a linear probe.

For one METS model (fitted here with the recipe given by the flags, or read
from a joblib file, a saved folder or a shipped name with ``--load``), on the
PTB-XL folders given (100 Hz):

(i) zero-shot on 12 single statements (rhythm AFIB, STACH, SBRAD, SARRH; form
PVC; diagnostic LVH, IMI, ASMI, LAFB, IRBBB, CLBBB, 1AVB), each described by
its description in ``scp_statements.csv`` alone, with the default templates
of :class:`~sklearn_ecg.ZeroShotECGClassifier`: per-statement and macro
ROC-AUC;
(ii) zero-shot on the 5 superclasses with the classifier's default prompts;
(iii) a linear probe of the encoder's features (standardised, then a
logistic regression per class, trained on the pretraining folds' records and
labels, scored on the evaluated folds), the same 12 statements and 5
superclasses;
(iv) the zero-shot figures again for every lead subset of ``--leads``: the
named leads placed into the 12-lead layout with zeros elsewhere
(:class:`~sklearn_ecg.preprocessing.LeadLayout`), the model unchanged.

Pretraining uses folds 1-6 (``--train-folds``) of all folders and the
figures are taken on folds 7-8 (``--eval-folds``), where the recipes were
chosen; labels only score, no label of the evaluated folds steers the
training. ``--test`` also gives the superclass table on folds 9-10 of the
first folder (both scorings; relative for every subset of ``--leads``; with
``--probe`` and ``--lcd``, probes trained on the labels of the train and
eval folds), for the final recipe or a shipped model only, e.g.::

    python benchmarks/bench_mets_statements.py --ptbxl <ptbxl500> <ptbxl-more> \
        --load mets-ptbxl --test --probe --lcd --leads I II I,II A recipe run, e.g.::

    python benchmarks/bench_mets_statements.py --ptbxl <ptbxl500> <ptbxl-more> \\
        --epochs 3 --text-unit sentence --leads I II I,II --probe \\
        --name sentence --jsonl benchmarks/results/mets_recipes/runs.jsonl

Every zero-shot figure set (12 leads and each subset of ``--leads``) gets
95 % bootstrap intervals (``--bootstrap`` draws of the evaluated records with
replacement, 1000 by default, seed ``--bootstrap-seed``, the same draws for
every subset) of AFIB, SARRH, the macro of the 12 statements and of the
superclasses (both scorings); ``--scores FILE.npz`` keeps the per-record
scores, and ``--seed-mean A.npz B.npz ...`` prints the mean of the figures
over such runs (several seeds) with intervals of that mean, the same
records drawn for every run; ``--versus C.npz D.npz ...`` adds the
difference of the two means with its interval (the same draws for both).
``--crops 5 --crop-length 0.8`` scores with
``ZeroShotECGClassifier(crops=5, crop_length=0.8)``: each record's scores
are the mean of those of 5 windows of 80 % of its length (8 s of 10 s)
evenly spread over it (test-time averaging), e.g. of a saved model::

    python benchmarks/bench_mets_statements.py --ptbxl <ptbxl500> <ptbxl-more> \
        --load model.joblib --leads I II I,II --crops 5 --crop-length 0.8

``--table benchmarks/results/mets_recipes/runs.jsonl`` prints the runs
written so far as the table of the documentation. ``--eval-at 3,10`` scores the 12-lead zero-shot tables also after these
epochs of one run (the epoch curve); ``--lcd`` adds the probe of the shipped
``lcd-ptbxl`` encoder on the same records (it saw folds 1-8 in pretraining,
so its probe on folds 7-8 is not a held-out figure).
"""

import argparse
import json
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

from sklearn_ecg import LCDPretrainer, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.preprocessing import LeadLayout, SelectLeads
from sklearn_ecg.text import get_text_encoder

from bench_few_shot import auc_columns  # the script's folder is on sys.path

STATEMENTS = ["AFIB", "STACH", "SBRAD", "SARRH", "PVC", "LVH", "IMI", "ASMI", "LAFB", "IRBBB",
              "CLBBB", "1AVB"]
LCD_LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]


def folds(text):
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def load(paths, fold_list):
    """Records, superclass labels and the 12 statements' labels of the folds."""
    sup = load_ptbxl(paths, 100, folds=fold_list, verbose=0)
    scp = load_ptbxl(paths, 100, folds=fold_list, label_set="scp", verbose=0)
    cols = [list(scp.target_names).index(s) for s in STATEMENTS]
    return sup, scp.y[:, cols]


def place_leads(X, subset):
    """Only the leads of ``subset`` ("I", "I,II") of 12-lead records, the others zero."""
    names = subset.split(",")
    return LeadLayout(leads=names).fit_transform(SelectLeads(leads=names).fit_transform(X))


def statement_descriptions(path):
    table = pd.read_csv(Path(path) / "scp_statements.csv", index_col=0)
    return {code: str(table.loc[code, "description"]) for code in STATEMENTS}


def aucs(Y, scores, names):
    out = {}
    for k, name in enumerate(names):
        if 0 < Y[:, k].sum() < len(Y):
            out[name] = float(roc_auc_score(Y[:, k], scores[:, k]))
    out["macro"] = float(np.mean([out[n] for n in names if n in out]))
    return out


def interval_figures(Ystat, Sstat, Ysup, Ssup):
    """AFIB, SARRH, macro of the statements and of the superclasses (both scorings)."""
    stat, sup = auc_columns(Ystat, Sstat), auc_columns(Ysup, Ssup)
    rel = auc_columns(Ysup, Ssup - Ssup.mean(axis=1, keepdims=True))
    return np.array([stat[STATEMENTS.index("AFIB")], stat[STATEMENTS.index("SARRH")],
                     np.nanmean(stat), np.nanmean(sup), np.nanmean(rel)])


INTERVAL_NAMES = ["AFIB", "SARRH", "macro 12", "superclasses", "superclasses relative"]


def bootstrap_draws(runs, n_draws, seed):
    """The figures of every run on ``n_draws`` resamplings of the records, the same for all runs.

    ``runs`` is a list of ``(Ystat, Sstat, Ysup, Ssup)`` on the same records;
    returns an array (n_runs, n_draws, figures).
    """
    rng = np.random.default_rng(seed)
    n = len(runs[0][0])
    out = np.empty((len(runs), n_draws, len(INTERVAL_NAMES)))
    for d in range(n_draws):
        idx = rng.integers(0, n, n)
        for r, (Ystat, Sstat, Ysup, Ssup) in enumerate(runs):
            out[r, d] = interval_figures(Ystat[idx], Sstat[idx], Ysup[idx], Ssup[idx])
    return out


def _mean_and_draws(runs, n_draws, seed):
    """The figures' mean over the runs, and that mean on every draw of the records."""
    point = np.mean([interval_figures(*run) for run in runs], axis=0)
    return point, bootstrap_draws(runs, n_draws, seed).mean(axis=0)


def _with_interval(point, draws):
    low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return {name: [float(p), float(lo), float(hi)]
            for name, p, lo, hi in zip(INTERVAL_NAMES, point, low, high)}


def intervals(runs, n_draws, seed):
    """Point figures and 95 % percentile intervals of the mean over ``runs`` (records resampled)."""
    return _with_interval(*_mean_and_draws(runs, n_draws, seed))


def difference(runs, other, n_draws, seed):
    """The mean over ``runs`` minus the mean over ``other``, with a 95 % interval (paired draws)."""
    (point, draws), (point_o, draws_o) = (_mean_and_draws(runs, n_draws, seed),
                                          _mean_and_draws(other, n_draws, seed))
    return _with_interval(point - point_o, draws - draws_o)


def print_intervals(label, figures):
    print(f"{label:<11} " + "  ".join(f"{k} {p:.3f} [{lo:.3f}, {hi:.3f}]"
                                       for k, (p, lo, hi) in figures.items()), flush=True)


def save_scores(path, ecg_id, Ystat, Ysup, scores):
    """The labels and, per lead subset, the statements' and superclasses' scores of the records."""
    np.savez_compressed(path, ecg_id=np.asarray(ecg_id), Ystat=Ystat, Ysup=Ysup,
                        **{f"{kind} {subset}": s[kind] for subset, s in scores.items()
                           for kind in ("statements", "superclasses")})


def _score_runs(files, ecg_id=None):
    """Per lead subset, the ``(Ystat, Sstat, Ysup, Ssup)`` of every score file, all of the same records."""
    data = [np.load(f, allow_pickle=False) for f in files]
    ecg_id = data[0]["ecg_id"] if ecg_id is None else ecg_id
    for d in data:
        if not np.array_equal(d["ecg_id"], ecg_id):
            raise SystemExit("the score files are not of the same records")
    subsets = [k[len("statements "):] for k in data[0].files if k.startswith("statements ")]
    return ecg_id, {subset: [(d["Ystat"], d["statements " + subset], d["Ysup"],
                              d["superclasses " + subset]) for d in data] for subset in subsets}


def seed_mean(files, n_draws, seed, versus=None):
    """The mean over runs (score files of ``--scores``) of the figures, with intervals.

    With ``versus`` (other score files), also the difference of the two means,
    with its interval: the same records drawn for both.
    """
    ecg_id, runs = _score_runs(files)
    other = _score_runs(versus, ecg_id)[1] if versus else {}
    out = {}
    for subset, these in runs.items():
        out[subset] = intervals(these, n_draws, seed)
        print_intervals(subset, out[subset])
        if subset in other:
            out[subset + " difference"] = difference(these, other[subset], n_draws, seed)
            print_intervals("  minus", out[subset + " difference"])
    return out


def zero_shot(mets, X, Ysup, Ystat, descriptions, crops=None, scores=None):
    # fit only names the classes; nothing is learnt from labels.
    # crops: the classifier's test-time averaging, {"crops": n, "crop_length": share}.
    crops = crops or {}
    sup = ZeroShotECGClassifier(mets, **crops).fit(X[:1], Ysup[:1])
    stat = ZeroShotECGClassifier(mets, class_descriptions=descriptions, class_names=STATEMENTS,
                                 **crops).fit(X[:1], Ystat[:1])
    sims, stat_sims = sup.decision_function(X), stat.decision_function(X)
    if scores is not None:
        scores.update(statements=stat_sims, superclasses=sims)
    # scoring="relative": the similarity minus the record's mean over the classes
    return {"statements": aucs(Ystat, stat_sims, STATEMENTS),
            "statements_relative": aucs(Ystat, stat_sims - stat_sims.mean(axis=1, keepdims=True),
                                        STATEMENTS),
            "superclasses": aucs(Ysup, sims, list(sup.classes_)),
            "superclasses_relative": aucs(Ysup, sims - sims.mean(axis=1, keepdims=True),
                                          list(sup.classes_))}


def probe(Ztr, Ytr, Zev, Yev, names):
    scores = np.zeros(Yev.shape)
    for k in range(Ytr.shape[1]):
        if 0 < Ytr[:, k].sum() < len(Ytr):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000))
            scores[:, k] = clf.fit(Ztr, Ytr[:, k]).decision_function(Zev)
    return aucs(Yev, scores, names)


def summary(zs):
    s = zs["statements"]
    rel = zs.get("superclasses_relative")
    return (f"AFIB {s.get('AFIB', float('nan')):.3f}  macro12 {s['macro']:.3f}  "
            f"super {zs['superclasses']['macro']:.3f}"
            + (f"  super relative {rel['macro']:.3f}" if rel else ""))


class _EvalAt(Callback):
    """12-lead zero-shot on the evaluated folds after the given epochs."""

    def __init__(self, epochs, pretrainer, X, Ysup, Ystat, descriptions, log, leads=()):
        self.epochs, self.pretrainer, self.X = epochs, pretrainer, X
        self.Ysup, self.Ystat, self.descriptions, self.log = Ysup, Ystat, descriptions, log
        self.leads = leads

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch not in self.epochs:
            return
        # The pretrainer is not fitted yet: lend it the net and the text encoder for a moment.
        p = self.pretrainer
        p.net_, p.text_encoder_ = net, get_text_encoder(p.text_encoder)
        p.n_leads_, p.n_timepoints_ = self.X.shape[1:]
        p.n_features_in_ = self.X.shape[1]
        zs = zero_shot(p, self.X, self.Ysup, self.Ystat, self.descriptions)
        entry = {"epoch": epoch, "zero_shot": zs, "leads": {}}
        print(f"epoch {epoch:>3}  {summary(zs)}", flush=True)
        for subset in self.leads:
            entry["leads"][subset] = zero_shot(p, place_leads(self.X, subset), self.Ysup,
                                               self.Ystat, self.descriptions)
            print(f"  {subset:<9} {summary(entry['leads'][subset])}", flush=True)
        self.log.append(entry)


def print_table(path):
    """The runs of a JSON-lines file as a reStructuredText list-table."""
    def fmt(d, key):
        return f"{d[key]:.3f}" if d and key in d else "–"

    print(".. list-table::\n   :header-rows: 1\n")
    def sup(z):
        rel = z.get("superclasses_relative")
        return fmt(z["superclasses"], "macro") + (f" / {fmt(rel, 'macro')}" if rel else "")

    def subsets(leads):
        cells = []
        for subset in ("I", "II", "I,II"):
            z = leads.get(subset)
            cells.append(f"{fmt(z['statements'], 'AFIB')} / {fmt(z['statements'], 'macro')}"
                         if z else "–")
        return cells

    head = ["run", "fit (s)", "AFIB", "macro 12", "superclasses (relative)", "lead I: AFIB / macro 12",
            "lead II: AFIB / macro 12", "I+II: AFIB / macro 12", "probe: AFIB / macro 12 / super"]
    print("\n".join(("   * - " if i == 0 else "     - ") + h for i, h in enumerate(head)))
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        zs, leads, pr = r["zero_shot"], r.get("leads", {}), r.get("probe")
        cells = [r["name"], str(round(r.get("fit_seconds", 0))), fmt(zs["statements"], "AFIB"),
                 fmt(zs["statements"], "macro"), sup(zs)] + subsets(leads)
        cells.append(f"{fmt(pr['statements'], 'AFIB')} / {fmt(pr['statements'], 'macro')} / "
                     f"{fmt(pr['superclasses'], 'macro')}" if pr else "–")
        print("\n".join(("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)))
        for point in r.get("curve", []):
            z = point["zero_shot"]
            cells = [f"{r['name']}, after epoch {point['epoch']}", "–",
                     fmt(z["statements"], "AFIB"), fmt(z["statements"], "macro"), sup(z)]
            cells += subsets(point.get("leads", {})) + ["–"]
            print("\n".join(("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)))


def print_interval_table(paths):
    """The runs of JSON-lines files that carry intervals, as one reStructuredText list-table."""
    columns = [("12 leads", "AFIB"), ("I", "AFIB"), ("II", "AFIB"), ("12 leads", "SARRH"),
               ("I", "SARRH"), ("II", "SARRH"), ("12 leads", "macro 12"), ("I", "macro 12"),
               ("II", "macro 12"), ("12 leads", "superclasses")]
    head = ["run", "AFIB", "AFIB, lead I", "AFIB, lead II", "SARRH", "SARRH, lead I",
            "SARRH, lead II", "macro 12", "macro 12, lead I", "macro 12, lead II", "superclasses"]
    print(".. list-table::\n   :header-rows: 1\n")
    print("\n".join(("   * - " if i == 0 else "     - ") + h for i, h in enumerate(head)))
    for line in [line for path in paths for line in Path(path).read_text().splitlines()]:
        r = json.loads(line)
        if "intervals" not in r:
            continue
        for suffix in ("", " difference"):
            iv = r["intervals"]
            if "12 leads" + suffix not in iv:
                continue
            cells = [r["name"] + (", difference" if suffix else "")]
            for subset, figure in columns:
                p, lo, hi = iv.get(subset + suffix, {}).get(figure, (None,) * 3)
                cells.append("–" if p is None else
                             (f"{p:+.3f} [{lo:+.3f}, {hi:+.3f}]" if suffix else
                              f"{p:.3f} [{lo:.3f}, {hi:.3f}]"))
            print("\n".join(("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)))


def load_mets(spec):
    if str(spec).endswith(".joblib"):
        return joblib.load(spec)
    return METSPretrainer.from_pretrained(spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", help="print the runs of this JSON-lines file as a table, and stop")
    parser.add_argument("--interval-table", nargs="+",
                        help="print the runs with intervals of these JSON-lines files, and stop")
    parser.add_argument("--ptbxl", nargs="+",
                        help="PTB-XL folders; the first holds the test folds 9-10")
    parser.add_argument("--train-folds", default="1-6")
    parser.add_argument("--eval-folds", default="7-8")
    parser.add_argument("--test", action="store_true",
                        help="also the superclass table on folds 9-10 of the first folder")
    parser.add_argument("--load", help="a .joblib file, a saved folder or a shipped name")
    parser.add_argument("--save", help="write the fitted model here (.joblib)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--eval-at", default="", help="e.g. 3,10: also score after these epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--cosine", action="store_true",
                        help="decay the learning rate to 0 along a half cosine over the epochs")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--text-unit", choices=["report", "sentence"], default="report")
    parser.add_argument("--mask-duplicates", action="store_true")
    parser.add_argument("--lead-masking", type=float, default=0.0)
    parser.add_argument("--lead-masking-kept", choices=["uniform", "harmonic"], default="uniform",
                        help="how many leads a masked record keeps (METSPretrainer)")
    parser.add_argument("--ecg-alignment", type=float, default=0.0,
                        help="weight of METSPretrainer's ECG-only term (default 0: none)")
    parser.add_argument("--ecg-alignment-view", choices=["leads", "dropout"], default="leads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--leads", nargs="*", default=[],
                        help="lead subsets to score zero-shot, e.g. I II I,II")
    parser.add_argument("--probe", action="store_true",
                        help="linear probe of the encoder, and of the joint embeddings of 12 "
                             "leads and of every --leads subset")
    parser.add_argument("--lcd", action="store_true", help="probe of the shipped lcd-ptbxl too")
    parser.add_argument("--crops", type=int, default=1,
                        help="ZeroShotECGClassifier(crops=): average this many windows of "
                             "--crop-length of each record (test-time averaging; 1: the whole record)")
    parser.add_argument("--crop-length", type=float, default=0.8,
                        help="the windows' length, a share of the record's")
    parser.add_argument("--bootstrap", type=int, default=1000,
                        help="draws of the records for the 95 %% intervals (0: none)")
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument("--scores", help="write the per-record zero-shot scores here (.npz)")
    parser.add_argument("--seed-mean", nargs="+",
                        help="score files of --scores: print the mean over them with intervals, "
                             "and stop")
    parser.add_argument("--versus", nargs="+",
                        help="with --seed-mean, other score files: also the difference of the means")
    parser.add_argument("--name", default="", help="label of the run in the JSON line")
    parser.add_argument("--jsonl", help="append the results as one JSON line to this file")
    args = parser.parse_args(argv)
    if args.table:
        return print_table(args.table)
    if args.interval_table:
        return print_interval_table(args.interval_table)
    if args.seed_mean:
        out = seed_mean(args.seed_mean, args.bootstrap, args.bootstrap_seed, args.versus)
        if args.jsonl:
            with open(args.jsonl, "a") as f:
                f.write(json.dumps({"name": args.name, "runs": [Path(p).name for p in args.seed_mean],
                                    "versus": [Path(p).name for p in args.versus or []],
                                    "bootstrap": args.bootstrap, "intervals": out}) + "\n")
        return out
    if not args.ptbxl:
        parser.error("--ptbxl is required")
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    train_folds, eval_folds = folds(args.train_folds), folds(args.eval_folds)
    if set(train_folds) & set(eval_folds) or max(train_folds + eval_folds) > 8:
        parser.error("train and eval folds must be disjoint and within 1-8")
    train, train_stat = load(args.ptbxl, train_folds)
    ev, ev_stat = load(args.ptbxl, eval_folds)
    descriptions = statement_descriptions(args.ptbxl[0])
    print(f"pretraining folds {args.train_folds}: {len(train.X)} records; evaluating folds "
          f"{args.eval_folds}: {len(ev.X)} records (AFIB {int(ev_stat[:, 0].sum())})", flush=True)
    result = {"name": args.name, "train_folds": args.train_folds, "eval_folds": args.eval_folds}
    if args.load:
        mets = load_mets(args.load)
        result["model"] = args.load
    else:
        mets = METSPretrainer(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              temperature=args.temperature,
                              max_logit_scale=max(100.0, 1 / args.temperature),
                              text_unit=args.text_unit, mask_duplicate_texts=args.mask_duplicates,
                              lead_masking=args.lead_masking,
                              lead_masking_kept=args.lead_masking_kept,
                              ecg_alignment=args.ecg_alignment,
                              ecg_alignment_view=args.ecg_alignment_view, random_state=args.seed,
                              verbose=0)
        curve = []
        eval_at = {int(e) for e in args.eval_at.split(",") if e} - {args.epochs}
        callbacks = []
        if args.cosine:
            # The learning rate decays to 0 along a half cosine over the epochs.
            callbacks.append(LRScheduler(policy=CosineAnnealingLR, T_max=args.epochs))
        if eval_at:
            callbacks.append(_EvalAt(eval_at, mets, ev.X, ev.y, ev_stat, descriptions, curve,
                                     args.leads))
        if callbacks:
            mets.set_params(callbacks=callbacks)
        t0 = time.perf_counter()
        mets.fit(train.X, reports=train.report)
        result["fit_seconds"] = round(time.perf_counter() - t0, 1)
        mets.set_params(callbacks=None)
        result["params"] = {k: v for k, v in mets.get_params().items()
                            if k in ("max_epochs", "batch_size", "lr", "temperature", "text_unit",
                                     "mask_duplicate_texts", "lead_masking", "lead_masking_kept",
                                     "ecg_alignment", "ecg_alignment_view", "random_state")}
        result["params"]["cosine"] = args.cosine
        result["curve"] = curve
        print(f"pretrained {args.epochs} epochs in {result['fit_seconds']:.0f} s", flush=True)
        if args.save:
            joblib.dump(mets, args.save)

    crops = None
    if args.crops > 1:
        crops = {"crops": args.crops, "crop_length": args.crop_length}
        result["crops"] = crops
    scores = {"12 leads": {}}
    result["zero_shot"] = zero_shot(mets, ev.X, ev.y, ev_stat, descriptions, crops,
                                    scores["12 leads"])
    print(f"12 leads    {summary(result['zero_shot'])}", flush=True)
    print("  " + "  ".join(f"{k} {v:.3f}" for k, v in result["zero_shot"]["statements"].items()))
    print("  " + "  ".join(f"{k} {v:.3f}" for k, v in result["zero_shot"]["superclasses"].items()))
    print("  relative: " + "  ".join(f"{k} {v:.3f}" for k, v in
                                     result["zero_shot"]["statements_relative"].items()))
    result["leads"] = {}
    for subset in args.leads:
        scores[subset] = {}
        zs = zero_shot(mets, place_leads(ev.X, subset), ev.y, ev_stat, descriptions, crops,
                       scores[subset])
        result["leads"][subset] = zs
        print(f"{subset:<11} {summary(zs)}", flush=True)
    if args.bootstrap:
        # Records resampled with replacement, the same draws for every lead subset.
        result["bootstrap"] = {"draws": args.bootstrap, "seed": args.bootstrap_seed}
        result["intervals"] = {}
        for subset, s in scores.items():
            figures = intervals([(ev_stat, s["statements"], ev.y, s["superclasses"])],
                                args.bootstrap, args.bootstrap_seed)
            result["intervals"][subset] = figures
            print_intervals(subset, figures)
    if args.scores:
        save_scores(args.scores, ev.ecg_id, ev_stat, ev.y, scores)
    if args.probe:
        mets.set_params(output="encoder")
        Ztr, Zev = mets.transform(train.X), mets.transform(ev.X)
        result["probe"] = {"statements": probe(Ztr, train_stat, Zev, ev_stat, STATEMENTS),
                           "superclasses": probe(Ztr, train.y, Zev, ev.y, list(ev.target_names))}
        print(f"probe       {summary(result['probe'])}", flush=True)
        # The joint space zero-shot reads, probed with the labels of the training folds:
        # what a lead subset's embeddings hold, whatever the text finds in them.
        result["probe_joint"] = {}
        for subset in ["12 leads", *args.leads]:
            place = (lambda X: X) if subset == "12 leads" else (lambda X: place_leads(X, subset))
            Ztr, Zev = mets.encode_ecg(place(train.X)), mets.encode_ecg(place(ev.X))
            result["probe_joint"][subset] = probe(Ztr, train_stat, Zev, ev_stat, STATEMENTS)
            figures = result["probe_joint"][subset]
            print(f"probe joint {subset:<8} AFIB {figures['AFIB']:.3f}  SARRH {figures['SARRH']:.3f}"
                  f"  macro 12 {figures['macro']:.3f}", flush=True)
    if args.lcd:
        lcd = LCDPretrainer.from_pretrained("lcd-ptbxl")
        sel = SelectLeads(leads=LCD_LEADS)
        Ztr, Zev = lcd.transform(sel.fit_transform(train.X)), lcd.transform(sel.fit_transform(ev.X))
        result["lcd_probe"] = {"statements": probe(Ztr, train_stat, Zev, ev_stat, STATEMENTS),
                               "superclasses": probe(Ztr, train.y, Zev, ev.y, list(ev.target_names))}
        print(f"lcd probe   {summary(result['lcd_probe'])}", flush=True)
    if args.test:
        test = load_ptbxl(args.ptbxl[0], 100, folds=[9, 10], verbose=0)
        for scoring, key in (("similarity", "test_superclasses"),
                             ("relative", "test_superclasses_relative")):
            clf = ZeroShotECGClassifier(mets, scoring=scoring).fit(test.X[:1], test.y[:1])
            result[key] = aucs(test.y, clf.decision_function(test.X), list(clf.classes_))
            print(f"test 9-10, {scoring:<10}  "
                  + "  ".join(f"{k} {v:.3f}" for k, v in result[key].items()))
        for leads in args.leads:
            clf = ZeroShotECGClassifier(mets, lead_names=leads.split(","), scoring="relative")
            Xs = SelectLeads(leads=leads.split(",")).fit_transform(test.X)
            clf.fit(Xs[:1], test.y[:1])
            result.setdefault("test_superclasses_leads", {})[leads] = aucs(
                test.y, clf.decision_function(Xs), list(clf.classes_))
            print(f"test 9-10, {leads:<10}  macro "
                  f"{result['test_superclasses_leads'][leads]['macro']:.3f} (relative)")
        if args.probe or args.lcd:
            # Superclass probe trained on the labels of folds 1-8, tested on folds 9-10.
            fit_x = np.concatenate([train.X, ev.X])
            fit_y = np.concatenate([train.y, ev.y])
            names = list(test.target_names)
            if args.probe:
                mets.set_params(output="encoder")
                result["test_probe"] = probe(mets.transform(fit_x), fit_y, mets.transform(test.X),
                                             test.y, names)
                print(f"test 9-10, probe       macro {result['test_probe']['macro']:.3f}")
            if args.lcd:
                lcd, sel = LCDPretrainer.from_pretrained("lcd-ptbxl"), SelectLeads(leads=LCD_LEADS)
                result["test_lcd_probe"] = probe(lcd.transform(sel.fit_transform(fit_x)), fit_y,
                                                 lcd.transform(sel.fit_transform(test.X)), test.y,
                                                 names)
                print(f"test 9-10, LCD probe   macro {result['test_lcd_probe']['macro']:.3f}")
    result["total_seconds"] = round(time.perf_counter() - start, 1)
    print(f"total {result['total_seconds']:.0f} s", flush=True)
    if args.jsonl:
        with open(args.jsonl, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
