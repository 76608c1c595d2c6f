"""The clinical sheet: true scale measured through the figure's transforms, layout, styles, export."""

import io
import re

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plotting needs the plot extra (matplotlib)")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from sklearn_ecg.datasets import load_ptbxl_sample  # noqa: E402
from sklearn_ecg.plotting import plot_ecg_sheet  # noqa: E402
from sklearn_ecg.plotting._sheet import arrange_leads  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return load_ptbxl_sample(ecg_ids=[1, 2])


def _mm_between(ax, p, q):
    """Distance on paper (mm) between two data points, through the figure's transforms."""
    fig = ax.figure
    fig.canvas.draw()
    a, b = ax.transData.transform([p, q])
    inches = (b - a) / fig.dpi
    return inches * 25.4


def _traces(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


@pytest.mark.parametrize("speed, gain, paper", [(25.0, 10.0, "a4"), (50.0, 20.0, "letter"), (25.0, 5.0, "a4")])
@pytest.mark.parametrize("dpi", [72, 150])
def test_sheet_is_true_to_scale(data, speed, gain, paper, dpi):
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, lead_names=data.lead_names, speed=speed, gain=gain,
                             paper=paper)
    fig.set_dpi(dpi)
    dx, dy = _mm_between(ax, (0.0, 0.0), (1.0, 0.0))
    assert dx == pytest.approx(speed, rel=1e-3) and dy == pytest.approx(0.0, abs=1e-6)
    dx, dy = _mm_between(ax, (0.0, 0.0), (0.0, 1.0))
    assert dy == pytest.approx(gain, rel=1e-3)
    width, height = {"a4": (297.0, 210.0), "letter": (279.4, 215.9)}[paper]
    np.testing.assert_allclose(fig.get_size_inches() * 25.4, [width, height], rtol=1e-6)
    # 1 mm and 5 mm squares, in seconds and millivolts.
    assert np.diff(ax.xaxis.get_minor_locator().tick_values(0, 1))[0] == pytest.approx(1 / speed)
    assert np.diff(ax.xaxis.get_major_locator().tick_values(0, 1))[0] == pytest.approx(5 / speed)
    assert np.diff(ax.yaxis.get_minor_locator().tick_values(0, 1))[0] == pytest.approx(1 / gain)
    assert np.diff(ax.yaxis.get_major_locator().tick_values(0, 1))[0] == pytest.approx(5 / gain)
    # The header states speed and gain.
    header = " ".join(t.get_text() for t in fig.texts)
    assert f"{speed:g} mm/s" in header and f"{gain:g} mm/mV" in header and "100 Hz" in header


def test_standard_layout_lead_order_and_time_windows(data):
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, lead_names=data.lead_names)
    traces = _traces(ax)
    names = [line.get_label() for line in traces]
    assert names == ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6", "II (rhythm)"]
    lead = {name: k for k, name in enumerate(data.lead_names)}
    baselines = {}
    for line in traces:
        name = line.get_label()
        x, y = line.get_xdata(), line.get_ydata()
        if name.endswith("(rhythm)"):
            column, key = None, "II"
            assert x[0] == pytest.approx(0.0) and x[-1] == pytest.approx(9.99)
        else:
            key = name
            column = ["I", "aVR", "V1", "V4"].index(name) if name in ("I", "aVR", "V1", "V4") else None
            start = x[0]
            # Column c shows the record from 2.5 c s to 2.5 (c + 1) s.
            assert start == pytest.approx(round(start / 2.5) * 2.5)
            assert x[-1] == pytest.approx(min(start + 2.5, 9.99))
            if column is not None:
                assert start == pytest.approx(2.5 * column)
        # The samples are those of the lead at those times, shifted to the row's baseline.
        samples = data.X[0, lead[key], np.round(x * data.fs).astype(int)]
        offset = y - samples
        np.testing.assert_allclose(offset, offset[0], atol=1e-9)
        baselines[name] = offset[0]
    # Rows: I/aVR/V1/V4 on top, then II..., III..., then the rhythm strip, equally spaced.
    rows = [baselines[n] for n in ["I", "II", "III", "II (rhythm)"]]
    assert rows[0] == 0.0 and np.all(np.diff(rows) < 0)
    np.testing.assert_allclose(np.diff(rows), np.diff(rows)[0])
    assert baselines["aVR"] == baselines["V1"] == baselines["V4"] == 0.0
    # Each lead's name at its start.
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert set(labels) == set(data.lead_names)
    assert labels["V4"][0] == pytest.approx(7.5 + 1 / 25)
    # A calibration pulse of 1 mV on every row.
    pulses = [line for line in ax.get_lines() if line.get_label() == "_calibration"]
    assert len(pulses) == 4
    assert np.ptp(pulses[0].get_ydata()) == pytest.approx(1.0)
    assert max(pulses[0].get_xdata()) <= 0.0


