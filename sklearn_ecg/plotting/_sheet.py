"""The clinical ECG sheet: leads in a grid of columns, a rhythm strip, true to scale."""

import math
import numbers

import numpy as np

from .._lead_names import STANDARD_LEADS, lead_key, repeated_leads
from ._checks import _check_positive, _check_record, _pyplot, _warn_unit

_MM_PER_INCH = 25.4
#: Paper sizes in millimetres, landscape (width, height).
PAPER_SIZES = {"a4": (297.0, 210.0), "letter": (279.4, 215.9)}
#: Paper and ink of each style: red paper with a black trace, or greys.
SHEET_STYLES = {
    "color": {"face": "#fffafa", "minor": "#f5c0c0", "major": "#e06666", "ink": "black"},
    "bw": {"face": "white", "minor": "#d9d9d9", "major": "#8c8c8c", "ink": "black"},
}
# Room on the paper around the grid (mm): the header needs the top.
_MARGIN_MM = {"left": 8.0, "right": 8.0, "top": 20.0, "bottom": 8.0}
# The calibration pulse is drawn in the first 0.4 s of every row, before the
# record starts: 0.1 s of baseline, 1 mV for 0.2 s, back to the baseline.
_PULSE_SPACE_S = 0.4
_MIN_ROW_MM, _MAX_ROW_MM = 10.0, 50.0
_STANDARD_SHEET_S = 10.0


def _check_paper(paper):
    if isinstance(paper, str):
        key = paper.lower()
        if key not in PAPER_SIZES:
            raise ValueError(
                f"paper must be one of {sorted(PAPER_SIZES)} or (width_mm, height_mm); got {paper!r}."
            )
        return PAPER_SIZES[key]
    try:
        width, height = (float(v) for v in paper)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"paper must be one of {sorted(PAPER_SIZES)} or (width_mm, height_mm); got {paper!r}."
        ) from exc
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"paper must have a positive width and height in mm; got {paper!r}.")
    return width, height


def _parse_layout(layout):
    if isinstance(layout, str):
        parts = layout.lower().split("x")
        if len(parts) == 2 and all(p.strip().isdigit() and int(p) > 0 for p in parts):
            return int(parts[0]), int(parts[1])
    raise ValueError(
        f'layout must be None or "<rows>x<columns>", e.g. "3x4" or "6x2"; got {layout!r}.'
    )


