"""Folders saved by earlier releases load with the current code and give the same outputs."""

from pathlib import Path

import numpy as np
import pytest

from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer, load_pretrained
from sklearn_ecg.datasets import load_ptbxl_sample

LEGACY = Path(__file__).parent / "data" / "legacy_folders"


@pytest.fixture(scope="module")
def X():
    return np.load(LEGACY / "input.npy")


@pytest.mark.parametrize("name, cls", [("lcd", LCDPretrainer), ("mets", METSPretrainer)])
def test_saved_pretrainers_give_the_same_embeddings(name, cls, X):
    loaded = cls.from_pretrained(LEGACY / name, device="cpu")
    assert type(loaded) is cls and type(load_pretrained(LEGACY / name, device="cpu")) is cls
    np.testing.assert_allclose(loaded.transform(X), np.load(LEGACY / name / "expected_transform.npy"),
                               rtol=1e-5, atol=1e-6)
    if cls is METSPretrainer:
        np.testing.assert_allclose(loaded.encode_ecg(X), np.load(LEGACY / name / "expected_encode_ecg.npy"),
                                   rtol=1e-5, atol=1e-6)
        assert loaded.text_encoder_.prefix == "passage"


@pytest.mark.parametrize("name", ["clf_lcd_strings", "clf_mets_multilabel", "clf_lcd_shared_int"])
def test_saved_classifiers_give_the_same_probabilities(name, X):
    loaded = ECGClassifier.from_pretrained(LEGACY / name, device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), np.load(LEGACY / name / "expected_proba.npy"),
                               rtol=1e-5, atol=1e-6)
    if name == "clf_lcd_strings":
        assert loaded.classes_.tolist() == ["CD", "MI", "NORM", "STTC"]
        assert set(loaded.predict(X)) <= set(loaded.classes_)
    if name == "clf_mets_multilabel":
        assert loaded.multilabel_ and loaded.predict(X).shape == (len(X), 5)


@pytest.mark.parametrize("name, cls", [("lcd-ptbxl", LCDPretrainer), ("mets-ptbxl", METSPretrainer)])
def test_shipped_models_give_the_same_embeddings(name, cls):
    model = cls.from_pretrained(name, device="cpu")
    X = np.ascontiguousarray(load_ptbxl_sample().X[:4, : model.n_leads_])
    np.testing.assert_allclose(model.transform(X), np.load(LEGACY / f"shipped_{name}_transform.npy"),
                               rtol=1e-5, atol=1e-5)


def test_format_1_mets_widths_become_multipliers(tmp_path):
    # Format 1 stored METS's width as the first stage's channel count.
    mets = METSPretrainer.from_pretrained(LEGACY / "mets", device="cpu")
    assert mets.width == 4 / 64 and mets.encoder_contract_.width == 4 / 64
    assert mets.net_.module_.encoder.out_features == 32
    shipped = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
    assert shipped.width == 1.0 and shipped.net_.module_.encoder.out_features == 512
    clf = ECGClassifier.from_pretrained(LEGACY / "clf_mets_multilabel", device="cpu")
    assert clf.encoder_params_["width"] == clf.encoder_params["width"] == 4 / 64
    # LCD's width was already a multiplier.
    assert LCDPretrainer.from_pretrained(LEGACY / "lcd", device="cpu").width == 1 / 32
    # Saved again, in the current format, nothing is translated twice.
    mets.save_pretrained(tmp_path / "mets")
    assert METSPretrainer.from_pretrained(tmp_path / "mets", device="cpu").width == 4 / 64
    clf.save_pretrained(tmp_path / "clf")
    again = ECGClassifier.from_pretrained(tmp_path / "clf", device="cpu")
    assert again.encoder_params_["width"] == again.encoder_params["width"] == 4 / 64


def test_current_format_keeps_an_integer_mets_width(tmp_path):
    X = np.load(LEGACY / "input.npy")
    y = np.arange(len(X)) % 2
    clf = ECGClassifier(architecture="mets", encoder_params={"width": 1}, max_epochs=1, batch_size=len(X),
                        validation_fraction=None, random_state=0, device="cpu").fit(X, y)
    assert clf.net_.module_.encoders[0].out_features == 512
    clf.save_pretrained(tmp_path / "clf")
    loaded = ECGClassifier.from_pretrained(tmp_path / "clf", device="cpu")
    assert loaded.encoder_params_["width"] == 1 and loaded.net_.module_.encoders[0].out_features == 512
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
