"""Linear-probe quality of LCD embeddings on PTB-XL superclasses, with all and a tenth of the labels.

Pretrains :class:`~sklearn_ecg.LCDPretrainer` once on folds 1-8 (all PTB-XL
folders given, or the embedded sample), then trains the quickstart's linear
probe on all labelled training records and on a random tenth of them, and
reports per-class and macro ROC-AUC on folds 9-10 of the first folder, beside
the untrained encoder::

    python benchmarks/bench_quality.py --ptbxl path/to/ptbxl500 path/to/ptbxl-more

``--save model.joblib`` keeps the pretrained model; ``--load`` reuses one (a
``.joblib`` file, a saved folder or a shipped name such as ``lcd-ptbxl``).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from quickstart import linear_probe, load  # noqa: E402

from sklearn_ecg import LCDPretrainer  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptbxl", nargs="+")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save")
    parser.add_argument("--load")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    (X_train, y_train), (X_test, y_test), names = load(args.ptbxl)
    if args.load:
        lcd = joblib.load(args.load) if args.load.endswith(".joblib") else LCDPretrainer.from_pretrained(args.load)
    else:
        lcd = LCDPretrainer(max_epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                            random_state=args.seed, verbose=1)
        start = time.perf_counter()
        lcd.fit(X_train)
        print(f"pretrained on {X_train.shape} in {time.perf_counter() - start:.0f} s", flush=True)
        if args.save:
            joblib.dump(lcd, args.save)
    untrained = LCDPretrainer(max_epochs=0, device=args.device, random_state=args.seed).fit(X_train[:2])

    results = []
    for fraction in args.fractions:
        rng = np.random.default_rng(args.seed)
        n = len(X_train) if fraction >= 1 else max(8, int(round(fraction * len(X_train))))
        keep = np.arange(len(X_train)) if fraction >= 1 else rng.choice(len(X_train), size=n, replace=False)
        for label, encoder in (("LCD-pretrained", lcd), ("untrained encoder", untrained)):
            probe = linear_probe(FrozenEstimator(encoder)).fit(X_train[keep], y_train[keep])
            scores = probe.predict_proba(X_test)
            aucs = [float(roc_auc_score(y_test[:, k], scores[:, k])) for k in range(len(names))]
            row = {"encoder": label, "labelled_records": int(n), "macro": float(np.mean(aucs)),
                   **dict(zip(names, aucs))}
            results.append(row)
            print(f"{label:<18} {n:>5} labels  " + " ".join(f"{k} {a:.3f}" for k, a in zip(names, aucs))
                  + f"  macro {row['macro']:.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
