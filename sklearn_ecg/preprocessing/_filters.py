"""Zero-phase filters: band-pass, power-line notch and baseline wander removal."""

import functools
from numbers import Integral

import numpy as np
from scipy import ndimage, signal
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import StrOptions

from .._param_validation import StrictInterval
from ._base import (
    _POSITIVE,
    _check_below_nyquist,
    _filtfilt,
    _invalid_parameter,
    _RateTransformer,
    _sosfiltfilt,
)

# Beyond this order a Butterworth design is never useful for ECG and its
# arrays (one entry per pole) would only waste memory.
_MAX_ORDER = 1000

# Length of the signals that check a design's accuracy, and the largest
# error allowed on them (their amplitude is about 1).
_PROBE_SAMPLES = 2000
_PROBE_TOLERANCE = 1e-6

_ORDER_CONSTRAINT = [StrictInterval(Integral, 1, _MAX_ORDER, closed="both")]

# Designs are cached: transform checks its parameters at every call.
@functools.lru_cache(maxsize=64)
def _design_butter(order, cutoff, btype, fs):
    """Butterworth second-order sections, or None where double precision fails.

    The result filters accurately in double precision: a design whose
    filtering loses that accuracy is refused too.

    :func:`scipy.signal.butter` multiplies the gains of all the poles into one
    number, which overflows (NaN sections, e.g. a band-pass of order 200) or
    underflows (all-zero sections, e.g. a low-pass of order 400) long before
    the poles themselves become inaccurate. The sections are therefore built
    with unit gain and each is scaled to unit magnitude at a frequency where a
    Butterworth filter's response is exactly 1: 0 for a low-pass, the Nyquist
    frequency for a high-pass, the (prewarped) centre of the band for a
    band-pass.
    """
    try:
        with np.errstate(all="ignore"):
            zeros, poles, _ = signal.butter(order, cutoff, btype=btype, fs=fs, output="zpk")
    except (OverflowError, FloatingPointError, ValueError):
        return None
    if not (np.isfinite(zeros).all() and np.isfinite(poles).all()):
        return None
    if np.abs(poles).max() >= 1:
        return None
    sos = signal.zpk2sos(zeros, poles, 1.0)
    if btype == "lowpass":
        omega = 0.0
    elif btype == "highpass":
        omega = np.pi
    else:
        low, high = (np.tan(np.pi * f / fs) for f in cutoff)
        omega = 2 * np.arctan(np.sqrt(low * high))
    powers = np.exp(-1j * omega * np.arange(3))
    with np.errstate(all="ignore"):
        response = (sos[:, :3] @ powers) / (sos[:, 3:] @ powers)
        sos[:, :3] /= np.abs(response)[:, np.newaxis]
        if np.real(np.prod(response / np.abs(response))) < 0:
            sos[0, :3] *= -1
        total = signal.sosfreqz(sos, worN=[omega])[1][0]
    if not np.isfinite(sos).all() or abs(total - 1) > 1e-6:
        return None
    # Right on paper is not enough: at high orders the cascade amplifies
    # rounding errors until the output is noise. Two probes show it: a
    # constant, whose exact output is known (1 through a low-pass, 0
    # otherwise), and white noise filtered through the sections in both
    # orders, which agree exactly unless rounding errors have grown.
    noise = np.random.default_rng(0).standard_normal(_PROBE_SAMPLES)
    probe = np.stack([np.ones(_PROBE_SAMPLES), noise])
    with np.errstate(all="ignore"):
        out = _sosfiltfilt(sos, probe)
        out_reversed = _sosfiltfilt(np.ascontiguousarray(sos[::-1]), probe)
    expected = 1.0 if btype == "lowpass" else 0.0
    if not (
        np.all(np.abs(out[0] - expected) < _PROBE_TOLERANCE)
        and np.all(np.abs(out - out_reversed) < _PROBE_TOLERANCE)
    ):
        return None
    sos.flags.writeable = False  # shared by every call through the cache
    return sos


def _butter_sos(owner, order, cutoff, btype, fs):
    """Design with :func:`_design_butter`, or refuse naming the orders that work."""
    cutoff = tuple(cutoff) if np.ndim(cutoff) else cutoff
    sos = _design_butter(order, cutoff, btype, fs)
    if sos is not None:
        return sos.copy()  # scipy's filters want a writeable array
    # Designs fail from some order up: find the highest one that works.
    good, bad = 0, order
    while bad - good > 1:
        mid = (good + bad) // 2
        if _design_butter(mid, cutoff, btype, fs) is None:
            bad = mid
        else:
            good = mid
    cutoffs = " and ".join(f"{f:g}" for f in np.atleast_1d(cutoff))
    what = f"a {btype} Butterworth filter of order {order} at {cutoffs} Hz (fs={fs:g} Hz)"
    if good == 0:
        raise ValueError(
            f"{owner}: {what} cannot be computed accurately in double precision at any "
            "order; move the cutoff(s) away from 0 Hz and the Nyquist frequency."
        )
    raise ValueError(
        f"{owner}: {what} cannot be computed accurately in double precision (its poles "
        f"crowd the unit circle); choose order between 1 and {good} for these cutoffs."
    )


