"""The reading and reconciling core shared by every loader.

A load runs in two passes. The first reads every header (cheap), checks that
the records agree on rate, length and leads (or that the options reconciling
them were given) and fixes the output shape. The second fills a preallocated
array, in memory or in a ``.npy`` memory map, record by record. A record that
fails in the second pass aborts the load and removes the partial file.
"""

import os
import warnings
from fractions import Fraction
from math import ceil
from pathlib import Path

import numpy as np

from ._io import STANDARD_LEADS, canonical_lead, read_signal

# A progress bar is only worth its noise for loads at least this large.
_PROGRESS_MIN_RECORDS = 200

_NAN_POLICIES = ("interpolate", "zero", "raise")
_CROPS = ("start", "center")
_PAD_MODES = ("constant", "edge")


def _list_str(items, limit=5):
    items = list(items)
    text = ", ".join(map(str, items[:limit]))
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_options(*, nan_policy, verbose, fs=None, length=None, crop="start",
                  pad_mode="constant"):
    """Validate the options every loader shares; raise a clear ``ValueError``."""
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {_NAN_POLICIES}, got {nan_policy!r}")
    if not isinstance(verbose, (bool, int, np.integer)):
        raise ValueError(f"verbose must be an int or bool, got {verbose!r}")
    if fs is not None and not (isinstance(fs, (int, float, np.number)) and fs > 0):
        raise ValueError(f"fs must be a positive sampling rate in Hz or None, got {fs!r}")
    if length is not None and not (isinstance(length, (int, np.integer)) and length > 0):
        raise ValueError(f"length must be a positive number of samples or None, got {length!r}")
    if crop not in _CROPS:
        raise ValueError(f"crop must be one of {_CROPS}, got {crop!r}")
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")


