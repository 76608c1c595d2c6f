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
