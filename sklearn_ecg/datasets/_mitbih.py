"""Loader for the MIT-BIH Arrhythmia Database, segmented into beats or windows."""

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import StrOptions, validate_params

from .._param_validation import StrictInterval
from .._param_validation import POSITIVE
from ..preprocessing._length import resample
from ._common import (
    OutputArray, _list_str, constraints, find_headers, fix_nan, input_files, output_rate,
    progress, record_length, record_ratio, resolve_leads, warn_nan,
)
from ._io import read_signal
from ._wfdb import read_headers

AAMI_CLASSES = ["N", "S", "V", "F", "Q"]
AAMI_MAP = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}
# de Chazal, O'Dwyer and Reilly (2004), IEEE Trans. Biomed. Eng. 51(7).
DS1 = ["101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"]
DS2 = ["100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234"]
PACED = ["102", "104", "107", "217"]
# Records 201 and 202 were recorded from the same man.
_SAME_PATIENT = {"202": "201"}

DESCR_MITBIH = """\
MIT-BIH Arrhythmia Database.

48 half-hour two-lead ambulatory ECGs (360 Hz, usually MLII plus V1, V2, V4
or V5) from 47 patients, with beat annotations by two cardiologists, here
grouped into the AAMI EC57 classes N, S, V, F, Q. ``metadata["split"]`` gives
the inter-patient split of de Chazal et al. (2004): train on DS1, test on DS2.

Moody, G.B., Mark, R.G. (2001). The impact of the MIT-BIH Arrhythmia
Database. IEEE Eng. Med. Biol. 20(3), 45-50; Goldberger et al. (2000),
PhysioNet, Circulation 101(23). Licence: ODC-By 1.0.
"""


def _split(name):
    if name in DS1:
        return "DS1"
    if name in DS2:
        return "DS2"
    return "paced" if name in PACED else "other"


def _window_samples(window, fs):
    if (not isinstance(window, (tuple, list)) or len(window) != 2
            or not all(isinstance(w, Real) and w >= 0 for w in window) or sum(window) <= 0):
        raise ValueError(
            f"window must be a pair (before, after) of non-negative numbers, seconds as "
            f"floats or samples as ints, got {window!r}"
        )
    if all(isinstance(w, Integral) for w in window):
        return int(window[0]), int(window[1])
    return int(round(window[0] * fs)), int(round(window[1] * fs))


def _read_beats(header, fs_out):
    import wfdb

    atr = header.path.with_name(header.name + ".atr")
    if not atr.is_file():
        raise FileNotFoundError(f"record {header.name!r}: annotation file {atr} not found")
    try:
        ann = wfdb.rdann(str(header.path), "atr")
    except Exception as exc:
        raise ValueError(f"corrupt annotation file {atr}: {exc}") from exc
    if len(ann.sample) == 0:
        raise ValueError(
            f"record {header.name!r}: its annotation file {atr} holds no annotation (it is "
            f"empty or damaged), so the record has no labelled beat. Download the file "
            f"again, or leave the record out with records=[...]."
        )
    keep = [i for i, s in enumerate(ann.symbol) if s in AAMI_MAP]
    samples = np.asarray(ann.sample, dtype=np.int64)[keep]
    if fs_out != header.fs:
        samples = np.round(samples * (fs_out / header.fs)).astype(np.int64)
    return samples, [ann.symbol[i] for i in keep]


def _window_label(classes):
    if not classes:
        return ""
    counts = {c: classes.count(c) for c in AAMI_CLASSES[1:]}
    best = max(counts.values())
    if best == 0:
        return "N"
    return next(c for c in AAMI_CLASSES[1:] if counts[c] == best)


