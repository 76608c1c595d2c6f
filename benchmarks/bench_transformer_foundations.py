"""Load time, throughput and peak memory of ST-MEM and HuBERT-ECG at their released sizes.

The weights are random (time and memory depend on the network's size only).
For each model the script saves a checkpoint of the table entry's network in
the released format in a temporary folder, then, in a fresh process, loads it
with ``load_foundation_model`` and embeds PTB-XL sample records (10 s at
100 Hz, in mV) brought to the model by its ``input_pipeline`` (FFT
resampling) and its own preprocessing. Run from the repository's root::

    OMP_NUM_THREADS=1 python benchmarks/bench_transformer_foundations.py st-mem hubert-ecg-base

It prints one JSON line per model: parameters, checkpoint size, the time to
import the network's code (``transformers`` for HuBERT-ECG), the load time
(reading the checkpoint into the network), resident memory before and after
loading and its largest value while loading (sampled every 2 ms), peak
resident memory, and records embedded per second
(preprocessing included).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench_foundation import _peak_mb, _rss_mb, _sampled_rss, _write_checkpoint


def _measure(name, path, n_records, batch_size):
    import numpy as np
    import torch

    from sklearn_ecg import load_foundation_model
    from sklearn_ecg.datasets import load_ptbxl_sample

    from sklearn_ecg.foundation._table import entry, network_class

    data = load_ptbxl_sample(ecg_ids=list(range(1, n_records + 1)))
    start = time.perf_counter()
    network_class(entry(name))  # the network's module, and transformers for HuBERT-ECG
    if name.startswith("hubert"):
        import transformers
        transformers.HubertModel  # noqa: B018 (transformers imports its models lazily)
    import_s = time.perf_counter() - start
    before, peak_before = _rss_mb(), _peak_mb()
    with _sampled_rss() as sampled:
        start = time.perf_counter()
        emb = load_foundation_model(name, path, batch_size=batch_size)
        load_s = time.perf_counter() - start
    after, peak_load = _rss_mb(), _peak_mb()
    prep = emb.input_pipeline(fs=data.fs, lead_names=data.lead_names)
    emb.transform(prep.fit_transform(data.X[:2]))  # warm-up
    start = time.perf_counter()
    out = emb.transform(prep.fit_transform(data.X))
    seconds = time.perf_counter() - start
    return {
        "model": name, "records": len(data.X), "batch_size": batch_size,
        "threads": torch.get_num_threads(), "embedding": list(out.shape),
        "parameters_m": round(sum(p.numel() for p in emb.module_.parameters()) / 1e6, 2),
        "checkpoint_mb": round(os.path.getsize(path) / 2**20, 1),
        "import_s": round(import_s, 2), "load_s": round(load_s, 2), "rss_before_load_mb": round(before),
        "rss_after_load_mb": round(after), "peak_rss_before_load_mb": round(peak_before),
        "peak_rss_while_loading_mb": round(max(sampled)), "peak_rss_after_load_mb": round(peak_load),
        "peak_rss_mb": round(_peak_mb()), "transform_s": round(seconds, 2),
        "records_per_s": round(len(data.X) / seconds, 2), "finite": bool(np.isfinite(out).all()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="names of sklearn_ecg.foundation.foundation_models()")
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--measure", metavar="CHECKPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.names[0], args.measure, args.records, args.batch_size)),
              flush=True)
        return
    for name in args.names:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "checkpoint.pth")
            _write_checkpoint(name, path)
            # A fresh process: its peak memory is that of loading and embedding only.
            subprocess.run([sys.executable, __file__, name, "--records", str(args.records),
                            "--batch-size", str(args.batch_size), "--measure", path], check=True)


if __name__ == "__main__":
    main()
