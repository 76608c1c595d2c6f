"""Plots of ECG records and of pretraining curves (needs matplotlib).

Records are drawn as on ECG paper: time runs at ``speed`` mm/s (25 by
default) and amplitude at ``gain`` mm/mV (10 by default), over a grid of
1 mm minor and 5 mm major lines, one lead per row. The axes are in seconds
and millivolts with an aspect ratio fixed by ``gain / speed``, so a figure
built here (or any figure the axes keep the ratio in) shows true paper
proportions, and a figure created here is sized in millimetres so that a
printout at 100 % scale matches real ECG paper.

Matplotlib is an optional dependency (``pip install "sklearn-ecg[plot]"``);
it is imported when a function of this module is called, never by
``import sklearn_ecg``. Every function returns the matplotlib objects it
drew on, for the caller to adjust.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sklearn_ecg.datasets import load_ptbxl_sample
>>> from sklearn_ecg.plotting import plot_ecg
>>> data = load_ptbxl_sample(ecg_ids=[1])
>>> ax = plot_ecg(data.X[0], fs=data.fs, lead_names=data.lead_names)
>>> [float(limit) for limit in ax.get_xlim()]  # 10 s of record
[0.0, 10.0]
"""

import numpy as np

from ._attributions import plot_attributions, plot_lead_importance
from ._checks import _check_positive, _check_record, _pyplot
from ._sheet import plot_ecg_sheet

__all__ = [
    "plot_attributions",
    "plot_ecg",
    "plot_ecg_sheet",
    "plot_ecgs",
    "plot_lead_importance",
    "plot_training_curve",
]

_MM_PER_INCH = 25.4
# Space around the paper in a figure created here (inches): lead labels, tick
# labels and the title need room.
_MARGINS = {"left": 0.7, "right": 0.25, "bottom": 0.6, "top": 0.5}
_PAPER = {"minor": "#f4c6c6", "major": "#e08585", "face": "#fff8f8"}


def _check_lead_names(lead_names, n_leads):
    if lead_names is None:
        return [f"lead {i}" for i in range(n_leads)] if n_leads > 1 else [""]
    if isinstance(lead_names, str):
        lead_names = [lead_names]
    lead_names = [str(name) for name in lead_names]
    if len(lead_names) != n_leads:
        raise ValueError(
            f"lead_names has {len(lead_names)} names but the record has {n_leads} leads; pass "
            "one name per lead (e.g. data.lead_names of a dataset Bunch)."
        )
    return lead_names


