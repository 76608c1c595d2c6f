"""Preprocessing parameters that cannot be passed by mistake, DataFrames read the right way,
and errors that speak of leads."""

import numpy as np
import pandas as pd
import pytest

from sklearn_ecg import LCDPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.preprocessing import (
    BandpassFilter,
    BaselineWanderRemoval,
    ConvertUnits,
    NotchFilter,
    PadOrCrop,
    Resample,
    SelectLeads,
    Standardize,
)

TINY = dict(projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16, random_state=0,
            device="cpu")


@pytest.mark.parametrize("make", [
    lambda: Resample(100),
    lambda: BandpassFilter(0.5, 40, 500),
    lambda: NotchFilter(50, 500),
    lambda: BaselineWanderRemoval(500),
    lambda: Standardize("record"),
    lambda: PadOrCrop(1000, "end"),
    lambda: SelectLeads(["II"], ["II"]),
    lambda: ConvertUnits("uV"),
])
def test_settings_are_keyword_only(make):
    # Resample(100) used to set fs=100 and resample 100 Hz to 100 Hz without a word.
    with pytest.raises(TypeError, match="by name"):
        make()


def test_keyword_only_error_names_the_parameters():
    with pytest.raises(TypeError, match=r"Resample\(fs=\.\.\., target_fs=\.\.\.\)"):
        Resample(100)


def test_the_natural_positional_argument_stays():
    assert PadOrCrop(10).length == 10
    assert SelectLeads(["V1"]).leads == ["V1"]


def test_resample_keyword_call_resamples():
    X = np.random.default_rng(0).normal(size=(2, 1, 500))
    assert Resample(fs=500, target_fs=100).fit_transform(X).shape == (2, 1, 100)


@pytest.mark.parametrize("make", [
    lambda: BandpassFilter(fs=100),
    lambda: NotchFilter(freq=20, fs=100),
    lambda: BaselineWanderRemoval(fs=100),
    lambda: Resample(fs=100, target_fs=50),
    lambda: Standardize(),
])
def test_dataframe_with_leads_as_columns_is_refused(make):
    # One record as a (time x leads) table: a filter used to run across the leads.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["I", "II", "V1"])
    with pytest.raises(ValueError, match=r"columns are leads \(I, II, V1\).*wrong axis"):
        make().fit_transform(frame)


def test_dataframe_of_records_by_rows_is_read_as_documented():
    # Rows are single-lead records, columns their samples: the array convention.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 400))
    frame = pd.DataFrame(values, columns=[f"t{i}" for i in range(400)])
    out = BandpassFilter(fs=100).fit_transform(frame)
    np.testing.assert_allclose(out, BandpassFilter(fs=100).fit_transform(values), atol=1e-6)


def test_pretrainer_refuses_dataframe_with_leads_as_columns():
    X = load_ptbxl_sample().X[:16, :2, :256]
    lcd = LCDPretrainer(**TINY).fit(X)
    frame = pd.DataFrame(X[0].T, columns=["II", "V1"])
    with pytest.raises(ValueError, match="columns are leads"):
        lcd.transform(frame)


def test_lead_count_error_names_leads_not_features():
    data = load_ptbxl_sample()
    names = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
    X = data.X[:16, 1:, :256][:, [0, 1, 5, 6, 7, 8, 9, 10]]
    lcd = LCDPretrainer(lead_names=names, **TINY).fit(X)
    with pytest.raises(ValueError) as info:
        lcd.transform(data.X[:4, :, :256])
    message = str(info.value)
    assert "X has 12 lead(s), but LCDPretrainer was fitted on 8 lead(s) (II, III, V1, ..., V6)" in message
    assert "input_pipeline" in message and "feature" not in message


def test_lead_count_error_without_names():
    X = load_ptbxl_sample().X[:16, :2, :256]
    lcd = LCDPretrainer(**TINY).fit(X)
    with pytest.raises(ValueError, match=r"X has 3 lead\(s\), but LCDPretrainer was fitted on 2 lead\(s\)\."):
        lcd.transform(load_ptbxl_sample().X[:4, :3, :256])
    with pytest.raises(ValueError, match="X is 2-D .* read as single-lead records"):
        lcd.transform(X[:, 0, :])


def test_lead_names_must_match_the_lead_count():
    X = load_ptbxl_sample().X[:16, :2, :256]
    lcd = LCDPretrainer(lead_names=["II", "V1", "V2"], **TINY)
    with pytest.raises(ValueError, match=r"3 lead name\(s\) \(II, V1, V2\) but X has 2 lead\(s\)"):
        lcd.fit(X)
    assert not hasattr(lcd, "net_")


def test_feature_names_name_the_leads():
    X = load_ptbxl_sample().X[:16, :2, :256]
    lcd = LCDPretrainer(lead_names=["ii", "V1"], **TINY).fit(X)
    names = lcd.set_output(transform="pandas").transform(X).columns
    assert names[0] == "lcdpretrainer_II_0" and names[-1] == "lcdpretrainer_V1_63"
    unnamed = LCDPretrainer(**TINY).fit(X).get_feature_names_out()
    assert unnamed[0] == "lcdpretrainer_lead0_0"


def test_convert_units():
    X = np.full((2, 1, 10), 1500.0)
    np.testing.assert_allclose(ConvertUnits(units="uV").fit_transform(X), 1.5)
    np.testing.assert_allclose(ConvertUnits(units="V").fit_transform(X), 1.5e6)
