"""Preprocessing steps of imported models that reproduce their authors' code.

Stateless transformers on ``(n_records, n_leads, n_timepoints)`` arrays,
used by the models' table entries where the package's own steps would not
give the authors' numbers (FFT resampling, crops averaged by the network).
"""

import numpy as np
from scipy.interpolate import interp1d
from scipy.signal import resample
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FFTResample", "LinearResample", "RESAMPLERS", "StatelessStep"]


class StatelessStep(TransformerMixin, BaseEstimator):
    """A step that learns nothing: ``fit`` returns it as it is."""

    def fit(self, X=None, y=None):
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class _Resampler(StatelessStep):
    """A rate change to ``int(n * target_fs / fs)`` samples, the authors' way."""

    def __init__(self, fs=None, target_fs=None):
        self.fs = fs
        self.target_fs = target_fs

    def transform(self, X):
        if not (self.fs and self.target_fs and self.fs > 0 and self.target_fs > 0):
            raise ValueError(f"{type(self).__name__} needs positive fs and target_fs; got "
                             f"fs={self.fs!r}, target_fs={self.target_fs!r}.")
        X = np.asarray(X)
        n_out = int(X.shape[-1] * float(self.target_fs) / float(self.fs))
        if float(self.fs) == float(self.target_fs):
            return X
        if n_out < 2 or X.shape[-1] < 2:
            raise ValueError(f"Records of {X.shape[-1]} samples at {self.fs} Hz are too short "
                             f"to resample to {self.target_fs} Hz.")
        return self._resample(X, n_out)


class FFTResample(_Resampler):
    """Resample by FFT (``scipy.signal.resample``) to ``int(n * target_fs / fs)`` samples.

    What ST-MEM's and HuBERT-ECG's authors do (the package's
    :class:`~sklearn_ecg.preprocessing.Resample` filters polyphase instead).

    Parameters
    ----------
    fs : float
        Rate of the records in Hz.
    target_fs : float
        Rate of the output in Hz.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation._steps import FFTResample
    >>> FFTResample(fs=100, target_fs=250).transform(np.zeros((2, 12, 1000))).shape
    (2, 12, 2500)
    """

    def _resample(self, X, n_out):
        return resample(X, n_out, axis=-1)


class LinearResample(_Resampler):
    """Resample by linear interpolation to ``int(n * target_fs / fs)`` samples.

    What ECG-FM's inference pipeline does (``ecg_transform``'s
    ``LinearResample``: the ``n`` input samples are placed evenly from the
    first to the last output sample, no anti-aliasing filter).

    Parameters
    ----------
    fs : float
        Rate of the records in Hz.
    target_fs : float
        Rate of the output in Hz.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation._steps import LinearResample
    >>> LinearResample(fs=250, target_fs=500).transform(np.zeros((2, 12, 2000))).shape
    (2, 12, 4000)
    """

    def _resample(self, X, n_out):
        positions = np.linspace(0, n_out - 1, X.shape[-1])
        return interp1d(positions, X, kind="linear", axis=-1)(np.arange(n_out))


#: The table's ``input.resample`` values and the steps that resample that way.
RESAMPLERS = {"fft": FFTResample, "linear": LinearResample}
