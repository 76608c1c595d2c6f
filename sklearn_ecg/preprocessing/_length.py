"""Transformers that change the record length: resampling, padding and cropping."""

import math
from fractions import Fraction
from numbers import Integral, Real

import numpy as np
from scipy import signal
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import StrOptions

from .._param_validation import StrictInterval
from ._base import _POSITIVE, _ECGTransformer, _RateTransformer

# Rates whose ratio needs a larger denominator would make the polyphase filter
# impractically long; such rates are refused with a message.
_MAX_DENOMINATOR = 1000

# The one implementation of resampling and of padding/cropping: the
# transformers below and the dataset loaders (sklearn_ecg.datasets) both call
# these functions, so a record comes out the same whichever way it is taken.


def resample_ratio(fs, target_fs, owner):
    """The ratio ``target_fs / fs`` as a :class:`~fractions.Fraction`.

    Raises a ``ValueError`` starting with ``owner`` when the ratio needs a
    denominator above 1000 (a polyphase filter too long to be practical).
    """
    ratio = (Fraction(target_fs) / Fraction(fs)).limit_denominator(_MAX_DENOMINATOR)
    if abs(float(ratio) - target_fs / fs) > 1e-9 * target_fs / fs:
        raise ValueError(
            f"{owner} cannot resample from fs={fs:g} Hz to target_fs={target_fs:g} "
            "Hz: the ratio is not a fraction with a denominator up to "
            f"{_MAX_DENOMINATOR}. Round the rates (e.g. to whole Hz)."
        )
    return ratio


def resampled_length(n_timepoints, ratio):
    """``round(n_timepoints * ratio)`` with halves rounded up: the duration is kept."""
    return math.floor(n_timepoints * ratio + Fraction(1, 2))


def resample(x, ratio):
    """Resample ``x`` along its last axis by ``ratio`` (polyphase, linear end padding).

    Returns :func:`resampled_length` samples, as floats of at least ``x``'s
    precision; ``x`` itself when ``ratio == 1``.
    """
    if ratio == 1:
        return x
    # A single sample has no line to extend; "line" would give NaN.
    padtype = "line" if x.shape[-1] > 1 else "mean"
    out = signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1, padtype=padtype)
    # resample_poly returns ceil(n * up / down) samples; keep the rounded count.
    return out[..., : resampled_length(x.shape[-1], ratio)]


