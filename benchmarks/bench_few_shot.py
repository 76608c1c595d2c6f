"""Few labels: FewShotECGClassifier against zero-shot and a linear probe of the same embeddings.

For one METS model (a shipped name, a saved folder or a .joblib file), on
the PTB-XL folders given (100 Hz), for k = 1, 2, 4, 8, 16 and each of
``--draws`` random draws: for every class, k records with the class and k
records without it are drawn from the training folds (``--protocol
per-class``, the default; a classifier is fitted on each class's 2k records
with all their labels and scored on that class), or the union of all the
classes' draws is labelled and fitted once (``--protocol union``). On the
evaluated folds, per class ROC-AUC and their macro average, for

- zero-shot: :class:`~sklearn_ecg.ZeroShotECGClassifier` (no label used),
  with both ``scoring`` choices;
- probe: ``StandardScaler`` + ``LogisticRegression(C=--probe-c)`` on the same
  L2-normalised joint-space embeddings the few-shot classifier reads;
- few-shot: :class:`~sklearn_ecg.FewShotECGClassifier` with each setting of
  ``--grid``;

and the probe and few-shot fitted on every record of the training folds.

Two tasks: the 5 diagnostic superclasses (default prompts) and the 12
single statements of ``bench_mets_statements.py`` (each described by its
``scp_statements.csv`` description). ``--split val`` draws from folds 1-6 and
scores folds 7-8 (every setting was chosen there); ``--split test`` draws
from folds 1-8 and scores folds 9-10 of the first folder. The records are
embedded once (``--cache`` keeps the embeddings in a .npz file); the
classifiers then read them from a table, so a run takes minutes on one CPU
thread. Every figure has the 2.5-97.5 % range over the draws and, for the
gain of few-shot over the better of zero-shot and the probe, a bootstrap
95 % interval over the evaluated records. E.g.::

    python benchmarks/bench_few_shot.py --ptbxl <ptbxl500> <ptbxl-more> --split val \\
        --grid C=1,prior_scale=3 C=0.3,prior_scale=3 --json benchmarks/results/few_shot/val.json

``--table FILE.json`` prints a result file as the table of the documentation.
"""

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import FewShotECGClassifier, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl

STATEMENTS = ["AFIB", "STACH", "SBRAD", "SARRH", "PVC", "LVH", "IMI", "ASMI", "LAFB", "IRBBB",
              "CLBBB", "1AVB"]
KS = (1, 2, 4, 8, 16)


def _key(record):
    return hashlib.blake2b(np.ascontiguousarray(record).tobytes(), digest_size=16).digest()


class CachedEmbeddings:
    """A fitted METS model whose record embeddings are read from a table.

    Records are recognised by their bytes; texts are embedded by the model
    once and remembered. Every classifier reads the model through
    ``encode_ecg``, ``encode_text`` and ``logit_scale_`` only, so this stands
    in for it unchanged.
    """

    def __init__(self, model, X, Z):
        self.model, self.Z = model, Z
        self.rows = {_key(x): i for i, x in enumerate(X)}
        self.n_leads_ = model.n_leads_
        self.logit_scale_ = model.logit_scale_
        self.texts = {}

    def encode_ecg(self, X):
        return self.Z[[self.rows[_key(x)] for x in X]]

    def encode_text(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self.texts]
        if new:
            self.texts.update(zip(new, self.model.encode_text(new)))
        return np.stack([self.texts[t] for t in texts])


def load_model(spec):
    if str(spec).endswith(".joblib"):
        import joblib

        return joblib.load(spec)
    return METSPretrainer.from_pretrained(spec)