def _check_stable(owner, a):
    """Refuse a filter whose denominator ``a`` has a pole on or outside the unit circle."""
    poles = np.roots(a)
    if not (np.isfinite(a).all() and (np.abs(poles) < 1).all()):
        raise ValueError(f"{owner}: these parameters give an unstable filter.")


_SHORT_SIGNAL_NOTE = """\
    Zero-phase filtering pads each end of a lead with reflected samples
    (scipy's default padding, ``3 * (2 * n_sections + 1)`` samples). Records
    not longer than that padding are filtered with the longest padding that
    fits (``n_timepoints - 1``) instead of failing; expect stronger edge
    effects on such short records."""


def _fill_short_signal_note(cls):
    # Docstrings are None under ``python -OO``.
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("%(short)s", _SHORT_SIGNAL_NOTE)


class BandpassFilter(_RateTransformer):
    """Zero-phase Butterworth band-pass, low-pass or high-pass filter.

    A Butterworth filter in second-order sections
    (:func:`scipy.signal.butter` with ``output="sos"``) is applied forwards and
    backwards along the time axis (:func:`scipy.signal.sosfiltfilt`), so the
    waves keep their timing and the magnitude response is squared.

    Parameters
    ----------
    low : float or None, default=0.5
        Lower cutoff in Hz; ``None`` gives a low-pass filter.
    high : float or None, default=45.0
        Upper cutoff in Hz, below the Nyquist frequency ``fs / 2``; ``None``
        gives a high-pass filter.
    fs : float, default=None
        Sampling rate of X in Hz. Required: there is no safe guess.
    order : int, default=4
        Order of the Butterworth design (per pass; the zero-phase result
        has twice this order), from 1 to 1000. Orders that double precision
        cannot design for the given cutoffs (very high orders with a cutoff
        near 0 Hz or the Nyquist frequency) are refused with the highest
        order that works.

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
        Record length seen in ``fit`` (3-D input only); ``transform`` accepts
        any length.

    See Also
    --------
    NotchFilter : Remove power-line interference.
    BaselineWanderRemoval : Remove the slow baseline drift.

    Notes
    -----
    Input is 3-D ``(n_records, n_leads, n_timepoints)`` or 2-D
    ``(n_records, n_timepoints)`` (single-lead records, returned 2-D). Any
    numeric dtype is accepted and the output is float32. Records are processed
    in chunks, so a ``numpy.memmap`` is never loaded whole. Pandas output
    (``set_output``) is available for 2-D input only.

    NaN or infinite values raise an error naming the records, since the
    filter would spread them over the whole lead.

%(short)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import BandpassFilter
    >>> fs = 100
    >>> t = np.arange(10 * fs) / fs
    >>> slow, kept = np.sin(2 * np.pi * 0.05 * t), np.sin(2 * np.pi * 10 * t)
    >>> X = np.stack([slow + kept, 2 * kept])[:, np.newaxis, :]  # 2 records, 1 lead
    >>> Xf = BandpassFilter(low=0.5, high=40, fs=fs).fit_transform(X)
    >>> Xf.shape, Xf.dtype
    ((2, 1, 1000), dtype('float32'))
    >>> bool(np.abs(Xf[0, 0, 200:800] - kept[200:800]).max() < 0.05)
    True
    """

    _parameter_constraints: dict = {
        **_RateTransformer._parameter_constraints,
        "low": [_POSITIVE, None],
        "high": [_POSITIVE, None],
        "order": _ORDER_CONSTRAINT,
    }

    def __init__(self, *, low=0.5, high=45.0, fs=None, order=4):
        self.low = low
        self.high = high
        self.fs = fs
        self.order = order

    def _resolve_params(self):
        name = type(self).__name__
        fs = self._fs()
        low = None if self.low is None else float(self.low)
        high = None if self.high is None else float(self.high)
        order = int(self.order)
        if low is None and high is None:
            raise ValueError(
                f"{name} needs at least one cutoff: pass low=... (high-pass), "
                "high=... (low-pass) or both (band-pass)."
            )
        for pname, freq in (("low", low), ("high", high)):
            if freq is not None:
                _check_below_nyquist(name, pname, freq, fs)
        if low is not None and high is not None:
            if low >= high:
                raise ValueError(
                    f"{name} needs low < high, got low={low:g} Hz and high={high:g} Hz."
                )
            return _butter_sos(name, order, [low, high], "bandpass", fs)
        if low is not None:
            return _butter_sos(name, order, low, "highpass", fs)
        return _butter_sos(name, order, high, "lowpass", fs)

    def _transform_chunk(self, chunk, sos):
        return _sosfiltfilt(sos, chunk)


