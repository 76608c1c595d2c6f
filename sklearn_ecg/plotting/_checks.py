"""What every plot of the package checks first: matplotlib, positive settings, a record."""

import numbers

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_ecg.plotting needs matplotlib, which is not installed. Install it with "
            '`pip install "sklearn-ecg[plot]"` (or `pip install matplotlib`).'
        ) from exc
    return plt


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return float(value)


def _check_record(record, what="record"):
    """A record as float ``(n_leads, n_timepoints)``; 1-D is one lead."""
    try:
        record = np.asarray(record, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a numeric array; got {type(record).__name__}.") from exc
    if record.ndim == 1:
        record = record[None, :]
    if record.ndim != 2:
        hint = (
            " To plot one record of a set X of shape (n_records, n_leads, n_timepoints), pass "
            "X[i]; to plot several, use plot_ecgs."
            if record.ndim == 3
            else ""
        )
        raise ValueError(
            f"{what} must be one record of shape (n_leads, n_timepoints) or (n_timepoints,); "
            f"got an array of shape {record.shape}.{hint}"
        )
    n_leads, n_timepoints = record.shape
    if n_timepoints < 2:
        raise ValueError(f"{what} needs at least 2 samples per lead; got shape {record.shape}.")
    if n_leads > n_timepoints:
        raise ValueError(
            f"{what} has shape {record.shape}: more leads than samples, so it is probably "
            f"(n_timepoints, n_leads): pass record.T. If it really has {n_timepoints} samples "
            "per lead, it is too short to plot: pass a longer stretch of the recording."
        )
    return record


# Typical robust peak-to-peak amplitude of an ECG lead is 0.5-3 mV: a median
# over the leads beyond these bounds is in another unit.
_MV_RANGE = (0.01, 50.0)


def _warn_unit(record, what="record"):
    """Warn when the amplitudes of ``record`` (mV expected) look like µV or V."""
    import warnings

    finite = np.where(np.isfinite(record), record, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN leads
        low, high = np.nanpercentile(finite, [2, 98], axis=-1)
        amplitude = float(np.nanmedian(high - low))
    if not np.isfinite(amplitude) or amplitude == 0 or _MV_RANGE[0] <= amplitude <= _MV_RANGE[1]:
        return
    guess = "microvolts (divide by 1000)" if amplitude > _MV_RANGE[1] else "volts (multiply by 1000)"
    warnings.warn(
        f"The {what}'s leads span {amplitude:.3g} units peak to peak (median over leads); the "
        f"sheet expects millivolts (an ECG lead spans about 0.5-3 mV), so they are probably in "
        f"{guess}. The grid's millimetres per mV would be wrong.",
        UserWarning,
        stacklevel=4,
    )
