"""ECG paper plots and training curves (Agg backend: the figures are built, never shown)."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plotting needs the plot extra (matplotlib)")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402

from sklearn_ecg import LCDPretrainer  # noqa: E402
from sklearn_ecg.datasets import load_ptbxl_sample  # noqa: E402
from sklearn_ecg.plotting import plot_ecg, plot_ecgs, plot_training_curve  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return load_ptbxl_sample(ecg_ids=[1, 2, 3])


def _spacing(locator):
    values = np.asarray(locator.tick_values(0.0, 10.0))
    return float(np.median(np.diff(values)))


@pytest.mark.parametrize("speed, gain", [(25.0, 10.0), (50.0, 20.0), (12.5, 5.0)])
def test_plot_ecg_paper_follows_speed_and_gain(data, speed, gain):
    ax = plot_ecg(data.X[0], data.fs, lead_names=data.lead_names, speed=speed, gain=gain)
    # 1 mm minor and 5 mm major squares, in seconds and millivolts.
    assert _spacing(ax.xaxis.get_minor_locator()) == pytest.approx(1.0 / speed)
    assert _spacing(ax.xaxis.get_major_locator()) == pytest.approx(5.0 / speed)
    assert _spacing(ax.yaxis.get_minor_locator()) == pytest.approx(1.0 / gain)
    assert _spacing(ax.yaxis.get_major_locator()) == pytest.approx(5.0 / gain)
    # One mV on screen is gain/speed times as long as one second.
    assert ax.get_aspect() == pytest.approx(gain / speed)
    assert ax.get_xlim() == pytest.approx((0.0, data.X.shape[2] / data.fs))
    assert f"{speed:g} mm/s" in ax.get_xlabel()
    assert f"{gain:g} mm/mV" in ax.get_ylabel()
    assert "100 Hz" in ax.get_title()


def test_plot_ecg_draws_every_lead_with_its_name(data):
    ax = plot_ecg(data.X[0], data.fs, lead_names=data.lead_names, lead_spacing=2.0)
    assert len(ax.get_lines()) == 12
    assert [t.get_text() for t in ax.texts] == list(data.lead_names)
    # Lead k sits 2 mV below lead k-1, the samples untouched otherwise.
    for k, line in enumerate(ax.get_lines()):
        np.testing.assert_allclose(line.get_ydata(), data.X[0, k] - 2.0 * k, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata()[:3], [0.0, 0.01, 0.02])
    bottom, top = ax.get_ylim()
    # Half a lead spacing beyond the outer baselines, rounded out to 5 mm squares.
    assert (bottom, top) == pytest.approx((-22.0 - 1.0, 1.0))


def test_plot_ecg_figure_is_sized_in_millimetres(data):
    ax = plot_ecg(data.X[0, :2], data.fs, lead_names=["I", "II"])
    fig = ax.figure
    fig.canvas.draw()
    bbox = ax.get_window_extent()
    width_mm = bbox.width / fig.dpi * 25.4
    height_mm = bbox.height / fig.dpi * 25.4
    assert width_mm == pytest.approx(250.0, rel=0.01)  # 10 s at 25 mm/s
    y0, y1 = ax.get_ylim()
    assert height_mm == pytest.approx((y1 - y0) * 10.0, rel=0.01)  # 10 mm/mV


def test_plot_ecg_on_given_axes_and_units(data):
    fig, ax = plt.subplots()
    out = plot_ecg(data.X[0, 0], data.fs, ax=ax, units="µV", gain=0.01, title="lead I")
    assert out is ax and out.figure is fig
    assert ax.get_ylabel() == "1 lead, 0.01 mm/µV"
    assert ax.get_title().startswith("lead I, 100 Hz")


def test_plot_ecgs_overlay_and_side_by_side(data):
    short = data.X[1, :, :500]
    fig, axes = plot_ecgs([data.X[0], short], [100, 50], labels=["a", "b"], lead_names=data.lead_names)
    assert axes.shape == (1,)
    ax = axes[0]
    assert len(ax.get_lines()) == 24
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    # Both records fit: 10 s each (1000 samples at 100 Hz, 500 at 50 Hz).
    assert ax.get_xlim() == pytest.approx((0.0, 10.0))
    assert "Hz: 100, 50" in ax.get_title()

    fig, axes = plot_ecgs(data.X[:3], data.fs, lead_names=data.lead_names, mode="side_by_side",
                          labels=["x", "y", "z"], title="three")
    assert len(axes) == 3 and all(a.figure is fig for a in axes)
    assert [a.get_title().split(",")[0] for a in axes] == ["x", "y", "z"]
    assert fig._suptitle.get_text() == "three"
    assert all(len(a.get_lines()) == 12 for a in axes)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda d: plot_ecg(d.X, d.fs), ValueError, r"one record .* pass X\[i\]"),
        (lambda d: plot_ecg(d.X[0].T, d.fs), ValueError, "probably .*record.T"),
        (lambda d: plot_ecg(d.X[0], d.fs, lead_names=["I", "II"]), ValueError, "2 names but .* 12 leads"),
        (lambda d: plot_ecg(d.X[0], 0), ValueError, "fs must be a positive number"),
        (lambda d: plot_ecg(d.X[0], d.fs, speed=-1), ValueError, "speed must be"),
        (lambda d: plot_ecgs(d.X[0], d.fs), ValueError, "For one record use plot_ecg"),
        (lambda d: plot_ecgs([d.X[0], d.X[1, :3]], d.fs), ValueError, "different lead counts"),
        (lambda d: plot_ecgs(d.X, [100, 100]), ValueError, "fs has 2 entries for 3 records"),
        (lambda d: plot_ecgs(d.X, d.fs, mode="grid"), ValueError, "mode must be"),
        (lambda d: plot_ecgs(d.X, d.fs, mode="side_by_side", axes=plt.subplots(1, 2)[1]), ValueError,
         "one Axes per record"),
        (lambda d: plot_training_curve(LCDPretrainer()), NotFittedError, "fit it first"),
        (lambda d: plot_training_curve([]), ValueError, "history is empty"),
        (lambda d: plot_training_curve([{"epoch": 1, "train_loss": 1.0}], terms=["x_loss"]), ValueError,
         r"no \['x_loss'\]"),
        (lambda d: plot_training_curve(3), TypeError, "fitted pretrainer"),
    ],
)
def test_bad_input_errors(data, call, error, match):
    with pytest.raises(error, match=match):
        call(data)


def test_training_curve_from_a_fitted_pretrainer():
    X = load_ptbxl_sample(ecg_ids=range(1, 33)).X[:, :2, :400]
    lcd = LCDPretrainer(max_epochs=3, batch_size=16, random_state=0).fit(X)
    ax = plot_training_curve(FrozenEstimator(lcd), logy=True)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train_loss", "intra_loss", "inter_loss", "decorrelation_loss"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), lcd.history_[:, "train_loss"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch"
    assert "LCDPretrainer" in ax.get_title()

    ax = plot_training_curve(lcd.history_, terms="intra_loss", title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss", "intra_loss"]
    assert ax.get_title() == "t"


def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, sklearn_ecg, sklearn_ecg.plotting, sklearn_ecg.datasets, sklearn_ecg.preprocessing; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "sklearn-ecg\[plot\]"'):
        plot_ecg(np.zeros((1, 100)), 100)
