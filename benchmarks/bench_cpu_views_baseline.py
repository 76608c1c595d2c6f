"""Time LCD pretraining the way the reference implementation schedules it, for comparison.

The reference computes the three views of every record on the CPU, record by
record, in ``DataLoader`` workers (an FFT resampling of all leads for the
random resized crop, then the time-out), and runs the two online passes, the
target pass and a parameter-by-parameter EMA in the main process. This script
reproduces that schedule with the package's own encoder, heads and loss, so
that ``benchmarks/bench_pretrain.py`` can be compared with it on the same
machine and the same data (the embedded sample, 8 leads, 1000 samples, batch
256, one loader worker by default)::

    python benchmarks/bench_cpu_views_baseline.py
    python benchmarks/bench_pretrain.py

It prints the time of each epoch and of its training steps, and the peak
resident memory of the main process and of the loader worker.
"""

import argparse
import json
import resource
import time

import numpy as np
import torch
from scipy.signal import resample

from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.lcd import LCDModule
from sklearn_ecg.nn.losses import lcd_loss

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]


def numpy_view(record, rng):
    """One LCD view of one record (leads, T) on the CPU: FFT-resized crop, then time-out."""
    n_leads, length = record.shape
    kept = int(rng.uniform(0.5, 1.0) * length)
    first = rng.integers(0, length - kept) if kept < length else 0
    view = resample(record[:, first : first + kept], length, axis=1)
    zeroed = int(rng.uniform(0.0, 0.5) * length)
    start = rng.integers(0, length - zeroed)
    view[:, start : start + zeroed] = 0.0
    return view.astype(np.float32)


class ThreeViews(torch.utils.data.Dataset):
    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        rng = np.random.default_rng()
        record = self.X[index]
        return tuple(torch.from_numpy(numpy_view(record, rng)) for _ in range(3))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    X = load_ptbxl_sample(leads=LEADS).X.astype(np.float64)
    module = LCDModule()
    online = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(online, lr=1e-3)
    loader = torch.utils.data.DataLoader(
        ThreeViews(X), batch_size=args.batch_size, shuffle=True, num_workers=args.workers
    )
    epochs, steps = [], []
    start = time.perf_counter()
    for _ in range(args.epochs):
        epoch_start, step_time = time.perf_counter(), 0.0
        for x1, x2, x3 in loader:
            step_start = time.perf_counter()
            a, b = np.random.choice(x1.shape[1], 2, replace=False)
            h1 = module.projector(module.encoder(x1[:, [a]]))
            h2 = module.projector(module.encoder(x2[:, [b]]))
            with torch.no_grad():
                z3 = module.target_projector(module.target_encoder(x3[:, [a]]))
            loss, _ = lcd_loss(module.predictor(h1), z3, h1, module.predictor(h2), h2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # one parameter at a time, as the reference does
                for target, source in zip(module._target_parameters(), module._online_parameters()):
                    target.mul_(module.momentum).add_(source, alpha=1 - module.momentum)
            step_time += time.perf_counter() - step_start
        epochs.append(time.perf_counter() - epoch_start)
        steps.append(step_time)
        print(f"epoch {len(epochs)}: {epochs[-1]:.2f} s, of which training steps {step_time:.2f} s", flush=True)
    figures = {
        "fit_wall_s": round(time.perf_counter() - start, 2),
        "epoch_s_mean_after_first": round(float(np.mean(epochs[1:] or epochs)), 3),
        "step_s_per_epoch_after_first": round(float(np.mean(steps[1:] or steps)), 3),
        "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
