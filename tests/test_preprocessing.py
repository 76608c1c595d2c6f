"""Tests of sklearn_ecg.preprocessing: each transformer on signals of known content."""

import doctest
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

import sklearn_ecg.preprocessing as preprocessing
from sklearn_ecg.preprocessing import _base, _filters, _lead_layout, _leads, _length, _scaling
from sklearn_ecg.preprocessing import (
    STANDARD_LEADS,
    BandpassFilter,
    BaselineWanderRemoval,
    ConvertUnits,
    NotchFilter,
    LeadLayout,
    MinMaxScale,
    PadOrCrop,
    Resample,
    SelectLeads,
    Standardize,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sine(freq, fs, seconds=10.0, amplitude=1.0):
    t = np.arange(int(round(seconds * fs))) / fs
    return amplitude * np.sin(2 * np.pi * freq * t)


def middle_rms_ratio(out, ref):
    """RMS of ``out`` over that of ``ref``, away from the edges."""
    n = out.shape[-1]
    sl = slice(n // 5, n - n // 5)
    return np.sqrt(np.mean(out[..., sl] ** 2)) / np.sqrt(np.mean(ref[..., sl] ** 2))


def qrs_train(fs, seconds=10.0, rate_hz=1.2, width=0.025):
    """Gaussian spikes, 1 mV high, a crude stand-in for QRS complexes."""
    t = np.arange(int(round(seconds * fs))) / fs
    x = np.zeros_like(t)
    for centre in np.arange(0.4, seconds - 0.2, 1 / rate_hz):
        x += np.exp(-0.5 * ((t - centre) / (width / 2)) ** 2)
    return x


# Instances built with the parameters the common checks and the generic tests use.
ALL_TRANSFORMERS = [
    BandpassFilter(fs=100),
    BandpassFilter(low=None, high=10.0, fs=100),
    BandpassFilter(low=1.0, high=None, fs=100),
    NotchFilter(fs=500),
    BaselineWanderRemoval(fs=100),
    BaselineWanderRemoval(fs=100, method="highpass"),
    Resample(fs=100, target_fs=50),
    Standardize(),
    Standardize(per="record"),
    SelectLeads(leads=["I"], lead_names=["I"]),
    LeadLayout(leads="I", layout=["I"]),
    PadOrCrop(length=7),
    PadOrCrop(length=3, mode="end"),
    PadOrCrop(length=9, pad_mode="edge"),
    ConvertUnits(units="uV"),
    ConvertUnits(units="V", target_units="uV"),
    MinMaxScale(),
]


@parametrize_with_checks(ALL_TRANSFORMERS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_sklearn_param_validation(est):
    # Not part of parametrize_with_checks: every parameter has a constraint,
    # and a value of the wrong type or range raises InvalidParameterError.
    check_param_validation(type(est).__name__, est)


def test_docstring_examples_run():
    modules = [preprocessing, _base, _filters, _lead_layout, _leads, _length, _scaling]
    attempted = 0
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 20


# ---------------------------------------------------------------- filters ---
@pytest.mark.parametrize("freq, kept", [(10.0, True), (0.1, False), (48.0, False)])
def test_bandpass_keeps_band_and_attenuates_outside(freq, kept):
    fs = 100
    x = sine(freq, fs)[np.newaxis, np.newaxis, :]
    out = BandpassFilter(low=0.5, high=40.0, fs=fs).fit_transform(x)
    ratio = middle_rms_ratio(out, x)
    if kept:
        assert ratio == pytest.approx(1.0, abs=0.02)
    else:
        assert ratio < 0.1


def test_bandpass_lowpass_and_highpass_only():
    fs = 250
    slow, fast = sine(0.2, fs), sine(60.0, fs)
    x = (slow + fast)[np.newaxis, :]
    low_passed = BandpassFilter(low=None, high=20.0, fs=fs).fit_transform(x)
    high_passed = BandpassFilter(low=5.0, high=None, fs=fs).fit_transform(x)
    assert middle_rms_ratio(low_passed - slow, slow) < 0.05
    assert middle_rms_ratio(high_passed - fast, fast) < 0.05


def best_lag(out, ref, max_lag=20):
    lags = np.arange(-max_lag, max_lag + 1)
    mid = slice(max_lag, ref.size - max_lag)
    scores = [np.dot(np.roll(out, -lag)[mid], ref[mid]) for lag in lags]
    return lags[int(np.argmax(scores))]


def test_filters_are_zero_phase():
    from scipy import signal

    fs = 100
    qrs = qrs_train(fs)
    out = BandpassFilter(low=0.5, high=15.0, fs=fs).fit_transform(qrs[np.newaxis, :])[0]
    assert best_lag(out, qrs) == 0
    # The same filter run forwards only delays the waves: the test can tell.
    causal = signal.sosfilt(signal.butter(4, [0.5, 15.0], "bandpass", fs=fs, output="sos"), qrs)
    assert best_lag(causal, qrs) > 0


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_notch_removes_mains_and_keeps_10hz(mains):
    fs = 500
    ecg_like, hum = sine(10.0, fs), sine(mains, fs, amplitude=0.5)
    out = NotchFilter(freq=mains, fs=fs).fit_transform((ecg_like + hum)[np.newaxis, :])
    assert middle_rms_ratio(out - ecg_like, hum) < 0.1
    kept = NotchFilter(freq=mains, fs=fs).fit_transform(ecg_like[np.newaxis, :])
    assert middle_rms_ratio(kept, ecg_like[np.newaxis, :]) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("method", ["median", "highpass"])
def test_baseline_removal_removes_drift_and_keeps_qrs(method):
    fs = 250
    qrs = qrs_train(fs)
    drift = 0.8 * sine(0.2, fs) + 1.5  # 0.2 Hz wander on a constant offset
    x = np.stack([qrs + drift, qrs])[:, np.newaxis, :]
    out = BaselineWanderRemoval(fs=fs, method=method).fit_transform(x)
    mid = slice(fs, -fs)
    # The drift is gone: the corrected trace follows the clean one.
    assert np.abs(out[0, 0, mid] - out[1, 0, mid]).max() < 0.1
    assert abs(np.median(out[0, 0, mid])) < 0.05
    # The QRS-like spikes survive with most of their height.
    peaks = out[0, 0, mid][qrs[mid] > 0.99]
    assert peaks.min() > 0.8
    assert np.corrcoef(out[0, 0, mid], qrs[mid])[0, 1] > 0.95


def test_median_baseline_removes_constant_offset_exactly():
    x = np.full((2, 3, 400), 2.5, dtype=np.float32)
    out = BaselineWanderRemoval(fs=100).fit_transform(x)
    np.testing.assert_array_equal(out, 0.0)


def test_median_windows_in_samples():
    est = BaselineWanderRemoval(fs=500)
    assert est._resolve_params() == ("median", (101, 301))
    est = BaselineWanderRemoval(fs=100, median_windows=(0.2, 0.6))
    assert est._resolve_params() == ("median", (21, 61))


def test_row_median_filter_matches_scipy_nd():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 57)).astype(np.float32)
    for window in (1, 5, 31, 201):  # 201 is longer than the signal
        expected = ndimage.median_filter(x, size=(1, 1, window), mode="reflect")
        np.testing.assert_array_equal(_filters._median_filter_rows(x, window), expected)


@pytest.mark.parametrize(
    "est",
    [
        BandpassFilter(fs=100),
        NotchFilter(fs=500),
        BaselineWanderRemoval(fs=100, method="highpass"),
        BaselineWanderRemoval(fs=100),
    ],
    ids=lambda e: repr(e),
)
@pytest.mark.parametrize("n_timepoints", [1, 2, 5, 20])
def test_filters_accept_short_records(est, n_timepoints):
    n_leads = min(2, n_timepoints)  # more leads than samples reads as transposed
    x = np.random.default_rng(1).normal(size=(3, n_leads, n_timepoints))
    out = clone(est).fit_transform(x)
    assert out.shape == x.shape
    assert np.isfinite(out).all()


# ------------------------------------------------------------- resampling ---
@pytest.mark.parametrize(
    "fs, target_fs, n_in, n_out",
    [(500, 100, 5000, 1000), (360, 100, 3600, 1000), (100, 500, 1000, 5000),
     (500, 100, 1003, 201), (500, 100, 1002, 200), (100, 100, 37, 37)],
)
def test_resample_keeps_duration(fs, target_fs, n_in, n_out):
    x = np.zeros((2, 3, n_in), dtype=np.float32)
    out = Resample(fs=fs, target_fs=target_fs).fit_transform(x)
    assert out.shape == (2, 3, n_out)


@pytest.mark.parametrize("fs, target_fs", [(500, 100), (360, 100), (100, 250)])
def test_resample_keeps_low_frequency_sine(fs, target_fs):
    x = sine(1.5, fs)[np.newaxis, :]
    out = Resample(fs=fs, target_fs=target_fs).fit_transform(x)
    expected = sine(1.5, target_fs)
    assert out.shape == (1, expected.size)
    # Away from the ends, where the anti-aliasing filter sees both sides.
    inner = slice(target_fs // 2, -target_fs // 2)
    assert np.abs(out[0, inner] - expected[inner]).max() < 0.01


def test_resample_same_rate_is_identity():
    x = np.random.default_rng(0).normal(size=(2, 50)).astype(np.float32)
    np.testing.assert_array_equal(Resample(fs=250, target_fs=250).fit_transform(x), x)


def test_resample_refuses_unreasonable_ratio():
    with pytest.raises(ValueError, match="cannot resample from fs=1000.3 Hz"):
        Resample(fs=1000.3, target_fs=100).fit_transform(np.zeros((1, 100)))


# -------------------------------------------------------- standardisation ---
def test_standardize_per_lead():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=3.0, scale=[[0.1], [2.0], [50.0]], size=(4, 3, 500))
    out = Standardize().fit_transform(x)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=-1), 1.0, atol=1e-5)


