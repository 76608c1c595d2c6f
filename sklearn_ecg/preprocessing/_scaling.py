"""Per-record z-score normalisation."""

from numbers import Real

import numpy as np
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import StrOptions

from .._param_validation import StrictInterval
from ._base import _ECGTransformer

#: Millivolts per unit, for the units records are commonly stored in.
UNIT_FACTORS = {"V": 1000.0, "mV": 1.0, "uV": 1e-3, "µV": 1e-3, "μV": 1e-3, "nV": 1e-6}


class Standardize(_ECGTransformer):
    """Z-score each record, per lead or over all its leads.

    Unlike :class:`sklearn.preprocessing.StandardScaler`, which learns one
    mean and scale per column from the training set, this subtracts each
    record's own mean and divides by its own standard deviation: nothing is
    learned, and records with different gains or offsets become comparable.

    Parameters
    ----------
    per : {"lead", "record"}, default="lead"
        ``"lead"``: every lead of every record gets mean 0 and standard
        deviation 1. ``"record"``: one mean and standard deviation over all
        leads of a record, which keeps the leads' relative amplitudes. For
        2-D (single-lead) input both are the same.
    eps : float, default=1e-8
        Leads (or records) whose standard deviation is at most ``eps`` are
        flat: they become zeros instead of being divided by (almost) zero.
        In the units of X (mV for PTB-XL).

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``: the lead count for 3-D input, the
        record length for 2-D input.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.
    n_leads_ : int
        Number of leads seen in ``fit`` (3-D input only).
    n_timepoints_ : int
        Record length seen in ``fit`` (3-D input only).

    See Also
    --------
    sklearn.preprocessing.StandardScaler : Per-column scaling learned in fit.

    Notes
    -----
    Input is 3-D ``(n_records, n_leads, n_timepoints)`` or 2-D
    ``(n_records, n_timepoints)`` (single-lead records, returned 2-D). Means
    and deviations are computed in float64; the output is float32.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import Standardize
    >>> X = np.array([[[1., 2., 3.], [5., 5., 5.]]])  # 1 record, 2 leads
    >>> Standardize().fit_transform(X).round(3)
    array([[[-1.225,  0.   ,  1.225],
            [ 0.   ,  0.   ,  0.   ]]], dtype=float32)
    """

    def __init__(self, *, per="lead", eps=1e-8):
        self.per = per
        self.eps = eps

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "per": [StrOptions({"lead", "record"})],
        "eps": [StrictInterval(Real, 0, None, closed="left")],
    }

    def _resolve_params(self):
        return self.per, float(self.eps)

    def _transform_chunk(self, chunk, params):
        per, eps = params
        axis = -1 if per == "lead" else (-2, -1)
        mean = chunk.mean(axis=axis, dtype=np.float64, keepdims=True)
        std = chunk.std(axis=axis, dtype=np.float64, keepdims=True)
        # Dividing by inf maps a flat lead to exact zeros, never NaN.
        scale = np.where(std > eps, std, np.inf)
        return (chunk - mean) / scale


class ConvertUnits(_ECGTransformer):
    """Convert samples from one unit of voltage to another (e.g. µV to mV).

    Parameters
    ----------
    units : {"V", "mV", "uV", "µV", "nV"}, default="uV"
        Unit of X.
    target_units : {"V", "mV", "uV", "µV", "nV"}, default="mV"
        Unit of the output; the package's loaders and shipped models use mV.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``: the lead count for 3-D input, the
        record length for 2-D input.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.
    n_leads_ : int
        Number of leads seen in ``fit`` (3-D input only).
    n_timepoints_ : int
        Record length seen in ``fit`` (3-D input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import ConvertUnits
    >>> ConvertUnits(units="uV").fit_transform(np.array([[1500.0, -250.0]]))
    array([[ 1.5 , -0.25]], dtype=float32)
    """

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "units": [StrOptions({"V", "mV", "uV", "µV", "μV", "nV"})],
        "target_units": [StrOptions({"V", "mV", "uV", "µV", "μV", "nV"})],
    }

    def __init__(self, *, units="uV", target_units="mV"):
        self.units = units
        self.target_units = target_units

    def _resolve_params(self):
        return UNIT_FACTORS[self.units] / UNIT_FACTORS[self.target_units]

    def _transform_chunk(self, chunk, factor):
        # In double precision, so that 1500 uV is exactly 1.5 mV once cast back.
        return chunk * np.float64(factor)


class MinMaxScale(_ECGTransformer):
    """Scale each record to [0, 1] over all its leads: ``(x - min) / (max - min + eps)``.

    One minimum and one maximum per record, over every lead and sample, so
    the leads keep their relative amplitudes; the input of MERL's encoders.
    Nothing is learned; a flat record becomes zeros.

    Parameters
    ----------
    eps : float, default=1e-8
        Added to the range, in the units of X (MERL's value).

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``: the lead count for 3-D input, the
        record length for 2-D input.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.
    n_leads_ : int
        Number of leads seen in ``fit`` (3-D input only).
    n_timepoints_ : int
        Record length seen in ``fit`` (3-D input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import MinMaxScale
    >>> X = np.array([[[-1., 0., 1.], [0., 3., 1.]]])  # 1 record, 2 leads
    >>> MinMaxScale().fit_transform(X).round(3)
    array([[[0.  , 0.25, 0.5 ],
            [0.25, 1.  , 0.5 ]]], dtype=float32)
    """

    def __init__(self, *, eps=1e-8):
        self.eps = eps

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "eps": [StrictInterval(Real, 0, None, closed="left")],
    }

    def _resolve_params(self):
        return float(self.eps)

    def _transform_chunk(self, chunk, eps):
        chunk = chunk.astype(np.float64, copy=False)
        low = chunk.min(axis=(-2, -1) if chunk.ndim == 3 else -1, keepdims=True)
        high = chunk.max(axis=(-2, -1) if chunk.ndim == 3 else -1, keepdims=True)
        return (chunk - low) / (high - low + eps)