def test_standard_leads_take_their_places_in_any_order(data):
    order = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]
    names = [data.lead_names[i] for i in order]
    fig, ax = plot_ecg_sheet(data.X[0, order], data.fs, lead_names=names, layout="6x2", rhythm=None)
    labels = [line.get_label() for line in _traces(ax)]
    assert labels == ["I", "V1", "II", "V2", "III", "V3", "aVR", "V4", "aVL", "V5", "aVF", "V6"]
    v1 = _traces(ax)[1]
    np.testing.assert_allclose(v1.get_ydata(), data.X[0, 6, 500:1000])


@pytest.mark.parametrize("names, expected", [
    (["II", "V1"], (1, 2, [[0, 1]])),
    (["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"], (2, 4, [[0, 2, 4, 6], [1, 3, 5, 7]])),
    (["MLII"], (1, 1, [[0]])),
    (["a", "b", "c", "d", "e"], (2, 4, [[0, 2, 4, None], [1, 3, None, None]])),
])
def test_other_lead_sets_get_a_sensible_grid(names, expected):
    assert arrange_leads(names) == expected


def test_two_leads_at_500_hz_with_a_named_rhythm_lead(data):
    record = np.repeat(data.X[0, [1, 6]], 5, axis=1)  # any rate: 500 Hz
    fig, ax = plot_ecg_sheet(record, 500, lead_names=["MLII", "V1"], rhythm="v1")
    names = [line.get_label() for line in _traces(ax)]
    assert names == ["MLII", "V1", "V1 (rhythm)"]
    first = _traces(ax)[0]
    # Two columns of 5 s.
    assert first.get_xdata()[-1] == pytest.approx(5.0)
    dx, _ = _mm_between(ax, (0.0, 0.0), (1.0, 0.0))
    assert dx == pytest.approx(25.0, rel=1e-3)


def test_faster_paper_shortens_the_columns_to_fit(data):
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, lead_names=data.lead_names, speed=50.0)
    rhythm = _traces(ax)[-1]
    # A4 holds 4 columns of 1.3 s at 50 mm/s (281 mm less the pulse's 20 mm).
    assert rhythm.get_xdata()[-1] == pytest.approx(5.2)
    assert ax.get_xlim()[1] == pytest.approx(5.2)
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, lead_names=data.lead_names, start=5.0,
                             column_duration=1.0)
    first = _traces(ax)[0]
    np.testing.assert_allclose(first.get_ydata()[:3], data.X[0, 0, 500:503])
    assert "from 5 s" in " ".join(t.get_text() for t in fig.texts)


def test_styles_never_draw_a_red_trace_on_red_paper(data):
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, style="color")
    face = np.array(to_rgb(ax.get_facecolor()))
    grid = np.array(to_rgb(ax.xaxis.get_gridlines()[0].get_color()))
    assert grid[0] > grid[1] + 0.2  # red grid
    for line in ax.get_lines():
        r, g, b = to_rgb(line.get_color())
        assert max(r, g, b) < 0.2  # black trace
    fig, ax = plot_ecg_sheet(data.X[0], data.fs, style="bw")
    grid = np.array(to_rgb(ax.xaxis.get_gridlines()[0].get_color()))
    assert np.ptp(grid) == 0 and np.ptp(np.array(to_rgb(ax.get_facecolor()))) == 0
    assert face[0] >= face[1]


def test_export_keeps_the_paper_size(data):
    fig, _ = plot_ecg_sheet(data.X[0], data.fs, paper="letter")
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.getvalue())
    width_pt, height_pt = float(box.group(1)), float(box.group(2))
    assert width_pt / 72 * 25.4 == pytest.approx(279.4, abs=0.1)
    assert height_pt / 72 * 25.4 == pytest.approx(215.9, abs=0.1)
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")
    width = re.search(rb'<svg[^>]* width="([\d.]+)pt"', svg.getvalue())
    assert float(width.group(1)) / 72 * 25.4 == pytest.approx(279.4, abs=0.1)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    size = np.frombuffer(png.getvalue()[16:24], dtype=">u4")
    np.testing.assert_array_equal(size, [round(279.4 / 25.4 * 100), round(215.9 / 25.4 * 100)])


