"""Time pretraining and ``transform`` of a pretrainer for a given size and device.

Reports records per second and seconds per epoch of ``fit`` (the first epoch
apart: it pays for allocator warm-up), the time of ``transform``, and the peak
memory of the process (resident set on the CPU, allocated memory on CUDA).

The default setting is the one used to time the reference LCD implementation:
the 500 records of the embedded PTB-XL sample, 8 leads (II, III, V1-V6), 1000
samples, batch 256, 10 epochs::

    python benchmarks/bench_pretrain.py
    python benchmarks/bench_pretrain.py --device cuda --records 20000   # synthetic records
    python benchmarks/bench_pretrain.py --method mets --epochs 2

Sizes other than the sample's use random records of the requested shape.
"""

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]


def _records(n_records, n_leads, length, seed=0):
    from sklearn_ecg.datasets import load_ptbxl_sample

    sample = load_ptbxl_sample()
    # Up to 8 leads: the reference's independent leads; 12: all of them, in order.
    names = sample.lead_names if n_leads == len(sample.lead_names) else LEADS[:n_leads]
    if n_records <= len(sample.X) and length <= sample.X.shape[2] and n_leads <= len(names):
        idx = [sample.lead_names.index(name) for name in names]
        return np.ascontiguousarray(sample.X[:n_records][:, idx, :length]), sample.report[:n_records]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_records, n_leads, length), dtype=np.float32)
    reports = np.resize(np.asarray(sample.report, dtype=object), n_records)
    return X, reports


def _peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=["lcd", "mets"], default="lcd")
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--leads", type=int, default=8)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the method's own (LCD 256, METS 32)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--profile", action="store_true",
                        help="also print torch.profiler's table of the operators of one more epoch")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X, reports = _records(args.records, args.leads, args.length)
    params = dict(max_epochs=args.epochs, device=args.device, amp=args.amp, random_state=0)
    if args.batch_size:
        params["batch_size"] = args.batch_size
    if args.method == "lcd":
        from sklearn_ecg import LCDPretrainer

        model, fit_kwargs = LCDPretrainer(**params), {}
    else:
        from sklearn_ecg import METSPretrainer

        model, fit_kwargs = METSPretrainer(**params), {"reports": list(reports)}

    on_cuda = torch.device(model.device if model.device != "auto" else "cpu").type == "cuda"
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    model.fit(X, **fit_kwargs)
    fit_seconds = time.perf_counter() - start
    durations = np.asarray(model.history_[:, "dur"])
    steady = durations[1:] if len(durations) > 1 else durations

    start = time.perf_counter()
    Z = model.transform(X)
    if on_cuda:
        torch.cuda.synchronize()
    transform_seconds = time.perf_counter() - start

    figures = {
        "method": args.method,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "shape": list(X.shape),
        "batch_size": model.batch_size,
        "epochs": args.epochs,
        "fit_wall_s": round(fit_seconds, 2),
        "epoch_s_first": round(float(durations[0]), 3),
        "epoch_s_mean_after_first": round(float(steady.mean()), 3),
        "records_per_s": round(len(X) / float(steady.mean()), 1),
        "transform_s": round(transform_seconds, 3),
        "transform_records_per_s": round(len(X) / transform_seconds, 1),
        "embedding_shape": list(Z.shape),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    if on_cuda:
        figures["cuda_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        figures["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(figures, indent=2))
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        model.set_params(max_epochs=1, verbose=0)
        with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if on_cuda else [])]) as prof:
            model.fit(X, **fit_kwargs)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