def test_standardize_per_record_keeps_relative_amplitudes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 500)) * np.array([[1.0], [2.0], [4.0]])
    out = Standardize(per="record").fit_transform(x)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1.0, atol=1e-5)
    lead_std = out.std(axis=-1)
    assert np.all(lead_std[:, 2] > 3 * lead_std[:, 0])


@pytest.mark.parametrize("per", ["lead", "record"])
def test_standardize_flat_leads_become_zeros(per):
    x = np.zeros((2, 2, 100))
    x[:, 0] = 7.3  # a flat lead
    x[0, 1] = np.linspace(-1, 1, 100)
    x[1, 1] = 7.3  # record 1 is entirely flat
    out = Standardize(per=per).fit_transform(x)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[1], 0.0)
    if per == "lead":
        np.testing.assert_array_equal(out[0, 0], 0.0)
        assert out[0, 1].std() == pytest.approx(1.0, abs=1e-5)


# --------------------------------------------------------- lead selection ---
def lead_indexed(n_leads=12, n_records=2, n_timepoints=20):
    """Records whose lead k is constant k, so a selection shows itself."""
    x = np.broadcast_to(np.arange(n_leads, dtype=np.float32)[:, None], (n_leads, n_timepoints))
    return np.broadcast_to(x, (n_records, n_leads, n_timepoints)).copy()


