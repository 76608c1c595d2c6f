"""The reading and reconciling core shared by every loader.

A load runs in two passes. The first reads every header (cheap), checks that
the records agree on rate, length and leads (or that the options reconciling
them were given) and fixes the output shape. The second fills a preallocated
array, in memory or in a ``.npy`` memory map, record by record. A record that
fails in the second pass aborts the load and removes the partial file.

Resampling, cropping and padding, and lead names, are those of
:mod:`sklearn_ecg.preprocessing`: a record loaded with ``fs=`` and
``length=`` equals the record loaded as it is and passed through
:class:`~sklearn_ecg.preprocessing.Resample` and
:class:`~sklearn_ecg.preprocessing.PadOrCrop`.
"""

import os
import tempfile
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import StrOptions

from .._param_validation import StrictInterval
from .._param_validation import POSITIVE
from ..preprocessing._leads import STANDARD_LEADS, canonical_lead, lead_key
from ..preprocessing._length import pad_or_crop, resample, resample_ratio, resampled_length
from ._io import read_signal

# A progress bar is only worth its noise for loads at least this large.
_PROGRESS_MIN_RECORDS = 200

_NAN_POLICIES = ("interpolate", "zero", "raise")
_CROPS = ("start", "center")
_PAD_MODES = ("constant", "edge")

#: Constraints of the options the loaders share, for scikit-learn's
#: ``validate_params`` (a private helper, sklearn.utils._param_validation,
#: tested with the range pinned in pyproject.toml).
CONSTRAINTS = {
    "path": [str, os.PathLike],
    "fs": [POSITIVE, None],
    "length": [StrictInterval(Integral, 1, None, closed="left"), None],
    "leads": [str, "array-like", None],
    "crop": [StrOptions(set(_CROPS))],
    "pad_mode": [StrOptions(set(_PAD_MODES))],
    "nan_policy": [StrOptions(set(_NAN_POLICIES))],
    "memmap_path": [str, os.PathLike, None],
    "overwrite_memmap": ["boolean"],
    "verbose": ["verbose"],
}


def constraints(*names, **extra):
    """The shared constraints of ``names`` plus ``extra`` ones, for ``validate_params``."""
    return {**{name: CONSTRAINTS[name] for name in names}, **extra}


