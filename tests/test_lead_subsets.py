"""METS on records with only some of its leads: input_pipeline and ZeroShotECGClassifier(lead_names=...)."""

import logging
import warnings

import numpy as np
import pytest
from scipy import signal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_param_validation

from sklearn_ecg import ZeroShotECGClassifier
from sklearn_ecg._tables import read_table
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.input_contract import lead_subset_note
from _text_encoders import tiny_mets


def tiny(**params):
    return tiny_mets(**{"device": "cpu", "fs": 100, **params})


@pytest.fixture(scope="module")
def sample():
    data = load_ptbxl_sample()
    X = data.X[:48, :, :128].copy()
    reports = np.asarray(data.report[:48], dtype=object)
    masked = tiny(lead_masking=0.5, lead_names=list(data.lead_names)).fit(X, reports=reports)
    plain = tiny(lead_names=list(data.lead_names)).fit(X, reports=reports)
    return X, data, masked, plain


def _leads(data, names):
    return [list(data.lead_names).index(n) for n in names]


@pytest.mark.parametrize("names", [["I"], ["II", "V1"], None])
def test_zero_shot_with_lead_names_equals_the_model_on_zero_filled_records(sample, names):
    X, data, masked, _ = sample
    y = data.y[:48]
    full = ZeroShotECGClassifier(masked).fit(X, y)
    if names is None:
        names = list(data.lead_names)
    pos = _leads(data, names)
    Xs = X[:, pos]
    clf = ZeroShotECGClassifier(masked, lead_names=names)
    with warnings.catch_warnings():
        # zero-filled leads are what a lead-masked model was trained on: no warning
        warnings.simplefilter("error")
        clf.fit(Xs, y)
        scores = clf.decision_function(Xs)
    zeroed = np.zeros_like(X)
    zeroed[:, pos] = X[:, pos]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = full.decision_function(zeroed)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert clf.n_features_in_ == len(names)
    assert (clf.lead_layout_.positions_ == pos).all()
    np.testing.assert_array_equal(clf.predict(Xs), full.predict(zeroed))
    if len(names) < 12:
        # the missing leads change the scores: the layout is not a no-op
        assert not np.allclose(scores, full.decision_function(X), atol=1e-4)


def test_zero_shot_single_lead_as_2d_and_holter_names(sample):
    X, data, masked, _ = sample
    y = data.y[:48]
    one = ZeroShotECGClassifier(masked, lead_names="II").fit(X[:, 1], y)
    three = ZeroShotECGClassifier(masked, lead_names=["II"]).fit(X[:, [1]], y)
    np.testing.assert_allclose(one.decision_function(X[:, 1]), three.decision_function(X[:, [1]]))
    # A Holter's MLII stands in for II
    holter = ZeroShotECGClassifier(masked, lead_names=["MLII", "V1"]).fit(X[:, [1, 6]], y)
    named = ZeroShotECGClassifier(masked, lead_names=["II", "V1"]).fit(X[:, [1, 6]], y)
    np.testing.assert_allclose(holter.decision_function(X[:, [1, 6]]),
                               named.decision_function(X[:, [1, 6]]))


def test_zero_shot_lead_names_errors_and_warning(sample):
    X, data, masked, plain = sample
    y = data.y[:48]
    with pytest.raises(ValueError, match="names 2 lead"):
        ZeroShotECGClassifier(masked, lead_names=["I", "II"]).fit(X[:, [0]], y)
    with pytest.raises(ValueError, match="lack lead"):
        ZeroShotECGClassifier(masked, lead_names=["X1"]).fit(X[:, [0]], y)
    with pytest.raises(ValueError, match="more than once"):
        ZeroShotECGClassifier(masked, lead_names=["II", "DII"]).fit(X[:, [1, 1]], y)
    with pytest.raises(ValueError, match="non-empty list"):
        ZeroShotECGClassifier(masked, lead_names=[]).fit(X[:, [0]], y)
    clf = ZeroShotECGClassifier(masked, lead_names=["I"]).fit(X[:, [0]], y)
    with pytest.raises(ValueError, match="expecting 1 features"):
        clf.decision_function(X)
    # Without lead names, fewer leads are refused with the way out in the message
    with pytest.raises(ValueError, match="lead_names="):
        ZeroShotECGClassifier(masked).fit(X[:, [0]], y)
    # A model pretrained on all its leads, always, is warned about
    with pytest.warns(UserWarning, match="lead_masking=0"):
        ZeroShotECGClassifier(plain, lead_names=["I"]).fit(X[:, [0]], y)
    # A model that does not know its leads' names cannot place them
    anonymous = tiny(lead_masking=0.5).fit(X, reports=np.asarray(data.report[:48], dtype=object))
    with pytest.raises(ValueError, match="knows the names"):
        ZeroShotECGClassifier(anonymous, lead_names=["I"]).fit(X[:, [0]], y)


