"""Pretraining, ``transform`` and loading timed for several checkouts, side by side in one run.

Each round runs, for every checkout in turn, a fresh process that imports
``sklearn_ecg`` from that checkout and times, on the embedded PTB-XL sample
(8 leads, 10 s at 100 Hz):

- ``lcd_fit``: ``LCDPretrainer`` (default network), 2 epochs on 128 records, batch 32;
- ``mets_fit``: ``METSPretrainer`` (default network, a constant text encoder), same;
- ``lcd_transform`` and ``mets_transform``: the shipped models' ``transform`` of
  the 500 records;
- ``lcd_load`` and ``mets_load``: ``from_pretrained`` of the shipped models.

Rounds alternate the checkouts, so that a change of the machine's load hits
them alike; the best time of each step over the rounds is kept::

    git worktree add /tmp/main_ref main
    OMP_NUM_THREADS=1 python benchmarks/bench_refactor.py /tmp/main_ref . --rounds 3

Prints the seconds of every step per checkout and round, the best of each,
and the ratio of the best ones to the first checkout's.
"""

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
warnings.simplefilter("ignore")
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample
s = load_ptbxl_sample()
idx = [s.lead_names.index(n) for n in ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]]
X8 = np.ascontiguousarray(s.X[:, idx, :1000])
X12 = np.ascontiguousarray(s.X[:, :, :1000])
out = {}
def timed(name, f):
    t = time.perf_counter()
    result = f()
    out[name] = time.perf_counter() - t
    return result
text = lambda t: np.ones((len(t), 8), np.float32) + np.arange(len(t), dtype=np.float32)[:, None] % 7
timed("lcd_fit", lambda: LCDPretrainer(max_epochs=2, batch_size=32, random_state=0, device="cpu").fit(X8[:128]))
timed("mets_fit", lambda: METSPretrainer(max_epochs=2, batch_size=32, random_state=0, device="cpu",
                                         text_encoder=text, translate_reports=False).fit(
                                             X12[:128], reports=[f"r{i % 7}" for i in range(128)]))
lcd = timed("lcd_load", lambda: LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu"))
mets = timed("mets_load", lambda: METSPretrainer.from_pretrained("mets-ptbxl", device="cpu"))
lcd.transform(X8[:32]); mets.transform(X12[:32])
timed("lcd_transform", lambda: lcd.transform(X8))
timed("mets_transform", lambda: mets.transform(X12))
print(json.dumps(out))
"""

STEPS = ("lcd_fit", "mets_fit", "lcd_transform", "mets_transform", "lcd_load", "mets_load")


def run(checkout, threads):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout), OMP_NUM_THREADS=str(threads))
    result = subprocess.run([sys.executable, "-c", _CHILD, str(threads)], cwd=checkout, env=env,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", help="folders holding a sklearn_ecg checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    times = {c: [] for c in args.checkouts}
    for r in range(args.rounds):
        for c in args.checkouts:
            times[c].append(run(c, args.threads))
            print(f"round {r + 1} {c}: " + ", ".join(f"{k} {v:.3f}" for k, v in times[c][-1].items()),
                  flush=True)
    best = {c: {k: min(t[k] for t in times[c]) for k in STEPS} for c in args.checkouts}
    first = args.checkouts[0]
    print("\nbest seconds over the rounds (ratio to the first checkout)")
    print("step".ljust(16) + "".join(c[-28:].rjust(30) for c in args.checkouts))
    for k in STEPS:
        cells = [f"{best[c][k]:.3f} ({best[c][k] / best[first][k]:.2f})".rjust(30) for c in args.checkouts]
        print(k.ljust(16) + "".join(cells))


if __name__ == "__main__":
    main()
