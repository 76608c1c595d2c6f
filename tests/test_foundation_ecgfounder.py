"""ECGFounder: the package's network and preprocessing against fixtures made with the authors' code.

The fixtures in tests/data/foundation were written by
tools/make_ecgfounder_fixtures.py from the authors' repository: checkpoints
of a reduced configuration of their Net1D (random weights) and its outputs
on a fixed preprocessed input and on raw records in mV through their
preprocessing. The released configuration is checked by its tensor names and
shapes.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import medfilt, resample_poly
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

import sklearn_ecg
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.foundation import FoundationClassifier, FoundationEmbedder, foundation_models
from sklearn_ecg.foundation import _table
from sklearn_ecg.input_contract import lead_statistics
from sklearn_ecg.nn.ecgfounder import RELEASED_CONFIG, Net1D
from sklearn_ecg.preprocessing import STANDARD_LEADS, BaselineWanderRemoval
from _foundation import CONFIG, DATA, register_reduced

REFERENCE = np.load(DATA / "ecgfounder-fixtures.npz")
CKPT = {tag: DATA / f"ecgfounder-{tag}-reduced.pth" for tag in ("12lead", "1lead")}
NAME = {tag: f"ecgfounder-{tag}-reduced" for tag in ("12lead", "1lead")}


def raw_records(spec):
    """The raw records of the fixtures, as the tool makes them (float64, mV, 500 Hz)."""
    data = load_ptbxl_sample(ecg_ids=spec["ecg_ids"])
    x = resample_poly(data.X.astype(np.float64), spec["upsample"], 1, axis=-1)
    t = np.arange(x.shape[-1]) / spec["fs"]
    x = x + spec["mains_mv"] * np.sin(2 * np.pi * spec["mains_hz"] * t)
    return x + spec["drift_mv"] * np.sin(2 * np.pi * spec["drift_hz"] * t)


RAW = raw_records(CONFIG["raw"])
X_PRE = REFERENCE["x_pre"].astype(np.float32)


@pytest.fixture(autouse=True)
def reduced_models(monkeypatch):
    """Table entries for the reduced configuration: the released ones with smaller networks."""
    for tag in ("12lead", "1lead"):
        register_reduced(monkeypatch, f"ecgfounder-{tag}", NAME[tag])


def _leads(tag):
    return slice(None) if tag == "12lead" else slice(0, 1)


# -- the network --------------------------------------------------------------------


@pytest.mark.parametrize("tag, n_leads", [("12lead", 12), ("1lead", 1)])
def test_released_configuration_has_the_authors_tensors(tag, n_leads):
    expected = {}
    for line in (DATA / f"ecgfounder-{tag}-released-keys.tsv").read_text().splitlines():
        key, shape = line.split("\t")
        expected[key] = tuple(int(s) for s in shape.split(",") if s)
    spec = foundation_models()[f"ecgfounder-{tag}"]
    with torch.device("meta"):
        net = Net1D(**spec["config"])
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == expected
    assert list(ours) == list(expected)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == CONFIG["models"][tag]["released_parameters"]
    assert {k: v for k, v in spec["config"].items() if k != "in_channels"} == {
        **RELEASED_CONFIG, "filter_list": list(RELEASED_CONFIG["filter_list"]),
        "m_blocks_list": list(RELEASED_CONFIG["m_blocks_list"])}


@pytest.mark.parametrize("tag", ["12lead", "1lead"])
def test_outputs_equal_the_authors_on_preprocessed_input(tag):
    x = X_PRE[:, _leads(tag)]
    emb = FoundationEmbedder(NAME[tag], CKPT[tag], preprocess=False).fit()
    clf = FoundationClassifier(NAME[tag], CKPT[tag], preprocess=False).fit()
    ref_features = REFERENCE[f"{tag}_pre_features"]
    ref_logits = REFERENCE[f"{tag}_pre_logits"]
    np.testing.assert_allclose(emb.transform(x), ref_features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(clf.decision_function(x), ref_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(x), 1 / (1 + np.exp(-ref_logits)), rtol=1e-5, atol=1e-6)
    # Not trivially equal: another input gives other features.
    assert np.abs(emb.transform(x[::-1]) - ref_features).max() > 1e-2


@pytest.mark.parametrize("tag", ["12lead", "1lead"])
def test_outputs_equal_the_authors_through_their_preprocessing(tag):
    x = RAW[:, _leads(tag)]
    if tag == "1lead":
        x = x[:, 0]  # 2-D single-lead records
    emb = FoundationEmbedder(NAME[tag], CKPT[tag]).fit()
    clf = FoundationClassifier(NAME[tag], CKPT[tag]).fit()
    for got, ref in ((emb.transform(x), REFERENCE[f"{tag}_raw_features"]),
                     (clf.decision_function(x), REFERENCE[f"{tag}_raw_logits"])):
        assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    # Without the preprocessing the outputs are far from the reference.
    raw_features = FoundationEmbedder(NAME[tag], CKPT[tag], preprocess=False).fit().transform(x)
    assert np.abs(raw_features - REFERENCE[f"{tag}_raw_features"]).max() > 1e-2


def test_median_edges_zeros_is_scipy_medfilt():
    x = np.random.default_rng(0).normal(size=(2, 3, 700)).cumsum(-1)
    out = BaselineWanderRemoval(fs=500, median_windows=(0.4,), median_edges="zeros").fit_transform(x)
    expected = x - np.stack([[medfilt(lead, 201) for lead in rec] for rec in x])
    np.testing.assert_allclose(out, expected, atol=1e-4)
    reflected = BaselineWanderRemoval(fs=500, median_windows=(0.4,)).fit_transform(x)
    assert np.abs(reflected - expected)[..., :100].max() > 1e-2


def test_head_classes_are_the_authors_statements():
    clf = FoundationClassifier(NAME["12lead"], CKPT["12lead"]).fit()
    assert clf.classes_.shape == (150,)
    assert list(clf.classes_[:3]) == ["ABNORMAL ECG", "NORMAL SINUS RHYTHM", "NORMAL ECG"]
    assert len(set(clf.classes_)) == 150
    pred = clf.predict(RAW)
    assert pred.shape == (3, 150) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, clf.predict_proba(RAW) >= 0.5)
    licence = (Path(sklearn_ecg.__file__).parent / "foundation" / "data" / "ecgfounder_LICENSE.txt")
    assert "Copyright (c) 2025 PKUDigitalHealth" in licence.read_text()


def test_lead_reference_is_that_of_the_sample_records():
    data = load_ptbxl_sample()
    amplitude, polarity = lead_statistics(data.X)
    ref = _table.lead_reference()
    assert ref["amplitude"] == pytest.approx(float(np.median(amplitude)), abs=1e-3)
    for name, value in zip(data.lead_names, np.median(polarity, axis=0)):
        assert ref["polarity"][name] == pytest.approx(float(value), abs=1e-3)


# -- scikit-learn conventions ---------------------------------------------------------

# The head's 150 statements are fixed: fit reads no labels, so the checks of a
# classifier that learns its classes from y do not apply.
_FIXED_HEAD = "the head's statements are fixed; fit reads no labels"
_CLASSIFIER_CHECKS_THAT_LEARN_FROM_Y = dict.fromkeys([
    "check_fit_score_takes_y", "check_pipeline_consistency", "check_classifiers_one_label",
    "check_classifiers_classes", "check_classifier_multioutput", "check_classifiers_train",
    "check_classifiers_regression_target", "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_output_format_decision_function", "check_supervised_y_no_nan",
], _FIXED_HEAD)


def _expected_failed_checks(estimator):
    if isinstance(estimator, FoundationClassifier):
        return _CLASSIFIER_CHECKS_THAT_LEARN_FROM_Y
    return {}


# Single-lead records: scikit-learn's 2-D test data are records of the 1-lead model.
@parametrize_with_checks([FoundationEmbedder(NAME["1lead"], CKPT["1lead"]),
                          FoundationClassifier(NAME["1lead"], CKPT["1lead"])],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # short records: the length warning
        check(estimator)



def test_fitted_estimator_conventions():
    emb = sklearn_ecg.load_foundation_model(NAME["12lead"], CKPT["12lead"], batch_size=2)
    check_is_fitted(emb)
    assert emb.get_params()["checkpoint"] == CKPT["12lead"]
    unfitted = clone(emb)
    with pytest.raises(Exception, match="not fitted"):
        unfitted.transform(RAW)
    np.testing.assert_array_equal(unfitted.fit().transform(RAW), emb.transform(RAW))
    names = emb.get_feature_names_out()
    assert names.shape == (64,) and names[0] == "ecgfounder_12lead_reduced_0"
    frozen = make_pipeline(FrozenEstimator(emb))
    np.testing.assert_array_equal(frozen.fit(RAW[:1]).transform(RAW), emb.transform(RAW))
    df = clone(emb).set_output(transform="pandas").fit().transform(RAW)
    assert list(df.columns) == list(names)
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(restored.transform(RAW), emb.transform(RAW))


def test_grid_search_over_the_model():
    x = np.concatenate([RAW, RAW[:, :, ::-1].copy(), RAW * -1, RAW[:, :, ::-1] * -1])
    y = np.array([0, 1, 0] * 4)
    pipe = make_pipeline(FoundationEmbedder(NAME["12lead"], CKPT["12lead"]),
                         LogisticRegression(max_iter=200))
    search = GridSearchCV(pipe, {"foundationembedder__checkpoint": [CKPT["12lead"], str(CKPT["12lead"])]},
                          cv=2).fit(x, y)
    assert len(search.cv_results_["params"]) == 2
    check_is_fitted(search.best_estimator_[0])
    assert search.predict(x).shape == (12,)


# -- the input contract ---------------------------------------------------------------


def test_input_pipeline_brings_other_records_to_the_model():
    emb = FoundationEmbedder(NAME["12lead"], CKPT["12lead"]).fit()
    contract = emb.input_contract_
    assert (contract.fs, contract.n_timepoints, contract.units) == (500.0, 5000, "mV")
    assert contract.lead_names == ("I", "II", "III", "aVR", "aVL", "aVF",
                                   "V1", "V2", "V3", "V4", "V5", "V6")
    order = [6, 0, 11, 3, 1, 2, 4, 5, 7, 8, 9, 10]
    shuffled = RAW[:, order] * 1000  # in µV, another lead order
    prep = emb.input_pipeline(fs=500, lead_names=[STANDARD_LEADS[i] for i in order], units="uV")
    assert [name for name, _ in prep.steps] == ["selectleads", "convertunits", "padorcrop"]
    np.testing.assert_allclose(emb.transform(prep.fit_transform(shuffled)), emb.transform(RAW),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="lack lead"):
        emb.input_pipeline(fs=500, lead_names=["I", "II"])
    prep_100 = emb.input_pipeline(fs=100, lead_names=list(STANDARD_LEADS))
    assert [name for name, _ in prep_100.steps] == ["selectleads", "resample", "padorcrop"]
    assert prep_100.fit_transform(RAW[:, :, ::5]).shape == (3, 12, 5000)


def test_one_lead_model_reads_any_lead_by_name():
    emb = FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names="ii").fit()
    assert emb.input_contract_.lead_names == ("II",)
    prep = emb.input_pipeline(fs=500, lead_names=list(STANDARD_LEADS))
    np.testing.assert_array_equal(emb.transform(prep.fit_transform(RAW)), emb.transform(RAW[:, 1]))
    assert FoundationEmbedder(NAME["1lead"], CKPT["1lead"]).fit().input_contract_.lead_names == ("I",)
    with pytest.raises(ValueError, match="reads one lead at a time"):
        FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names=["I", "X7"]).fit()
    with pytest.raises(ValueError, match="X has 12 lead"):
        emb.transform(RAW)


def test_input_checks_warn_about_rate_and_lead_order():
    emb = FoundationEmbedder(NAME["12lead"], CKPT["12lead"], batch_size=64).fit()
    with pytest.warns(UserWarning, match="samples but FoundationEmbedder"):
        emb.transform(RAW[:, :, :1000])
    data = load_ptbxl_sample(ecg_ids=list(range(1, 41)))
    x = resample_poly(data.X, 5, 1, axis=-1).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb.transform(x)
    with pytest.warns(UserWarning, match="do not look like the leads"):
        emb.transform(x[:, ::-1])
    with pytest.raises(ValueError, match="reads the leads"):
        FoundationEmbedder(NAME["12lead"], CKPT["12lead"], lead_names=list(STANDARD_LEADS)[::-1]).fit()


# -- loading: names, checkpoints, the Hub -----------------------------------------------


def test_unknown_name_and_missing_checkpoint():
    with pytest.raises(ValueError, match="Unknown foundation model 'ecgfounder'.*'ecgfounder-12lead'"):
        FoundationEmbedder("ecgfounder", CKPT["12lead"]).fit()
    with pytest.raises(ValueError, match="huggingface.co/PKUDigitalHealth/ECGFounder"):
        sklearn_ecg.load_foundation_model("ecgfounder-12lead", None)
    with pytest.raises(FileNotFoundError, match="no_such.pth"):
        sklearn_ecg.load_foundation_model("ecgfounder-12lead", "weights/no_such.pth")
    with pytest.raises(ValueError, match="kind must be"):
        sklearn_ecg.load_foundation_model(NAME["12lead"], CKPT["12lead"], kind="regressor")


def test_hub_id_downloads_only_in_fit(monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename))
        return str(CKPT["12lead"])

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    emb = FoundationEmbedder(NAME["12lead"], "PKUDigitalHealth/ECGFounder")
    assert calls == []
    emb.fit()
    assert calls == [("PKUDigitalHealth/ECGFounder", "12_lead_ECGFounder.pth")]
    FoundationEmbedder(NAME["12lead"], "hf://someone/mirror/other.pth").fit()
    assert calls[-1] == ("someone/mirror", "other.pth")
    assert emb.checkpoint_path_ == str(CKPT["12lead"])


def test_single_lead_model_embeds_several_leads_one_by_one():
    emb = FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names=["V1", "I", "avf"]).fit()
    assert emb.per_lead_ and emb.input_contract_.lead_names == ("V1", "I", "aVF")
    prep = emb.input_pipeline(fs=500, lead_names=list(STANDARD_LEADS))
    out = emb.transform(prep.fit_transform(RAW))
    single = [FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names=lead).fit().transform(RAW[:, i])
              for lead, i in (("V1", 6), ("I", 0), ("aVF", 5))]
    np.testing.assert_allclose(out, np.concatenate(single, axis=1), rtol=1e-6, atol=1e-6)
    names = emb.get_feature_names_out()
    assert names.shape == (192,) and names[0] == "ecgfounder_1lead_reduced_V1_0"
    assert names[64] == "ecgfounder_1lead_reduced_I_0"
    with pytest.raises(ValueError, match="classifies one lead"):
        FoundationClassifier(NAME["1lead"], CKPT["1lead"], lead_names=["I", "II"]).fit()
    with pytest.raises(ValueError, match="distinct leads"):
        FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names=["I", "i"]).fit()


# -- the model as a torch function, with gradients -----------------------------------------


def test_differentiable_forward_computes_what_transform_does():
    emb = FoundationEmbedder(NAME["12lead"], CKPT["12lead"]).fit()
    forward = emb.differentiable_forward()
    x = torch.tensor(RAW, dtype=torch.float32, requires_grad=True)
    out = forward(x)
    ref = emb.transform(RAW)
    assert np.abs(out.detach().numpy() - ref).max() <= 1e-5 * np.abs(ref).max()
    out[:, 0].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    # The gradient is that of the preprocessing too: a constant offset changes nothing.
    assert abs(float(x.grad.sum(dim=-1).mean())) < 1e-3 * float(x.grad.abs().sum(dim=-1).mean())

    clf = FoundationClassifier(NAME["12lead"], CKPT["12lead"]).fit()
    proba = clf.differentiable_forward()(torch.tensor(RAW, dtype=torch.float32))
    np.testing.assert_allclose(proba.detach().numpy(), clf.predict_proba(RAW), atol=1e-6)
    logits = clf.differentiable_forward("decision")(torch.tensor(RAW, dtype=torch.float32))
    np.testing.assert_allclose(logits.detach().numpy(), clf.decision_function(RAW), rtol=1e-5, atol=1e-5)
    assert list(clf.differentiable_forward().classes) == list(clf.classes_)
    with pytest.raises(ValueError, match="output must be one of proba, decision"):
        clf.differentiable_forward("transform")

    pre = FoundationEmbedder(NAME["12lead"], CKPT["12lead"], preprocess=False).fit()
    np.testing.assert_allclose(pre.differentiable_forward()(torch.from_numpy(X_PRE)).detach().numpy(),
                               REFERENCE["12lead_pre_features"], rtol=1e-5, atol=1e-5)


def test_differentiable_forward_of_a_single_lead_model_over_several_leads():
    emb = FoundationEmbedder(NAME["1lead"], CKPT["1lead"], lead_names=["I", "V1"]).fit()
    x = RAW[:, [0, 6]]
    out = emb.differentiable_forward()(torch.tensor(x, dtype=torch.float32))
    ref = emb.transform(x)
    assert out.shape == ref.shape == (3, 128)
    assert np.abs(out.detach().numpy() - ref).max() <= 1e-5 * np.abs(ref).max()
