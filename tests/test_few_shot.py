"""Tests of FewShotECGClassifier on a tiny METS model."""

import numpy as np
import pytest
from scipy.optimize import check_grad
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg import FewShotECGClassifier, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.few_shot import _objective
from _text_encoders import tiny_mets


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample()
    return d.X[:96, :, :128].copy(), d.y[:96], np.asarray(d.report[:96], dtype=object)


@pytest.fixture(scope="module")
def mets(data):
    X, _, reports = data
    return tiny_mets().fit(X, reports=reports)


@pytest.mark.parametrize("scoring", ["similarity", "relative"])
def test_without_the_labels_it_is_exactly_zero_shot(data, mets, scoring):
    X, Y, _ = data
    zero = ZeroShotECGClassifier(mets, scoring=scoring).fit(X[:40], Y[:40])
    few = FewShotECGClassifier(mets, scoring=scoring, C=0).fit(X[:40], Y[:40])
    for method in ("decision_function", "predict_proba", "predict"):
        np.testing.assert_array_equal(getattr(few, method)(X[40:]), getattr(zero, method)(X[40:]))
    np.testing.assert_array_equal(few.zero_shot_.class_embeddings_, zero.class_embeddings_)
    assert few.n_iter_ == 0
    y = np.where(Y[:40, 0] == 1, "NORM", "MI")
    zero = ZeroShotECGClassifier(mets, scoring=scoring).fit(X[:40], y)
    few = FewShotECGClassifier(mets, scoring=scoring, C=0).fit(X[:40], y)
    np.testing.assert_array_equal(few.decision_function(X[40:]), zero.decision_function(X[40:]))
    np.testing.assert_array_equal(few.predict(X[40:]), zero.predict(X[40:]))


def test_a_strong_prior_keeps_the_zero_shot_ranking(data, mets):
    X, Y, _ = data
    zero = ZeroShotECGClassifier(mets, scoring="relative").fit(X[:40], Y[:40]).decision_function(X)
    few = FewShotECGClassifier(mets, scoring="relative", C=1e-6).fit(X[:40], Y[:40])
    scores = few.decision_function(X)
    for c in range(Y.shape[1]):
        # The same order of the records for every class: a calibration, not a new ranking.
        np.testing.assert_array_equal(np.argsort(scores[:, c], kind="stable"),
                                      np.argsort(zero[:, c], kind="stable"))
    np.testing.assert_allclose(few.coef_, few.prior_scale * few.text_weights_, atol=1e-4)


def test_many_labels_make_it_the_logistic_regression_of_the_embeddings(data, mets):
    # With a negligible pull towards the text, the fit is a plain logistic
    # regression of the embeddings (its penalty is on the deviation only).
    X, Y, _ = data
    Z = mets.encode_ecg(X).astype(np.float64)
    few = FewShotECGClassifier(mets, C=1e4, max_iter=5000, tol=1e-9).fit(X, Y[:, 0])
    lr = LogisticRegression(C=1e4, tol=1e-10, max_iter=10000).fit(Z, Y[:, 0])
    np.testing.assert_allclose(few.decision_function(X), lr.decision_function(Z), rtol=0.02, atol=0.05)
    # As C grows, the weights leave the text for the labels: the log-loss on them falls.
    losses = []
    for C in (0.01, 1.0, 100.0):
        p = FewShotECGClassifier(mets, C=C).fit(X, Y).predict_proba(X)
        losses.append(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)))
    assert losses[0] > losses[1] > losses[2]


def test_the_gradient_is_that_of_the_objective():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(9, 4))
    offset = rng.normal(size=(9, 3))
    for multilabel, Y in ((True, rng.integers(0, 2, (9, 3)).astype(float)),
                          (False, np.eye(3)[rng.integers(0, 3, 9)])):
        err = check_grad(lambda t: _objective(t, Z, offset, Y, multilabel, 0.7, 1e-2)[0],
                         lambda t: _objective(t, Z, offset, Y, multilabel, 0.7, 1e-2)[1],
                         rng.normal(size=15))
        assert err < 1e-5