def test_select_leads_default_is_eight_independent_leads():
    out = SelectLeads().fit_transform(lead_indexed())
    assert out.shape == (2, 8, 20)
    np.testing.assert_array_equal(out[0, :, 0], [1, 2, 6, 7, 8, 9, 10, 11])


def test_select_leads_reorders_and_matches_case_and_aliases():
    est = SelectLeads(leads=["V6", "AVR", "avl", "DI", "lead II", " v1 "])
    out = est.fit_transform(lead_indexed())
    np.testing.assert_array_equal(out[1, :, 3], [11, 3, 4, 0, 1, 6])
    np.testing.assert_array_equal(est.indices_, [11, 3, 4, 0, 1, 6])


def test_select_leads_custom_names_and_single_lead():
    x = lead_indexed(n_leads=3)
    est = SelectLeads(leads="V5", lead_names=["MLII", "V1", "V5"])
    out = est.fit_transform(x)
    assert out.shape == (2, 1, 20)
    np.testing.assert_array_equal(out[:, 0, :], 2.0)


def test_select_leads_two_d_input_stays_two_d():
    x = np.arange(10.0).reshape(2, 5)
    out = SelectLeads(leads=["ii"], lead_names=["II"]).fit_transform(x)
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out, x)


def test_select_leads_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown lead\(s\) 'V7'.*I, II, III, aVR"):
        SelectLeads(leads=["II", "V7"]).fit(lead_indexed())