@pytest.mark.parametrize("kwargs, match", [
    (dict(rhythm="aVX"), r"rhythm names the lead 'aVX'.*rhythm=None"),
    (dict(rhythm=12), "out of range for 12 leads"),
    (dict(layout="3by4"), r'layout must be None or "<rows>x<columns>"'),
    (dict(layout="2x4"), "8 places for 12 leads"),
    (dict(paper="a3"), r"paper must be one of \['a4', 'letter'\]"),
    (dict(paper=(100, -1)), "positive width and height"),
    (dict(style="sepia"), r"style must be one of \['bw', 'color'\]"),
    (dict(speed=0), "speed must be a positive number"),
    (dict(column_duration=3.0), "do not fit on paper"),
    (dict(start=8.0, column_duration=0.6), r"need 2.4 s of record after start=8 s"),
    (dict(start=11.0), "past the end of the record"),
    (dict(lead_names=["I"]), "1 names but the record has 12 leads"),
    (dict(paper=(297, 60)), "rows do not fit on paper 60 mm high"),
])
def test_bad_input_errors(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_ecg_sheet(data.X[0], data.fs, **kwargs)


def test_bad_records_are_refused(data):
    with pytest.raises(ValueError, match=r"pass X\[i\]"):
        plot_ecg_sheet(data.X, data.fs)
    with pytest.raises(ValueError, match="probably .*record.T"):
        plot_ecg_sheet(data.X[0].T, data.fs)


def _explanation(X, attributions, method="integrated_gradients"):
    from sklearn.utils import Bunch

    absolute = np.abs(attributions).sum(axis=2)
    return Bunch(X=X, attributions=attributions, target_names=np.array(["MI"] * len(X)),
                 scores=np.full(len(X), 0.8), method=method, lead_attributions=attributions.sum(axis=2),
                 lead_importance=absolute / absolute.sum(axis=1, keepdims=True))


def test_attributions_are_drawn_where_their_samples_are(data):
    from sklearn_ecg.plotting import plot_attributions, plot_lead_importance

    X = data.X[:1]
    attributions = np.full_like(X, 1e-6)
    attributions[0, 7, 520:530] = 1.0  # V2 at 5.2-5.3 s: the third column
    attributions[0, 1, 50:60] = -1.0  # II at 0.5-0.6 s: first column and rhythm strip
    explanation = _explanation(X, attributions)
    fig, ax = plot_attributions(explanation, data.fs, lead_names=data.lead_names, kind="overlay", smooth=0)
    assert len(ax.images) == 13
    bands = {round(im.get_extent()[0], 2): im for im in ax.images}
    # V2's band: third column (5-7.5 s), second row; its strongest pixel at 5.2-5.3 s.
    v2 = [im for im in ax.images if im.get_extent()[0] == pytest.approx(5.0)
          and im.get_extent()[2] < -4.0 < im.get_extent()[3]]
    assert len(v2) == 1, bands
    values = np.asarray(v2[0].get_array())[0]
    assert 20 <= np.argmax(values) < 30
    # The true scale survives the overlays.
    dx, dy = _mm_between(ax, (0.0, 0.0), (1.0, 1.0))
    assert (dx, dy) == pytest.approx((25.0, 10.0), rel=1e-3)
    assert "MI" in fig.texts[0].get_text() and "integrated gradients" in fig.texts[0].get_text()

    fig, ax = plot_attributions(explanation, data.fs, lead_names=data.lead_names, smooth=0)
    collections = {c.get_label(): c for c in ax.collections}
    v2 = collections["V2"]
    colors = v2.get_colors()
    segments = v2.get_segments()
    strong = [seg[0][0] for seg, rgba in zip(segments, colors) if rgba[3] > 0.5]
    assert strong and min(strong) >= 5.19 and max(strong) <= 5.3
    assert all(colors[i][0] > colors[i][2] for i, rgba in enumerate(colors) if rgba[3] > 0.5)  # red: for
    ii = collections["II"]
    strong = [rgba for rgba in ii.get_colors() if rgba[3] > 0.5]
    assert strong and all(rgba[2] > rgba[0] for rgba in strong)  # blue: against
    assert "II (rhythm)" in collections

    ax = plot_lead_importance(explanation, lead_names=data.lead_names)
    heights = [bar.get_height() for bar in ax.patches]
    assert np.argmax(heights) in (1, 7) and len(heights) == 12
    assert [t.get_text() for t in ax.get_xticklabels()] == list(data.lead_names)
    red, blue = to_rgb(ax.patches[7].get_facecolor()), to_rgb(ax.patches[1].get_facecolor())
    assert red[0] > red[2] and blue[2] > blue[0]


def test_attribution_plots_refuse_bad_input(data):
    from sklearn.utils import Bunch

    from sklearn_ecg.plotting import plot_attributions, plot_lead_importance

    explanation = _explanation(data.X[:1], np.ones_like(data.X[:1]))
    with pytest.raises(ValueError, match="index must be a record of the explanation, 0 to 0"):
        plot_attributions(explanation, data.fs, index=3)
    with pytest.raises(ValueError, match='kind must be "overlay" or "trace"'):
        plot_attributions(explanation, data.fs, kind="bars")
    with pytest.raises(ValueError, match="smooth must be"):
        plot_attributions(explanation, data.fs, smooth=-1)
    with pytest.raises(TypeError, match="what sklearn_ecg.inspection.explain_prediction returns"):
        plot_lead_importance(Bunch(X=data.X[:1]))