def load_records(paths):
    """All records, their folds and folder, superclass and statement labels."""
    sup = load_ptbxl(paths, 100, verbose=0)
    scp = load_ptbxl(paths, 100, label_set="scp", verbose=0)
    if list(sup.ecg_id) != list(scp.ecg_id):
        raise RuntimeError("the two label sets list different records")
    cols = [list(scp.target_names).index(s) for s in STATEMENTS]
    first = set(pd.read_csv(Path(paths[0]) / "ptbxl_database.csv", usecols=["ecg_id"]).ecg_id)
    in_first = np.isin(np.asarray(sup.ecg_id), list(first))
    return sup, scp.y[:, cols], np.asarray(sup.strat_fold), in_first


def embed(model, X, cache):
    if cache and Path(cache).exists():
        Z = np.load(cache)["Z"]
        if len(Z) == len(X):
            return Z
    Z = model.encode_ecg(X)
    if cache:
        np.savez(cache, Z=Z)
    return Z


def auc_columns(Y, S):
    """ROC-AUC of every column of S against Y (NaN where a column has one class)."""
    out = np.full(Y.shape[1], np.nan)
    for c in range(Y.shape[1]):
        y, s = Y[:, c], S[:, c]
        n_pos = int(y.sum())
        if 0 < n_pos < len(y):
            ranks = pd.Series(s).rank().to_numpy()
            out[c] = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))
    return out


def draw(Y, k, rng):
    """For each class, k records with it and k without it (indices into Y)."""
    out = []
    for c in range(Y.shape[1]):
        pos, neg = np.flatnonzero(Y[:, c] == 1), np.flatnonzero(Y[:, c] == 0)
        out.append(np.r_[rng.choice(pos, k, replace=False), rng.choice(neg, k, replace=False)])
    return out


def probe_scores(Z, Y, Zev, probe_c):
    out = np.zeros((len(Zev), Y.shape[1]))
    for c in range(Y.shape[1]):
        if 0 < Y[:, c].sum() < len(Y):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=probe_c, max_iter=2000))
            out[:, c] = clf.fit(Z[:, :], Y[:, c]).decision_function(Zev)
    return out


def parse_grid(items):
    grid = []
    for item in items:
        params = {}
        for part in item.split(","):
            key, _, value = part.partition("=")
            params[key] = float(value)
        grid.append(params)
    return grid


def setting_name(params):
    return ",".join(f"{k}={v:g}" for k, v in params.items())


def run_task(name, mets, X, Y, names, train, ev, descriptions, scoring, grid, args):
    """Macro AUCs of every method, k and draw (and per-class AUCs) on one task."""
    Xtr, Ytr, Xev, Yev = X[train], Y[train], X[ev], Y[ev]
    kept = [c for c in range(Y.shape[1]) if 0 < Yev[:, c].sum() < len(Yev)]
    zs_params = dict(class_descriptions=descriptions, class_names=names)
    zero = {}
    for s in ("similarity", "relative"):
        zs = ZeroShotECGClassifier(mets, scoring=s, **zs_params).fit(Xtr[:1], Ytr[:1])
        zero[s] = zs.decision_function(Xev)
    Ztr, Zev = mets.encode_ecg(Xtr), mets.encode_ecg(Xev)
    methods = ["probe"] + [setting_name(p) for p in grid]
    scores = {m: {k: [] for k in KS} for m in methods}
    for k in KS:
        for d in range(args.draws):
            rng = np.random.default_rng([args.seed, k, d])
            draws = draw(Ytr, k, rng)
            if args.protocol == "union":
                draws = [np.unique(np.concatenate(draws))] * len(names)
            per = {m: np.zeros(Yev.shape) for m in methods}
            fitted = {}
            for c, idx in enumerate(draws):
                key = tuple(idx)
                if key not in fitted:
                    fitted[key] = {"probe": probe_scores(Ztr[idx], Ytr[idx], Zev, args.probe_c)}
                    for params in grid:
                        clf = FewShotECGClassifier(mets, scoring=scoring, **zs_params,
                                                   C=params.get("C", 1.0),
                                                   prior_scale=params.get("prior_scale", 3.0))
                        fitted[key][setting_name(params)] = clf.fit(Xtr[idx], Ytr[idx]).decision_function(Xev)
                for m in methods:
                    per[m][:, c] = fitted[key][m][:, c]
            for m in methods:
                scores[m][k].append(per[m])
    # Every label of the training folds: where the few-shot classifier should meet the probe.
    everything = {"probe": probe_scores(Ztr, Ytr, Zev, args.probe_c)}
    for params in grid:
        clf = FewShotECGClassifier(mets, scoring=scoring, **zs_params, C=params.get("C", 1.0),
                                   prior_scale=params.get("prior_scale", 3.0))
        everything[setting_name(params)] = clf.fit(Xtr, Ytr).decision_function(Xev)
    return {"names": names, "kept": kept, "Yev": Yev, "zero": zero, "scores": scores,
            "scoring": scoring, "all_labels": everything, "n_train": len(Ytr)}