def _paper_grid(ax, speed, gain):
    """ECG paper: minor lines every 1 mm, major lines every 5 mm."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator, NullFormatter

    ax.xaxis.set_major_locator(MultipleLocator(5.0 / speed))
    ax.xaxis.set_minor_locator(MultipleLocator(1.0 / speed))
    ax.yaxis.set_major_locator(MultipleLocator(5.0 / gain))
    ax.yaxis.set_minor_locator(MultipleLocator(1.0 / gain))
    # Major lines every 0.2 s are too dense to label: label whole seconds only.
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda t, _: f"{t:g}" if abs(t - round(t)) < 1e-6 else "")
    )
    # Leads are stacked with offsets, so absolute millivolts mean nothing here.
    ax.yaxis.set_major_formatter(NullFormatter())
    ax.tick_params(axis="both", which="both", length=0)
    ax.grid(True, which="minor", color=_PAPER["minor"], linewidth=0.4)
    ax.grid(True, which="major", color=_PAPER["major"], linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_facecolor(_PAPER["face"])


def _new_axes(plt, width_mm, height_mm, ncols=1, sharey=False):
    width = width_mm / _MM_PER_INCH
    height = height_mm / _MM_PER_INCH
    margins = _MARGINS
    fig_w = ncols * width + margins["left"] + margins["right"] + (ncols - 1) * margins["left"]
    fig_h = height + margins["bottom"] + margins["top"]
    fig, axes = plt.subplots(1, ncols, figsize=(fig_w, fig_h), sharey=sharey, squeeze=False)
    fig.subplots_adjust(
        left=margins["left"] / fig_w,
        right=1 - margins["right"] / fig_w,
        bottom=margins["bottom"] / fig_h,
        top=1 - margins["top"] / fig_h,
        wspace=margins["left"] / width if ncols > 1 else 0.2,
    )
    return fig, axes[0]


def _layout(n_leads, lead_spacing, gain):
    spacing = 3.0 if lead_spacing is None else _check_positive(lead_spacing, "lead_spacing")
    offsets = -spacing * np.arange(n_leads)
    # Half a lead spacing above the first and below the last trace, rounded out
    # to whole major squares so the paper ends on a major line.
    major = 5.0 / gain
    top = np.ceil(spacing / 2 / major) * major
    bottom = offsets[-1] - top
    return offsets, (bottom, top)


def plot_ecg(record, fs, *, lead_names=None, ax=None, speed=25.0, gain=10.0, lead_spacing=None,
             units="mV", title=None, color="k", linewidth=0.6, label=None, grid=True):
    """Plot one multi-lead ECG record on ECG paper.

    Leads are stacked top to bottom, each around its own baseline, with its
    name at the left edge. Time is in seconds and amplitude in ``units``;
    the aspect ratio makes 1 s as long as ``speed`` mm and 1 ``units`` as
    long as ``gain`` mm, over a grid of 1 mm (minor) and 5 mm (major)
    squares.

    Parameters
    ----------
    record : array-like of shape (n_leads, n_timepoints) or (n_timepoints,)
        One record, e.g. ``data.X[i]`` of a dataset Bunch.
    fs : float
        Sampling rate in Hz, e.g. ``data.fs``; shown in the title.
    lead_names : list of str or None, default=None
        One name per lead, e.g. ``data.lead_names``. None numbers the leads.
    ax : matplotlib Axes or None, default=None
        Axes to draw on. None creates a figure sized in millimetres, so that
        the paper prints at its true scale.
    speed : float, default=25.0
        Paper speed in mm/s.
    gain : float, default=10.0
        Amplitude scale in mm per ``units`` (10 mm/mV is the standard).
    lead_spacing : float or None, default=None
        Distance between the baselines of two leads, in ``units``; None is
        3 (30 mm at the standard gain).
    units : str, default="mV"
        Unit of the samples, shown in the labels.
    title : str or None, default=None
        Title; the sampling rate, speed and gain are appended. An existing
        title of ``ax`` is kept when None.
    color : color, default="k"
        Colour of the traces.
    linewidth : float, default=0.6
        Width of the traces in points.
    label : str or None, default=None
        Legend label of the traces (given to the first lead only), for
        overlays of several records.
    grid : bool, default=True
        Draw the ECG paper grid.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; ``ax.figure`` is its figure.

    See Also
    --------
    plot_ecgs : Several records, overlaid or side by side.
    plot_ecg_sheet : The clinical printout: 3 x 4 leads and a rhythm strip.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.plotting import plot_ecg
    >>> data = load_ptbxl_sample(ecg_ids=[1], leads=["II", "V1"])
    >>> ax = plot_ecg(data.X[0], fs=data.fs, lead_names=data.lead_names)
    >>> ax.get_title()
    'ECG record, 100 Hz (25 mm/s, 10 mm/mV)'
    """
    plt = _pyplot()
    record = _check_record(record)
    fs = _check_positive(fs, "fs")
    speed = _check_positive(speed, "speed")
    gain = _check_positive(gain, "gain")
    n_leads, n_timepoints = record.shape
    lead_names = _check_lead_names(lead_names, n_leads)
    offsets, (bottom, top) = _layout(n_leads, lead_spacing, gain)
    duration = n_timepoints / fs
    if ax is None:
        _, (ax,) = _new_axes(plt, duration * speed, (top - bottom) * gain)
    t = np.arange(n_timepoints) / fs
    lines = ax.plot(t, record.T + offsets, color=color, linewidth=linewidth)
    if label is not None:
        lines[0].set_label(label)
    # Extend (never shrink) the limits, so that records overlaid on one axes all fit.
    if ax.has_data() and len(ax.lines) > len(lines):
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        ax.set_xlim(min(x0, 0.0), max(x1, duration))
        ax.set_ylim(min(y0, bottom), max(y1, top))
    else:
        ax.set_xlim(0.0, duration)
        ax.set_ylim(bottom, top)
        for name, offset in zip(lead_names, offsets):
            ax.annotate(
                name, (0.0, offset + 0.4 * (offsets[0] - offsets[1] if n_leads > 1 else top)),
                xytext=(3, 0), textcoords="offset points", fontsize=8, fontweight="bold",
                va="center", ha="left",
            )
    # 1 unit of y is gain mm and 1 s of x is speed mm: the paper's proportions.
    ax.set_aspect(gain / speed, adjustable="box")
    if grid:
        _paper_grid(ax, speed, gain)
    ax.set_xlabel(f"time (s), {speed:g} mm/s")
    ax.set_ylabel(f"{n_leads} lead{'s' if n_leads > 1 else ''}, {gain:g} mm/{units}")
    if title is not None or not ax.get_title():
        ax.set_title(f"{title or 'ECG record'}, {fs:g} Hz ({speed:g} mm/s, {gain:g} mm/{units})")
    return ax


def _as_record_list(records):
    if isinstance(records, np.ndarray) and records.ndim == 3:
        return list(records)
    if isinstance(records, np.ndarray) and records.ndim < 3:
        raise ValueError(
            "records must be several records: an array (n_records, n_leads, n_timepoints) or a "
            f"list of (n_leads, n_timepoints) arrays; got an array of shape {records.shape}. "
            "For one record use plot_ecg."
        )
    try:
        records = list(records)
    except TypeError as exc:
        raise TypeError(
            f"records must be an array or a list of records; got {type(records).__name__}."
        ) from exc
    if not records:
        raise ValueError("records is empty; pass at least one record.")
    return records


def _per_record(value, n_records, name):
    if isinstance(value, (str, bytes)) or not np.iterable(value):
        return [value] * n_records
    value = list(value)
    if len(value) != n_records:
        raise ValueError(f"{name} has {len(value)} entries for {n_records} records; pass one per record.")
    return value


def plot_ecgs(records, fs, *, labels=None, lead_names=None, mode="overlay", axes=None, speed=25.0,
              gain=10.0, lead_spacing=None, units="mV", colors=None, linewidth=0.6, title=None):
    """Plot several ECG records, e.g. one record before and after preprocessing.

    Parameters
    ----------
    records : array-like of shape (n_records, n_leads, n_timepoints) or list of arrays
        The records; in a list they may differ in length and sampling rate
        (e.g. before and after :class:`~sklearn_ecg.preprocessing.Resample`),
        not in lead count.
    fs : float or list of float
        Sampling rate in Hz, one for all records or one per record.
    labels : list of str or None, default=None
        Name of each record (legend of an overlay, title of a panel). None
        numbers them.
    lead_names : list of str or None, default=None
        One name per lead, shared by the records.
    mode : {"overlay", "side_by_side"}, default="overlay"
        Draw the records on one paper in different colours, or each on its
        own paper, next to each other.
    axes : matplotlib Axes, array of Axes or None, default=None
        One Axes (overlay) or one per record (side by side) to draw on. None
        creates a figure sized in millimetres.
    speed, gain, lead_spacing, units, linewidth
        As in :func:`plot_ecg`.
    colors : list of colors or None, default=None
        One colour per record; None takes matplotlib's colour cycle (black
        for the first record side by side).
    title : str or None, default=None
        Title of the overlay, or the figure's suptitle side by side.

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of matplotlib Axes
        One Axes (overlay) or one per record (side by side).

    See Also
    --------
    plot_ecg : One record.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.plotting import plot_ecgs
    >>> from sklearn_ecg.preprocessing import BandpassFilter
    >>> data = load_ptbxl_sample(ecg_ids=[1, 2], leads=["II", "V1"])
    >>> filtered = BandpassFilter(low=0.5, high=40, fs=data.fs).fit_transform(data.X)
    >>> fig, axes = plot_ecgs([data.X[0], filtered[0]], fs=data.fs,
    ...                       labels=["raw", "0.5-40 Hz"], lead_names=data.lead_names)
    >>> [text.get_text() for text in axes[0].get_legend().get_texts()]
    ['raw', '0.5-40 Hz']
    """
    plt = _pyplot()
    if mode not in ("overlay", "side_by_side"):
        raise ValueError(f'mode must be "overlay" or "side_by_side"; got {mode!r}.')
    records = [_check_record(r, what=f"records[{i}]") for i, r in enumerate(_as_record_list(records))]
    n = len(records)
    lead_counts = {r.shape[0] for r in records}
    if len(lead_counts) > 1:
        raise ValueError(
            f"The records have different lead counts {sorted(lead_counts)}; plot records with the "
            "same leads together."
        )
    fss = [_check_positive(f, "fs") for f in _per_record(fs, n, "fs")]
    labels = [f"record {i}" for i in range(n)] if labels is None else [str(x) for x in _per_record(labels, n, "labels")]
    if colors is None:
        cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["k"])
        colors = [cycle[i % len(cycle)] for i in range(n)]
        if mode == "side_by_side":
            colors = ["k"] * n
    colors = _per_record(colors, n, "colors")
    speed = _check_positive(speed, "speed")
    gain = _check_positive(gain, "gain")
    offsets, (bottom, top) = _layout(records[0].shape[0], lead_spacing, gain)
    durations = [r.shape[1] / f for r, f in zip(records, fss)]
    height_mm = (top - bottom) * gain
    kwargs = dict(lead_names=lead_names, speed=speed, gain=gain, lead_spacing=lead_spacing,
                  units=units, linewidth=linewidth)

    if mode == "overlay":
        if axes is None:
            fig, axes = _new_axes(plt, max(durations) * speed, height_mm)
        axes = np.atleast_1d(np.asarray(axes, dtype=object))
        if axes.size != 1:
            raise ValueError(f"An overlay draws on one Axes; got {axes.size}.")
        ax = axes.flat[0]
        ax.set_title("")
        for record, f, label, color in zip(records, fss, labels, colors):
            plot_ecg(record, f, ax=ax, label=label, color=color, **kwargs)
        same_fs = len(set(fss)) == 1
        rate = f"{fss[0]:g} Hz" if same_fs else "Hz: " + ", ".join(f"{f:g}" for f in fss)
        ax.set_title(f"{title or 'ECG records'}, {rate} ({speed:g} mm/s, {gain:g} mm/{units})")
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
        return ax.figure, axes

    if axes is None:
        fig, axes = _new_axes(plt, max(durations) * speed, height_mm, ncols=n, sharey=True)
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if axes.size != n:
        raise ValueError(f"Side by side needs one Axes per record: {n} records, {axes.size} Axes.")
    for record, f, label, color, ax in zip(records, fss, labels, colors, axes):
        ax.set_title("")
        plot_ecg(record, f, ax=ax, color=color, title=label, **kwargs)
    fig = axes[0].figure
    if title is not None:
        fig.suptitle(title)
    return fig, axes


def _history(estimator):
    history = getattr(estimator, "estimator", estimator) if hasattr(estimator, "frozen_") else estimator
    if hasattr(history, "get_params") or hasattr(history, "fit"):
        from sklearn.exceptions import NotFittedError

        if not hasattr(history, "history_"):
            raise NotFittedError(
                f"This {type(history).__name__} has no training history: fit it first "
                "(e.g. LCDPretrainer(...).fit(X)) before plotting its training curve."
            )
        history = history.history_
    try:
        epochs = [dict(row) for row in history]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "estimator must be a fitted pretrainer, a skorch History or a list of per-epoch "
            f"dicts; got {type(history).__name__}."
        ) from exc
    return epochs


def plot_training_curve(estimator, *, terms=None, ax=None, logy=False, title=None):
    """Plot a pretrainer's training loss and its named terms per epoch.

    Parameters
    ----------
    estimator : fitted pretrainer, FrozenEstimator of one, skorch History or list of dict
        Anything with a ``history_`` (e.g. a fitted
        :class:`~sklearn_ecg.LCDPretrainer`), or the history itself: one
        dict per epoch with ``"epoch"`` and the ``*_loss`` values.
    terms : list of str or None, default=None
        Keys to plot beside ``"train_loss"`` (e.g. ``["intra_loss"]``).
        None plots every ``*_loss`` key of the history (for LCD:
        ``intra_loss``, ``inter_loss`` and ``decorrelation_loss``).
    ax : matplotlib Axes or None, default=None
        Axes to draw on; None creates a figure.
    logy : bool, default=False
        Logarithmic loss axis, for terms of different magnitudes.
    title : str or None, default=None
        Title; None names the estimator.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; its lines are labelled by the history keys.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_ecg import LCDPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.plotting import plot_training_curve
    >>> X = load_ptbxl_sample(ecg_ids=range(1, 33)).X[:, :2, :500]
    >>> lcd = LCDPretrainer(max_epochs=2, batch_size=16, random_state=0).fit(X)
    >>> ax = plot_training_curve(lcd)
    >>> [line.get_label() for line in ax.get_lines()]
    ['train_loss', 'intra_loss', 'inter_loss', 'decorrelation_loss']
    """
    plt = _pyplot()
    epochs = _history(estimator)
    if not epochs:
        raise ValueError(
            "The training history is empty (max_epochs=0 trains nothing); fit with max_epochs >= 1 "
            "to plot a training curve."
        )
    keys = [k for k in epochs[-1] if k.endswith("_loss") and k != "train_loss"]
    if terms is None:
        terms = keys
    else:
        terms = [terms] if isinstance(terms, str) else list(terms)
        missing = [t for t in terms if t not in epochs[-1]]
        if missing:
            raise ValueError(
                f"The history has no {missing}; it records {['train_loss'] + keys}."
            )
    if "train_loss" not in epochs[-1]:
        raise ValueError(f"The history has no 'train_loss'; its keys are {sorted(epochs[-1])}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    epoch = np.array([row.get("epoch", i + 1) for i, row in enumerate(epochs)])
    for key, style in [("train_loss", dict(color="k", linewidth=2.0))] + [(t, {}) for t in terms]:
        values = np.array([row.get(key, np.nan) for row in epochs], dtype=float)
        ax.plot(epoch, values, marker="." if len(epoch) <= 30 else None, label=key, **style)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean over the epoch's batches)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    name = type(getattr(estimator, "estimator", estimator)).__name__ if hasattr(estimator, "fit") else None
    ax.set_title(title or (f"{name} training curve" if name else "training curve"))
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


