"""Load time, embedding throughput and peak memory of a foundation model at its released size.

The weights are random (the released checkpoints are not needed: the time and
memory depend on the network's size only). The script builds the network of
the table entry, saves it as a checkpoint in the released format in a
temporary folder, then, in a fresh process, loads it with
``load_foundation_model`` and embeds PTB-XL sample records upsampled to the
model's rate (the model's preprocessing included). Run from the repository's
root::

    OMP_NUM_THREADS=1 python benchmarks/bench_foundation.py ecgfounder-12lead --records 64

``--finetune EPOCHS`` then fine-tunes the model with
:class:`~sklearn_ecg.ECGClassifier` (NORM against the rest, ``EPOCHS`` epochs, the
encoder trained from the first), saves the classifier with ``save_pretrained``
and loads it back: time per record and epoch, peak memory, folder size and
load time.

``--checkpoint PATH`` measures an existing checkpoint instead (e.g. MERL's,
whose ``*_ckpt.pth`` also holds the text model: write one at the released
size with ``tools/make_merl_fixtures.py --released``).

It prints one JSON line: the checkpoint size, the load time, the resident
memory (Linux) just before and after loading, the peak resident memory before
loading, after it and at the end, and the records embedded per second (of wall time and of the
process's CPU time, which other work on the machine does not inflate).
"""

import argparse
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb():
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@contextlib.contextmanager
def _sampled_rss(every=0.002):
    """The process's resident memory (MB), sampled every ``every`` seconds during the block."""
    sampled, done = [_rss_mb()], threading.Event()

    def sample():
        while not done.is_set():
            sampled.append(_rss_mb())
            time.sleep(every)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        yield sampled
    finally:
        done.set()
        thread.join()


def _write_checkpoint(name, path):
    import torch

    from sklearn_ecg.foundation._loading import _builder
    from sklearn_ecg.foundation._table import entry

    spec = entry(name)
    torch.manual_seed(0)
    module = _builder(spec)()
    state = module.state_dict()
    key = spec["checkpoint"].get("state_dict_key")
    torch.save({key: state} if key else state, path)


def _finetune(emb, X, y, epochs, batch_size):
    """Fine-tune ``emb`` on ``X, y``; save and load the classifier."""
    import numpy as np

    from sklearn_ecg import ECGClassifier, load_pretrained

    clf = ECGClassifier(emb, max_epochs=epochs, batch_size=batch_size, lr=1e-4, validation_fraction=None,
                        device="cpu", random_state=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    with tempfile.TemporaryDirectory() as tmp:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pretrainer is not saved, as documented
            folder = clf.save_pretrained(os.path.join(tmp, "clf"))
        size = sum(f.stat().st_size for f in folder.iterdir())
        start = time.perf_counter()
        loaded = load_pretrained(folder, device="cpu")
        load_s = time.perf_counter() - start
        same = bool(np.array_equal(loaded.predict_proba(X[:8]), clf.predict_proba(X[:8])))
    return {"finetune_epochs": epochs, "finetune_s": round(fit_s, 1),
            "finetune_cpu_s_per_record_epoch": round(fit_cpu_s / (len(X) * epochs), 3),
            "peak_rss_after_finetune_mb": round(_peak_mb()), "saved_folder_mb": round(size / 2**20, 1),
            "load_saved_s": round(load_s, 2), "loaded_predicts_the_same": same}


def _measure(name, path, n_records, batch_size, finetune=0):
    import numpy as np
    import torch
    from scipy.signal import resample_poly

    from sklearn_ecg import load_foundation_model
    from sklearn_ecg.datasets import load_ptbxl_sample
    from sklearn_ecg.foundation._table import entry

    spec = entry(name)
    data = load_ptbxl_sample(ecg_ids=list(range(1, n_records + 1)), leads=spec["input"]["lead_names"])
    factor = int(spec["input"]["fs"] // data.fs)
    X = resample_poly(data.X, factor, 1, axis=-1).astype(np.float32)
    gc.collect()
    before, peak_before = _rss_mb(), _peak_mb()
    with _sampled_rss() as sampled:
        start = time.perf_counter()
        emb = load_foundation_model(name, path, batch_size=batch_size)
        load_s = time.perf_counter() - start
    after, peak_load = _rss_mb(), _peak_mb()
    emb.transform(X[:batch_size])  # warm-up
    start, cpu_start = time.perf_counter(), time.process_time()
    out = emb.transform(X)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result = {}
    if finetune:
        result = _finetune(emb, X, data.y[:, list(data.target_names).index("NORM")], finetune, batch_size)
    return {
        **result,
        "model": name, "records": len(X), "batch_size": batch_size,
        "threads": torch.get_num_threads(), "embedding": list(out.shape),
        "parameters_m": round(sum(p.numel() for p in emb.module_.parameters()) / 1e6, 2),
        "checkpoint_mb": round(os.path.getsize(path) / 2**20, 1),
        "load_s": round(load_s, 2), "rss_before_load_mb": round(before),
        "rss_after_load_mb": round(after), "peak_rss_before_load_mb": round(peak_before),
        "peak_rss_while_loading_mb": round(max(sampled)),
        "peak_rss_after_load_mb": round(peak_load), "peak_rss_mb": round(_peak_mb()),
        "transform_s": round(seconds, 2), "records_per_s": round(len(X) / seconds, 2),
        # CPU time of the process: with one thread, what the wall time would be on an idle CPU.
        "transform_cpu_s": round(cpu_seconds, 2), "records_per_cpu_s": round(len(X) / cpu_seconds, 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a name of sklearn_ecg.foundation.foundation_models()")
    parser.add_argument("--records", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--finetune", type=int, default=0, metavar="EPOCHS")
    parser.add_argument("--checkpoint", help="an existing checkpoint of the model (default: random weights)")
    parser.add_argument("--measure", metavar="CHECKPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.name, args.measure, args.records, args.batch_size, args.finetune)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint or os.path.join(tmp, "checkpoint.pth")
        if not args.checkpoint:
            _write_checkpoint(args.name, path)
        # A fresh process: its peak memory is that of loading and embedding only.
        subprocess.run([sys.executable, __file__, args.name, "--records", str(args.records),
                        "--batch-size", str(args.batch_size), "--finetune", str(args.finetune),
                        "--measure", path], check=True)


if __name__ == "__main__":
    main()