def test_select_leads_lead_count_mismatch():
    with pytest.raises(ValueError, match="X has 8 lead.*standard 12 leads"):
        SelectLeads().fit(lead_indexed(n_leads=8))
    with pytest.raises(ValueError, match="X has 12 lead.*lead_names"):
        SelectLeads(leads=["A"], lead_names=["A", "B"]).transform(lead_indexed())


def test_select_leads_duplicate_lead_names():
    with pytest.raises(ValueError, match="more than once"):
        SelectLeads(leads=["I"], lead_names=["I", "avr", "AVR"]).fit(lead_indexed(3))


@pytest.mark.parametrize("bad", [[], [1, 2], None, 3])
def test_select_leads_bad_leads_param(bad):
    with pytest.raises(InvalidParameterError, match="The 'leads' parameter of SelectLeads"):
        SelectLeads(leads=bad).fit(lead_indexed())


def test_standard_leads_order():
    assert STANDARD_LEADS[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert STANDARD_LEADS[6:] == tuple(f"V{i}" for i in range(1, 7))


# ------------------------------------------------------------ pad or crop ---
@pytest.mark.parametrize(
    "length, mode, expected",
    [
        (4, "center", [2, 3, 4, 5]),
        (4, "start", [1, 2, 3, 4]),
        (4, "end", [3, 4, 5, 6]),
        (3, "center", [2, 3, 4]),
        (9, "center", [0, 1, 2, 3, 4, 5, 6, 0, 0]),
        (8, "start", [1, 2, 3, 4, 5, 6, 0, 0]),
        (8, "end", [0, 0, 1, 2, 3, 4, 5, 6]),
        (6, "center", [1, 2, 3, 4, 5, 6]),
    ],
)
def test_pad_or_crop(length, mode, expected):
    x = np.tile(np.arange(1.0, 7.0), (2, 3, 1))
    out = PadOrCrop(length=length, mode=mode).fit_transform(x)
    assert out.shape == (2, 3, length)
    np.testing.assert_array_equal(out[1, 2], expected)


def test_pad_value():
    out = PadOrCrop(length=5, mode="start", pad_value=-1.5).fit_transform(np.ones((1, 2)))
    np.testing.assert_array_equal(out, [[1, 1, -1.5, -1.5, -1.5]])


# ------------------------------------------------------- shared behaviour ---
@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.int64, np.float16])
def test_output_is_float32_whatever_the_input_dtype(est, dtype):
    rng = np.random.default_rng(0)
    x32 = (rng.normal(size=(3, 1, 64)) * 100).round().astype(np.float32)
    out32 = clone(est).fit_transform(x32)
    assert out32.dtype == np.float32
    out = clone(est).fit_transform(x32.astype(dtype))
    assert out.dtype == np.float32
    tolerance = 1e-1 if dtype == np.float16 else 1e-4
    np.testing.assert_allclose(out, out32, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_two_d_input_is_single_lead(est):
    x = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    out2 = clone(est).fit_transform(x)
    out3 = clone(est).fit_transform(x[:, np.newaxis, :])
    assert out2.ndim == 2 and out3.ndim == 3
    np.testing.assert_allclose(out2, out3[:, 0, :], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_does_not_modify_input(est):
    x = np.random.default_rng(0).normal(size=(3, 1, 64)).astype(np.float32)
    before = x.copy()
    clone(est).fit_transform(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_chunked_equals_whole(est, monkeypatch):
    x = np.random.default_rng(0).normal(size=(11, 1, 64)).astype(np.float32)
    whole = clone(est).fit_transform(x)
    monkeypatch.setattr(_base, "_CHUNK_ELEMENTS", 3 * 64)  # 3 records per chunk
    np.testing.assert_array_equal(clone(est).fit_transform(x), whole)


def test_transform_other_records_and_lengths_after_fit():
    est = BandpassFilter(fs=100).fit(np.zeros((5, 12, 1000)))
    assert (est.n_leads_, est.n_timepoints_, est.n_features_in_) == (12, 1000, 12)
    assert est.transform(np.zeros((2, 12, 500))).shape == (2, 12, 500)


def test_refuses_other_lead_count_and_dimensionality():
    est = Standardize().fit(np.zeros((5, 12, 100)))
    with pytest.raises(ValueError, match="X has 8 leads, but Standardize was fitted on 12"):
        est.transform(np.zeros((5, 8, 100)))
    with pytest.raises(ValueError, match="X is 2-D .* fitted on 3-D records with 12"):
        est.transform(np.zeros((5, 100)))
    est = Standardize().fit(np.zeros((5, 100)))
    assert not hasattr(est, "n_leads_")
    with pytest.raises(ValueError, match="X is 3-D .* fitted on 2-D single-lead"):
        est.transform(np.zeros((5, 1, 100)))
    with pytest.raises(ValueError, match="expects X of shape .* got 4-D"):
        Standardize().fit(np.zeros((2, 3, 4, 5)))


def test_refit_on_other_dimensionality_forgets_lead_count():
    est = Standardize().fit(np.zeros((5, 12, 100)))
    est.fit(np.zeros((5, 100)))
    assert not hasattr(est, "n_leads_")
    assert est.transform(np.ones((2, 100))).shape == (2, 100)


@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_nan_and_inf_name_the_records(est):
    x = np.random.default_rng(0).normal(size=(30, 1, 64))
    x[3, 0, 10] = np.nan
    x[17, 0, 0] = np.inf
    for method in ("fit", "fit_transform", "transform"):
        match = r"NaN or infinity in 2 record\(s\) \(index 3, 17\).*nan_policy"
        with pytest.raises(ValueError, match=match):
            getattr(clone(est), method)(x)


def test_nan_in_later_chunk_is_reported(monkeypatch):
    monkeypatch.setattr(_base, "_CHUNK_ELEMENTS", 64)
    x = np.zeros((10, 1, 64))
    x[[2, 9], 0, 5] = np.nan
    with pytest.raises(ValueError, match=r"index 2, 9\)"):
        Standardize().transform(x)


def test_values_beyond_float32_are_refused():
    x = np.zeros((3, 10))
    x[1, 2] = 1e300
    with pytest.raises(ValueError, match=r"index 1\)"):
        Standardize().fit_transform(x)


# --------------------------------------------------------------- errors -----
@pytest.mark.parametrize(
    "cls, kwargs",
    [(BandpassFilter, {}), (NotchFilter, {}), (BaselineWanderRemoval, {}), (Resample, {})],
)
def test_fs_is_required(cls, kwargs):
    with pytest.raises(ValueError, match=f"{cls.__name__} needs the sampling rate of X: pass fs="):
        cls(**kwargs).fit(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="needs the sampling rate"):
        cls(**kwargs).transform(np.zeros((2, 100)))


@pytest.mark.parametrize("fs", [0, -100, np.inf, "100", True])
def test_bad_fs(fs):
    with pytest.raises(InvalidParameterError, match="The 'fs' parameter of BandpassFilter must"):
        BandpassFilter(fs=fs).fit(np.zeros((2, 100)))


@pytest.mark.parametrize(
    "est, match",
    [
        (
            BandpassFilter(fs=100, high=50),
            r"high=50 Hz is at or above the Nyquist frequency 50 Hz of fs=100 Hz",
        ),
        (BandpassFilter(fs=100, low=60, high=None), r"low=60 Hz .* Nyquist frequency 50 Hz"),
        (NotchFilter(fs=100, freq=50), r"freq=50 Hz .* Nyquist frequency 50 Hz of fs=100"),
        (BaselineWanderRemoval(fs=0.8, method="highpass"), r"cutoff=0.5 Hz .*frequency 0.4 Hz"),
        (BandpassFilter(fs=100, low=20, high=10), "needs low < high, got low=20 Hz and high=10"),
        (BandpassFilter(fs=100, low=10, high=10), "needs low < high"),
        (BandpassFilter(fs=100, low=None, high=None), "needs at least one cutoff"),
        (PadOrCrop(), "needs the output length: pass length="),
        (NotchFilter(fs=500, quality=0.1), r"quality=0.1 makes the notch 500 Hz wide.*choose quality above 0.2"),
    ],
    ids=repr,
)
def test_parameter_errors(est, match):
    with pytest.raises(ValueError, match=match):
        est.fit(np.zeros((2, 50)))


@pytest.mark.parametrize(
    "est, match",
    [
        (BandpassFilter(fs=100, order=0), r"'order' .* an int in the range \[1, 1000\]. Got 0"),
        (BandpassFilter(fs=100, order=2.5), r"'order' .* an int in the range \[1, 1000\]"),
        (BandpassFilter(fs=100, order=True), r"'order' .* an int in the range \[1, 1000\]"),
        (NotchFilter(fs=500, quality=-1), r"'quality' .* a float in the range \(0.0, inf\)"),
        (BaselineWanderRemoval(fs=100, method="wave"), r"'method' .* a str among \{"),
        (BaselineWanderRemoval(fs=100, median_windows=0.2), "'median_windows' parameter"),
        (
            BaselineWanderRemoval(fs=100, median_windows=(0.2, -1)),
            r"'median_windows' .* one or two positive window lengths",
        ),
        (Resample(fs=100, target_fs=0), r"'target_fs' .* a float in the range \(0.0, inf\)"),
        (Resample(fs=np.inf), r"'fs' .* a float in the range \(0.0, inf\) or None"),
        (Standardize(per="lead_and_record"), r"'per' .* a str among \{"),
        (Standardize(eps=-1.0), r"'eps' .* a float in the range \[0.0, inf\)"),
        (PadOrCrop(length=0), r"'length' .* an int in the range \[1, inf\) or None"),
        (PadOrCrop(length=10, mode="random"), r"'mode' .* a str among"),
        (PadOrCrop(length=10, pad_mode="reflect"), r"'pad_mode' .* a str among"),
        (PadOrCrop(length=10, pad_value=np.nan), r"'pad_value' .* a float in the range"),
    ],
    ids=repr,
)
@pytest.mark.parametrize("method", ["fit", "fit_transform", "transform"])
def test_invalid_parameters_raise_sklearn_error(est, match, method):
    with pytest.raises(InvalidParameterError, match=f"The {match}"):
        getattr(clone(est), method)(np.zeros((2, 50)))


# ------------------------------------------------ pipelines and containers ---
def test_pipeline_with_classifier():
    rng = np.random.default_rng(0)
    fs = 100
    n = 40
    y = np.repeat([0, 1], n // 2)
    # Class 1 carries a 5 Hz component; both carry offsets and drift.
    x = rng.normal(scale=0.3, size=(n, 2, 500))
    x += 0.5 * y[:, None, None] * sine(5.0, fs, seconds=5)[None, None, :]
    x += rng.normal(scale=3.0, size=(n, 2, 1))
    flatten = FunctionTransformer(lambda a: a.reshape(len(a), -1))
    pipe = make_pipeline(
        BandpassFilter(fs=fs), BaselineWanderRemoval(fs=fs), Standardize(), flatten,
        LogisticRegression(max_iter=500),
    )
    pipe.fit(x[::2], y[::2])
    assert pipe.score(x[1::2], y[1::2]) > 0.9


def test_pandas_output_for_two_d_input():
    pd = pytest.importorskip("pandas")
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(4, 30)),
                     columns=[f"t{i}" for i in range(30)])
    out = BandpassFilter(fs=100).set_output(transform="pandas").fit_transform(x)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(x.columns)
    assert out.dtypes.iloc[0] == np.float32
    est = Resample(fs=100, target_fs=50).set_output(transform="pandas").fit(x)
    out = est.transform(x)
    assert list(out.columns) == [f"resample{i}" for i in range(15)]
    out = PadOrCrop(length=5).set_output(transform="pandas").fit_transform(x.to_numpy())
    assert list(out.columns) == [f"padorcrop{i}" for i in range(5)]


def test_three_d_output_refuses_pandas_clearly():
    x = np.zeros((2, 3, 20))
    est = Standardize().set_output(transform="pandas")
    with pytest.raises(ValueError, match="3-D records .* set_output\\(transform='default'\\)"):
        est.fit_transform(x)
    with pytest.raises(ValueError, match="no column names"):
        Standardize().fit(x).get_feature_names_out()
    est = SelectLeads(leads=["I", "I"], lead_names=["I"]).fit(np.zeros((2, 20)))
    assert est.transform(np.zeros((2, 20))).shape == (2, 2, 20)
    with pytest.raises(ValueError, match="into 2 leads; 3-D output has no column names"):
        est.get_feature_names_out()


def test_accepts_lists():
    out = PadOrCrop(length=2).fit_transform([[[1, 2, 3]], [[4, 5, 6]]])
    np.testing.assert_array_equal(out, [[[1, 2]], [[4, 5]]])


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_memmap_input_is_read_in_chunks(tmp_path, monkeypatch, dtype):
    rng = np.random.default_rng(0)
    shape = (200, 12, 1000)
    data = (rng.normal(size=shape) * 1000).astype(dtype)
    path = tmp_path / "records.dat"
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=shape)
    mm[:] = data
    mm.flush()
    del mm
    mm = np.memmap(path, dtype=dtype, mode="r", shape=shape)
    est = make_pipeline(BandpassFilter(fs=100), Standardize())
    expected = est.fit_transform(data)

    monkeypatch.setattr(_base, "_CHUNK_ELEMENTS", 10 * 12 * 1000)
    out_bytes = data.size * 4
    tracemalloc.start()
    try:
        out = BandpassFilter(fs=100).fit_transform(mm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The float32 output plus chunk-sized temporaries; a float32 or float64
    # copy of the whole input would add at least another out_bytes.
    assert peak < 1.6 * out_bytes
    np.testing.assert_allclose(Standardize().fit_transform(out), expected, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------- real data ---
needs_ptbxl = pytest.mark.skipif(
    not (DATA / "ptbxl500").is_dir(),
    reason="the development copy of PTB-XL records 1-500 is not available (a clone does not include it)",
)


def _read_ptbxl(ecg_ids, folder):
    wfdb = pytest.importorskip("wfdb")
    records = []
    for ecg_id in ecg_ids:
        name = f"{ecg_id:05d}_{'lr' if folder == 'records100' else 'hr'}"
        signal, _ = wfdb.rdsamp(str(DATA / "ptbxl500" / folder / "00000" / name))
        records.append(signal.T)
    return np.stack(records).astype(np.float32)


@needs_ptbxl
def test_ptbxl_500hz_resampled_matches_100hz_records():
    ids = range(1, 9)
    hr, lr = _read_ptbxl(ids, "records500"), _read_ptbxl(ids, "records100")
    prep = make_pipeline(
        BandpassFilter(low=0.5, high=40.0, fs=500), Resample(fs=500, target_fs=100)
    )
    ours = prep.fit_transform(hr)
    theirs = BandpassFilter(low=0.5, high=40.0, fs=100).fit_transform(lr)
    assert ours.shape == theirs.shape == (8, 12, 1000)
    pairs = zip(ours.reshape(-1, 1000), theirs.reshape(-1, 1000))
    corr = [np.corrcoef(a, b)[0, 1] for a, b in pairs]
    assert np.median(corr) > 0.95


@needs_ptbxl
def test_ptbxl_baseline_removal_centres_leads():
    x = _read_ptbxl(range(1, 11), "records100")
    out = BaselineWanderRemoval(fs=100).fit_transform(SelectLeads().fit_transform(x))
    assert out.shape == (10, 8, 1000)
    # After baseline removal the isoelectric line sits at 0 mV.
    assert np.abs(np.median(out, axis=-1)).max() < 0.05
    assert np.abs(np.median(x, axis=-1)).max() > 0.05


# ------------------------------------------ silent failures made errors -----
@pytest.mark.parametrize("est", ALL_TRANSFORMERS, ids=repr)
def test_transposed_records_are_refused(est):
    # (n_records, n_timepoints, n_leads), as wfdb returns a record.
    transposed = np.random.default_rng(0).normal(size=(3, 64, 1))
    match = r"more leads \(64\) than samples .*transpose\(0, 2, 1\)"
    for method in ("fit", "fit_transform", "transform"):
        with pytest.raises(ValueError, match=match):
            getattr(clone(est), method)(transposed)
    fitted = clone(est).fit(transposed.transpose(0, 2, 1))
    with pytest.raises(ValueError, match=r"transpose\(0, 2, 1\)"):
        fitted.transform(transposed)


def test_bandpass_beyond_scipys_gain_range_is_correct():
    from scipy import signal

    fs, band = 100, [0.5, 49.0]
    t = np.arange(60 * fs) / fs
    x = np.stack([sine(10.0, fs, seconds=60), sine(0.1, fs, seconds=60), np.ones_like(t)])
    # scipy's own design of order 115 multiplies its gain into NaN...
    with np.errstate(all="ignore"):
        assert not np.isfinite(signal.butter(115, band, "bandpass", fs=fs, output="sos")).all()
    out = BandpassFilter(low=band[0], high=band[1], fs=fs, order=115).fit_transform(x)
    mid = slice(20 * fs, 40 * fs)
    assert np.abs(out[0, mid] - x[0, mid]).max() < 0.05  # 10 Hz passes
    assert np.abs(out[1, mid]).max() < 1e-3  # 0.1 Hz is stopped
    assert np.abs(out[2]).max() < 1e-5  # a band-pass removes a constant exactly
    # ...and where scipy's design still works, both filters are the same.
    sos = signal.butter(110, band, "bandpass", fs=fs, output="sos")
    ours = BandpassFilter(low=band[0], high=band[1], fs=fs, order=110).fit_transform(x)
    np.testing.assert_allclose(ours, signal.sosfiltfilt(sos, x), atol=1e-5)


@pytest.mark.parametrize(
    "est",
    [
        BandpassFilter(fs=100, order=200),
        BandpassFilter(low=None, high=1.0, fs=100, order=400),
        BaselineWanderRemoval(fs=100, method="highpass", cutoff=0.5, order=300),
    ],
    ids=repr,
)
def test_inaccurate_filter_orders_are_refused_with_the_valid_range(est):
    x = np.random.default_rng(0).normal(size=(2, 1, 3000))
    with pytest.raises(ValueError, match=r"choose order between 1 and (\d+)") as info:
        clone(est).fit(x)
    highest = int(info.value.args[0].rsplit("between 1 and ", 1)[1].split()[0])
    assert 8 <= highest < est.order
    out = clone(est).set_params(order=highest).fit_transform(x)
    assert np.isfinite(out).all() and np.abs(out).max() < 10 * np.abs(x).max()


def test_standardize_huge_finite_values_as_their_rescaled_copy():
    rng = np.random.default_rng(0)
    unit = rng.normal(size=(3, 2, 200)).astype(np.float32)
    unit /= np.abs(unit).max()
    top = np.finfo(np.float32).max
    for per in ("lead", "record"):
        expected = Standardize(per=per).fit_transform(unit)
        out = Standardize(per=per).fit_transform(unit * top)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    out = Standardize().fit_transform((unit * 1e37)[:, 0])
    np.testing.assert_allclose(out, Standardize().fit_transform(unit[:, 0]), atol=1e-4)


def test_non_finite_records_are_found_by_the_package_scan(monkeypatch):
    from sklearn_ecg import _validation

    calls = []
    scan = _validation.nonfinite_records

    def spy(X):
        calls.append(X.shape)
        return scan(X)

    monkeypatch.setattr(_validation, "nonfinite_records", spy)
    x = np.zeros((4, 2, 30))
    x[2, 1, 3] = np.nan
    with pytest.raises(ValueError, match=r"index 2\)"):
        Standardize().fit(x)
    assert calls == [(4, 2, 30)]
    calls.clear()
    with pytest.raises(ValueError, match=r"index 2\)"):
        Standardize().transform(x)
    assert calls and all(shape[1:] == (2, 30) for shape in calls)


def test_minmax_scale_is_one_range_per_record():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 500)) * np.array([1.0, 1000.0, 0.01])[:, None, None]
    x[2] = 5.0  # a flat record
    out = MinMaxScale().fit_transform(x)
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, ((x - low) / (high - low + 1e-8)).astype(np.float32), atol=1e-7)
    assert out[:2].min() == 0.0 and out[:2].max() == pytest.approx(1.0)
    assert not np.any(out[2])
    # Single-lead records: one range per record.
    np.testing.assert_allclose(MinMaxScale().fit_transform(x[:, 0]), MinMaxScale().fit_transform(x[:, :1])[:, 0])
