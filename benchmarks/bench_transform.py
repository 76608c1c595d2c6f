"""Transform throughput of several checkouts, side by side in one run.

Each round runs, for every checkout in turn, a fresh process that imports
``sklearn_ecg`` from that checkout, fits a pretrainer for one epoch on 64
records and times ``transform`` on the embedded PTB-XL sample (500 records,
8 leads, 10 s at 100 Hz; LCD's batch 256 by default). Rounds alternate the
checkouts so that a change in the machine's load hits them alike::

    git worktree add /tmp/base 764cc6b
    OMP_NUM_THREADS=2 python benchmarks/bench_transform.py /tmp/base . --rounds 3

Prints records per second per checkout and round, the best of each, and the
ratio of the best ones to the first checkout's.
"""

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, sys, time
import numpy as np, torch
from sklearn_ecg.datasets import load_ptbxl_sample
method, batch, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
s = load_ptbxl_sample()
idx = [s.lead_names.index(n) for n in ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]]
X = np.ascontiguousarray(s.X[:, idx, :1000])
if method == "lcd":
    from sklearn_ecg import LCDPretrainer
    est = LCDPretrainer(max_epochs=1, batch_size=batch, random_state=0, device="cpu").fit(X[:64])
else:
    from sklearn_ecg import METSPretrainer
    est = METSPretrainer(max_epochs=1, batch_size=batch, random_state=0, device="cpu",
                         text_encoder=lambda t: np.ones((len(t), 8), np.float32)).fit(
                             X[:64], reports=["x"] * 64)
est.transform(X[:32])
best = 0.0
for _ in range(repeats):
    start = time.perf_counter()
    est.transform(X)
    best = max(best, len(X) / (time.perf_counter() - start))
print(json.dumps({"records_per_s": best}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", help="checkout roots; the first is the reference")
    parser.add_argument("--method", choices=["lcd", "mets"], default="lcd")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="timed transforms per process")
    args = parser.parse_args(argv)
    trees = [os.path.abspath(t) for t in args.trees]
    results = {t: [] for t in trees}
    for round_ in range(args.rounds):
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=tree)
            env.setdefault("OMP_NUM_THREADS", str(args.threads))
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, args.method, str(args.batch_size),
                 str(args.threads), str(args.repeats)],
                env=env, capture_output=True, text=True, check=True, cwd=tree,
            )
            rate = json.loads(out.stdout.strip().splitlines()[-1])["records_per_s"]
            results[tree].append(round(rate, 1))
            print(f"round {round_}: {tree}: {rate:.1f} records/s", flush=True)
    best = {t: max(r) for t, r in results.items()}
    summary = {
        "method": args.method,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "records_per_s": results,
        "best": best,
        "ratio_to_first": {t: round(b / best[trees[0]], 2) for t, b in best.items()},
        "load_average": os.getloadavg(),
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
