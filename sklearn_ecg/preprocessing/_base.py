"""What every ECG preprocessing transformer shares.

Input validation, the chunked loop over records, tags and feature names live
here; each transformer only says how one chunk of records is transformed and
what shape comes out.
"""

import functools
import inspect

import numpy as np
from scipy import signal
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin

# scikit-learn's own parameter validation (private helpers, stable since 1.3
# and tested with the range pinned in pyproject.toml): _fit_context validates
# the constraints before fit, check_param_validation exercises them.
from sklearn.base import _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _check_feature_names_in, check_array, validate_data

from .. import _validation
# A positive finite frequency, rate or factor.
from .._param_validation import POSITIVE as _POSITIVE
from .._validation import describe_records, refuse_leads_as_columns

# Records are processed in chunks of at most this many input elements, so that
# the float64 temporaries of scipy's filters stay near 32 MiB whatever the size
# of X, and a memory-mapped X is read piece by piece.
_CHUNK_ELEMENTS = 2**22

# Numeric dtypes are kept as they are by validation (no whole-array copy, a
# memmap stays a memmap); each chunk is cast to float32 on its own. Anything
# else (object, bool) is converted to the first entry.
_ACCEPTED_DTYPES = (
    np.float32,
    np.float64,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
)


def _invalid_parameter(owner, name, expected, value):
    """The error scikit-learn's validation raises, for checks its constraints cannot say."""
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _nonfinite_error(name, indices):
    return ValueError(
        f"X contains NaN or infinity in {describe_records(indices)}. "
        f"{name} refuses them because filtering would spread a single NaN over the "
        "whole lead. Drop or repair these records first, e.g. with the dataset "
        "loader's nan_policy option or numpy.nan_to_num."
    )


def _chunk_starts(n_records, elements_per_record):
    step = max(1, _CHUNK_ELEMENTS // max(1, elements_per_record))
    for start in range(0, n_records, step):
        yield start, min(start + step, n_records)


def _check_below_nyquist(owner, name, freq, fs):
    nyquist = fs / 2
    if freq >= nyquist:
        raise ValueError(
            f"{owner} parameter {name}={freq:g} Hz is at or above the Nyquist "
            f"frequency {nyquist:g} Hz of fs={fs:g} Hz; choose {name} below "
            f"{nyquist:g} Hz or check fs."
        )


def _sosfiltfilt(sos, x):
    """Zero-phase ``sosfiltfilt`` along the last axis that accepts short signals.

    scipy pads each end with ``3 * (2 * n_sections + 1)`` reflected samples and
    refuses signals not longer than that; such signals get the longest padding
    that fits (``n_timepoints - 1``), at the price of stronger edge effects.
    """
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * (2 * len(sos) + 1 - n_zeros)
    padlen = min(padlen, x.shape[-1] - 1)
    return signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen)


def _filtfilt(b, a, x):
    """Zero-phase ``filtfilt`` along the last axis that accepts short signals."""
    padlen = min(3 * max(len(a), len(b)), x.shape[-1] - 1)
    return signal.filtfilt(b, a, x, axis=-1, padlen=padlen)


def _keyword_only_hint(init):
    """Wrap ``__init__`` so that extra positional arguments get a message naming the parameters.

    The rates, cutoffs and other settings are keyword-only because a number
    passed by position binds silently to the wrong one (``Resample(100)``
    would set ``fs``, not ``target_fs``); Python's own error does not say
    which names to use.
    """
    params = [p for p in inspect.signature(init).parameters.values() if p.name != "self"]
    n_positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if len(args) > n_positional:
            name = type(self).__name__
            allowed = (
                f"only {params[0].name} may be given by position; pass the others"
                if n_positional
                else "pass its parameters"
            )
            raise TypeError(
                f"{name} got {len(args)} positional argument(s): {allowed} "
                f"by name, e.g. {name}({', '.join(f'{p.name}=...' for p in params[:3])}). "
                f"Its parameters are {', '.join(p.name for p in params)}."
            )
        init(self, *args, **kwargs)

    return __init__