@validate_params(
    constraints("path", "leads", "fs", "nan_policy", "memmap_path", "overwrite_memmap",
                "verbose",
                segment=[StrOptions({"beat", "window"})],
                window=["array-like"],
                window_seconds=[POSITIVE],
                records=[str, StrictInterval(Integral, 0, None, closed="left"), "array-like", None],
                include_paced=["boolean"]),
    prefer_skip_nested_validation=True,
)
def load_mitbih(path, *, segment="beat", window=(0.25, 0.45), window_seconds=10.0,
                leads=None, fs=None, records=None, include_paced=False,
                nan_policy="interpolate", memmap_path=None, overwrite_memmap=False,
                verbose=1):
    """Load the MIT-BIH Arrhythmia Database as beats or windows with AAMI labels.

    Parameters
    ----------
    path : str or path-like
        Folder holding the records (``100.hea``, ``100.dat``, ``100.atr``,
        ...), searched recursively.
    segment : {"beat", "window"}, default="beat"
        ``"beat"``: one segment per annotated beat, centred on its R peak
        (see ``window``). ``"window"``: consecutive non-overlapping windows of
        ``window_seconds`` from the start of each record (the remainder is
        dropped), labelled by the beats whose R peak falls inside.
    window : (before, after), default=(0.25, 0.45)
        Beat segments span ``before`` to ``after`` around the R peak, which
        is at index ``before`` of the segment: seconds when given as floats,
        samples (at the output rate) when both are ints. Beats too close to a
        record's edge for a full segment are dropped.
    window_seconds : float, default=10.0
        Window length for ``segment="window"``; a window longer than a record
        to load is an error.
    leads : list of str or None, default=None
        Lead names to load, e.g. ``["MLII"]`` (present in all records but
        102 and 104). None keeps both channels in file order; they are named
        by their lead when every record has the same leads, otherwise
        ``"channel 0"``, ``"channel 1"`` (the second lead of MIT-BIH varies:
        V1, V2, V4 or V5; record 114 stores MLII second).
    fs : float or None, default=None
        Resample to this rate (Hz), as
        :class:`~sklearn_ecg.preprocessing.Resample` does; annotation
        positions follow. None keeps 360 Hz.
    records : list of str or int, or None, default=None
        Records to load (e.g. ``DS1``); None loads every record found.
    include_paced : bool, default=False
        Keep the paced records 102, 104, 107 and 217 (split ``"paced"``),
        which the AAMI recommendations exclude.
    nan_policy : {"interpolate", "zero", "raise"}, default="interpolate"
        What to do with missing (NaN) samples; see :func:`load_wfdb`.
    memmap_path : str, path-like or None, default=None
        When given, ``X`` is written to this ``.npy`` file and returned
        memory-mapped. An existing file is refused unless
        ``overwrite_memmap=True``, and a file the load reads always is. The
        file is written under a temporary name in the same folder and renamed
        at the end, so a failed load leaves no file at all.
    overwrite_memmap : bool, default=False
        Replace an existing file at ``memmap_path``.
    verbose : int, default=1
        Show a progress bar for loads of 200 records or more when positive.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X`` float32 ``(n_segments, n_leads, n_timepoints)`` in mV; ``y``
        the AAMI class of each segment (str); ``y_indicator`` int
        ``(n_segments, 5)`` over ``target_names`` = N, S, V, F, Q;
        ``metadata`` with ``record``, ``patient`` (records 201 and 202 share
        patient ``"201"``), ``sample`` (R peak, or window start, at the output
        rate), ``symbol`` (the annotation symbol, or the window's symbols
        joined), ``aami`` and ``split`` (``"DS1"``, ``"DS2"``, ``"paced"`` or
        ``"other"``); ``lead_names``; ``fs``; ``DESCR``.

        Non-beat annotations (rhythm changes ``+``, noise ``~``, ...) and
        beat symbols outside the AAMI classes are ignored. A window's ``y``
        is ``"N"`` when all its beats are N, otherwise the non-N class with
        the most beats (ties in the order S, V, F, Q), and ``""`` when it
        holds no beat; ``y_indicator`` marks every class present.

        An empty annotation file is an error naming the record; a record
        whose annotations hold no beat of the AAMI classes contributes no beat
        (``segment="beat"``), with a ``UserWarning`` naming it.

    Examples
    --------
    >>> from sklearn_ecg.datasets import load_mitbih
    >>> data = load_mitbih("mitdb/", leads=["MLII"])  # doctest: +SKIP
    >>> train = data.metadata["split"] == "DS1"  # doctest: +SKIP
    """
    paths = find_headers(path)
    by_name = {p.name: p for p in paths}
    if records is not None:
        wanted = [str(r) for r in ([records] if np.isscalar(records) else records)]
        missing = [r for r in wanted if r not in by_name]
        if missing:
            raise FileNotFoundError(
                f"record(s) {missing} not found under {path} (found {sorted(by_name)})"
            )
        paths = [by_name[r] for r in wanted]
    if not include_paced:
        paths = [p for p in paths if p.name not in PACED]
    if not paths:
        raise ValueError(f"no record left to load under {path} (paced records are excluded "
                         f"unless include_paced=True)")
    headers = read_headers(paths)
    fs_out = output_rate(headers, fs)
    if leads is None and any(h.sig_name != headers[0].sig_name for h in headers):
        n_sig = {h.n_sig for h in headers}
        if len(n_sig) > 1:
            raise ValueError("the records have different numbers of leads: pass leads=[...]")
        lead_names = [f"channel {k}" for k in range(n_sig.pop())]
        index = [np.arange(len(lead_names))] * len(headers)
    else:
        lead_names, index = resolve_leads(headers, leads)

    # First pass: annotations fix every segment before any signal is read.
    plans = []
    if segment == "beat":
        before, after = _window_samples(window, fs_out)
        seg_len = before + after
    else:
        seg_len = int(round(window_seconds * fs_out))
    if segment == "window":
        short = [h for h in headers if record_length(h, fs_out) < seg_len]
        if short:
            shortest = min(h.n_samples / h.fs for h in headers)
            raise ValueError(
                f"window_seconds={window_seconds:g} is longer than record(s) "
                f"{_list_str((f'{h.name!r} ({h.n_samples / h.fs:g} s)' for h in short))}, "
                f"which would give no window; choose window_seconds of at most "
                f"{shortest:g}, or leave the short records out with records=[...]."
            )
    no_beats = []
    for h in headers:
        n_out = record_length(h, fs_out)
        samples, symbols = _read_beats(h, fs_out)
        if not symbols:
            no_beats.append(h.name)
        if segment == "beat":
            ok = (samples - before >= 0) & (samples + after <= n_out)
            starts = samples[ok] - before
            plans.append((starts, samples[ok], [s for s, k in zip(symbols, ok) if k]))
        else:
            starts = np.arange(n_out // seg_len) * seg_len
            which = np.searchsorted(starts, samples, side="right") - 1
            inside = (which >= 0) & (samples < len(starts) * seg_len)
            groups = [[symbols[i] for i in np.flatnonzero(inside & (which == w))]
                      for w in range(len(starts))]
            plans.append((starts, starts, groups))

    if no_beats:
        warnings.warn(
            f"record(s) {_list_str(repr(n) for n in no_beats)} have no beat annotation of the "
            f"AAMI classes in their .atr file, so they contribute no "
            f"{'beat' if segment == 'beat' else 'labelled window'}.",
            UserWarning,
            stacklevel=2,
        )
    rows, affected = [], []
    total = sum(len(p[0]) for p in plans)
    inputs = [*input_files(headers), *(h.path.with_name(h.name + ".atr") for h in headers)]
    with OutputArray((total, len(lead_names), seg_len), memmap_path,
                     overwrite=overwrite_memmap, inputs=inputs) as out:
        k = 0
        # Each record is half an hour long, so a bar helps from a few records on.
        for h, idx, (starts, marks, symbols) in progress(
                zip(headers, index, plans), len(headers), verbose, "Loading MIT-BIH",
                min_records=10):
            signal = read_signal(h)[idx]
            fix_nan(signal, nan_policy, h.name, lead_names, affected)
            signal = resample(signal, record_ratio(h, fs_out))
            for start, mark, sym in zip(starts, marks, symbols):
                out.array[k] = signal[:, start:start + seg_len]
                k += 1
                patient = _SAME_PATIENT.get(h.name, h.name)
                if segment == "beat":
                    rows.append((h.name, patient, int(mark), sym, AAMI_MAP[sym]))
                else:
                    label = _window_label([AAMI_MAP[s] for s in sym])
                    rows.append((h.name, patient, int(mark), "".join(sym), label))
    warn_nan(affected, nan_policy)
    metadata = pd.DataFrame(rows, columns=["record", "patient", "sample", "symbol", "aami"])
    metadata["split"] = [_split(r) for r in metadata["record"]]
    y = metadata["aami"].to_numpy(dtype=object).astype(str)
    y_indicator = np.zeros((total, len(AAMI_CLASSES)), dtype=np.int64)
    for i, sym in enumerate(metadata["symbol"]):
        for s in sym if segment == "window" else [sym]:
            y_indicator[i, AAMI_CLASSES.index(AAMI_MAP[s])] = 1
    return Bunch(X=out.array, y=y, y_indicator=y_indicator, target_names=list(AAMI_CLASSES),
                 metadata=metadata, lead_names=lead_names, fs=fs_out, DESCR=DESCR_MITBIH)
