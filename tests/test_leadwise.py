"""LeadwiseEmbedder: one pretrained single-lead encoder, any lead set."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg import LCDPretrainer, LeadwiseEmbedder, METSPretrainer, _persistence
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.preprocessing import STANDARD_LEADS

from _text_encoders import BagOfWords

TINY = dict(projector_dim=16, predictor_dim=16, batch_size=16, random_state=0, device="cpu")


def _untrained_lcd():
    # max_epochs=0: a fitted (randomly initialised) encoder at no training cost.
    X = np.random.default_rng(0).normal(size=(8, 12, 128)).astype(np.float32)
    return LCDPretrainer(**TINY, max_epochs=0).fit(X)


EXPECTED_FAILED = {
    "check_estimators_overwrite_params": (
        "compares joblib.hash of the parameters with that of their deep copy, and a deep copy "
        "of a fitted skorch net pickles to other bytes (its tensors go through torch.save) "
        "although nothing changed; test_two_lead_holter_records_without_refitting checks "
        "that fit and transform leave every weight of the pretrainer as it was"
    ),
}


@parametrize_with_checks([LeadwiseEmbedder(_untrained_lcd())],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # sklearn's checks feed records of a few samples: the short-record warning is expected.
        warnings.filterwarnings("ignore", message="Single-lead records of", category=UserWarning)
        check(estimator)


@pytest.fixture(scope="module")
def data():
    return load_ptbxl_sample()


@pytest.fixture(scope="module")
def X12(data):
    return np.ascontiguousarray(data.X[:40, :, :256])


@pytest.fixture(scope="module")
def lcd12(X12):
    """Pretrained on 12 leads."""
    return LCDPretrainer(**TINY, max_epochs=1).fit(X12)


def _lead_block(Z, lead, dim=64):
    return Z[:, lead * dim : (lead + 1) * dim]


def test_twelve_leads_give_the_pretrainers_own_embeddings(lcd12, X12):
    emb = LeadwiseEmbedder(lcd12).fit(X12)
    np.testing.assert_array_equal(emb.transform(X12), lcd12.transform(X12))
    assert emb.n_features_in_ == 12 and emb.n_leads_ == 12
    names = emb.get_feature_names_out()
    assert names[0] == "leadwiseembedder_I_0" and names[64 * 11] == "leadwiseembedder_V6_0"


def test_two_lead_holter_records_without_refitting(lcd12, X12):
    before = {k: v.clone() for k, v in lcd12.net_.module_.state_dict().items()}
    holter = np.ascontiguousarray(X12[:, [1, 6]])  # "MLII" and V1
    emb = LeadwiseEmbedder(lcd12, lead_names=["MLII", "V1"])
    Z = emb.fit_transform(holter)
    full = lcd12.transform(X12)
    assert Z.shape == (len(X12), 128) and Z.dtype == np.float32
    np.testing.assert_allclose(Z, np.hstack([_lead_block(full, 1), _lead_block(full, 6)]),
                               rtol=1e-5, atol=1e-6)
    assert emb.n_features_in_ == 2 and lcd12.n_features_in_ == 12  # each its own input
    assert list(emb.get_feature_names_out()[[0, 64]]) == ["leadwiseembedder_MLII_0",
                                                          "leadwiseembedder_V1_0"]
    # Choosing leads by name, in any order, or by position.
    v1 = LeadwiseEmbedder(lcd12, leads="v1", lead_names=["MLII", "V1"]).fit_transform(holter)
    np.testing.assert_array_equal(v1, Z[:, 64:])
    swapped = LeadwiseEmbedder(lcd12, leads=[1, 0]).fit_transform(holter)
    np.testing.assert_array_equal(swapped, np.hstack([Z[:, 64:], Z[:, :64]]))
    after = lcd12.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # never trained


def test_one_lead_wearable_records(lcd12, X12):
    wearable = np.ascontiguousarray(X12[:, 1, :])  # 2-D: single-lead records
    emb = LeadwiseEmbedder(lcd12).fit(wearable)
    Z = emb.transform(wearable)
    np.testing.assert_allclose(Z, _lead_block(lcd12.transform(X12), 1), rtol=1e-5, atol=1e-6)
    assert emb.n_features_in_ == wearable.shape[1] and emb.n_leads_ == 1
    # 3-D records of one lead, of another length: the encoder takes any length.
    longer = np.ascontiguousarray(load_ptbxl_sample().X[:5, 1:2, :700])
    assert LeadwiseEmbedder(lcd12).fit_transform(longer).shape == (5, 64)


def test_twelve_lead_subsets_by_standard_name(lcd12, X12):
    emb = LeadwiseEmbedder(lcd12, leads=["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"])
    Z = emb.fit_transform(X12)
    full = lcd12.transform(X12)
    wanted = [STANDARD_LEADS.index(n) for n in ("II", "III", "V1", "V2", "V3", "V4", "V5", "V6")]
    np.testing.assert_array_equal(Z, np.hstack([_lead_block(full, i) for i in wanted]))


def test_in_a_pipeline_with_cross_validation(lcd12, X12, data):
    y = data.y[:40, list(data.target_names).index("NORM")]
    holter = np.ascontiguousarray(X12[:, [1, 6]])
    pipe = make_pipeline(LeadwiseEmbedder(lcd12), LogisticRegression(max_iter=500))
    scores = cross_val_score(pipe, holter, y, cv=2)
    assert np.isfinite(scores).all()
    # clone keeps the fitted pretrainer (it is never refitted nor copied).
    assert clone(LeadwiseEmbedder(lcd12)).pretrainer is lcd12
    unfitted = LCDPretrainer()
    assert clone(LeadwiseEmbedder(unfitted)).pretrainer is not unfitted


def test_a_saved_model_or_shipped_name_loads_in_fit(lcd12, X12, tmp_path, monkeypatch):
    folder = lcd12.save_pretrained(tmp_path / "lcd")
    emb = LeadwiseEmbedder(str(folder), leads=[0]).fit(X12[:, :3])
    np.testing.assert_array_equal(emb.transform(X12[:, :3]), _lead_block(lcd12.transform(X12), 0))
    monkeypatch.setattr(_persistence, "SHIPPED_ROOT", tmp_path / "registry")
    with pytest.raises(FileNotFoundError, match="'lcd-ptbxl'"):
        LeadwiseEmbedder().fit(X12)
    (tmp_path / "registry").mkdir()
    lcd12.save_pretrained(tmp_path / "registry" / "lcd-ptbxl")
    emb = LeadwiseEmbedder().fit(X12)  # None: the shipped LCD model
    np.testing.assert_array_equal(emb.transform(X12), lcd12.transform(X12))


def test_bad_leads_and_pretrainers_are_refused(lcd12, X12, data):
    holter = X12[:, [1, 6]]
    with pytest.raises(ValueError, match="no lead_names"):
        LeadwiseEmbedder(lcd12, leads="V1").fit(holter)
    with pytest.raises(ValueError, match="Unknown lead 'V2'"):
        LeadwiseEmbedder(lcd12, leads="V2", lead_names=["II", "V1"]).fit(holter)
    with pytest.raises(ValueError, match="position 2, but X has 2 lead"):
        LeadwiseEmbedder(lcd12, leads=[0, 2]).fit(holter)
    with pytest.raises(ValueError, match="lead_names has 3 name"):
        LeadwiseEmbedder(lcd12, lead_names=["a", "b", "c"]).fit(holter)
    with pytest.raises(ValueError, match="leads is empty"):
        LeadwiseEmbedder(lcd12, leads=[]).fit(holter)
    with pytest.raises(NotFittedError, match="never trains it"):
        LeadwiseEmbedder(LCDPretrainer()).fit(holter)
    emb = LeadwiseEmbedder(lcd12).fit(holter)
    with pytest.raises(ValueError, match=r"X has 3 lead\(s\), but LeadwiseEmbedder was fitted on 2 "
                                         r"lead\(s\)\. Pass records with the same leads"):
        emb.transform(X12[:, :3])
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, random_state=0,
                          device="cpu", text_encoder=BagOfWords()).fit(X12, reports=data.report[:40])
    with pytest.raises(TypeError, match="needs an LCDPretrainer"):
        LeadwiseEmbedder(mets).fit(X12)
