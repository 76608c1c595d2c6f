"""Attributions (see :mod:`sklearn_ecg.inspection`) drawn on the clinical sheet and per lead."""

import numbers

import numpy as np

from ._checks import _pyplot
from ._sheet import _sheet_lead_names, draw_sheet

_METHOD_NAMES = {"integrated_gradients": "integrated gradients", "occlusion": "occlusion"}


def _check_explanation(explanation):
    keys = ("attributions", "X", "target_names", "scores", "method", "lead_importance", "lead_attributions")
    missing = [k for k in keys if k not in explanation]
    if missing:
        raise TypeError(
            "explanation must be what sklearn_ecg.inspection.explain_prediction returns; it lacks "
            f"{missing}."
        )
    return explanation


def _check_index(index, n_records):
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -n_records <= index < n_records:
        raise ValueError(f"index must be a record of the explanation, 0 to {n_records - 1}; got {index!r}.")
    return int(index) % n_records


def plot_attributions(explanation, fs, index=0, *, kind="trace", lead_names=None, smooth=0.1,
                      cmap="RdBu_r", alpha=0.7, style="bw", title=None, **sheet_kwargs):
    """Draw one record's attributions on the clinical sheet.

    Parameters
    ----------
    explanation : Bunch
        What :func:`sklearn_ecg.inspection.explain_prediction` returns.
    fs : float
        Sampling rate of the records in Hz.
    index : int, default=0
        The record of the explanation to draw.
    kind : {"trace", "overlay"}, default="trace"
        The trace coloured by its attributions (over the black trace), or a
        heat band behind each trace.
    lead_names : list of str or None, default=None
        As in :func:`plot_ecg_sheet`.
    smooth : float, default=0.1
        Seconds over which the attributions are summed before they are
        drawn (a moving sum), so that a wave's evidence shows as one patch
        rather than as single samples; 0 draws them sample by sample.
    cmap : str or Colormap, default="RdBu_r"
        A diverging colour map: red for the class, blue against it,
        centred on zero. The colour scale ends at the record's 99th
        percentile of absolute (summed) attribution, or at a quarter of
        the largest if that is more; larger values take the end colour.
    alpha : float, default=0.7
        Opacity of the heat band (``kind="overlay"``); the coloured trace
        (``kind="trace"``) is as opaque as its attribution is large, over
        the black trace.
    style : {"bw", "color"}, default="bw"
        The paper; grey paper lets the heat colours be read.
    title : str or None, default=None
        None states the method, the class and its output.
    **sheet_kwargs
        Further settings of :func:`plot_ecg_sheet` (``layout``, ``rhythm``,
        ``speed``, ``gain``, ``paper``, ...).

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
        The sheet's grid, as :func:`plot_ecg_sheet` returns it; the heat
        bands are its images (``ax.images``), the coloured traces its
        collections. ``fig.axes[1]`` is the colour bar.

    See Also
    --------
    plot_lead_importance : The leads' shares of the attributions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.plotting import plot_attributions
    >>> X = load_ptbxl_sample(ecg_ids=[1]).X
    >>> attributions = np.zeros_like(X)
    >>> attributions[0, 1, 300:350] = 1.0  # lead II, 3.0-3.5 s
    >>> explanation = Bunch(X=X, attributions=attributions, target_names=np.array(["MI"]),
    ...                     scores=np.array([0.8]), method="occlusion",
    ...                     lead_attributions=attributions.sum(axis=2),
    ...                     lead_importance=np.abs(attributions).sum(axis=2))
    >>> fig, ax = plot_attributions(explanation, fs=100, kind="overlay")
    >>> len(ax.images)  # one heat band per trace: 12 leads and the rhythm strip
    13
    """

    plt = _pyplot()
    explanation = _check_explanation(explanation)
    if kind not in ("overlay", "trace"):
        raise ValueError(f'kind must be "overlay" or "trace"; got {kind!r}.')
    n_records = len(explanation.X)
    index = _check_index(index, n_records)
    record = np.asarray(explanation.X[index])
    attributions = np.asarray(explanation.attributions[index], dtype=float)
    if attributions.shape != record.shape:
        raise ValueError(f"The attributions' shape {attributions.shape} is not the record's {record.shape}.")
    if title is None:
        method = _METHOD_NAMES.get(explanation.method, str(explanation.method))
        title = (f"{method}: evidence for {explanation.target_names[index]} "
                 f"(output {float(explanation.scores[index]):.2f}), record {index}")
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real) or not smooth >= 0:
        raise ValueError(f"smooth must be a duration in seconds >= 0; got {smooth!r}.")
    fig, ax, cells = draw_sheet(record, fs, lead_names=lead_names, style=style, title=title, **sheet_kwargs)
    width = int(round(smooth * fs))
    if width > 1:
        from scipy.ndimage import uniform_filter1d

        attributions = uniform_filter1d(attributions, size=width, axis=1, mode="constant") * width
    # A few extreme samples should not wash out the rest, nor should sparse
    # attributions make every small one look extreme.
    largest = float(np.abs(attributions).max())
    vmax = max(float(np.percentile(np.abs(attributions), 99)), 0.25 * largest) or 1.0
    colormap = plt.get_cmap(cmap)
    from matplotlib.colors import Normalize

    norm = Normalize(-vmax, vmax)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for cell in cells:
        values = attributions[cell["lead"], cell["i0"] : cell["i1"]]
        line = cell["line"]
        if kind == "overlay":
            half = 0.45 * cell["row"]
            # Under the paper's grid (zorder 0.5) and the trace: the band
            # colours the paper and the 1 mm grid stays readable through it.
            ax.imshow(values[None, :], cmap=colormap, norm=norm, alpha=alpha, aspect="auto",
                      interpolation="nearest", zorder=0.2,
                      extent=(cell["x0"], cell["x1"], cell["baseline"] - half, cell["baseline"] + half))
        else:
            from matplotlib.collections import LineCollection

            points = np.column_stack([line.get_xdata(), line.get_ydata()])
            segments = np.stack([points[:-1], points[1:]], axis=1)
            # A segment takes the mean attribution of its two samples.
            mean = (values[:-1] + values[1:]) / 2
            colors = colormap(norm(mean))
            colors[:, 3] = np.clip(np.abs(mean) / vmax, 0.0, 1.0)
            collection = LineCollection(segments, colors=colors, linewidths=line.get_linewidth() * 4,
                                        zorder=2.5, label=line.get_label())
            ax.add_collection(collection)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    width_mm, height_mm = (v * 25.4 for v in fig.get_size_inches())
    left, bottom = ax.get_position().x0, ax.get_position().y0
    # Under the grid, inside the page even when the grid leaves little margin.
    bar_y = max(bottom - 11.0 / height_mm, 1.0 / height_mm)
    bar_ax = fig.add_axes([left, bar_y, 80.0 / width_mm, 3.0 / height_mm])
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), cax=bar_ax, orientation="horizontal")
    bar.set_ticks([-vmax, 0.0, vmax], labels=[f"{-vmax:.2g}", "0", f"{vmax:.2g}"])
    # As large as the sheet's lead names: read at the size the sheet is shown.
    bar.ax.tick_params(labelsize=9, length=3)
    bar.ax.set_title(f"attribution to {explanation.target_names[index]} (red: for, blue: against)",
                     fontsize=9, loc="left")
    return fig, ax