def test_multilabel_and_multiclass(data, mets):
    X, Y, _ = data
    few = FewShotECGClassifier(mets).fit(X[:60], Y[:60])
    assert few.multilabel_ and list(few.classes_) == ["NORM", "MI", "STTC", "CD", "HYP"]
    proba = few.predict_proba(X[60:])
    assert proba.shape == (36, 5) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(few.predict(X[60:]), (proba > 0.5).astype(int))
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-few.decision_function(X[60:]))))
    # Single-label classes: a softmax over them.
    y = np.array(["NORM", "MI", "STTC"])[np.argmax(Y[:, :3], axis=1)]
    few = FewShotECGClassifier(mets).fit(X[:60], y[:60])
    assert not few.multilabel_ and list(few.classes_) == ["MI", "NORM", "STTC"]
    proba = few.predict_proba(X[60:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(few.predict(X[60:]), few.classes_[proba.argmax(axis=1)])
    assert few.score(X, y) == np.mean(few.predict(X) == y)
    # Two classes: one decision, the second class's logit minus the first's.
    y2 = np.where(Y[:, 0] == 1, "NORM", "other")
    few = FewShotECGClassifier(mets, class_descriptions={"other": "abnormal ECG"}).fit(X[:60], y2[:60])
    logits = mets.encode_ecg(X[60:]) @ few.coef_.T + few.intercept_
    np.testing.assert_allclose(few.decision_function(X[60:]), logits[:, 1] - logits[:, 0], rtol=1e-5, atol=1e-6)


def test_probabilities_follow_the_labels_seen(data, mets):
    # Calibrated on the records it was fitted on: mean predicted probability
    # near the fraction of positives (the logistic fit's first-order condition).
    X, Y, _ = data
    few = FewShotECGClassifier(mets, C=10.0).fit(X, Y)
    np.testing.assert_allclose(few.predict_proba(X).mean(axis=0), Y.mean(axis=0), atol=0.02)
    zero = ZeroShotECGClassifier(mets).fit(X, Y).predict_proba(X).mean(axis=0)
    assert np.abs(few.predict_proba(X).mean(axis=0) - Y.mean(axis=0)).sum() < np.abs(zero - Y.mean(axis=0)).sum()


def test_labels_improve_the_ranking_of_a_learnable_class(data, mets):
    # A class the text cannot know (a made-up name) but the embeddings can:
    # the labels move the weights to it.
    X, Y, _ = data
    y = Y[:, 0]
    train, test = np.arange(0, 96, 2), np.arange(1, 96, 2)
    desc = {0: "zzz", 1: "qqq"}
    zero = ZeroShotECGClassifier(mets, class_descriptions=desc).fit(X[train], y[train])
    few = FewShotECGClassifier(mets, class_descriptions=desc, C=10.0).fit(X[train], y[train])
    assert roc_auc_score(y[test], few.decision_function(X[test])) > max(
        0.6, roc_auc_score(y[test], zero.decision_function(X[test])))


def test_bad_input(data, mets):
    X, Y, _ = data
    with pytest.raises(ValueError, match="already be fitted"):
        FewShotECGClassifier(METSPretrainer()).fit(X, Y)
    with pytest.raises(TypeError, match="fitted METSPretrainer"):
        FewShotECGClassifier("not a model").fit(X, Y)
    with pytest.raises(ValueError, match="class_names"):
        FewShotECGClassifier(mets).fit(X, Y[:, :3])
    with pytest.raises(ValueError, match="y is None|requires y"):
        FewShotECGClassifier(mets).fit(X, None)
    with pytest.raises(ValueError, match="NaN"):
        FewShotECGClassifier(mets).fit(X, np.where(Y == 1, np.nan, 0.0))
    with pytest.raises(ValueError, match="C"):
        FewShotECGClassifier(mets, C=-1).fit(X, Y)
    with pytest.raises(ValueError, match="prior_scale"):
        FewShotECGClassifier(mets, prior_scale=0).fit(X, Y)
    with pytest.raises(ValueError, match="lead"):
        FewShotECGClassifier(mets).fit(X[:, :3], Y)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        FewShotECGClassifier(mets, max_iter=1).fit(X, Y)
    few = FewShotECGClassifier(mets).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        few.decision_function(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        FewShotECGClassifier(mets, C=0).fit(X, Y).predict(X[:, :3])


def test_clone_and_grid_search(data, mets):
    X, Y, _ = data
    y = Y[:, 0]
    clf = FewShotECGClassifier(mets, class_descriptions={0: "abnormal ECG", 1: "normal ECG"})
    assert clone(clf).pretrainer is mets
    frozen = clone(clf).set_params(pretrainer=FrozenEstimator(mets)).fit(X, y)
    np.testing.assert_array_equal(frozen.decision_function(X), clone(clf).fit(X, y).decision_function(X))
    grid = GridSearchCV(clf, {"C": [0.0, 0.1, 10.0]}, cv=StratifiedKFold(3), scoring="roc_auc").fit(X, y)
    assert grid.best_params_["C"] in (0.0, 0.1, 10.0)
    assert grid.best_estimator_.pretrainer is mets
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


class SelfPretrainedFewShot(FewShotECGClassifier):
    """Few-shot classifier that pretrains a tiny METS on the records ``fit`` sees.

    scikit-learn's common checks draw tabular X of every shape, which a METS
    model fitted beforehand cannot embed; this test-only variant fits a tiny
    METS, with made-up reports, on the X given to ``fit``, so every common
    check runs for real.
    """

    def fit(self, X, y):
        try:
            # METS pretrains on two records at least: a single one is repeated.
            records = np.asarray(X)
            records = records if len(records) > 1 else np.concatenate([records, records])
            reports = np.array([f"finding {i % 4}" for i in range(len(records))], dtype=object)
            self.own_pretrainer_ = tiny_mets().fit(records, reports=reports)
        except Exception:
            # Bad X (NaN, sparse, strings...): fit below refuses it with its own message.
            self.own_pretrainer_ = None
        return super().fit(X, y)

    def _zero_shot(self):
        zero_shot = super()._zero_shot()
        if getattr(self, "own_pretrainer_", None) is not None:
            zero_shot.set_params(pretrainer=self.own_pretrainer_)
        return zero_shot


def _checks_classifier():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 1, 40)).astype(np.float32)
    reports = np.array(["normal ecg", "infarction", "left bundle branch block", "hypertrophy"] * 5,
                       dtype=object)
    return SelfPretrainedFewShot(tiny_mets().fit(X, reports=reports))


_BATCH_FLOAT32 = ("the tiny METS's float32 embedding of a record changes by about 1e-7 with the "
                  "batch it is embedded in, and the fitted weights scale that above the check's "
                  "1e-7 tolerance on the logits")
_COPY_HASH = ("the check compares joblib.hash of a deep copy of the fitted pretrainer, and a "
              "deep-copied torch model hashes differently although nothing changed")


@parametrize_with_checks(
    [_checks_classifier()],
    expected_failed_checks=lambda est: {
        "check_estimators_overwrite_params": _COPY_HASH,
        "check_methods_subset_invariance": _BATCH_FLOAT32,
    },
)
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_a_column_without_positives_keeps_its_text_ranking(data, mets):
    X, Y, _ = data
    Y = Y.copy()
    Y[:60, 4] = 0  # no HYP among the labelled records
    few = FewShotECGClassifier(mets).fit(X[:60], Y[:60])
    zero = ZeroShotECGClassifier(mets).fit(X[:60], Y[:60])
    proba = few.predict_proba(X[60:])[:, 4]
    assert proba.max() < 0.5  # the labels said "never"
    rho = np.corrcoef(few.decision_function(X[60:])[:, 4], zero.decision_function(X[60:])[:, 4])[0, 1]
    assert rho > 0.5


@pytest.fixture(scope="module")
def two_leads(data):
    """A METS model of 12 leads (pretrained with lead masking) and a classifier of leads I and II."""
    from sklearn_ecg.preprocessing import SelectLeads

    X, Y, reports = data
    names = list(load_ptbxl_sample().lead_names)
    mets = tiny_mets(lead_names=names, lead_masking=0.5).fit(X, reports=reports)
    two = SelectLeads(leads=["I", "II"]).fit_transform(X)
    return mets, names, two, FewShotECGClassifier(mets, lead_names=["I", "II"]).fit(two[:60], Y[:60])


def test_records_with_fewer_leads(data, two_leads):
    from sklearn_ecg.preprocessing import LeadLayout

    _, Y, _ = data
    mets, names, two, few = two_leads
    placed = LeadLayout(leads=["I", "II"], layout=names).fit_transform(two)
    expected = FewShotECGClassifier(mets).fit(placed[:60], Y[:60])
    np.testing.assert_allclose(few.decision_function(two[60:]), expected.decision_function(placed[60:]),
                               rtol=1e-5, atol=1e-6)

def _forward_outputs(model, X, output):
    import torch

    forward = model.differentiable_forward(output).eval()
    with torch.no_grad():
        return forward(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))).numpy()