def test_zero_shot_lead_names_param_validation_and_clone(sample):
    X, data, masked, _ = sample
    clf = ZeroShotECGClassifier(masked, lead_names=["I"])
    assert clone(clf).get_params()["lead_names"] == ["I"]
    check_param_validation("ZeroShotECGClassifier", ZeroShotECGClassifier(masked, lead_names="I"))


@pytest.mark.parametrize("names", [["I"], ["mlii", "V1"], None])
def test_input_pipeline_places_a_lead_subset_for_a_masked_model(sample, names):
    X, data, masked, _ = sample
    # Records at 500 Hz with the leads in another order than the model's
    user = names or list(reversed(data.lead_names))
    canonical = ["II" if n.lower() == "mlii" else n for n in user]
    records = np.repeat(X[:, _leads(data, canonical)], 5, axis=-1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prep = masked.input_pipeline(fs=500, lead_names=user)
    # The leads the records lack are named in a warning (none when they have all).
    said = [str(w.message) for w in caught if "given to it as zeros" in str(w.message)]
    assert len(said) == (0 if names is None else 1)
    steps = [name for name, _ in prep.steps]
    placed = prep.fit_transform(records)
    assert placed.shape == (48, 12, 128)
    present = _leads(data, canonical)
    missing = np.setdiff1d(np.arange(12), present)
    assert (placed[:, missing] == 0).all()
    assert np.abs(placed[:, present]).max() > 0
    if names is None:
        assert "leadlayout" not in steps
    else:
        assert steps[:2] == ["selectleads", "leadlayout"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = make_pipeline(prep, masked).transform(records)
    assert Z.shape == (48, 512 // 16) and np.isfinite(Z).all()


def test_input_pipeline_refuses_a_subset_for_an_unmasked_model(sample):
    _, _, masked, plain = sample
    with pytest.raises(ValueError, match="lead_masking > 0"):
        plain.input_pipeline(fs=100, lead_names=["I"])
    with pytest.raises(ValueError, match="None of the records' leads"):
        masked.input_pipeline(fs=100, lead_names=["X", "Y"])


def test_flat_lead_warning_still_fires_for_unmasked_models(sample):
    X, data, _, plain = sample
    zeroed = X.copy()
    zeroed[:, 1:] = 0
    with pytest.warns(UserWarning, match="flat"):
        plain.transform(zeroed)


def test_relative_scoring_is_similarity_minus_the_mean_over_classes(sample):
    X, data, masked, _ = sample
    y = data.y[:48]
    plain = ZeroShotECGClassifier(masked).fit(X, y)
    relative = ZeroShotECGClassifier(masked, scoring="relative").fit(X, y)
    s, r = plain.decision_function(X), relative.decision_function(X)
    np.testing.assert_allclose(r, s - s.mean(axis=1, keepdims=True), rtol=1e-6, atol=1e-7)
    assert not np.allclose(r, s)
    # The per-class ranking changes: a record's scores relative to its other classes
    assert any((np.argsort(r[:, k]) != np.argsort(s[:, k])).any() for k in range(5))
    np.testing.assert_array_equal(relative.predict(X), plain.predict(X))
    np.testing.assert_allclose(relative.predict_proba(X), plain.predict_proba(X))
    # Two single-label classes: the difference of the two similarities either way
    labels = np.where(y[:, 0] == 1, "NORM", "MI")
    two = [ZeroShotECGClassifier(masked, scoring=sc).fit(X, labels) for sc in ("similarity", "relative")]
    np.testing.assert_allclose(two[0].decision_function(X), two[1].decision_function(X))
    with pytest.raises(ValueError, match="scoring"):
        ZeroShotECGClassifier(masked, scoring="cosine").fit(X, y)


@pytest.mark.parametrize("fs", [100, 500])
def test_input_pipeline_puts_each_present_lead_in_its_own_slot(sample, fs):
    # Three leads of a masked model's twelve, given in another order than the
    # model's (V1, aVF, II against II, aVF, V1): each must land in the slot of
    # its own name, whatever the order the records give them in.
    X, data, masked, _ = sample
    user = ["V1", "aVF", "II"]
    source = X[:, _leads(data, user)]
    records = source if fs == 100 else signal.resample(source, 128 * fs // 100, axis=-1)
    placed = masked.input_pipeline(fs=fs, lead_names=user).fit_transform(records)
    layout = list(masked.input_contract_.lead_names)
    for j, name in enumerate(user):
        got = placed[:, layout.index(name)]
        if fs == 100:
            np.testing.assert_array_equal(got, source[:, j], err_msg=name)
        else:
            # Brought to 500 Hz by FFT interpolation and back by the pipeline's
            # polyphase filter: the source lead again, but at the record's ends.
            inner = slice(8, -8)
            np.testing.assert_allclose(got[:, inner], source[:, j, inner], err_msg=name,
                                       atol=0.02 * np.abs(source[:, j]).max())
    missing = [i for i, n in enumerate(layout) if n not in user]
    assert (placed[:, missing] == 0).all()


def _notes(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "sklearn_ecg.zero_shot"]


def test_zero_shot_on_a_lead_subset_says_once_per_fit_what_the_model_sees(sample, caplog):
    X, data, masked, _ = sample
    y = data.y[:48]
    caplog.set_level(logging.WARNING, logger="sklearn_ecg.zero_shot")
    clf = ZeroShotECGClassifier(masked, lead_names=["V1", "I"])
    clf.fit(X[:, _leads(data, ["V1", "I"])], y)
    (note,) = _notes(caplog)
    # in the model's lead order, with the count of zero-filled leads
    assert note.startswith("ZeroShotECGClassifier: the model sees leads I, V1 of its 12 leads;")
    assert "the other 10 are zero-filled" in note
    assert "not measured for this model" in note
    clf.decision_function(X[:, _leads(data, ["V1", "I"])])
    assert len(_notes(caplog)) == 1, "said in fit, not at every prediction"
    clf.fit(X[:, _leads(data, ["V1", "I"])], y)
    assert len(_notes(caplog)) == 2, "said again by the next fit"
    caplog.clear()
    ZeroShotECGClassifier(masked, lead_names=list(data.lead_names)).fit(X, y)
    ZeroShotECGClassifier(masked).fit(X, y)
    assert _notes(caplog) == [], "nothing to say with all the leads"


def test_lead_subset_note_quotes_the_measured_cost_of_a_shipped_model(sample, monkeypatch):
    _, _, masked, _ = sample
    rows = [r for r in read_table("lead_subset_costs.tsv") if r["model"] == "mets-ptbxl"]
    by_leads = {r["leads"]: r for r in rows}
    assert {"I", "II", "I,II"} <= set(by_leads)
    # A model loaded from a shipped folder knows its name (see test below);
    # here the tiny model stands in for it.
    monkeypatch.setattr(masked, "_shipped_name", "mets-ptbxl", raising=False)
    note = lead_subset_note(masked, ["I"], "X")
    assert f"macro ROC-AUC {by_leads['I']['macro_roc_auc']} with lead I alone against " \
           f"{by_leads['I']['all_leads_macro_roc_auc']} with all 12 leads" in note
    assert by_leads["I"]["benchmark"] in note
    note = lead_subset_note(masked, ["II", "I"], "X")
    assert f"{by_leads['I,II']['macro_roc_auc']} with leads I + II against" in note
    # A subset nobody measured: said so, with the subsets that were
    note = lead_subset_note(masked, ["V1"], "X")
    assert "was not measured for mets-ptbxl" in note and by_leads["II"]["macro_roc_auc"] in note
    assert lead_subset_note(masked, list(masked.input_contract_.lead_names), "X") is None


def test_a_shipped_model_knows_its_name_and_a_saved_copy_does_not(tmp_path):
    from sklearn_ecg import load_pretrained

    model = load_pretrained("lcd-ptbxl", device="cpu")
    assert model._shipped_name == "lcd-ptbxl"
    model.save_pretrained(tmp_path / "copy")
    assert getattr(load_pretrained(tmp_path / "copy", device="cpu"), "_shipped_name", None) is None