def plot_lead_importance(explanation, index=None, *, lead_names=None, ax=None, title=None):
    """Bar chart of each lead's share of the absolute attributions.

    Parameters
    ----------
    explanation : Bunch
        What :func:`sklearn_ecg.inspection.explain_prediction` returns.
    index : int or None, default=None
        One record, or None for the mean share over the explained records.
    lead_names : list of str or None, default=None
        One name per lead; None numbers them (the standard names for 12 leads).
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.
    title : str or None, default=None
        None names the class (or classes) explained.

    Returns
    -------
    ax : matplotlib Axes
        One bar per lead, in the record's lead order, red where the lead's
        attributions sum to evidence for the class and blue where against.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_ecg.plotting import plot_lead_importance
    >>> share = np.array([[0.7, 0.2, 0.1]])
    >>> explanation = Bunch(X=np.zeros((1, 3, 100)), attributions=np.zeros((1, 3, 100)),
    ...                     target_names=np.array(["AF"]), scores=np.array([0.9]), method="occlusion",
    ...                     lead_attributions=np.array([[1.0, -0.2, 0.1]]), lead_importance=share)
    >>> ax = plot_lead_importance(explanation, lead_names=["II", "V1", "V5"])
    >>> [round(float(bar.get_height()), 2) for bar in ax.patches]
    [0.7, 0.2, 0.1]
    """

    plt = _pyplot()
    explanation = _check_explanation(explanation)
    importance = np.asarray(explanation.lead_importance, dtype=float)
    signed = np.asarray(explanation.lead_attributions, dtype=float)
    if index is None:
        share, direction = importance.mean(axis=0), signed.mean(axis=0)
        names = np.unique(np.asarray(explanation.target_names).astype(str))
        what = f"{', '.join(names)}, mean over {len(importance)} record(s)"
    else:
        index = _check_index(index, len(importance))
        share, direction = importance[index], signed[index]
        what = f"{explanation.target_names[index]}, record {index}"
    names = _sheet_lead_names(lead_names, len(share))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.0, 0.45 * len(share) + 1.0), 3.0))
    colors = ["#c0392b" if d >= 0 else "#2e6fbf" for d in direction]
    ax.bar(np.arange(len(share)), share, color=colors)
    ax.set_xticks(np.arange(len(share)), names)
    ax.set_ylabel("share of |attribution|")
    ax.set_ylim(0, max(float(share.max()) * 1.15, 1e-12))
    ax.set_title(title if title is not None else f"Leads' shares of the evidence: {what}", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    return ax