@pytest.mark.parametrize("target", ["multilabel", "multiclass", "binary"])
@pytest.mark.parametrize("scoring", ["similarity", "relative"])
@pytest.mark.parametrize("C", [1.0, 0.0])
def test_differentiable_forward_gives_the_methods_outputs(data, mets, target, scoring, C):
    X, Y, _ = data
    names = np.asarray(["NORM", "MI", "STTC", "CD", "HYP"])
    y = {"multilabel": Y[:60], "multiclass": names[Y[:60].argmax(axis=1)],
         "binary": np.where(Y[:60, 0] == 1, "NORM", "MI")}[target]
    few = FewShotECGClassifier(FrozenEstimator(mets), scoring=scoring, C=C).fit(X[:60], y)
    proba = _forward_outputs(few, X[60:76], "proba")
    decision = _forward_outputs(few, X[60:76], "decision")
    np.testing.assert_allclose(proba, few.predict_proba(X[60:76]), rtol=0, atol=1e-5)
    np.testing.assert_allclose(decision, few.decision_function(X[60:76]), rtol=0, atol=1e-5)
    assert decision.shape == ((16,) if target == "binary" else (16, 5))
    forward = few.differentiable_forward("decision")
    assert forward.n_leads == 12 and list(forward.classes) == list(few.classes_)
    with pytest.raises(ValueError, match="outputs one of"):
        few.differentiable_forward("transform")