def find_headers(folder):
    """All ``.hea`` files under ``folder`` (recursively), as record paths."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    paths = sorted(p.with_suffix("") for p in folder.rglob("*.hea"))
    if not paths:
        raise FileNotFoundError(f"no WFDB records (.hea files) found under {folder}")
    return paths


def resolve_leads(headers, leads):
    """Choose the output leads and, per record, the row of each in its file.

    ``leads=None`` gives the standard 12-lead order when every record has
    those 12 leads, otherwise the leads of the records when they all have the
    same ones.
    """
    names = [[canonical_lead(n) for n in h.sig_name] for h in headers]
    if leads is None:
        if all(set(STANDARD_LEADS) <= set(n) for n in names):
            leads = STANDARD_LEADS
        elif all(n == names[0] for n in names):
            leads = names[0]
        else:
            odd = [h.name for h, n in zip(headers, names) if n != names[0]]
            raise ValueError(
                f"the records do not all have the same leads (record {headers[0].name!r} "
                f"has {names[0]}, records {_list_str(map(repr, odd))} differ): pass leads=[...] "
                f"to choose the leads to load"
            )
    else:
        if isinstance(leads, str):
            leads = [leads]
        leads = [canonical_lead(n) for n in leads]
        if len(set(leads)) != len(leads):
            raise ValueError(f"leads contains duplicates: {leads}")
        common = [n for n in names[0] if all(n in other for other in names)]
        unknown = [n for n in leads if n not in common]
        if unknown:
            raise ValueError(
                f"unknown lead name(s) {unknown}; the valid names (present in every "
                f"record) are {common}"
            )
    index = [np.array([n.index(lead) for lead in leads]) for n in names]
    return list(leads), index


def output_rate(headers, fs):
    """The common output rate, or a clear error telling to pass ``fs``."""
    if fs is not None:
        return float(fs)
    rates = sorted({h.fs for h in headers})
    if len(rates) > 1:
        examples = {r: next(h.name for h in headers if h.fs == r) for r in rates}
        detail = ", ".join(f"{r:g} Hz (e.g. {n!r})" for r, n in examples.items())
        raise ValueError(
            f"the records have different sampling rates: {detail}; pass fs=<rate in Hz> "
            f"to resample them all to one rate"
        )
    return float(rates[0])


def resample_ratio(fs_in, fs_out):
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def resampled_length(n_samples, fs_in, fs_out):
    up, down = resample_ratio(fs_in, fs_out)
    return n_samples if up == down else ceil(n_samples * up / down)


def output_length(headers, fs_out, length):
    """The common output length, or a clear error telling to pass ``length``."""
    if length is not None:
        return int(length)
    lengths = [resampled_length(h.n_samples, h.fs, fs_out) for h in headers]
    if len(set(lengths)) > 1:
        odd = [h.name for h, n in zip(headers, lengths) if n != lengths[0]]
        raise ValueError(
            f"the records have different lengths (record {headers[0].name!r}: "
            f"{lengths[0]} samples at {fs_out:g} Hz; records {_list_str(map(repr, odd))} differ): "
            f"pass length=<n_samples> to pad or crop them all to one length"
        )
    return lengths[0]


def fix_nan(signal, policy, record, lead_names, affected):
    """Apply ``nan_policy`` in place to a ``(n_leads, T)`` signal."""
    bad = np.isnan(signal)
    if not bad.any():
        return signal
    rows = np.flatnonzero(bad.any(axis=1))
    if policy == "raise":
        raise ValueError(
            f"record {record!r} has missing (NaN) samples in lead(s) "
            f"{[lead_names[r] for r in rows]}; pass nan_policy='interpolate' or 'zero'"
        )
    for r in rows:
        affected.append((record, lead_names[r]))
        row, mask = signal[r], bad[r]
        if policy == "zero" or mask.all():
            row[mask] = 0.0
        else:
            t = np.arange(row.size)
            # np.interp holds the edge values constant, which is the nearest
            # valid sample for leading and trailing NaN runs.
            row[mask] = np.interp(t[mask], t[~mask], row[~mask])
    return signal


def warn_nan(affected, policy):
    if affected and policy != "raise":
        what = "linearly interpolated" if policy == "interpolate" else "set to zero"
        warnings.warn(
            f"missing (NaN) samples were {what} in {len(affected)} lead(s): "
            f"{_list_str((f'{rec}/{lead}' for rec, lead in affected), limit=10)}",
            UserWarning,
            stacklevel=3,
        )


def resample(signal, fs_in, fs_out):
    up, down = resample_ratio(fs_in, fs_out)
    if up == down:
        return signal
    from scipy.signal import resample_poly

    return resample_poly(signal, up, down, axis=-1)


def fit_length(signal, length, crop="start", pad_mode="constant"):
    """Crop (from the start or centred) or pad (at the end) to ``length``."""
    n = signal.shape[-1]
    if n > length:
        start = 0 if crop == "start" else (n - length) // 2
        return signal[..., start:start + length]
    if n < length:
        mode = pad_mode if n > 0 else "constant"
        return np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, length - n)], mode=mode)
    return signal


class OutputArray:
    """A preallocated float32 array, in memory or as a ``.npy`` memory map.

    Used as a context manager: the memory-mapped file is written under a
    temporary name and only renamed to ``memmap_path`` when the block ends
    without error, so a failed load never leaves a valid-looking file.
    """

    def __init__(self, shape, memmap_path=None):
        self.shape = tuple(int(s) for s in shape)
        self.path = None if memmap_path is None else Path(memmap_path)
        self.array = None

    def __enter__(self):
        if self.path is None:
            self.array = np.zeros(self.shape, dtype=np.float32)
        else:
            if not self.path.parent.is_dir():
                raise FileNotFoundError(
                    f"memmap_path {self.path}: folder {self.path.parent} does not exist"
                )
            self._tmp = self.path.with_name(self.path.name + ".partial")
            from numpy.lib.format import open_memmap

            self.array = open_memmap(self._tmp, mode="w+", dtype=np.float32, shape=self.shape)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.path is None:
            return False
        self.array.flush()
        del self.array
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
            return False
        os.replace(self._tmp, self.path)
        self.array = np.load(self.path, mmap_mode="r+")
        return False


def progress(iterable, total, verbose, desc, min_records=_PROGRESS_MIN_RECORDS):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="record",
                disable=not verbose or total < min_records)


def load_signals(headers, *, leads=None, fs=None, length=None, crop="start",
                 pad_mode="constant", nan_policy="interpolate", memmap_path=None,
                 verbose=1, desc="Loading records"):
    """Read ``headers``' records into one float32 ``(n, n_leads, T)`` array in mV.

    Returns ``X, lead_names, fs_out``.
    """
    lead_names, index = resolve_leads(headers, leads)
    fs_out = output_rate(headers, fs)
    n_out = output_length(headers, fs_out, length)
    affected = []
    with OutputArray((len(headers), len(lead_names), n_out), memmap_path) as out:
        for i, header in progress(enumerate(headers), len(headers), verbose, desc):
            signal = read_signal(header)[index[i]]
            fix_nan(signal, nan_policy, header.name, lead_names, affected)
            signal = resample(signal, header.fs, fs_out)
            out.array[i] = fit_length(signal, n_out, crop, pad_mode)
    warn_nan(affected, nan_policy)
    return out.array, lead_names, fs_out
