"""Loader for the PhysioNet/Computing in Cardiology Challenge 2020/2021 format."""

import re
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import validate_params

from .._param_validation import StrictInterval
from ._common import _list_str, constraints, find_headers, load_signals
from ._snomed import comment_value, header_dx, snomed_names
from ._wfdb import read_headers

DESCR_CINC = """\
PhysioNet/Computing in Cardiology Challenge 2020/2021 records.

12-lead ECGs from several sources (CPSC, INCART, PTB, PTB-XL, Georgia,
Chapman-Shaoxing, Ningbo), each a ``.mat`` file holding the int16 array
``val`` and a ``.hea`` header with gains, lead names and the comment lines
``# Age:``, ``# Sex:`` and ``# Dx:`` (SNOMED-CT codes). Reyna et al. (2021),
Will Two Do? Varying Dimensions in Electrocardiography: the PhysioNet/Computing
in Cardiology Challenge 2021. Licence: CC BY 4.0.
"""


def _age(text):
    try:
        age = float(text)
    except ValueError:
        return np.nan
    return age if np.isfinite(age) else np.nan


def _source(path, root):
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parts[0]
    match = re.match(r"[A-Za-z]+", path.name)
    return match.group(0) if match else ""


def _code_key(code):
    return (0, int(code), code) if code.isdigit() else (1, 0, code)


def _warn_without_dx(dx, paths, root, target_names):
    """Warn about records with no diagnosis: their rows of ``y`` are all zeros."""
    missing = [p.relative_to(root).as_posix() for p, codes in zip(paths, dx) if not codes]
    if not missing:
        return
    names = _list_str(repr(m) for m in missing)
    if len(missing) == len(paths):
        shape = ("y has no column (target_names is empty)" if not target_names
                 else "every row of y is zeros")
        message = (
            f"none of the {len(paths)} records has a diagnosis (a '# Dx:' header line with "
            f"SNOMED-CT codes): {shape}. For unlabelled records use load_wfdb, or check "
            f"that these are CinC challenge headers."
        )
    else:
        message = (
            f"{len(missing)} record(s) have no diagnosis (no '# Dx:' header line, or an "
            f"empty one): {names}; their rows of y are all zeros."
        )
    warnings.warn(message, UserWarning, stacklevel=3)