_fill_short_signal_note(BandpassFilter)


class NotchFilter(_RateTransformer):
    """Zero-phase power-line notch filter.

    A second-order IIR notch (:func:`scipy.signal.iirnotch`) applied forwards
    and backwards (:func:`scipy.signal.filtfilt`) removes a narrow band around
    the mains frequency, 50 Hz (Europe, most of Asia) or 60 Hz (the Americas),
    without shifting the waves.

    Parameters
    ----------
    freq : float, default=50.0
        Frequency to remove in Hz, below the Nyquist frequency ``fs / 2``.
    fs : float, default=None
        Sampling rate of X in Hz. Required: there is no safe guess.
    quality : float, default=30.0
        Quality factor ``freq / bandwidth``: higher is narrower (30 removes
        about ``freq / 30`` Hz around ``freq``). The bandwidth must stay below
        the Nyquist frequency, i.e. ``quality > 2 * freq / fs``.

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
    BandpassFilter : A low-pass below the mains frequency also removes it.

    Notes
    -----
    Input, output, chunking and NaN handling as for :class:`BandpassFilter`.
    At 100 Hz a 50 Hz notch is impossible (50 Hz is the Nyquist frequency);
    PTB-XL's 100 Hz records are already low-pass filtered.

%(short)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import NotchFilter
    >>> fs = 500
    >>> t = np.arange(10 * fs) / fs
    >>> ecg_like = np.sin(2 * np.pi * 10 * t)
    >>> X = (ecg_like + 0.5 * np.sin(2 * np.pi * 50 * t))[np.newaxis, np.newaxis, :]
    >>> Xf = NotchFilter(freq=50, fs=fs).fit_transform(X)
    >>> bool(np.abs(Xf[0, 0, 500:-500] - ecg_like[500:-500]).max() < 0.05)
    True
    """

    def __init__(self, *, freq=50.0, fs=None, quality=30.0):
        self.freq = freq
        self.fs = fs
        self.quality = quality

    _parameter_constraints: dict = {
        **_RateTransformer._parameter_constraints,
        "freq": [_POSITIVE],
        "quality": [_POSITIVE],
    }

    def _resolve_params(self):
        name = type(self).__name__
        fs = self._fs()
        freq, quality = float(self.freq), float(self.quality)
        _check_below_nyquist(name, "freq", freq, fs)
        if freq / quality >= fs / 2:
            # scipy's design breaks down here: singular or unstable filters.
            raise ValueError(
                f"{name}: quality={quality:g} makes the notch {freq / quality:g} Hz wide, "
                f"not narrower than the Nyquist frequency {fs / 2:g} Hz; choose quality "
                f"above {2 * freq / fs:g} (30 is usual)."
            )
        b, a = signal.iirnotch(freq, quality, fs=fs)
        _check_stable(name, a)
        return b, a

    def _transform_chunk(self, chunk, ba):
        return _filtfilt(*ba, chunk)


_fill_short_signal_note(NotchFilter)


def odd_window(seconds, fs):
    n = max(1, int(round(seconds * fs)))
    return n if n % 2 else n + 1


def _median_filter_rows(x, window, edges="reflect"):
    """Running median of width ``window`` along the last axis, edges reflected (or zero-padded).

    scipy's fast running median only applies to 1-D input (n-D input is some
    30 times slower), so every lead is padded with its own reflection, the
    leads are laid end to end and filtered in a single 1-D call; the padding
    keeps each window inside its own lead.
    """
    half = window // 2
    n_timepoints = x.shape[-1]
    rows = x.reshape(-1, n_timepoints)
    mode = "symmetric" if edges == "reflect" else "constant"
    padded = np.pad(rows, ((0, 0), (half, half)), mode=mode)
    filtered = ndimage.median_filter(padded.ravel(), size=window, mode="reflect")
    filtered = filtered.reshape(padded.shape)[:, half : half + n_timepoints]
    return filtered.reshape(x.shape)


