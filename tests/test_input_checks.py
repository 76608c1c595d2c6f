"""What transform and predict refuse, and what they warn about, given records unlike those of fit."""

import copy
import dataclasses
import warnings

import numpy as np
import pytest

from sklearn_ecg import ECGClassifier, LCDPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample

TINY = dict(projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16, random_state=0,
            device="cpu")


@pytest.fixture(scope="module")
def fitted():
    data = load_ptbxl_sample()
    X = data.X[:32, [1, 6], :256]
    lcd = LCDPretrainer(fs=100, lead_names=["II", "V1"], **TINY).fit(X)
    return lcd, X, data.y[:32, 0]


def _quiet(call, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call(*args)


def test_records_like_those_of_fit_give_no_warning(fitted):
    lcd, X, _ = fitted
    _quiet(lcd.transform, X)


def test_microvolts_given_as_millivolts_warn(fitted):
    lcd, X, _ = fitted
    with pytest.warns(UserWarning, match=r"1e\+03 times the amplitude.*units='uV'"):
        lcd.transform(X * 1000)


def test_volts_given_as_millivolts_warn(fitted):
    lcd, X, _ = fitted
    with pytest.warns(UserWarning, match=r"0.001 times the amplitude.*units='V'"):
        lcd.transform(X / 1000)


@pytest.mark.parametrize("factor", [22, 1 / 22], ids=["x22", "x1/22"])
def test_amplitudes_just_over_twenty_times_off_warn(fitted, factor):
    # The same records, scaled: their typical amplitude is exactly `factor`
    # times that of the training records.
    lcd, X, _ = fitted
    with pytest.warns(UserWarning, match=f"{factor:.3g} times the amplitude"):
        lcd.transform(X * factor)


@pytest.mark.parametrize("factor", [18, 1 / 18, 5, 1 / 5], ids=["x18", "x1/18", "x5", "x1/5"])
def test_amplitudes_within_twenty_times_do_not_warn(fitted, factor):
    # Gains and units within a factor of 20 of the training records' (another
    # amplifier, a lead of larger QRS) are not a unit mistake.
    lcd, X, _ = fitted
    _quiet(lcd.transform, X * factor)


def _polarity(X):
    """Per lead, the median over records of ((p98 - median) - (median - p2)) / (p98 - p2)."""
    p2, mid, p98 = np.percentile(X.astype(np.float64), [2, 50, 98], axis=-1)
    return np.median(((p98 - mid) - (mid - p2)) / (p98 - p2), axis=0)


@pytest.mark.parametrize("distance, warns", [(0.31, True), (0.29, False)])
def test_lead_order_warning_starts_at_a_polarity_distance_of_0_3(fitted, distance, warns):
    # The model's reference polarities moved away from those of the records
    # by `distance` on average (one lead up, the other down): just above the
    # threshold warns, just below does not.
    lcd, X, _ = fitted
    model = copy.deepcopy(lcd)
    reference = _polarity(X) + np.array([distance, -distance])
    model.input_contract_ = dataclasses.replace(
        lcd.input_contract_, lead_polarity=tuple(float(v) for v in reference))
    if warns:
        with pytest.warns(UserWarning, match=f"differ by {distance:.2f} on average"):
            model.transform(X)
    else:
        _quiet(model.transform, X)


def test_z_scoring_model_does_not_care_about_the_scale():
    X = load_ptbxl_sample().X[:16, [1, 6], :256]
    lcd = LCDPretrainer(standardize="record", **TINY).fit(X)
    _quiet(lcd.transform, X * 1000)


def test_flat_lead_warns_with_its_name(fitted):
    lcd, X, _ = fitted
    flat = X.copy()
    flat[:, 1] = 0.3
    with pytest.warns(UserWarning, match=r"Lead\(s\) V1 are flat"):
        lcd.transform(flat)
    # One flat record among live ones is not a flat lead.
    one = X.copy()
    one[0, 1] = 0
    _quiet(lcd.transform, one)


def test_other_record_length_warns(fitted):
    lcd, X, _ = fitted
    longer = np.concatenate([X] * 5, axis=-1)
    with pytest.warns(UserWarning, match=r"1280 samples but LCDPretrainer was trained on records "
                                         r"of 256 samples = 2.56 s at 100 Hz.*input_pipeline"):
        lcd.transform(longer)


def test_too_short_records_are_refused(fitted):
    lcd, X, _ = fitted
    with pytest.raises(ValueError, match="shorter than the 32 samples"):
        lcd.transform(X[:, :, :20])


def test_wrong_lead_count_is_refused_with_names(fitted):
    lcd, X, _ = fitted
    with pytest.raises(ValueError, match=r"fitted on 2 lead\(s\) \(II, V1\).*input_pipeline"):
        lcd.transform(np.concatenate([X, X[:, :1]], axis=1))


def test_transposed_records_are_refused(fitted):
    lcd, X, _ = fitted
    with pytest.raises(ValueError, match="transpose"):
        lcd.transform(X.transpose(0, 2, 1))


def test_classifier_checks_too(fitted):
    lcd, X, y = fitted
    clf = ECGClassifier(lcd, max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0, device="cpu").fit(X, y)
    _quiet(clf.predict, X)
    with pytest.warns(UserWarning, match="times the amplitude"):
        clf.predict(X * 1000)
    with pytest.raises(ValueError, match=r"X has 1 lead\(s\), but ECGClassifier was fitted on 2"):
        clf.predict(X[:, :1])


def test_checks_read_only_the_first_records(fitted, monkeypatch):
    from sklearn_ecg import input_contract

    lcd, X, _ = fitted
    seen = []
    original = input_contract.lead_statistics
    monkeypatch.setattr(input_contract, "lead_statistics",
                        lambda A: seen.append(len(A)) or original(A))
    lcd.transform(np.concatenate([X] * 4))
    assert seen == [64]


@pytest.fixture(scope="module")
def shipped():
    return LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")


def test_other_leads_with_the_right_count_warn(shipped):
    # The case: the first 8 of 12 leads given to a model of II, III, V1-V6.
    X = load_ptbxl_sample().X[:64]
    right = X[:, [1, 2, 6, 7, 8, 9, 10, 11]]
    _quiet(shipped.transform, right)
    with pytest.warns(UserWarning, match=r"do not look like the leads it was trained on "
                                         r"\(II, III, V1, V2, V3, V4, V5, V6\)"):
        shipped.transform(X[:, :8])
    with pytest.warns(UserWarning, match="polarities"):
        shipped.transform(right[:, ::-1])
    # Too few records to judge: no warning.
    _quiet(shipped.transform, X[:8, :8])