class _ECGTransformer(TransformerMixin, BaseEstimator):
    """Base class of the stateless ECG transformers.

    Subclasses declare ``_parameter_constraints`` (merged with their parent's,
    checked by scikit-learn before ``fit`` and ``transform``) and implement
    ``_resolve_params()`` (the checks that involve several parameters; return
    whatever ``_transform_chunk`` needs), ``_transform_chunk(chunk, params)``
    (float32 ``(n, n_leads, n_timepoints)`` in, any float out, never modifying
    ``chunk``, which may be a view of the caller's data) and, when the shape
    changes, ``_output_shape(n_leads, n_timepoints, params)``.
    """

    _parameter_constraints: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _keyword_only_hint(cls.__dict__["__init__"])

    # Whether output column k of 2-D data still corresponds to input column k;
    # if not, feature names are generated from the class name.
    _one_to_one_features = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- hooks ---------------------------------------------------------------
    def _resolve_params(self):
        return None

    def _checked_params(self):
        """Validate the parameters, unless fit's context already did, and resolve them."""
        if not get_config()["skip_parameter_validation"]:
            self._validate_params()
        return self._resolve_params()

    def _output_shape(self, n_leads, n_timepoints, params):
        return n_leads, n_timepoints

    def _transform_chunk(self, chunk, params):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- validation ----------------------------------------------------------
    def _check_layout(self, X):
        """Compare X's layout with the one seen in fit, in words about leads."""
        if not hasattr(self, "n_features_in_"):
            return
        shape = X.shape
        name = type(self).__name__
        fitted_3d = hasattr(self, "n_leads_")
        if len(shape) == 3 and not fitted_3d:
            raise ValueError(
                f"X is 3-D {tuple(shape)} but {name} was fitted on 2-D single-lead "
                "records (n_records, n_timepoints); fit it again on 3-D data."
            )
        if len(shape) == 2 and fitted_3d:
            raise ValueError(
                f"X is 2-D {tuple(shape)} but {name} was fitted on 3-D records with "
                f"{self.n_leads_} lead(s); pass X of shape (n_records, "
                f"{self.n_leads_}, n_timepoints)."
            )
        if len(shape) == 3 and shape[1] != self.n_leads_:
            raise ValueError(
                f"X has {shape[1]} leads, but {name} was fitted on {self.n_leads_} "
                "leads; pass records with the same leads in the same order."
            )

    def _validate_X(self, X, *, reset):
        check_params = dict(allow_nd=True, dtype=_ACCEPTED_DTYPES, ensure_all_finite=False)
        refuse_leads_as_columns(type(self).__name__, X)
        if not hasattr(X, "shape"):
            # Lists and other array-likes: convert first so the layout can be
            # compared in terms of leads (DataFrames keep their column names).
            X = check_array(X, **check_params)
        shape = X.shape
        if len(shape) == 3 and shape[1] > shape[2]:
            # Filtering along the lead axis would return garbage without a word.
            raise ValueError(
                f"X of shape {tuple(shape)} has more leads ({shape[1]}) than samples per "
                f"record ({shape[2]}); {type(self).__name__} expects (n_records, n_leads, "
                "n_timepoints). If your array is (n_records, n_timepoints, n_leads) (as "
                "wfdb returns), pass X.transpose(0, 2, 1)."
            )
        if not reset:
            self._check_layout(X)
        X = validate_data(self, X, reset=reset, copy=False, **check_params)
        if X.ndim > 3:
            raise ValueError(
                f"{type(self).__name__} expects X of shape (n_records, n_leads, "
                f"n_timepoints) or (n_records, n_timepoints), got {X.ndim}-D "
                f"shape {X.shape}."
            )
        if X.shape[-1] == 0 or (X.ndim == 3 and X.shape[1] == 0):
            raise ValueError(
                f"X of shape {X.shape} has no leads or no timepoints; "
                f"{type(self).__name__} needs at least one of each."
            )
        return X

    def _fit(self, X, *, check_finite):
        params = self._resolve_params()
        X = self._validate_X(X, reset=True)
        for attr in ("n_leads_", "n_timepoints_"):
            self.__dict__.pop(attr, None)
        if X.ndim == 3:
            self.n_leads_, self.n_timepoints_ = int(X.shape[1]), int(X.shape[2])
        n_leads = X.shape[1] if X.ndim == 3 else 1
        self._output_shape(n_leads, X.shape[-1], params)
        if check_finite:
            bad = _validation.nonfinite_records(X)
            if bad:
                raise _nonfinite_error(type(self).__name__, bad)
        return self

    # -- public API ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and X and record its layout; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or \
                (n_records, n_timepoints)
            ECG records; 2-D input means single-lead records.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : object
            The transformer, with ``n_features_in_`` set (and ``n_leads_``,
            ``n_timepoints_`` for 3-D input).
        """
        return self._fit(X, check_finite=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X, then transform it, reading X only once.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or \
                (n_records, n_timepoints)
            ECG records; 2-D input means single-lead records.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        X_out : ndarray of float32
            The transformed records, 2-D for 2-D input.
        """
        # transform checks finiteness chunk by chunk; no need to read X twice.
        self._fit(X, check_finite=False)
        return self.transform(X)

    def transform(self, X):
        """Transform the records, chunk by chunk.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or \
                (n_records, n_timepoints)
            ECG records (any number of them); 2-D input means single-lead
            records. Any numeric dtype; a ``numpy.memmap`` is read in chunks.

        Returns
        -------
        X_out : ndarray of float32
            The transformed records, 2-D for 2-D input.
        """
        params = self._checked_params()
        X = self._validate_X(X, reset=False)
        two_d = X.ndim == 2
        X3 = X[:, np.newaxis, :] if two_d else X
        n_records, n_leads, n_timepoints = X3.shape
        out_leads, out_timepoints = self._output_shape(n_leads, n_timepoints, params)
        self._check_pandas_output(two_d and out_leads == 1)
        out = np.empty((n_records, out_leads, out_timepoints), dtype=np.float32)
        bad = []
        for start, stop in _chunk_starts(n_records, n_leads * n_timepoints):
            raw = np.asarray(X3[start:stop])
            rows = _validation.nonfinite_records(raw)
            if rows or bad:
                # Keep scanning so the error names every bad record.
                bad.extend(r + start for r in rows)
                continue
            with np.errstate(over="ignore"):
                chunk = raw.astype(np.float32, copy=False)
            # Values beyond the float32 range turn into inf on the cast.
            rows = _validation.nonfinite_records(chunk)
            if rows:
                bad.extend(r + start for r in rows)
                continue
            out[start:stop] = self._transform_chunk(chunk, params)
        if bad:
            raise _nonfinite_error(type(self).__name__, bad)
        if two_d and out_leads == 1:
            return out[:, 0, :]
        return out

    def _check_pandas_output(self, output_is_2d):
        if output_is_2d:
            return
        try:
            from sklearn.utils._set_output import _get_output_config

            dense = _get_output_config("transform", self)["dense"]
        except Exception:  # private helper moved: let the container report
            return
        if dense != "default":
            raise ValueError(
                f"{type(self).__name__} returns 3-D records (n_records, n_leads, "
                f"n_timepoints), which cannot be a {dense} DataFrame; use "
                "set_output(transform='default') or 2-D single-lead input."
            )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, for 2-D (single-lead) data only.

        Filters and scalers keep the input names (one column per timepoint);
        transformers that change the length name their columns
        ``"<classname>0"``, ``"<classname>1"``, .... 3-D output has no columns,
        so pandas output (``set_output(transform="pandas")``) is only meaningful
        for 2-D data.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; by default ``feature_names_in_`` if fitted on
            a DataFrame, else ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Output column names.
        """
        name = type(self).__name__
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"This {name} instance is not fitted yet; call fit on 2-D data "
                "before get_feature_names_out."
            )
        if hasattr(self, "n_leads_"):
            raise ValueError(
                f"{name} was fitted on 3-D records (n_records, n_leads, "
                "n_timepoints); its output has no column names. Feature names and "
                "pandas output exist for 2-D single-lead data only."
            )
        out_leads, out_timepoints = self._output_shape(
            1, self.n_features_in_, self._checked_params()
        )
        if out_leads != 1:
            raise ValueError(
                f"{name} turns 2-D single-lead records into {out_leads} leads; "
                "3-D output has no column names."
            )
        input_features = _check_feature_names_in(self, input_features)
        if self._one_to_one_features and out_timepoints == self.n_features_in_:
            return input_features
        prefix = name.lower()
        return np.asarray([f"{prefix}{i}" for i in range(out_timepoints)], dtype=object)


class _RateTransformer(_ECGTransformer):
    """Base class of the transformers that need the sampling rate ``fs`` of X."""

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "fs": [_POSITIVE, None],
    }

    def _fs(self):
        """``fs`` as a float; ``None`` (the default) is refused rather than guessed."""
        if self.fs is None:
            raise ValueError(
                f"{type(self).__name__} needs the sampling rate of X: pass fs=... in Hz "
                "(e.g. fs=100 for PTB-XL records100, fs=500 for records500)."
            )
        return float(self.fs)