@validate_params(
    constraints("path", "fs", "length", "leads", "crop", "pad_mode", "nan_policy",
                "memmap_path", "overwrite_memmap", "verbose",
                classes=[str, StrictInterval(Integral, 0, None, closed="left"), "array-like", None],
                as_frame=["boolean"]),
    prefer_skip_nested_validation=True,
)
def load_cinc(path, *, fs=None, length=None, leads=None, classes=None, crop="start",
              pad_mode="constant", nan_policy="interpolate", memmap_path=None,
              overwrite_memmap=False, verbose=1, as_frame=False):
    """Load records in the PhysioNet/CinC Challenge 2020/2021 format.

    Parameters
    ----------
    path : str or path-like
        A folder of ``.hea``/``.mat`` records, or the nested tree of the
        official release (one subfolder per source, possibly deeper): it is
        searched recursively.
    fs : float or None, default=None
        Resample every record to this rate (Hz), as
        :class:`~sklearn_ecg.preprocessing.Resample` does. Required when the
        records have different rates (the release mixes 257, 500 and 1000 Hz).
    length : int or None, default=None
        Crop or pad every record to this many samples (after resampling).
        Required when the records have different lengths.
    leads : list of str or None, default=None
        Lead names to load, in this order; None gives the standard order I,
        II, III, aVR, aVL, aVF, V1-V6.
    classes : list of str or int, or None, default=None
        SNOMED-CT codes that make the columns of ``y``, in this order; codes
        of a record not in the list are ignored. None uses every code present
        in the loaded records, sorted numerically.
    crop : {"start", "center"}, default="start"
        Which samples of a longer record are kept and where a shorter one is
        padded: ``"start"`` keeps the first ``length`` samples and pads at the
        end; ``"center"`` keeps the centred ones and pads both ends equally
        (as :class:`~sklearn_ecg.preprocessing.PadOrCrop`'s ``mode``).
    pad_mode : {"constant", "edge"}, default="constant"
        Pad a shorter record with zeros, or by repeating its edge samples.
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
    as_frame : bool, default=False
        Return ``y`` as a :class:`pandas.DataFrame` indexed by record, with
        the class names as columns (what
        :class:`~sklearn_ecg.ZeroShotECGClassifier` takes as its classes).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X`` float32 ``(n_records, n_leads, n_timepoints)`` in mV; ``y`` int
        ``(n_records, n_classes)`` multi-label indicator over
        ``target_names`` (SNOMED-CT codes as str); ``class_names`` and
        ``class_abbreviations``, the name and abbreviation of each code
        (``"sinus bradycardia"``, ``"SB"``) from the table of the
        PhysioNet/CinC Challenge 2021 diagnoses shipped with the package (a
        code not in it keeps the code, with a ``UserWarning``); ``metadata`` with
        ``record``, ``source`` (the first subfolder under ``path``, or the
        letters that start the record name for records directly in ``path``),
        ``age`` (NaN when unknown), ``sex``, ``dx`` (list of codes),
        ``fs_original`` and ``n_samples_original``; ``lead_names``; ``fs``;
        ``DESCR``.

        A record without a diagnosis (no ``# Dx:`` header line, or an empty
        one) gets a row of zeros in ``y`` and an empty ``dx``, with a
        ``UserWarning`` naming the records. When no record has one and
        ``classes`` is None, ``y`` has shape ``(n_records, 0)`` and
        ``target_names`` is empty, with a ``UserWarning`` that says so.

    Examples
    --------
    >>> from sklearn_ecg.datasets import load_cinc
    >>> data = load_cinc("cinc2021/training", fs=500, length=5000)  # doctest: +SKIP
    >>> data.X.shape[1:]  # doctest: +SKIP
    (12, 5000)
    """
    root = Path(path)
    paths = find_headers(root)
    headers = read_headers(paths)
    dx = [header_dx(h) for h in headers]
    if classes is None:
        target_names = sorted({c for codes in dx for c in codes}, key=_code_key)
    else:
        target_names = [str(c) for c in ([classes] if np.isscalar(classes) else classes)]
        if len(set(target_names)) != len(target_names):
            raise ValueError(f"classes contains duplicates: {target_names}")
    X, lead_names, fs_out = load_signals(
        headers, leads=leads, fs=fs, length=length, crop=crop, pad_mode=pad_mode,
        nan_policy=nan_policy, memmap_path=memmap_path, overwrite_memmap=overwrite_memmap,
        verbose=verbose, desc="Loading CinC records",
    )
    _warn_without_dx(dx, paths, root, target_names)
    column = {c: j for j, c in enumerate(target_names)}
    y = np.zeros((len(headers), len(target_names)), dtype=np.int64)
    for i, codes in enumerate(dx):
        for code in codes:
            if code in column:
                y[i, column[code]] = 1
    metadata = pd.DataFrame({
        "record": [p.relative_to(root).as_posix() for p in paths],
        "source": [_source(p, root) for p in paths],
        "age": [_age(comment_value(h.comments, "age")) for h in headers],
        "sex": [comment_value(h.comments, "sex") for h in headers],
        "dx": dx,
        "fs_original": np.array([h.fs for h in headers], dtype=float),
        "n_samples_original": np.array([h.n_samples for h in headers], dtype=np.int64),
    })
    class_names = snomed_names(target_names, stacklevel=3)
    if as_frame:
        y = pd.DataFrame(y, columns=class_names, index=pd.Index(metadata["record"]))
    return Bunch(X=X, y=y, target_names=target_names, class_names=class_names,
                 class_abbreviations=snomed_names(target_names, field="abbreviation",
                                                  warn=False),
                 metadata=metadata, lead_names=lead_names, fs=fs_out, DESCR=DESCR_CINC)