def pad_or_crop(x, length, mode="center", pad_mode="constant", pad_value=0.0):
    """Crop or pad ``x`` along its last axis to ``length`` samples; see :class:`PadOrCrop`."""
    n = x.shape[-1]
    if n >= length:
        start = {"start": 0, "end": n - length, "center": (n - length) // 2}[mode]
        return x[..., start : start + length]
    before = {"start": 0, "end": length - n, "center": (length - n) // 2}[mode]
    widths = [(0, 0)] * (x.ndim - 1) + [(before, length - n - before)]
    if pad_mode == "edge" and n > 0:
        return np.pad(x, widths, mode="edge")
    return np.pad(x, widths, mode="constant", constant_values=pad_value)


class Resample(_RateTransformer):
    """Change the sampling rate by polyphase filtering, keeping the duration.

    Uses :func:`scipy.signal.resample_poly` with the reduced ratio
    ``up / down = target_fs / fs`` (e.g. 500 Hz to 100 Hz is 1/5, 360 Hz to
    100 Hz is 5/18); its anti-aliasing FIR filter removes what lies above the
    new Nyquist frequency. A record of ``n`` samples becomes
    ``round(n * target_fs / fs)`` samples (halves rounded up), so its duration
    is kept.

    Parameters
    ----------
    fs : float, default=None
        Sampling rate of X in Hz. Required: there is no safe guess.
    target_fs : float, default=100.0
        Sampling rate of the output in Hz.

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
        Input record length seen in ``fit`` (3-D input only); ``transform``
        accepts any length.

    See Also
    --------
    PadOrCrop : Bring records to one length after resampling.

    Notes
    -----
    Input is 3-D ``(n_records, n_leads, n_timepoints)`` or 2-D
    ``(n_records, n_timepoints)`` (single-lead records, returned 2-D); output
    is float32 and processed in chunks of records. The ends of each lead are
    extended linearly before filtering (``padtype="line"``) to limit edge
    effects. For 2-D input the output columns are named ``resample0``,
    ``resample1``, ... by ``get_feature_names_out``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import Resample
    >>> t = np.arange(5000) / 500  # 10 s at 500 Hz
    >>> X = np.sin(2 * np.pi * 1.0 * t)[np.newaxis, np.newaxis, :]
    >>> X100 = Resample(fs=500, target_fs=100).fit_transform(X)
    >>> X100.shape
    (1, 1, 1000)
    >>> t100 = np.arange(1000) / 100
    >>> bool(np.abs(X100[0, 0] - np.sin(2 * np.pi * 1.0 * t100)).max() < 0.01)
    True
    """

    _one_to_one_features = False

    _parameter_constraints: dict = {
        **_RateTransformer._parameter_constraints,
        "target_fs": [_POSITIVE],
    }

    def __init__(self, *, fs=None, target_fs=100.0):
        self.fs = fs
        self.target_fs = target_fs

    def _resolve_params(self):
        return resample_ratio(self._fs(), float(self.target_fs), type(self).__name__)

    def _output_shape(self, n_leads, n_timepoints, ratio):
        n_out = resampled_length(n_timepoints, ratio)
        if n_out < 1:
            raise ValueError(
                f"{type(self).__name__}: records of {n_timepoints} samples are "
                f"shorter than one sample at target_fs={self.target_fs} Hz."
            )
        return n_leads, n_out

    def _transform_chunk(self, chunk, ratio):
        return resample(chunk, ratio)


class PadOrCrop(_ECGTransformer):
    """Bring every record to a fixed length by padding or cropping.

    Parameters
    ----------
    length : int, default=None
        Number of timepoints of the output. Required.
    mode : {"center", "start", "end"}, default="center"
        Which part of a record is kept and where padding goes:

        - ``"center"``: crop equally from both ends; pad equally on both
          sides (the odd sample goes to the end);
        - ``"start"``: keep the start; crop or pad at the end;
        - ``"end"``: keep the end; crop or pad at the start.
    pad_mode : {"constant", "edge"}, default="constant"
        Pad with ``pad_value``, or by repeating the record's first and last
        samples.
    pad_value : float, default=0.0
        Value of the padded samples when ``pad_mode="constant"`` (0 is the
        isoelectric line of a baseline-corrected ECG).

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
        Input record length seen in ``fit`` (3-D input only); ``transform``
        accepts any length.

    See Also
    --------
    Resample : Change the sampling rate, keeping the duration.

    Notes
    -----
    Input is 3-D ``(n_records, n_leads, n_timepoints)`` or 2-D
    ``(n_records, n_timepoints)`` (single-lead records, returned 2-D); output
    is float32. For 2-D input the output columns are named ``padorcrop0``,
    ``padorcrop1``, ... by ``get_feature_names_out``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import PadOrCrop
    >>> X = np.arange(1, 7, dtype=np.float32).reshape(1, 6)
    >>> PadOrCrop(length=4).fit_transform(X)
    array([[2., 3., 4., 5.]], dtype=float32)
    >>> PadOrCrop(length=8, mode="start").fit_transform(X)
    array([[1., 2., 3., 4., 5., 6., 0., 0.]], dtype=float32)
    >>> PadOrCrop(length=8, pad_mode="edge").fit_transform(X)
    array([[1., 1., 2., 3., 4., 5., 6., 6.]], dtype=float32)
    """

    _one_to_one_features = False

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "length": [StrictInterval(Integral, 1, None, closed="left"), None],
        "mode": [StrOptions({"center", "start", "end"})],
        "pad_mode": [StrOptions({"constant", "edge"})],
        "pad_value": [StrictInterval(Real, None, None, closed="neither")],
    }

    def __init__(self, length=None, *, mode="center", pad_mode="constant", pad_value=0.0):
        self.length = length
        self.mode = mode
        self.pad_mode = pad_mode
        self.pad_value = pad_value

    def _resolve_params(self):
        if self.length is None:
            raise ValueError(
                f"{type(self).__name__} needs the output length: pass length=... (timepoints)."
            )
        return int(self.length), self.mode, self.pad_mode, float(self.pad_value)

    def _output_shape(self, n_leads, n_timepoints, params):
        return n_leads, params[0]

    def _transform_chunk(self, chunk, params):
        length, mode, pad_mode, pad_value = params
        return pad_or_crop(chunk, length, mode, pad_mode, pad_value)