def _list_str(items, limit=5):
    items = list(items)
    text = ", ".join(map(str, items[:limit]))
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
    same ones. Names are matched as :class:`~sklearn_ecg.preprocessing.SelectLeads`
    matches them (:func:`~sklearn_ecg.preprocessing._leads.lead_key`); the
    output uses the records' spelling, standard leads in their standard one.
    """
    names = [[canonical_lead(n) for n in h.sig_name] for h in headers]
    keys = [[lead_key(n) for n in record] for record in names]
    if leads is None:
        standard = {lead_key(n) for n in STANDARD_LEADS}
        if all(standard <= set(k) for k in keys):
            leads = list(STANDARD_LEADS)
        elif all(k == keys[0] for k in keys):
            leads = names[0]
        else:
            odd = [h.name for h, k in zip(headers, keys) if k != keys[0]]
            raise ValueError(
                f"the records do not all have the same leads (record {headers[0].name!r} "
                f"has {names[0]}, records {_list_str(map(repr, odd))} differ): pass leads=[...] "
                f"to choose the leads to load"
            )
    else:
        wanted = [leads] if isinstance(leads, str) else list(leads)
        if not wanted or not all(isinstance(n, str) for n in wanted):
            raise ValueError(
                f"leads must be a lead name or a non-empty list of them, got {leads!r}"
            )
        wanted_keys = [lead_key(n) for n in wanted]
        if len(set(wanted_keys)) != len(wanted_keys):
            raise ValueError(f"leads contains duplicates: {[canonical_lead(n) for n in wanted]}")
        common = [n for n, k in zip(names[0], keys[0]) if all(k in other for other in keys)]
        spelling = {lead_key(n): n for n in reversed(common)}
        unknown = [canonical_lead(n) for n, k in zip(wanted, wanted_keys) if k not in spelling]
        if unknown:
            raise ValueError(
                f"unknown lead name(s) {unknown}; the valid names (present in every "
                f"record) are {common}"
            )
        leads = [spelling[k] for k in wanted_keys]
    index = [np.array([k.index(lead_key(lead)) for lead in leads]) for k in keys]
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


def record_ratio(header, fs_out):
    """The resampling ratio of one record, or an error that names it."""
    return resample_ratio(header.fs, fs_out, f"record {header.name!r}")


def record_length(header, fs_out):
    """The length of one record at ``fs_out``, as :class:`Resample` gives it."""
    n_out = resampled_length(header.n_samples, record_ratio(header, fs_out))
    if n_out < 1:
        raise ValueError(
            f"record {header.name!r} of {header.n_samples} sample(s) at {header.fs:g} Hz is "
            f"shorter than one sample at {fs_out:g} Hz"
        )
    return n_out


def output_length(headers, fs_out, length):
    """The common output length, or a clear error telling to pass ``length``."""
    if length is not None:
        return int(length)
    lengths = [record_length(h, fs_out) for h in headers]
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


def input_files(headers):
    """The files a load of ``headers`` reads: headers and signal files."""
    for h in headers:
        yield h.hea
        for fname in dict.fromkeys(h.file_name):
            yield h.path.with_name(fname)


class OutputArray:
    """A preallocated float32 array, in memory or as a ``.npy`` memory map.

    Used as a context manager. A memory map is written under a unique
    temporary name in the folder of ``memmap_path`` (two loads never share
    it) and renamed to ``memmap_path`` only when the block ends without
    error; whatever fails, no file is left behind. An existing
    ``memmap_path`` is refused unless ``overwrite`` is true, and refused
    always when it is a folder or one of ``inputs``, the files the load reads.
    """

    def __init__(self, shape, memmap_path=None, *, overwrite=False, inputs=()):
        self.shape = tuple(int(s) for s in shape)
        self.path = None if memmap_path is None else Path(memmap_path)
        self.overwrite = overwrite
        self.inputs = inputs
        self.array = None

    def _check_target(self):
        path = self.path
        if not path.parent.is_dir():
            raise FileNotFoundError(
                f"memmap_path {path}: folder {path.parent} does not exist"
            )
        if path.is_dir():
            raise IsADirectoryError(
                f"memmap_path {path} is a folder; pass the path of the .npy file to "
                f"write, e.g. {path / 'X.npy'}"
            )
        if not os.path.lexists(path):
            return
        if path.exists():
            target = os.stat(path)
            for source in self.inputs:
                try:
                    same = os.path.samestat(target, os.stat(source))
                except OSError:
                    continue
                if same:
                    raise ValueError(
                        f"memmap_path {path} is {source}, a file this load reads; writing X "
                        f"there would destroy the data. Choose another path."
                    )
        if not self.overwrite:
            raise FileExistsError(
                f"memmap_path {path} already exists; pass overwrite_memmap=True to replace "
                f"it, or choose another path"
            )

    def __enter__(self):
        if self.path is None:
            self.array = np.zeros(self.shape, dtype=np.float32)
            return self
        self._check_target()
        from numpy.lib.format import open_memmap

        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent
        )
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self.array = open_memmap(self._tmp, mode="w+", dtype=np.float32, shape=self.shape)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        return self

    def _publish(self):
        if self.overwrite:
            os.replace(self._tmp, self.path)
            return
        taken = FileExistsError(
            f"memmap_path {self.path} was created by something else during the load; pass "
            f"overwrite_memmap=True to replace it, or choose another path"
        )
        try:
            # A hard link never replaces a file that appeared meanwhile.
            os.link(self._tmp, self.path)
        except FileExistsError:
            raise taken from None
        except OSError:  # a file system without hard links
            if os.path.lexists(self.path):
                raise taken from None
            os.replace(self._tmp, self.path)

    def __exit__(self, exc_type, exc, tb):
        if self.path is None:
            return False
        try:
            if exc_type is None:
                self.array.flush()
            # Close the map before the file is renamed or removed.
            self.array = None
            if exc_type is None:
                self._publish()
                self.array = np.load(self.path, mmap_mode="r+")
        finally:
            self._tmp.unlink(missing_ok=True)
        return False


def progress(iterable, total, verbose, desc, min_records=_PROGRESS_MIN_RECORDS):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="record",
                disable=not verbose or total < min_records)


def load_signals(headers, *, leads=None, fs=None, length=None, crop="start",
                 pad_mode="constant", nan_policy="interpolate", memmap_path=None,
                 overwrite_memmap=False, extra_inputs=(), verbose=1, desc="Loading records"):
    """Read ``headers``' records into one float32 ``(n, n_leads, T)`` array in mV.

    ``extra_inputs`` are files the load reads besides the records (tables),
    which ``memmap_path`` may not name either. Returns ``X, lead_names, fs_out``.
    """
    lead_names, index = resolve_leads(headers, leads)
    fs_out = output_rate(headers, fs)
    n_out = output_length(headers, fs_out, length)
    affected = []
    inputs = [*extra_inputs, *input_files(headers)] if memmap_path is not None else ()
    with OutputArray((len(headers), len(lead_names), n_out), memmap_path,
                     overwrite=overwrite_memmap, inputs=inputs) as out:
        for i, header in progress(enumerate(headers), len(headers), verbose, desc):
            signal = read_signal(header)[index[i]]
            fix_nan(signal, nan_policy, header.name, lead_names, affected)
            signal = resample(signal, record_ratio(header, fs_out))
            out.array[i] = pad_or_crop(signal, n_out, mode=crop, pad_mode=pad_mode)
    warn_nan(affected, nan_policy)
    return out.array, lead_names, fs_out