def arrange_leads(lead_names, layout=None):
    """Where each lead goes on the sheet: ``(rows, columns, grid)``.

    ``grid[r][c]`` is the position of a lead in ``lead_names`` (or None for
    an empty cell). The 12 standard leads (in any order) go to their
    standard places, column after column (I, II, III / aVR, aVL, aVF /
    V1-V3 / V4-V6 for ``"3x4"``); other lead sets fill the columns in their
    own order, top to bottom, with 4 columns (fewer for fewer leads) unless
    ``layout`` says otherwise.
    """
    n_leads = len(lead_names)
    keys = [lead_key(name) for name in lead_names]
    standard = [lead_key(name) for name in STANDARD_LEADS]
    order = list(range(n_leads))
    if sorted(keys) == sorted(standard):
        order = [keys.index(key) for key in standard]
    if layout is None:
        ncols = min(4, n_leads)
        nrows = math.ceil(n_leads / ncols)
    else:
        nrows, ncols = _parse_layout(layout)
        if nrows * ncols < n_leads:
            raise ValueError(
                f"layout={layout!r} has {nrows * ncols} places for {n_leads} leads; choose more rows "
                "or columns, or fewer leads."
            )
    grid = [[None] * ncols for _ in range(nrows)]
    for k, lead in enumerate(order):
        grid[k % nrows][k // nrows] = lead
    return nrows, ncols, grid


def _resolve_rhythm(rhythm, lead_names):
    if rhythm is None:
        return []
    items = [rhythm] if isinstance(rhythm, (str, numbers.Integral)) else list(rhythm)
    keys = [lead_key(name) for name in lead_names]
    out = []
    for item in items:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not 0 <= item < len(lead_names):
                raise ValueError(f"rhythm lead {item} is out of range for {len(lead_names)} leads.")
            out.append(int(item))
        elif isinstance(item, str) and lead_key(item) in keys:
            out.append(keys.index(lead_key(item)))
        else:
            raise ValueError(
                f"rhythm names the lead {item!r}, which the record does not have; its leads are "
                f"{', '.join(lead_names)}. Pass one of them (by name or position), or rhythm=None for "
                "no rhythm strip."
            )
    return out


def _sheet_lead_names(lead_names, n_leads):
    if lead_names is None:
        if n_leads == len(STANDARD_LEADS):
            return list(STANDARD_LEADS)
        return [f"lead {i}" for i in range(n_leads)]
    names = [lead_names] if isinstance(lead_names, str) else [str(n) for n in lead_names]
    if len(names) != n_leads:
        raise ValueError(
            f"lead_names has {len(names)} names but the record has {n_leads} leads; pass one name "
            "per lead (e.g. data.lead_names of a dataset Bunch)."
        )
    dupes = repeated_leads(names)
    if dupes:
        raise ValueError(
            f"lead_names names lead(s) {', '.join(dupes)} more than once; each lead of the record "
            "needs its own name (e.g. data.lead_names of a dataset Bunch)."
        )
    return names


def _paper_grid(ax, speed, gain, colors):
    from matplotlib.ticker import MultipleLocator, NullFormatter

    ax.xaxis.set_major_locator(MultipleLocator(5.0 / speed))
    ax.xaxis.set_minor_locator(MultipleLocator(1.0 / speed))
    ax.yaxis.set_major_locator(MultipleLocator(5.0 / gain))
    ax.yaxis.set_minor_locator(MultipleLocator(1.0 / gain))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(NullFormatter())
    ax.tick_params(axis="both", which="both", length=0)
    ax.grid(True, which="minor", color=colors["minor"], linewidth=0.3)
    ax.grid(True, which="major", color=colors["major"], linewidth=0.7)
    ax.set_axisbelow(True)
    ax.set_facecolor(colors["face"])
    for spine in ax.spines.values():
        spine.set_color(colors["major"])
        spine.set_linewidth(0.7)


def draw_sheet(record, fs, *, lead_names=None, layout=None, rhythm="II", speed=25.0, gain=10.0,
               column_duration=None, start=0.0, paper="a4", style="color", color=None, linewidth=0.6,
               units="mV", title=None, calibration=True):
    """Draw the sheet; returns ``fig, ax, cells`` (``cells``: where each trace segment lies).

    Each cell is a dict with the lead's position ``lead``, its ``name``, the
    sample range ``i0:i1`` drawn, the sheet time ``x0``-``x1`` (s), the
    ``baseline`` (in ``units``) of its row, the ``row`` pitch and the trace's
    ``line``.
    """

    plt = _pyplot()
    record = _check_record(record)
    _warn_unit(record)
    fs = _check_positive(fs, "fs")
    speed = _check_positive(speed, "speed")
    gain = _check_positive(gain, "gain")
    linewidth = _check_positive(linewidth, "linewidth")
    if style not in SHEET_STYLES:
        raise ValueError(f"style must be one of {sorted(SHEET_STYLES)}; got {style!r}.")
    colors = SHEET_STYLES[style]
    ink = colors["ink"] if color is None else color
    width_mm, height_mm = _check_paper(paper)
    n_leads, n_timepoints = record.shape
    names = _sheet_lead_names(lead_names, n_leads)
    nrows, ncols, grid = arrange_leads(names, layout)
    rhythm_leads = _resolve_rhythm(rhythm, names)

    if isinstance(start, bool) or not isinstance(start, numbers.Real) or not 0 <= start:
        raise ValueError(f"start must be a time in seconds >= 0; got {start!r}.")
    duration = n_timepoints / fs - start
    if duration <= 0:
        raise ValueError(
            f"start={start!r} s is past the end of the record ({n_timepoints / fs:g} s long)."
        )
    usable_mm = width_mm - _MARGIN_MM["left"] - _MARGIN_MM["right"]
    fits_s = (usable_mm / speed - _PULSE_SPACE_S * calibration) / ncols
    if fits_s <= 0:
        needed = _MARGIN_MM["left"] + _MARGIN_MM["right"] + _PULSE_SPACE_S * calibration * speed
        raise ValueError(
            f"paper {width_mm:g} mm wide leaves no room for the record: the margins"
            f"{' and the calibration pulse' if calibration else ''} take {needed:g} mm at "
            f"{speed:g} mm/s. Use a wider paper (e.g. 'a4', 297 mm)."
        )
    if column_duration is None:
        column_duration = min(min(duration, _STANDARD_SHEET_S) / ncols, fits_s)
        # A whole number of 0.05 s, so the column boundaries fall on round times.
        rounded = math.floor(column_duration / 0.05 + 1e-9) * 0.05
        column_duration = rounded if rounded > 0 else column_duration
    else:
        column_duration = _check_positive(column_duration, "column_duration")
        if column_duration > fits_s + 1e-9:
            raise ValueError(
                f"{ncols} columns of {column_duration:g} s at {speed:g} mm/s do not fit on paper "
                f"{width_mm:g} mm wide; choose a shorter column_duration (at most {fits_s:.2f} s), a "
                "lower speed or a wider paper."
            )
        if column_duration * ncols > duration + 1e-9:
            raise ValueError(
                f"{ncols} columns of {column_duration:g} s need {column_duration * ncols:g} s of "
                f"record after start={start:g} s; the record has {duration:g} s. Choose a shorter "
                "column_duration or an earlier start."
            )
    if column_duration * fs < 2:
        raise ValueError(
            f"A column of {column_duration:g} s holds fewer than 2 samples at {fs:g} Hz; the paper "
            "is too narrow for this speed. Choose a lower speed or a wider paper."
        )
    sheet_s = ncols * column_duration
    n_rows = nrows + len(rhythm_leads)
    row_mm = math.floor((height_mm - _MARGIN_MM["top"] - _MARGIN_MM["bottom"]) / n_rows / 10.0) * 10.0
    row_mm = min(row_mm, _MAX_ROW_MM)
    if row_mm < _MIN_ROW_MM:
        raise ValueError(
            f"{n_rows} rows do not fit on paper {height_mm:g} mm high (rows need at least "
            f"{_MIN_ROW_MM:g} mm); use fewer rows (layout, rhythm) or a taller paper."
        )
    row = row_mm / gain  # row pitch in units

    pulse = _PULSE_SPACE_S if calibration else 0.0
    grid_w_mm = (pulse + sheet_s) * speed
    grid_h_mm = n_rows * row_mm
    fig = plt.figure(figsize=(width_mm / _MM_PER_INCH, height_mm / _MM_PER_INCH))
    left_mm = (width_mm - grid_w_mm) / 2.0
    # The grid sits in the middle of the paper below the header.
    spare_mm = height_mm - _MARGIN_MM["top"] - _MARGIN_MM["bottom"] - grid_h_mm
    bottom_mm = _MARGIN_MM["bottom"] + spare_mm / 2.0
    ax = fig.add_axes([left_mm / width_mm, bottom_mm / height_mm, grid_w_mm / width_mm, grid_h_mm / height_mm])
    ax.set_xlim(-pulse, sheet_s)
    ax.set_ylim(-(n_rows - 0.5) * row, 0.5 * row)
    _paper_grid(ax, speed, gain, colors)

    label_dx, label_dy = 1.0 / speed, 0.3 * row
    cells = []

    def draw(lead, i0, i1, x0, baseline, label):
        t = np.arange(i0, i1) / fs - start
        ax.plot(t, record[lead, i0:i1] + baseline, color=ink, linewidth=linewidth, label=label)
        ax.text(x0 + label_dx, baseline + label_dy, names[lead], fontsize=8, color=ink,
                ha="left", va="bottom", fontweight="bold")
        cells.append({"lead": lead, "name": names[lead], "i0": i0, "i1": i1, "x0": x0,
                      "x1": (i1 - 1) / fs - start, "baseline": baseline, "row": row, "line": ax.lines[-1]})

    def samples(t0, t1):
        i0 = int(round((start + t0) * fs))
        # One sample past the column's end joins it to the next column.
        i1 = min(int(round((start + t1) * fs)) + 1, n_timepoints)
        return i0, i1

    for r in range(nrows):
        baseline = -r * row
        for c in range(ncols):
            lead = grid[r][c]
            if lead is None:
                continue
            i0, i1 = samples(c * column_duration, (c + 1) * column_duration)
            draw(lead, i0, i1, c * column_duration, baseline, names[lead])
        for c in range(1, ncols):
            # The usual short mark where one column's lead gives way to the next.
            ax.plot([c * column_duration] * 2, [baseline - 2.5 / gain, baseline + 2.5 / gain],
                    color=ink, linewidth=linewidth, label="_column mark")
    for k, lead in enumerate(rhythm_leads):
        baseline = -(nrows + k) * row
        i0, i1 = samples(0.0, sheet_s)
        draw(lead, i0, i1, 0.0, baseline, f"{names[lead]} (rhythm)")
    if calibration:
        # 1 mV (1000 µV for a record in µV) by 0.2 s, so the pulse shows the gain and the speed.
        height = {"mv": 1.0, "µv": 1000.0, "uv": 1000.0, "v": 1e-3}.get(str(units).lower(), 1.0)
        px = np.array([-0.4, -0.3, -0.3, -0.1, -0.1, -0.02])
        for r in range(n_rows):
            baseline = -r * row
            py = baseline + np.array([0, 0, height, height, 0, 0])
            ax.plot(px, py, color=ink, linewidth=linewidth * 1.3, label="_calibration")
    ax.set_xlim(-pulse, sheet_s)
    ax.set_ylim(-(n_rows - 0.5) * row, 0.5 * row)

    header_y = (bottom_mm + grid_h_mm + 3.0) / height_mm
    if title is not None:
        fig.text(left_mm / width_mm, header_y, str(title), fontsize=11, ha="left", va="bottom",
                 color="black")
    scale = f"{speed:g} mm/s   {gain:g} mm/{units}   {fs:g} Hz"
    if start:
        scale += f"   from {start:g} s"
    fig.text(1.0 - left_mm / width_mm, header_y, scale, fontsize=9, ha="right", va="bottom",
             color="black")
    return fig, ax, cells


def plot_ecg_sheet(record, fs, *, lead_names=None, layout=None, rhythm="II", speed=25.0, gain=10.0,
                   column_duration=None, start=0.0, paper="a4", style="color", color=None,
                   linewidth=0.6, units="mV", title=None, calibration=True):
    """Plot one record as the clinical ECG printout: a grid of leads and a rhythm strip, true to scale.

    The 12 standard leads are drawn as on an electrocardiograph's printout:
    3 rows by 4 columns of 2.5 s each, the columns showing consecutive
    2.5 s of the record (I, II, III for 0-2.5 s; aVR, aVL, aVF for 2.5-5 s;
    V1-V3; V4-V6), then lead II over the whole 10 s as a rhythm strip. Each
    row starts with a 1 mV calibration pulse and each lead's name sits at
    its start. The paper runs at ``speed`` mm/s and ``gain`` mm/mV over a
    1 mm and 5 mm grid, both stated in the sheet's header, and the figure
    is the paper itself (its size in inches is the paper's in mm / 25.4),
    so a PDF, SVG or PNG saved from it (without ``bbox_inches="tight"``,
    which crops the page) prints at true scale.

    Parameters
    ----------
    record : array-like of shape (n_leads, n_timepoints) or (n_timepoints,)
        One record, e.g. ``data.X[i]`` of a dataset Bunch, in ``units``.
    fs : float
        Sampling rate in Hz; any rate.
    lead_names : list of str or None, default=None
        One name per lead. None means the standard 12 leads in PTB-XL's
        order for a 12-lead record, and numbers the leads otherwise.
    layout : str or None, default=None
        ``"<rows>x<columns>"``, filled column after column. None is
        ``"3x4"`` for the 12 standard leads; other lead sets get 4
        columns (as many as the leads when fewer), filled in their own
        order: 8 leads make 2 rows of 4, 2 leads one row of 2 columns of
        5 s. The 12 standard leads, in whatever order in the record, always
        take their standard places (``"6x2"``: limb leads left, chest leads
        right).
    rhythm : str, int, list of them or None, default="II"
        Lead(s) drawn over the whole sheet's duration below the grid, by
        name (case-insensitive) or position; None draws none.
    speed : float, default=25.0
        Paper speed in mm/s (50 is the other common one).
    gain : float, default=10.0
        Millimetres per ``units`` (5 and 20 mm/mV are the other common ones).
    column_duration : float or None, default=None
        Seconds per column. None shares the record's first 10 s (all of a
        shorter one) between the columns: 2.5 s for 4 columns, 5 s for 2;
        less when the paper is too narrow for it, rounded down to 0.05 s
        (1.3 s at 50 mm/s on A4).
    start : float, default=0.0
        Time of the record (s) at the sheet's left edge.
    paper : {"a4", "letter"} or (width_mm, height_mm), default="a4"
        Landscape paper size.
    style : {"color", "bw"}, default="color"
        Red grid with a black trace, or a grey grid for black-and-white
        printing.
    color : color or None, default=None
        The trace's colour; None is black.
    linewidth : float, default=0.6
        Trace width in points.
    units : str, default="mV"
        Units of the record, for the header and the calibration pulse.
    title : str or None, default=None
        Text at the top left of the sheet.
    calibration : bool, default=True
        Draw the calibration pulse at the start of every row.

    Returns
    -------
    fig : matplotlib Figure
        The sheet, sized as the paper.
    ax : matplotlib Axes
        The grid, in seconds of the sheet (x; the record's time minus
        ``start``) and ``units`` (y; row ``r``'s baseline at
        ``-r * row pitch``). Trace lines are labelled with their lead's name
        (``"II (rhythm)"`` for a rhythm strip); other lines' labels start
        with ``"_"``.

    See Also
    --------
    plot_ecg : The leads stacked over the record's whole duration.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.plotting import plot_ecg_sheet
    >>> data = load_ptbxl_sample(ecg_ids=[1])
    >>> fig, ax = plot_ecg_sheet(data.X[0], data.fs, lead_names=data.lead_names)
    >>> [round(float(v) * 25.4) for v in fig.get_size_inches()]  # A4 landscape, mm
    [297, 210]
    >>> [line.get_label() for line in ax.get_lines()][:4]
    ['I', 'aVR', 'V1', 'V4']
    """
    fig, ax, _ = draw_sheet(
        record, fs, lead_names=lead_names, layout=layout, rhythm=rhythm, speed=speed, gain=gain,
        column_duration=column_duration, start=start, paper=paper, style=style, color=color,
        linewidth=linewidth, units=units, title=title, calibration=calibration,
    )
    return fig, ax
