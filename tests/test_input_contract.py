"""The input contract of fitted and loaded models, and input_pipeline, which brings records to it."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import signal
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer, PretrainedModelError
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.input_contract import InputContract
from sklearn_ecg.preprocessing import STANDARD_LEADS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TINY = dict(projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16, random_state=0,
            device="cpu")
LCD_LEADS = ("II", "III", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


@pytest.fixture(scope="module")
def shipped_lcd():
    return LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")


def _relative_error(emb, ref):
    return float((np.linalg.norm(emb - ref, axis=1) / np.linalg.norm(ref, axis=1)).max())


# -- the contract -------------------------------------------------------------------


def test_fit_records_the_contract(sample):
    X = sample.X[:32, [1, 6], :500]
    lcd = LCDPretrainer(fs=sample.fs, lead_names=["dii", "v1"], standardize="lead", **TINY).fit(X)
    c = lcd.input_contract_
    assert (c.fs, c.n_timepoints, c.lead_names, c.n_leads, c.units, c.standardize) == (
        100.0, 500, ("II", "V1"), 2, "mV", "lead")
    assert c.duration == 5.0
    # The amplitude reference is the median robust peak-to-peak of a lead, in mV.
    p2, p98 = np.percentile(X, [2, 98], axis=-1)
    assert c.amplitude == pytest.approx(np.median(p98 - p2), rel=1e-5)


def test_contract_unknown_without_parameters(sample):
    lcd = LCDPretrainer(**TINY).fit(sample.X[:16, :2, :256])
    assert lcd.input_contract_.fs is None and lcd.input_contract_.lead_names is None
    assert lcd.input_contract_.n_timepoints == 256
    with pytest.raises(ValueError, match="does not know the sampling rate"):
        lcd.input_pipeline(fs=500)


def test_failed_fit_keeps_the_previous_contract(sample):
    X = sample.X[:16, :2, :256]
    lcd = LCDPretrainer(fs=100, lead_names=["I", "II"], **TINY).fit(X)
    before = lcd.input_contract_
    lcd.set_params(lead_names=["I", "I"])
    with pytest.raises(ValueError, match="more than once"):
        lcd.fit(X)
    assert lcd.input_contract_ is before


def test_contract_dict_round_trip_and_checks():
    c = InputContract(fs=500.0, n_timepoints=5000, lead_names=("I",), n_leads=1, units="mV")
    assert InputContract.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert InputContract.from_dict({"fs": 100, "future_key": 1}).fs == 100.0
    with pytest.raises(ValueError, match="'fs'"):
        InputContract.from_dict({"fs": "100 Hz"})
    assert "sampling rate: 500 Hz" in c.describe() and "5000 samples (10 s)" in c.describe()


def test_contract_is_saved_and_loaded(sample, tmp_path):
    lcd = LCDPretrainer(fs=100, lead_names=["II", "V1"], **TINY).fit(sample.X[:16, [1, 6], :256])
    folder = lcd.save_pretrained(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    assert config["input"]["lead_names"] == ["II", "V1"] and config["input"]["fs"] == 100.0
    loaded = LCDPretrainer.from_pretrained(folder, device="cpu")
    assert loaded.input_contract_ == lcd.input_contract_
    # A folder written before the contract existed loads with it unknown.
    del config["input"]
    del config["params"]["fs"], config["params"]["lead_names"]
    (folder / "config.json").write_text(json.dumps(config))
    old = LCDPretrainer.from_pretrained(folder, device="cpu")
    assert old.input_contract_ == InputContract()
    assert old.get_feature_names_out()[0] == "lcdpretrainer_lead0_0"
    config["input"] = {"lead_names": "II"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PretrainedModelError, match="invalid 'input'"):
        LCDPretrainer.from_pretrained(folder, device="cpu")


@pytest.mark.parametrize("name, cls, leads", [
    ("lcd-ptbxl", LCDPretrainer, LCD_LEADS), ("mets-ptbxl", METSPretrainer, STANDARD_LEADS)])
def test_shipped_models_know_their_input(name, cls, leads):
    c = cls.from_pretrained(name, device="cpu").input_contract_
    assert (c.fs, c.n_timepoints, c.lead_names, c.units, c.standardize) == (
        100.0, 1000, tuple(leads), "mV", None)
    assert 0.3 < c.amplitude < 3  # mV, as PTB-XL's records are


def test_classifier_inherits_the_pretrainer_contract(sample):
    X, y = sample.X[:24, [1, 6], :256], sample.y[:24, 0]
    lcd = LCDPretrainer(fs=100, lead_names=["II", "V1"], **TINY).fit(X)
    clf = ECGClassifier(lcd, max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0, device="cpu").fit(X, y)
    assert clf.input_contract_.lead_names == ("II", "V1") and clf.input_contract_.fs == 100.0
    own = ECGClassifier(lcd, fs=100, lead_names=["MLII", "V1"], max_epochs=1, batch_size=8,
                        validation_fraction=None, random_state=0, device="cpu").fit(X, y)
    assert own.input_contract_.lead_names == ("MLII", "V1")
    assert clf.input_pipeline(fs=500).steps[0][0] == "resample"
    with pytest.raises(ValueError, match=r"pretrained on 2 \(II, V1\).*input_pipeline"):
        ECGClassifier(lcd, max_epochs=1, device="cpu").fit(sample.X[:24, :3, :256], y)


# -- input_pipeline -----------------------------------------------------------------


@pytest.mark.parametrize("fs", [100, 250, 257, 300, 360, 500])
def test_records_at_other_rates_and_lead_orders_match(sample, shipped_lcd, fs):
    # Band-limited 100 Hz records, brought to fs by FFT interpolation (another
    # method than the pipeline's polyphase filter) with their leads shuffled.
    X = sample.X[:16]
    reference = shipped_lcd.transform(X[:, [STANDARD_LEADS.index(n) for n in LCD_LEADS]])
    order = np.random.default_rng(fs).permutation(12)
    Xf = X if fs == 100 else signal.resample(X, round(1000 * fs / 100), axis=-1)
    Xf = Xf[:, order]
    prep = shipped_lcd.input_pipeline(fs=fs, lead_names=[STANDARD_LEADS[i] for i in order])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to warn about
        emb = shipped_lcd.transform(prep.transform(Xf))
    # The FFT interpolation treats a record as periodic, the polyphase filter
    # extends its ends linearly: the two differ in the first and last few
    # samples only. Measured: at most 0.22 % of the embedding's norm.
    assert _relative_error(emb, reference) < 0.01
    if fs != 100:
        # Stating the model's rate instead (no resampling, the first 1000
        # samples kept) gives other embeddings: the comparison can fail.
        wrong = shipped_lcd.input_pipeline(fs=100, lead_names=[STANDARD_LEADS[i] for i in order])
        assert _relative_error(shipped_lcd.transform(wrong.transform(Xf)), reference) > 0.1


@pytest.mark.parametrize("fs", [98, 105, 110])
def test_rates_close_to_the_model_s_are_resampled_too(sample, shipped_lcd, fs):
    # 2 to 10 % from the model's 100 Hz: a 10 s record at 98 Hz is 9.8 s of
    # 100 Hz samples if it is not resampled, a heartbeat out by its end.
    X = sample.X[:16][:, [STANDARD_LEADS.index(n) for n in LCD_LEADS]]
    Xf = signal.resample(X, round(1000 * fs / 100), axis=-1)
    prep = shipped_lcd.input_pipeline(fs=fs)
    assert [name for name, _ in prep.steps] == ["resample", "padorcrop"]
    resample = prep.named_steps["resample"]
    assert (resample.fs, resample.target_fs) == (fs, 100.0)
    brought = prep.transform(Xf)
    # The records at 100 Hz again: the FFT interpolation and the polyphase
    # filter differ at the ends only (measured: at most 0.25 % of the largest
    # sample inside; unresampled records are off by more than the signal).
    inner = (Ellipsis, slice(20, 980))
    assert brought.shape == X.shape
    assert np.abs(brought - X)[inner].max() < 0.01 * np.abs(X).max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb = shipped_lcd.transform(brought)
    # Measured: at most 0.33 % of the embedding's norm; 14 to 19 % unresampled.
    assert _relative_error(emb, shipped_lcd.transform(X)) < 0.01


def test_permuted_leads_give_the_same_embeddings(sample, shipped_lcd):
    X = sample.X[:8]
    order = np.random.default_rng(1).permutation(12)
    names = [STANDARD_LEADS[i].upper() for i in order]  # matched case-insensitively
    direct = shipped_lcd.input_pipeline(fs=100, lead_names=STANDARD_LEADS).transform(X)
    permuted = shipped_lcd.input_pipeline(fs=100, lead_names=names).transform(X[:, order])
    np.testing.assert_array_equal(direct, permuted)


def test_mets_at_500_hz(sample):
    mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
    X = sample.X[:8]
    Xf = signal.resample(X, 5000, axis=-1)
    emb = mets.transform(mets.input_pipeline(fs=500, lead_names=STANDARD_LEADS).transform(Xf))
    # Measured: at most 0.92 % (a 12-lead network sees the edges of every lead).
    assert _relative_error(emb, mets.transform(X)) < 0.02


@pytest.mark.skipif(not (DATA / "ptbxl500" / "records500").is_dir(),
                    reason="the development copy of PTB-XL records 1-500 is not available (a clone does not include it)")
def test_real_500_hz_records_match_their_100_hz_versions(shipped_lcd):
    from sklearn_ecg.datasets import load_ptbxl

    lo = load_ptbxl(DATA / "ptbxl500", ecg_ids=range(1, 17), leads=LCD_LEADS, verbose=0)
    hi = load_ptbxl(DATA / "ptbxl500", ecg_ids=range(1, 17), sampling_rate=500, verbose=0)
    emb = shipped_lcd.transform(
        shipped_lcd.input_pipeline(fs=hi.fs, lead_names=hi.lead_names).transform(hi.X))
    # PhysioNet's 100 Hz files were made by another filter: close, not equal.
    cos = (emb * (ref := shipped_lcd.transform(lo.X))).sum(1) / (
        np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1))
    assert cos.min() > 0.98


def test_units_and_modified_limb_leads(sample):
    X = sample.X[:16, [1, 6], :256]
    lcd = LCDPretrainer(fs=100, lead_names=["II", "V1"], **TINY).fit(X)
    prep = lcd.input_pipeline(fs=100, lead_names=["V1", "MLII"], units="uV")
    assert [n for n, _ in prep.steps] == ["selectleads", "convertunits", "padorcrop"]
    out = prep.transform(X[:, ::-1] * 1000)
    np.testing.assert_allclose(out, X, rtol=1e-5, atol=1e-6)


def test_missing_leads_are_named(shipped_lcd):
    with pytest.raises(ValueError, match=r"lack lead\(s\) III, V1, V2.*LeadwiseEmbedder"):
        shipped_lcd.input_pipeline(fs=360, lead_names=["MLII", "V5"])


def test_length_is_cropped_or_padded(sample, shipped_lcd):
    prep = shipped_lcd.input_pipeline(fs=100, lead_names=LCD_LEADS)
    X = sample.X[:2, 1:9]
    assert prep.transform(X[:, :, :600]).shape == (2, 8, 1000)
    np.testing.assert_array_equal(prep.transform(X[:, :, :600])[:, :, 600:], 0)
    keep_end = shipped_lcd.input_pipeline(fs=100, lead_names=LCD_LEADS, crop="end")
    longer = np.concatenate([X, X], axis=-1)
    np.testing.assert_array_equal(keep_end.transform(longer), X)


def test_input_pipeline_in_a_pipeline(sample, shipped_lcd):
    X500 = signal.resample(sample.X[:40], 5000, axis=-1)
    y = sample.y[:40, 0]
    model = make_pipeline(shipped_lcd.input_pipeline(fs=500, lead_names=STANDARD_LEADS),
                          FrozenEstimator(shipped_lcd), LogisticRegression(max_iter=200))
    assert model.fit(X500, y).predict(X500).shape == (40,)


def test_bad_arguments():
    lcd = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
    with pytest.raises(ValueError, match="units must be one of"):
        lcd.input_pipeline(fs=100, units="mv")
    with pytest.raises(ValueError, match="sampling rate in Hz"):
        lcd.input_pipeline(fs=0)
    with pytest.raises(TypeError):
        lcd.input_pipeline(500)  # the rate by name only


def test_leadwise_after_the_rate_and_length_steps(sample, shipped_lcd):
    from sklearn_ecg import LeadwiseEmbedder

    # A 2-lead Holter-like record set at 360 Hz, 12 s long.
    X = np.concatenate([sample.X[:4, [1, 6]], sample.X[:4, [1, 6], :200]], axis=-1)
    X360 = signal.resample(X, 4320, axis=-1)
    model = make_pipeline(shipped_lcd.input_pipeline(fs=360),
                          LeadwiseEmbedder(shipped_lcd, lead_names=["MLII", "V1"]))
    emb = model.fit_transform(X360)
    ref = LeadwiseEmbedder(shipped_lcd, lead_names=["MLII", "V1"]).fit_transform(sample.X[:4, [1, 6]])
    assert _relative_error(emb, ref) < 0.01


def test_every_model_class_saves_and_loads_its_contract(sample, tmp_path):
    # The contract rides on each class's fitted-state hooks: METS and the
    # classifier add entries of their own and must hand the call on.
    X, y = sample.X[:24, [1, 6], :256], sample.y[:24, 0]
    lcd = LCDPretrainer(fs=100, lead_names=["II", "V1"], **TINY).fit(X)
    clf = ECGClassifier(lcd, max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0, device="cpu").fit(X, y)
    with pytest.warns(UserWarning, match="pretrainer is not saved"):
        folder = clf.save_pretrained(tmp_path / "clf")
    assert ECGClassifier.from_pretrained(folder, device="cpu").input_contract_ == clf.input_contract_
    mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
    folder = mets.save_pretrained(tmp_path / "mets", dtype="float16")
    loaded = METSPretrainer.from_pretrained(folder, device="cpu")
    assert loaded.input_contract_ == mets.input_contract_ and loaded.input_contract_.fs == 100.0
