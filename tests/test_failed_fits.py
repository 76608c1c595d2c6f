"""A refused, failed or diverged fit leaves a fitted estimator as it was; bad settings are refused clearly."""

import numpy as np
import pandas as pd
import pytest

from _text_encoders import BagOfWords
from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample

LCD_TINY = dict(width=1 / 32, projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16,
                random_state=0, device="cpu")
METS_TINY = dict(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, random_state=0, device="cpu",
                 text_encoder=BagOfWords(dim=16), translate_reports=False)
CLF_TINY = dict(architecture="lcd", encoder_params={"width": 1 / 32}, max_epochs=1, batch_size=16,
                random_state=0, device="cpu")


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample()
    return np.ascontiguousarray(d.X[:32, :3, :128]), np.asarray(d.report[:32], dtype=object)


@pytest.fixture(scope="module")
def mets(data):
    X, reports = data
    return METSPretrainer(**METS_TINY).fit(X, reports=reports)


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


def _assert_unchanged(est, before):
    after = _fitted_state(est)
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert after[key] is value, key


def _single_lead_frame(X):
    # 2-D input with column names: fit records n_features_in_ and feature_names_in_.
    frame = X[:, 0, :]
    return pd.DataFrame(frame, columns=[f"t{i}" for i in range(frame.shape[1])])


def test_refused_refit_keeps_the_input_attributes(data):
    X, reports = data
    lcd = LCDPretrainer(**LCD_TINY).fit(_single_lead_frame(X))
    assert lcd.n_features_in_ == X.shape[2] and len(lcd.feature_names_in_) == X.shape[2]
    before = _fitted_state(lcd)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lcd.fit(bad)
    _assert_unchanged(lcd, before)
    with pytest.raises(FloatingPointError, match="diverged"):
        lcd.set_params(lr=1e6, max_epochs=2).fit(X)
    _assert_unchanged(lcd, before)


def test_mets_refit_without_reports_keeps_the_fitted_model(data, mets):
    X, _ = data
    before = _fitted_state(mets)
    with pytest.raises(ValueError, match="reports"):
        mets.fit(X[:, :2])
    _assert_unchanged(mets, before)


def test_mets_with_a_huge_learning_rate_is_refused(data):
    X, reports = data
    mets = METSPretrainer(**{**METS_TINY, "lr": 1e6, "max_epochs": 2})
    with pytest.raises(FloatingPointError, match="diverged"):
        mets.fit(X, reports=reports)
    assert not hasattr(mets, "net_") and not hasattr(mets, "n_features_in_")


def test_zero_shot_refit_failing_on_its_prompts_keeps_the_classes(data, mets):
    X, _ = data
    y = np.array(["NORM", "MI"] * 16)
    clf = ZeroShotECGClassifier(mets, class_descriptions={"NORM": "normal ECG", "MI": "infarction"}).fit(X, y)
    before = _fitted_state(clf)
    clf.set_params(class_descriptions={"A": "", "B": "b"})
    with pytest.raises(ValueError, match="non-empty strings"):
        clf.fit(X[:, :3], np.array(["A", "B"] * 16))
    _assert_unchanged(clf, before)
    assert clf.classes_.tolist() == ["MI", "NORM"]


def test_zero_shot_takes_the_classes_from_the_columns_of_a_dataframe(data, mets):
    X, _ = data
    table = {"NORM": "normal ECG", "MI": "myocardial infarction", "CD": "conduction disturbance"}
    Y = pd.DataFrame(np.eye(3, dtype=int)[np.arange(32) % 3], columns=["MI", "CD", "NORM"])
    clf = ZeroShotECGClassifier(mets, class_descriptions=table).fit(X, Y)
    assert clf.classes_.tolist() == ["MI", "CD", "NORM"]
    reference = ZeroShotECGClassifier(mets, class_descriptions=table, class_names=["MI", "CD", "NORM"]).fit(X, Y.to_numpy())
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    with pytest.raises(ValueError, match="do not match the columns of y"):
        ZeroShotECGClassifier(mets, class_descriptions=table, class_names=["NORM", "MI", "CD"]).fit(X, Y)