def test_differentiable_forward_of_fewer_leads_and_its_explanation(two_leads):
    import torch

    from sklearn_ecg.inspection import explain_prediction

    _, _, two, few = two_leads
    np.testing.assert_allclose(_forward_outputs(few, two[60:70], "proba"), few.predict_proba(two[60:70]),
                               rtol=0, atol=1e-5)
    x = torch.from_numpy(np.ascontiguousarray(two[:2], dtype=np.float32)).requires_grad_(True)
    few.differentiable_forward("decision")(x)[:, 1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    e = explain_prediction(few, two[60:62], target="MI", output="decision", n_steps=16)
    assert e.attributions.shape == (2, 2, 128) and list(e.target_names) == ["MI", "MI"]
    change = e.scores - e.baseline_scores
    np.testing.assert_allclose(e.scores, few.decision_function(two[60:62])[:, 1], rtol=0, atol=1e-5)
    # Integrated gradients are complete: the attributions add up to the change of the score.
    np.testing.assert_allclose(e.attributions.sum(axis=(1, 2)), change, atol=0.02 + 0.05 * np.abs(change).max())


def test_crops_are_those_of_the_zero_shot_classifier(data, mets):
    X, Y, _ = data
    zero = ZeroShotECGClassifier(mets, crops=3, crop_length=0.75).fit(X[:60], Y[:60])
    few0 = FewShotECGClassifier(mets, crops=3, crop_length=0.75, C=0).fit(X[:60], Y[:60])
    np.testing.assert_array_equal(few0.decision_function(X[60:]), zero.decision_function(X[60:]))
    few = FewShotECGClassifier(mets, crops=3, crop_length=0.75).fit(X[:60], Y[:60])
    assert few.zero_shot_.crops == 3 and few.zero_shot_.crop_length == 0.75
    Z = np.mean([mets.encode_ecg(np.ascontiguousarray(X[60:, :, s:s + 96])) for s in (0, 16, 32)], axis=0)
    np.testing.assert_allclose(few.decision_function(X[60:]), Z @ few.coef_.T + few.intercept_, atol=1e-5)
    np.testing.assert_allclose(_forward_outputs(few, X[60:70], "proba"), few.predict_proba(X[60:70]),
                               rtol=0, atol=1e-5)


def test_classifiers_pickled_before_the_crops_still_work(data, mets):
    import pickle

    X, Y, _ = data
    few = FewShotECGClassifier(mets).fit(X[:60], Y[:60])
    # What a pickle written before crops and crop_length existed holds: neither
    # the few-shot classifier nor its zero-shot classifier has them.
    old = pickle.loads(pickle.dumps(few))
    for owner in (old, old.zero_shot_):
        del owner.crops, owner.crop_length
    loaded = pickle.loads(pickle.dumps(old))
    for owner in (loaded, loaded.zero_shot_):
        assert (owner.get_params()["crops"], owner.get_params()["crop_length"]) == (1, 0.8)
    np.testing.assert_array_equal(loaded.decision_function(X[60:]), few.decision_function(X[60:]))
    clone(loaded).fit(X[:60], Y[:60])