def summarise(task, boot, rng):
    """Means, draw ranges and bootstrap intervals of the macro AUCs over the kept classes."""
    Yev, kept = task["Yev"], task["kept"]
    macro = lambda S: float(np.nanmean(auc_columns(Yev[:, kept], S[:, kept])))  # noqa: E731
    out = {"classes": [task["names"][c] for c in kept], "n_eval": len(Yev),
           "positives": {task["names"][c]: int(Yev[:, c].sum()) for c in kept},
           "scoring": task["scoring"],
           "zero_shot": {s: macro(S) for s, S in task["zero"].items()},
           "zero_shot_per_class": {s: dict(zip([task["names"][c] for c in kept],
                                               auc_columns(Yev[:, kept], S[:, kept]).round(4).tolist()))
                                   for s, S in task["zero"].items()},
           "methods": {}}
    out["all_labels"] = {m: macro(S) for m, S in task["all_labels"].items()}
    out["n_train"] = task["n_train"]
    zs_best = max(task["zero"], key=lambda s: out["zero_shot"][s])
    out["zero_shot_best"] = zs_best
    samples = [rng.integers(0, len(Yev), len(Yev)) for _ in range(boot)]
    for m, per_k in task["scores"].items():
        out["methods"][m] = {}
        for k, draws in per_k.items():
            values = np.array([macro(S) for S in draws])
            entry = {"mean": float(values.mean()), "low": float(np.percentile(values, 2.5)),
                     "high": float(np.percentile(values, 97.5)), "draws": values.round(4).tolist()}
            out["methods"][m][str(k)] = entry
    # Gain of each few-shot setting over the better of zero-shot (best scoring) and the probe,
    # mean over draws, with a bootstrap interval over the evaluated records.
    for m in out["methods"]:
        if m == "probe":
            continue
        for k in KS:
            gains = []
            for idx in samples:
                Yb = Yev[idx][:, kept]
                ok = (Yb.sum(0) > 0) & (Yb.sum(0) < len(idx))

                def mb(S):
                    return float(np.nanmean(auc_columns(Yb[:, ok], S[idx][:, kept][:, ok])))

                zs = mb(task["zero"][zs_best])
                few = np.mean([mb(S) for S in task["scores"][m][k]])
                probe = np.mean([mb(S) for S in task["scores"]["probe"][k]])
                gains.append((few - zs, few - probe))
            gains = np.array(gains)
            entry = out["methods"][m][str(k)]
            entry["gain_over_zero_shot"] = entry["mean"] - out["zero_shot"][zs_best]
            entry["gain_over_probe"] = entry["mean"] - out["methods"]["probe"][str(k)]["mean"]
            entry["gain_over_zero_shot_ci"] = np.percentile(gains[:, 0], [2.5, 97.5]).round(4).tolist()
            entry["gain_over_probe_ci"] = np.percentile(gains[:, 1], [2.5, 97.5]).round(4).tolist()
    return out


