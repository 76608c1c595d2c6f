"""Loader for any WFDB records."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import validate_params

from ._common import constraints, find_headers, load_signals
from ._io import check_signal_size, read_header
from ._snomed import has_dx, header_dx, snomed_names


def record_paths(paths_or_folder):
    """Record paths (without extension) and their display names.

    A folder is searched recursively for ``.hea`` files and each record is
    named by its path relative to the folder; listed records by their path as
    given, without extension.
    """
    if isinstance(paths_or_folder, (str, Path)):
        folder = Path(paths_or_folder)
        if folder.is_dir():
            paths = find_headers(folder)
            return paths, [p.relative_to(folder).as_posix() for p in paths]
        record = folder.with_suffix("") if folder.suffix == ".hea" else folder
        if not record.with_name(record.name + ".hea").is_file():
            raise FileNotFoundError(
                f"{folder} is neither a folder nor a WFDB record (no {record}.hea found)"
            )
        return [record], [record.name]
    paths = [Path(p) for p in paths_or_folder]
    if not paths:
        raise ValueError("the list of records is empty")
    paths = [p.with_suffix("") if p.suffix == ".hea" else p for p in paths]
    return paths, [str(p) for p in paths]


def read_headers(paths):
    """Read every header and check its signal files exist and are long enough, before any
    signal is read."""
    headers = [read_header(p) for p in paths]
    for h in headers:
        for fname in dict.fromkeys(h.file_name):
            if not h.path.with_name(fname).is_file():
                raise FileNotFoundError(
                    f"record {h.name!r}: signal file {h.path.with_name(fname)} not found "
                    f"(named in {h.hea})"
                )
        check_signal_size(h)
    return headers


@validate_params(
    constraints("fs", "length", "leads", "crop", "pad_mode", "nan_policy", "memmap_path",
                "overwrite_memmap", "verbose",
                paths_or_folder=[str, os.PathLike, "array-like"]),
    prefer_skip_nested_validation=True,
)
def load_wfdb(paths_or_folder, *, fs=None, length=None, leads=None, crop="start",
              pad_mode="constant", nan_policy="interpolate", memmap_path=None,
              overwrite_memmap=False, verbose=1):
    """Load WFDB records into one array.

    Parameters
    ----------
    paths_or_folder : str, path-like or list of them
        A folder, searched recursively for records (``.hea`` files), or a
        list of record paths without extension (``"data/100"`` for
        ``data/100.hea`` and its signal file).
    fs : float or None, default=None
        Resample every record to this rate (Hz), as
        :class:`~sklearn_ecg.preprocessing.Resample` does. None keeps the
        records' rate and requires them all to share it.
    length : int or None, default=None
        Crop or pad every record to this many samples (after resampling).
        None requires all records to have the same length.
    leads : list of str or None, default=None
        Lead names to load, in this order (the standard 12 leads are matched
        case-insensitively). None loads the standard order I, II, III, aVR,
        aVL, aVF, V1-V6 when every record has those leads, otherwise the
        leads of the records when they all have the same ones.
    crop : {"start", "center"}, default="start"
        Which samples of a longer record are kept and where a shorter one is
        padded: ``"start"`` keeps the first ``length`` samples and pads at the
        end; ``"center"`` keeps the centred ones and pads both ends equally
        (as :class:`~sklearn_ecg.preprocessing.PadOrCrop`'s ``mode``).
    pad_mode : {"constant", "edge"}, default="constant"
        Pad a shorter record with zeros, or by repeating its edge samples.
    nan_policy : {"interpolate", "zero", "raise"}, default="interpolate"
        What to do with missing (NaN) samples: linear interpolation per lead
        (runs at the edges take the nearest valid sample, a lead with no valid
        sample becomes zeros) with one ``UserWarning`` naming the records and
        leads, zeros with the same warning, or a ``ValueError``.
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
        ``X`` float32 ``(n_records, n_leads, n_timepoints)`` in mV;
        ``metadata`` with ``record``, ``fs_original``, ``n_samples_original``
        and ``comments`` (the header's comment lines, joined by newlines),
        and, when a header has a ``# Dx:`` line (PhysioNet/CinC challenge
        headers), ``dx`` (its SNOMED-CT codes) and ``dx_names`` (their names,
        as in :func:`load_cinc`'s ``class_names``);
        ``lead_names``; ``fs``; ``DESCR``.

    Examples
    --------
    >>> import numpy as np, wfdb, tempfile
    >>> from sklearn_ecg.datasets import load_wfdb
    >>> folder = tempfile.mkdtemp()
    >>> t = np.arange(500) / 250
    >>> signal = np.column_stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)])
    >>> wfdb.wrsamp("rec1", fs=250, units=["mV", "mV"], sig_name=["II", "V1"],
    ...             p_signal=signal, fmt=["16", "16"], write_dir=folder)
    >>> data = load_wfdb(folder, fs=500)
    >>> data.X.shape, data.lead_names, data.fs
    ((1, 2, 1000), ['II', 'V1'], 500.0)
    """
    paths, names = record_paths(paths_or_folder)
    headers = read_headers(paths)
    X, lead_names, fs_out = load_signals(
        headers, leads=leads, fs=fs, length=length, crop=crop, pad_mode=pad_mode,
        nan_policy=nan_policy, memmap_path=memmap_path, overwrite_memmap=overwrite_memmap,
        verbose=verbose, desc="Loading WFDB records",
    )
    metadata = pd.DataFrame({
        "record": names,
        "fs_original": np.array([h.fs for h in headers], dtype=float),
        "n_samples_original": np.array([h.n_samples for h in headers], dtype=np.int64),
        "comments": ["\n".join(h.comments) for h in headers],
    })
    if any(has_dx(h) for h in headers):
        dx = [header_dx(h) for h in headers]
        seen = list(dict.fromkeys(c for codes in dx for c in codes))
        names = dict(zip(seen, snomed_names(seen, stacklevel=3)))
        metadata["dx"] = dx
        metadata["dx_names"] = [[names[c] for c in codes] for codes in dx]
    return Bunch(X=X, metadata=metadata, lead_names=lead_names, fs=fs_out,
                 DESCR=f"{len(headers)} WFDB record(s) read from {paths_or_folder}.")
