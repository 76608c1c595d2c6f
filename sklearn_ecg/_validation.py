"""Checks of ECG arrays shared by every estimator of the package."""

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from ._lead_names import is_lead_name

# Above this many elements the finiteness check walks the records in chunks,
# so that a memory-mapped database is never loaded whole.
_CHUNK_ELEMENTS = 2**24


def describe_records(indices, limit=10):
    shown = ", ".join(str(i) for i in indices[:limit])
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return f"{len(indices)} record(s) (index {shown}{more})"


def nonfinite_records(X, dtype=None):
    """Indices of the records of ``X`` that hold a NaN or an infinity (once cast to ``dtype``)."""
    if not np.issubdtype(X.dtype, np.inexact):
        return []  # integers are always finite; no need to read them
    n = X.shape[0]
    per_record = int(np.prod(X.shape[1:])) or 1
    step = max(1, _CHUNK_ELEMENTS // per_record)
    bad = []
    for start in range(0, n, step):
        # Values beyond float32's range become infinite, and are reported.
        with np.errstate(over="ignore"):
            chunk = np.asarray(X[start : start + step], dtype=dtype)
        chunk = chunk.reshape(min(step, n - start), -1)
        rows = np.flatnonzero(~np.isfinite(chunk).all(axis=1))
        bad.extend((rows + start).tolist())
    return bad


def _refuse_transposed(name, shape):
    raise ValueError(
        f"X of shape {shape} has more leads ({shape[1]}) than samples per record "
        f"({shape[2]}); {name} expects (n_records, n_leads, n_timepoints). If your "
        "array is (n_records, n_timepoints, n_leads) (as wfdb returns), pass "
        "X.transpose(0, 2, 1)."
    )


#: Why the package's own encoders need records of a minimum length, and what to do about it
#: (the default of ``check_ecg_array``'s ``min_length_reason``).
POOLING_LENGTH_REASON = (
    "(its poolings halve the time axis five times). Pass longer records (at 100 Hz, 0.32 s is "
    "the minimum; 10 s records are usual), or resample them to a higher rate with "
    "sklearn_ecg.preprocessing.Resample.")


@dataclass(frozen=True)
class SeenInput:
    """What ``fit`` records about its input: ``n_features_in_`` and ``feature_names_in_``.

    :func:`check_ecg_array` returns it in ``fit`` instead of setting the
    attributes, so that a fit that fails later leaves the estimator as it
    was; ``fit`` calls :meth:`assign` once it has succeeded.
    """

    n_features_in_: int
    feature_names_in_: object = None

    def assign(self, estimator):
        if self.n_features_in_ is None:
            # A fit without records (a model that only loads) forgets earlier ones.
            for attr in ("n_features_in_", "feature_names_in_"):
                estimator.__dict__.pop(attr, None)
            return
        estimator.n_features_in_ = self.n_features_in_
        if self.feature_names_in_ is None:
            # As scikit-learn does: an array without names forgets earlier ones.
            estimator.__dict__.pop("feature_names_in_", None)
        else:
            estimator.feature_names_in_ = self.feature_names_in_
def fitted_lead_names(estimator):
    """The names of the leads ``estimator`` was fitted on, or None when unknown."""
    contract = getattr(estimator, "input_contract_", None)
    names = getattr(contract, "lead_names", None)
    if names is None:
        names = getattr(estimator, "lead_names", None)
    n_leads = getattr(estimator, "n_leads_", None)
    if names is None or isinstance(names, str) or n_leads is None or len(names) != n_leads:
        return None
    return [str(n) for n in names]


def _describe_leads(names, n_leads):
    if names is None:
        return f"{n_leads} lead(s)"
    shown = names if len(names) <= 4 else [*names[:3], "...", names[-1]]
    return f"{n_leads} lead(s) ({', '.join(shown)})"


def _check_lead_layout(estimator, X):
    """Compare X's leads with those of fit before scikit-learn's check, which speaks of features."""
    n_leads = getattr(estimator, "n_leads_", None)
    n_features = getattr(estimator, "n_features_in_", None)
    if n_leads is None or n_features is None or n_features != n_leads:
        return  # fitted on 2-D single-lead records: n_features_in_ is their length
    name = type(estimator).__name__
    names = fitted_lead_names(estimator)
    expected = _describe_leads(names, n_leads)
    hint = (
        "Select and order the model's leads first: model.input_pipeline(fs=..., "
        "lead_names=[your leads]) returns the steps that do it (and resample)."
        if hasattr(estimator, "input_pipeline")
        else "Pass records with the same leads, in the same order."
    )
    if X.ndim == 3 and X.shape[1] != n_leads:
        raise ValueError(
            f"X has {X.shape[1]} lead(s), but {name} was fitted on {expected}. {hint}"
        )
    if X.ndim == 2 and n_leads > 1:
        raise ValueError(
            f"X is 2-D {tuple(X.shape)}, read as single-lead records, but {name} was fitted on "
            f"{expected}; pass X of shape (n_records, {n_leads}, n_timepoints). {hint}"
        )


def refuse_leads_as_columns(owner, X):
    """Refuse a DataFrame whose columns are leads, the layout a filter would misread.

    A DataFrame is read as scikit-learn reads any table: one single-lead
    record per row, one sample per column. A table of one record with one
    column per lead (time down the rows, as ``wfdb`` and CSV exports give
    it) would then be filtered across its leads, so it is refused.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return
    leads = [str(c) for c in columns if isinstance(c, str) and is_lead_name(c)]
    if leads:
        raise ValueError(
            f"X is a DataFrame whose columns are leads ({', '.join(leads[:12])}"
            f"{', ...' if len(leads) > 12 else ''}); {owner} reads a DataFrame as single-lead "
            "records, one per row with one column per sample, and would process it along the "
            "wrong axis. For one record with time down the rows, pass "
            "X.to_numpy().T[np.newaxis] (shape (1, n_leads, n_timepoints))."
        )


def _refuse_non_numeric(name, X):
    """Refuse strings, booleans and complex numbers, which numpy would cast to float without a word."""
    dtype = getattr(X, "dtype", None)
    if not isinstance(dtype, np.dtype):
        return
    kind = {"U": "strings", "S": "bytes", "V": "raw records", "b": "booleans",
            "c": "complex numbers"}.get(dtype.kind)
    if kind is None and dtype.kind == "O" and isinstance(X, np.ndarray):
        for value in X.ravel():
            if isinstance(value, (str, bytes, bool, np.bool_, complex, np.complexfloating)):
                kind = f"{type(value).__name__} values"
                break
    if kind == "complex numbers":
        # ValueError with scikit-learn's words, without printing the array.
        raise ValueError(
            f"Complex data not supported: {name} expects real ECG samples (mV) in X, but X "
            f"holds complex numbers (dtype {dtype.name}). Pass the real part (X.real) or the "
            "magnitude (np.abs(X)) if that is the signal."
        )
    if kind is not None:
        # Strings: ValueError, as scikit-learn's check_array; other types: TypeError.
        raise (ValueError if dtype.kind in "USV" else TypeError)(
            f"{name} expects numeric ECG samples (mV) in X, but X holds {kind} (dtype "
            f"{dtype.name}). Pass the signal values as a real (float) array, e.g. "
            "X.astype(np.float32) once the values are numbers."
        )


def check_ecg_array(
    estimator, X, *, reset, min_records=2, min_timepoints=1, min_length=None,
    min_length_reason=POOLING_LENGTH_REASON, cast_lazily=False
):
    """Validate an ECG array and return it as float32.

    ``X`` is ``(n_records, n_leads, n_timepoints)``; 2-D input is taken as
    single-lead records ``(n_records, n_timepoints)``. Checks ``n_features_in_``
    (the lead count for 3-D input, the record length for 2-D input) against
    the fitted estimator, or, in ``fit``, returns it without touching the
    estimator.

    Parameters
    ----------
    estimator : estimator instance
        The estimator whose ``n_features_in_`` is checked; never modified.
    X : array-like
        The ECG records.
    reset : bool
        True in ``fit``: ``X`` is not compared with an earlier fit, and the
        return value is ``(X, seen)`` with ``seen`` a :class:`SeenInput` to
        assign once the fit has succeeded. False in ``transform``.
    min_records : int, default=2
        Fewest records accepted.
    min_timepoints : int, default=1
        Shortest record accepted.
    min_length : int or None, default=None
        The encoder's minimum record length: shorter multi-lead (3-D) records
        are refused, shorter single-lead (2-D) records only warned about.
    min_length_reason : str, default=POOLING_LENGTH_REASON
        The end of the refusal's message: why the encoder needs ``min_length``
        samples and what to do (the encoder's architecture says it).
    cast_lazily : bool, default=False
        Return a NumPy array (or ``numpy.memmap``) of another real dtype
        (float64, float16, integers) as it is, for the caller to cast batch
        by batch: a large memory-mapped database is then never copied whole
        into memory. Its records are still checked for values that are not
        finite once cast to float32.

    Returns
    -------
    X : ndarray of float32
        The validated records (not copied when already float32 and C-ordered;
        with ``cast_lazily``, not copied when of a real dtype).
    seen : SeenInput
        Only with ``reset=True``.
    """
    name = type(estimator).__name__
    refuse_leads_as_columns(name, X)
    if not hasattr(X, "ndim"):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} could not make one array of X ({exc}); records of different lengths "
                "must be brought to one length first, e.g. with sklearn_ecg.preprocessing.PadOrCrop "
                "or the loaders' length= option."
            ) from exc
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} expects X of shape (n_records, n_leads, n_timepoints), or "
            f"(n_records, n_timepoints) for single-lead records; got a {X.ndim}-D array of shape "
            f"{X.shape}. Reshape your data, e.g. X[None, :] for one single-lead record or "
            "X[:, None, :] for single-lead records, or stack records along axis 0."
        )
    if X.ndim == 3 and 0 < X.shape[2] < X.shape[1]:
        # Before scikit-learn's feature-count check, which would only say that
        # the lead count differs from fit.
        _refuse_transposed(name, X.shape)
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        # numpy casts dates and durations to numbers without a word.
        raise TypeError(
            f"{name} expects numeric ECG samples (mV) in X, but X holds values of dtype "
            f"{dtype.name} (dates or durations). Pass the signal values as a float array."
        )
    _refuse_non_numeric(name, X)
    if not reset:
        _check_lead_layout(estimator, X)
    lazy = cast_lazily and isinstance(X, np.ndarray) and X.dtype.kind in "fiu"
    # In fit, scikit-learn's bookkeeping runs on a shallow copy: the estimator
    # itself keeps its fitted attributes until the whole fit has succeeded.
    target = estimator
    if reset:
        target = copy.copy(estimator)
        target.__dict__.pop("n_features_in_", None)
        target.__dict__.pop("feature_names_in_", None)
    try:
        X = validate_data(
            target,
            X,
            reset=reset,
            allow_nd=True,
            # Left as it is, it is cast a batch at a time by the caller.
            dtype=None if lazy else np.float32,
            ensure_all_finite=False,
            ensure_min_samples=min_records,
        )
    except (TypeError, ValueError) as exc:
        dtype = getattr(X, "dtype", None)
        if dtype is None or dtype.kind not in "OUSVMm" or "convert" not in str(exc) and "argument" not in str(exc):
            raise
        # Object arrays of numbers pass; strings, dicts, dates do not.
        raise type(exc)(
            f"{name} expects numeric ECG samples (mV) in X, but X holds values of dtype "
            f"{dtype.name} that cannot be converted to float: {exc}. Convert X to a float "
            "array first."
        ) from exc
    if X.ndim == 3:
        n_leads, n_timepoints = X.shape[1:]
        if n_leads == 0 or n_timepoints < min_timepoints:
            raise ValueError(
                f"{name} needs records of at least {min_timepoints} sample(s) and one lead; "
                f"got X of shape {X.shape}."
            )
        if min_length is not None and n_timepoints < min_length:
            raise ValueError(
                f"Records of {n_timepoints} samples are shorter than the {min_length} samples "
                f"that {name}'s encoder needs {min_length_reason}"
            )
    else:
        n_timepoints = X.shape[1]
        if n_timepoints < min_timepoints:
            raise ValueError(
                f"{name} needs records of at least {min_timepoints} sample(s); got X with "
                f"{n_timepoints} sample(s) per record."
            )
        if min_length is not None and n_timepoints < min_length:
            # 2-D input follows scikit-learn's convention that any number of
            # columns is accepted: warn rather than refuse.
            warnings.warn(
                f"Single-lead records of {n_timepoints} samples are shorter than the "
                f"{min_length} samples that {name}'s encoder needs to use its full depth; "
                "their embeddings carry little information. Check that the columns of X are "
                "time points.",
                UserWarning,
                stacklevel=3,
            )
    bad = nonfinite_records(X, dtype=np.float32 if lazy and X.dtype != np.float32 else None)
    if bad:
        raise ValueError(
            f"X contains NaN or infinity in {describe_records(bad)}. {name} cannot learn from "
            "or embed missing samples: drop those records, or fill the gaps (the loaders of "
            "sklearn_ecg.datasets do so with nan_policy='interpolate')."
        )
    if reset:
        return X, SeenInput(target.n_features_in_, getattr(target, "feature_names_in_", None))
    return X


def check_targets(y, name):
    """``y`` as an array and its target type; missing labels and unsupported targets refused.

    Class labels (binary or multiclass) and multi-label indicators are
    accepted; a 2-D ``y`` of one column is taken as labels.
    """
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None: pass class labels or a "
            "multi-label indicator matrix."
        )
    y = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (labels) or 2-D (multi-label indicator); got shape {y.shape}.")
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError(
            "y contains NaN or infinity; every record needs a label. Drop the unlabelled "
            f"records (or fill their labels) before {name}.fit."
        )
    if y.dtype.kind == "O" and pd.isna(y).any():
        raise ValueError(
            "y contains missing labels (None or NaN); every record needs a label. Drop "
            f"the unlabelled records before {name}.fit."
        )
    kind = type_of_target(y, input_name="y")
    if kind not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            f"Unknown label type: {name} needs class labels (binary or multiclass) or a "
            f"multi-label indicator matrix of 0/1; got a target of type {kind!r}."
        )
    return y, kind
