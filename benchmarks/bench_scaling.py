"""How pretraining and transform scale with the number of records read from a memmap.

For every size, a fresh process writes a synthetic ECG-like database to a
``numpy.memmap`` file (P, QRS and T waves at a random heart rate, baseline
wander and noise, per-lead amplitudes; float32 or float64), opens it
read-only, pretrains on it and embeds it. It reports the seconds per epoch,
``transform``'s records per second and the peak *anonymous* resident memory
of the process (``RssAnon`` of ``/proc/self/status``, sampled every 20 ms):
the memory the process allocates, not the memmap's page cache, which the
kernel can drop. The goals: seconds per epoch linear in the records, and the
allocated memory flat in the records (no whole-array copy, float64 included)::

    python benchmarks/bench_scaling.py                       # 1k and 2k records, 1 epoch
    python benchmarks/bench_scaling.py --records 1000 4000 16000 --epochs 2 --dtype float32 float64
    python benchmarks/bench_scaling.py --method mets --records 1000 4000

Linux only (``/proc``).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np


def synthetic_ecg(n_records, n_leads=8, length=1000, fs=100.0, seed=0):
    """ECG-like records (n_records, n_leads, length) in mV, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / fs
    rate = rng.uniform(50, 110, size=(n_records, 1, 1)) / 60.0  # beats per second
    phase = (t[None, None, :] * rate + rng.uniform(0, 1, size=(n_records, 1, 1))) % 1.0
    # Gaussian waves at fixed fractions of the cycle: P, Q, R, S, T.
    waves = [(0.15, 0.025, 0.12), (0.27, 0.008, -0.12), (0.30, 0.010, 1.0),
             (0.33, 0.010, -0.25), (0.55, 0.045, 0.3)]
    beat = sum(a * np.exp(-0.5 * ((phase - c) / w) ** 2) for c, w, a in waves)
    gain = rng.uniform(0.3, 1.5, size=(n_records, n_leads, 1)) * rng.choice([-1, 1], (n_records, n_leads, 1))
    wander = 0.1 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5, (n_records, 1, 1)) * t
                          + rng.uniform(0, 2 * np.pi, (n_records, n_leads, 1)))
    noise = 0.02 * rng.standard_normal((n_records, n_leads, length))
    return (gain * beat + wander + noise).astype(np.float32)


def _write_memmap(path, n_records, dtype, n_leads, length, chunk=512):
    out = np.memmap(path, dtype=dtype, mode="w+", shape=(n_records, n_leads, length))
    for start in range(0, n_records, chunk):
        stop = min(start + chunk, n_records)
        out[start:stop] = synthetic_ecg(stop - start, n_leads, length, seed=start)
    out.flush()
    del out
    return np.memmap(path, dtype=dtype, mode="r", shape=(n_records, n_leads, length))


def _rss_anon_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


class _PeakSampler(threading.Thread):
    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = _rss_anon_mb()
        self._done = threading.Event()

    def run(self):
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, _rss_anon_mb())

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, _rss_anon_mb())
        return self.peak


def run_one(n_records, dtype, method, epochs, batch_size, n_leads, length, threads):
    """Measure one size in this process; returns a dict of figures."""
    import torch

    torch.set_num_threads(threads)
    if method == "lcd":
        from sklearn_ecg import LCDPretrainer as Est

        fit_kwargs = {}
        est = Est(max_epochs=epochs, random_state=0, device="cpu",
                  **({"batch_size": batch_size} if batch_size else {}))
    else:
        from sklearn_ecg import METSPretrainer as Est

        reports = [f"report {i % 50}" for i in range(n_records)]
        fit_kwargs = {"reports": reports}
        est = Est(max_epochs=epochs, random_state=0, device="cpu",
                  text_encoder=lambda t: np.ones((len(t), 8), np.float32),
                  **({"batch_size": batch_size} if batch_size else {}))
    with tempfile.TemporaryDirectory() as tmp:
        X = _write_memmap(os.path.join(tmp, "records.dat"), n_records, dtype, n_leads, length)
        baseline = _rss_anon_mb()
        sampler = _PeakSampler()
        sampler.start()
        start = time.perf_counter()
        est.fit(X, **fit_kwargs)
        fit_s = time.perf_counter() - start
        fit_peak = sampler.stop()
        sampler = _PeakSampler()
        sampler.start()
        start = time.perf_counter()
        Z = est.transform(X)
        transform_s = time.perf_counter() - start
        transform_peak = sampler.stop()
        durations = [round(float(d), 2) for d in est.history_[:, "dur"]]
    return {
        "method": method,
        "records": n_records,
        "dtype": np.dtype(dtype).name,
        "shape": [n_records, n_leads, length],
        "data_mb": round(n_records * n_leads * length * np.dtype(dtype).itemsize / 2**20, 1),
        "batch_size": est.batch_size,
        "epoch_s": durations,
        "fit_s": round(fit_s, 2),
        "transform_records_per_s": round(n_records / transform_s, 1),
        "rss_anon_before_fit_mb": round(baseline, 1),
        "rss_anon_peak_fit_mb": round(fit_peak, 1),
        "rss_anon_peak_transform_mb": round(transform_peak, 1),
        "embedding_shape": list(Z.shape),
        "torch_threads": torch.get_num_threads(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=["lcd", "mets"], default="lcd")
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--dtype", nargs="+", default=["float32"], choices=["float32", "float64"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--leads", type=int, default=8)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        figures = run_one(args.records[0], args.dtype[0], args.method, args.epochs,
                          args.batch_size, args.leads, args.length, args.threads)
        print(json.dumps(figures))
        return figures
    rows = []
    for dtype in args.dtype:
        for n in args.records:
            # One process per size: its peak memory is its own.
            cmd = [sys.executable, os.path.abspath(__file__), "--one", "--records", str(n),
                   "--dtype", dtype, "--method", args.method, "--epochs", str(args.epochs),
                   "--leads", str(args.leads), "--length", str(args.length),
                   "--threads", str(args.threads)]
            if args.batch_size:
                cmd += ["--batch-size", str(args.batch_size)]
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