@pytest.mark.parametrize("y", [np.array(["A", None, "B"] * 10 + ["A", "B"], dtype=object),
                               np.array([0.0, np.nan, 1.0] * 10 + [0.0, 1.0])])
def test_zero_shot_refuses_missing_labels_clearly(data, mets, y):
    X, _ = data
    with pytest.raises(ValueError, match="missing labels|NaN"):
        ZeroShotECGClassifier(mets).fit(X, y)


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ms]"])
def test_dates_are_not_signals(dtype):
    X = np.arange(4 * 2 * 64).reshape(4, 2, 64).astype(dtype)
    with pytest.raises(TypeError, match="dates or durations"):
        LCDPretrainer(**LCD_TINY).fit(X)


def test_diverged_classifier_is_refused_and_the_fitted_one_kept(data):
    X, _ = data
    y = np.arange(len(X)) % 2
    clf = ECGClassifier(**CLF_TINY).fit(X, y)
    before = _fitted_state(clf)
    proba = clf.predict_proba(X)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.set_params(lr=1e6, max_epochs=2).fit(X, y)
    _assert_unchanged(clf, before)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_warm_start_applies_the_new_training_settings(data):
    X, _ = data
    lcd = LCDPretrainer(**{**LCD_TINY, "lr": 1e-3}).fit(X)
    lcd.set_params(warm_start=True, lr=1e-5, batch_size=8, weight_decay=0.1)
    lcd.fit(X)
    groups = lcd.net_.optimizer_.param_groups
    assert all(g["lr"] == 1e-5 and g["weight_decay"] == 0.1 for g in groups)
    assert lcd.net_.batch_size == 8
    # 32 records in batches of 8: four steps in the second epoch.
    assert len(lcd.history_[-1, "batches"]) == 4


@pytest.mark.parametrize("params, match", [
    ({"class_weight": {"NOPE": 10}}, r"class_weight has key\(s\) \['NOPE'\] that are not classes"),
    ({"class_weight": {0: -1.0}}, r"class_weight\[0\]=-1.0: class weights must be finite numbers >= 0"),
    ({"class_weight": {0: float("nan")}}, r"finite numbers >= 0"),
    ({"patience": 2, "validation_fraction": None}, "holds out no validation records"),
    ({"freeze_epochs": 3, "max_epochs": 2}, "more than max_epochs=2"),
    ({"encoder_params": {"width": -1}}, r"encoder_params: .*'width'"),
    ({"encoder_params": {"width": "wide"}}, r"encoder_params: .*'width'"),
    ({"encoder_params": {"width": 1 / 1024}}, "without a channel"),
    ({"encoder_params": {"standardize": "all"}}, r"encoder_params: .*'standardize'"),
])
def test_classifier_settings_are_checked(data, params, match):
    X, _ = data
    y = np.arange(len(X)) % 2
    clf = ECGClassifier(**{**CLF_TINY, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "n_features_in_")


def test_classifier_multilabel_class_weight_keys_are_column_indices(data):
    X, _ = data
    Y = np.eye(3, dtype=int)[np.arange(len(X)) % 3]
    with pytest.raises(ValueError, match=r"key\(s\) \[3\] that are not column indices"):
        ECGClassifier(**{**CLF_TINY, "class_weight": {3: 2.0}}).fit(X, Y)


@pytest.mark.parametrize("key", ["optimizer__lr", "optimizer__weight_decay", "iterator_train__batch_size",
                                 "iterator_train__shuffle", "iterator_valid__batch_size", "verbose"])
def test_net_params_cannot_bypass_the_estimator_parameters(data, key):
    X, _ = data
    with pytest.raises(ValueError, match=f"net_params has the key '{key}'"):
        LCDPretrainer(**{**LCD_TINY, "net_params": {key: 1}}).fit(X)
