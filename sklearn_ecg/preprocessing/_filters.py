"""Zero-phase filters: band-pass, power-line notch and baseline wander removal."""

import numpy as np
from scipy import ndimage, signal

from ._base import (
    _check_below_nyquist,
    _check_choice,
    _check_fs,
    _check_int,
    _check_real,
    _ECGTransformer,
    _filtfilt,
    _sosfiltfilt,
)

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


class BandpassFilter(_ECGTransformer):
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
        has twice this order).

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

    def __init__(self, low=0.5, high=45.0, fs=None, order=4):
        self.low = low
        self.high = high
        self.fs = fs
        self.order = order

    def _resolve_params(self):
        name = type(self).__name__
        fs = _check_fs(name, self.fs)
        low = _check_real(name, "low", self.low, allow_none=True)
        high = _check_real(name, "high", self.high, allow_none=True)
        order = _check_int(name, "order", self.order)
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
            return signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
        if low is not None:
            return signal.butter(order, low, btype="highpass", fs=fs, output="sos")
        return signal.butter(order, high, btype="lowpass", fs=fs, output="sos")

    def _transform_chunk(self, chunk, sos):
        return _sosfiltfilt(sos, chunk)


_fill_short_signal_note(BandpassFilter)


class NotchFilter(_ECGTransformer):
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
        about ``freq / 30`` Hz around ``freq``).

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

    def __init__(self, freq=50.0, fs=None, quality=30.0):
        self.freq = freq
        self.fs = fs
        self.quality = quality

    def _resolve_params(self):
        name = type(self).__name__
        fs = _check_fs(name, self.fs)
        freq = _check_real(name, "freq", self.freq)
        quality = _check_real(name, "quality", self.quality)
        _check_below_nyquist(name, "freq", freq, fs)
        return signal.iirnotch(freq, quality, fs=fs)

    def _transform_chunk(self, chunk, ba):
        return _filtfilt(*ba, chunk)


_fill_short_signal_note(NotchFilter)


def _odd_window(seconds, fs):
    n = max(1, int(round(seconds * fs)))
    return n if n % 2 else n + 1


def _median_filter_rows(x, window):
    """Running median of width ``window`` along the last axis, edges reflected.

    scipy's fast running median only applies to 1-D input (n-D input is some
    30 times slower), so every lead is padded with its own reflection, the
    leads are laid end to end and filtered in a single 1-D call; the padding
    keeps each window inside its own lead.
    """
    half = window // 2
    n_timepoints = x.shape[-1]
    rows = x.reshape(-1, n_timepoints)
    padded = np.pad(rows, ((0, 0), (half, half)), mode="symmetric")
    filtered = ndimage.median_filter(padded.ravel(), size=window, mode="reflect")
    filtered = filtered.reshape(padded.shape)[:, half : half + n_timepoints]
    return filtered.reshape(x.shape)


class BaselineWanderRemoval(_ECGTransformer):
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
    median_windows : tuple of two floats, default=(0.2, 0.6)
        Window lengths in seconds of the two median filters (rounded to an
        odd number of samples). Used by ``method="median"`` only.
    cutoff : float, default=0.5
        High-pass cutoff in Hz. Used by ``method="highpass"`` only.
    order : int, default=2
        Butterworth order per pass. Used by ``method="highpass"`` only.

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
    The median filters reflect the signal at the record's ends.

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

    def __init__(self, fs=None, method="median", median_windows=(0.2, 0.6), cutoff=0.5, order=2):
        self.fs = fs
        self.method = method
        self.median_windows = median_windows
        self.cutoff = cutoff
        self.order = order

    def _resolve_params(self):
        name = type(self).__name__
        fs = _check_fs(name, self.fs)
        method = _check_choice(name, "method", self.method, ("median", "highpass"))
        if method == "highpass":
            cutoff = _check_real(name, "cutoff", self.cutoff)
            order = _check_int(name, "order", self.order)
            _check_below_nyquist(name, "cutoff", cutoff, fs)
            return "highpass", signal.butter(order, cutoff, btype="highpass", fs=fs, output="sos")
        windows = self.median_windows
        if isinstance(windows, str) or np.ndim(windows) != 1 or len(windows) != 2:
            raise ValueError(
                f"{name} parameter median_windows must be two window lengths in "
                f"seconds, e.g. (0.2, 0.6), got {windows!r}."
            )
        first, second = (_check_real(name, "median_windows", w) for w in windows)
        return "median", (_odd_window(first, fs), _odd_window(second, fs))

    def _transform_chunk(self, chunk, params):
        method, arg = params
        if method == "highpass":
            return _sosfiltfilt(arg, chunk)
        first, second = arg
        baseline = _median_filter_rows(_median_filter_rows(chunk, first), second)
        return chunk - baseline


_fill_short_signal_note(BaselineWanderRemoval)