class BaselineWanderRemoval(_RateTransformer):
    """Remove baseline wander (slow drift from breathing, movement, electrodes).

    Two methods:

    - ``"median"`` (default): the classic two-stage median filter. A running
      median over ``median_windows[0]`` seconds (200 ms) removes the QRS
      complexes and a second one over ``median_windows[1]`` seconds (600 ms)
      removes the P and T waves; what is left is the baseline, which is
      subtracted. Non-linear: it follows steps and drifts of any shape while
      leaving the QRS amplitude untouched, and it removes a constant offset
      exactly.
    - ``"highpass"``: a zero-phase Butterworth high-pass at ``cutoff`` Hz
      (0.5 Hz by default, see :class:`BandpassFilter`). Linear and fast; it
      may slightly distort the ST segment, which contains energy near the
      cutoff.

    Parameters
    ----------
    fs : float, default=None
        Sampling rate of X in Hz. Required: there is no safe guess.
    method : {"median", "highpass"}, default="median"
        How the baseline is estimated.
    median_windows : tuple of one or two floats, default=(0.2, 0.6)
        Window lengths in seconds of the median filters applied one after
        the other (rounded to an odd number of samples). One window gives a
        single running median as baseline (ECGFounder's recipe: 0.4 s).
        Used by ``method="median"`` only.
    cutoff : float, default=0.5
        High-pass cutoff in Hz. Used by ``method="highpass"`` only.
    order : int, default=2
        Butterworth order per pass, from 1 to 1000 (see
        :class:`BandpassFilter`). Used by ``method="highpass"`` only.
    median_edges : {"reflect", "zeros"}, default="reflect"
        What the median filters see beyond the record's ends: its
        reflection, or zeros (as :func:`scipy.signal.medfilt`, which pulls
        the baseline towards 0 within half a window of the ends). Used by
        ``method="median"`` only.

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
    BandpassFilter : Band-pass, whose lower cutoff also removes the drift.

    Notes
    -----
    Input, output, chunking and NaN handling as for :class:`BandpassFilter`.
    By default the median filters reflect the signal at the record's ends.

%(short)s

    References
    ----------
    .. [1] P. de Chazal, M. O'Dwyer, R. B. Reilly, "Automatic classification of
       heartbeats using ECG morphology and heartbeat interval features", IEEE
       Trans. Biomed. Eng. 51(7), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import BaselineWanderRemoval
    >>> fs = 100
    >>> t = np.arange(10 * fs) / fs
    >>> beats = (np.abs((t % 1.0) - 0.5) < 0.03).astype(float)  # 60 bpm spikes
    >>> X = (beats + 0.5 * np.sin(2 * np.pi * 0.2 * t) + 1.0)[np.newaxis, :]  # 2-D
    >>> Xb = BaselineWanderRemoval(fs=fs).fit_transform(X)
    >>> Xb.shape
    (1, 1000)
    >>> bool(np.abs(Xb[0] - beats).max() < 0.1)
    True
    """

    def __init__(self, *, fs=None, method="median", median_windows=(0.2, 0.6), cutoff=0.5, order=2,
                 median_edges="reflect"):
        self.fs = fs
        self.method = method
        self.median_windows = median_windows
        self.median_edges = median_edges
        self.cutoff = cutoff
        self.order = order

    _parameter_constraints: dict = {
        **_RateTransformer._parameter_constraints,
        "method": [StrOptions({"median", "highpass"})],
        "median_windows": [tuple, list, np.ndarray],
        "median_edges": [StrOptions({"reflect", "zeros"})],
        "cutoff": [_POSITIVE],
        "order": _ORDER_CONSTRAINT,
    }

    def _resolve_params(self):
        name = type(self).__name__
        fs = self._fs()
        windows = self.median_windows
        if len(windows) not in (1, 2) or not all(_POSITIVE.is_satisfied_by(w) for w in windows):
            raise _invalid_parameter(
                name, "median_windows",
                "one or two positive window lengths in seconds, e.g. (0.2, 0.6)", windows,
            )
        if self.method == "highpass":
            cutoff = float(self.cutoff)
            _check_below_nyquist(name, "cutoff", cutoff, fs)
            return "highpass", _butter_sos(name, int(self.order), cutoff, "highpass", fs)
        return "median", tuple(odd_window(float(w), fs) for w in windows)

    def _transform_chunk(self, chunk, params):
        method, arg = params
        if method == "highpass":
            return _sosfiltfilt(arg, chunk)
        baseline = chunk
        for window in arg:
            baseline = _median_filter_rows(baseline, window, self.median_edges)
        return chunk - baseline


_fill_short_signal_note(BaselineWanderRemoval)