def print_table(result):
    for task, res in result["tasks"].items():
        zs = res["zero_shot"][res["zero_shot_best"]]
        print(f"\n{task}: {len(res['classes'])} classes, {res['n_eval']} records "
              f"({result['split']}, protocol {result['protocol']}, {result['draws']} draws); "
              f"zero-shot ({res['zero_shot_best']}) {zs:.3f}; few-shot scoring {res['scoring']}")
        print(f"{'method':<24}" + "".join(f"{'k=' + str(k):>22}" for k in KS))
        for m, per_k in res["methods"].items():
            cells = [f"{e['mean']:.3f} [{e['low']:.3f}-{e['high']:.3f}]" for e in per_k.values()]
            print(f"{m:<24}" + "".join(f"{c:>22}" for c in cells))
            if m != "probe":
                for key, label in (("zero_shot", "vs zero-shot"), ("probe", "vs probe")):
                    cells = [f"{e['gain_over_' + key]:+.3f} [{e['gain_over_' + key + '_ci'][0]:+.3f},"
                             f"{e['gain_over_' + key + '_ci'][1]:+.3f}]" for e in per_k.values()]
                    print(f"  {label:<22}" + "".join(f"{c:>22}" for c in cells))
        if "all_labels" in res:
            print(f"all {res['n_train']} training records: " + "  ".join(
                f"{m} {v:.3f}" for m, v in res["all_labels"].items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", help="print this result file as a table, and stop")
    parser.add_argument("--ptbxl", nargs="+", help="PTB-XL folders; the first holds folds 9-10")
    parser.add_argument("--load", default="mets-ptbxl", help="a shipped name, folder or .joblib")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--protocol", choices=["per-class", "union"], default="per-class")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", nargs="+", default=["C=1,prior_scale=3"],
                        help="few-shot settings, e.g. C=1,prior_scale=3 C=0.3,prior_scale=3")
    parser.add_argument("--probe-c", type=float, default=0.01)
    parser.add_argument("--scoring-superclasses", default="relative",
                        help="the zero-shot score the few-shot weights start from (superclasses)")
    parser.add_argument("--scoring-statements", default="similarity")
    parser.add_argument("--tasks", nargs="+", default=["superclasses", "statements"])
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--cache", help=".npz file keeping the records' embeddings")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.table:
        return print_table(json.loads(Path(args.table).read_text()))
    if not args.ptbxl:
        parser.error("--ptbxl is required")
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    data, Ystat, fold, in_first = load_records(args.ptbxl)
    model = load_model(args.load)
    mets = CachedEmbeddings(model, data.X, embed(model, data.X, args.cache))
    if args.split == "val":
        train, ev = fold <= 6, (fold >= 7) & (fold <= 8)
    else:
        train, ev = fold <= 8, (fold >= 9) & in_first
    table = pd.read_csv(Path(args.ptbxl[0]) / "scp_statements.csv", index_col=0)
    tasks = {
        "superclasses": (data.y, list(data.target_names), None, args.scoring_superclasses),
        "statements": (Ystat, STATEMENTS, {s: str(table.loc[s, "description"]) for s in STATEMENTS},
                       args.scoring_statements),
    }
    grid = parse_grid(args.grid)
    result = {"model": args.load, "split": args.split, "protocol": args.protocol,
              "draws": args.draws, "seed": args.seed, "probe_c": args.probe_c,
              "n_train_pool": int(train.sum()), "tasks": {}}
    rng = np.random.default_rng(args.seed)
    for name in args.tasks:
        Y, names, descriptions, scoring = tasks[name]
        task = run_task(name, mets, data.X, Y, names, train, ev, descriptions, scoring, grid, args)
        result["tasks"][name] = summarise(task, args.bootstrap, rng)
        print(f"{name} done after {time.perf_counter() - start:.0f} s", flush=True)
    result["seconds"] = round(time.perf_counter() - start, 1)
    print_table(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
