"""Tests of ZeroShotECGClassifier on a tiny METS model."""


import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample
from _text_encoders import BagOfWords
from sklearn_ecg.prompts import PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
from sklearn_ecg.zero_shot import DEFAULT_TEMPLATES, PTBXL_SUPERCLASS_DESCRIPTIONS


bag_of_words = BagOfWords()


def _fit_tiny(X, reports):
    return METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16,
                          text_encoder=bag_of_words, translate_reports=False,
                          random_state=0).fit(X, reports=reports)


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample()
    return d.X[:48, :, :128].copy(), d.y[:48], np.asarray(d.report[:48], dtype=object)


@pytest.fixture(scope="module")
def mets(data):
    X, _, reports = data
    return _fit_tiny(X, reports)


def test_multilabel_indicator_uses_the_superclass_descriptions(data, mets):
    X, Y, _ = data
    clf = ZeroShotECGClassifier(mets).fit(X, Y)
    assert list(clf.classes_) == ["NORM", "MI", "STTC", "CD", "HYP"] and clf.multilabel_
    scores = clf.decision_function(X)
    assert scores.shape == (48, 5) and np.all(np.abs(scores) <= 1 + 1e-5)
    proba = clf.predict_proba(X)
    assert proba.shape == (48, 5) and np.all((proba > 0) & (proba < 1))
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    # Works with sklearn metrics on the raw similarities.
    per_class = [roc_auc_score(Y[:, k], scores[:, k]) for k in range(Y.shape[1])]
    assert roc_auc_score(Y, scores, average="macro") == pytest.approx(np.mean(per_class))
    # The default: the statement descriptions of PTB-XL, each in both default templates.
    for k, name in enumerate(clf.classes_):
        assert len(clf.prompts_[k]) == len(PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS[name]) * len(DEFAULT_TEMPLATES)
    assert "The report of the ECG is that sinus rhythm, normal ECG" in clf.prompts_[0]
    hand = ZeroShotECGClassifier(mets, class_descriptions=PTBXL_SUPERCLASS_DESCRIPTIONS).fit(X, Y)
    assert len(hand.prompts_[0]) == len(PTBXL_SUPERCLASS_DESCRIPTIONS["NORM"]) * len(DEFAULT_TEMPLATES)


def test_scores_are_cosine_to_averaged_prompts(data, mets):
    X, Y, _ = data
    descriptions = {"a": ["left bundle branch block", "LBBB"], "b": "normal"}
    templates = ["The ECG of {}.", "{name}, a type of diagnostic"]
    clf = ZeroShotECGClassifier(mets, template=templates, class_descriptions=descriptions)
    y = np.where(Y[:, 0] == 1, "b", "a")
    clf.fit(X, y)
    prompts_a = [t.replace("{}", d).replace("{name}", d) for d in descriptions["a"] for t in templates]
    assert clf.prompts_[0] == prompts_a
    emb = mets.encode_text(prompts_a).mean(axis=0)
    emb /= np.linalg.norm(emb)
    np.testing.assert_allclose(clf.class_embeddings_[0], emb, rtol=1e-5, atol=1e-6)
    sims = mets.encode_ecg(X) @ clf.class_embeddings_.T
    np.testing.assert_allclose(clf.decision_function(X), sims[:, 1] - sims[:, 0], atol=1e-6)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    expected = np.exp(mets.logit_scale_ * sims)
    np.testing.assert_allclose(proba, expected / expected.sum(1, keepdims=True), rtol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), np.array(["a", "b"])[sims.argmax(1)])


def test_int_labels_use_descriptions_or_their_string(data, mets):
    X, Y, _ = data
    y = Y.argmax(axis=1)
    clf = ZeroShotECGClassifier(mets, template="The ECG of {}, a type of diagnostic.",
                                class_descriptions={0: "normal ECG"}).fit(X, y)
    assert clf.prompts_[0] == ["The ECG of normal ECG, a type of diagnostic."]
    assert clf.prompts_[1] == [f"The ECG of {clf.classes_[1]}, a type of diagnostic."]
    assert set(clf.predict(X)) <= set(clf.classes_)


@pytest.mark.parametrize(
    "template, match",
    [("The ECG of {label}.", r"\{label\}"), ("No placeholder", "placeholder"),
     (["ok {}", "bad {0} {x}"], r"\{x\}"), ("{", "not a valid format string")],
)
def test_bad_templates(data, mets, template, match):
    X, Y, _ = data
    with pytest.raises(ValueError, match=match):
        ZeroShotECGClassifier(mets, template=template).fit(X, Y)


def test_other_errors(data, mets):
    X, Y, _ = data
    with pytest.raises(ValueError, match="already be fitted"):
        ZeroShotECGClassifier(METSPretrainer()).fit(X, Y)
    with pytest.raises(TypeError, match="fitted METSPretrainer"):
        ZeroShotECGClassifier("not a model").fit(X, Y)
    with pytest.raises(ValueError, match="class_names"):
        ZeroShotECGClassifier(mets).fit(X, Y[:, :3])
    with pytest.raises(ValueError, match="non-empty strings"):
        ZeroShotECGClassifier(mets, class_descriptions={"NORM": ""}).fit(X, np.array(["NORM", "MI"] * 24))
    clf = ZeroShotECGClassifier(mets).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        clf.decision_function(X[:, :3])


def test_clone_shares_the_fitted_pretrainer(data, mets):
    X, Y, _ = data
    clf = ZeroShotECGClassifier(mets, template="An ECG showing {}.")
    copy = clone(clf)
    assert copy.pretrainer is mets and copy.template == clf.template
    frozen = ZeroShotECGClassifier(FrozenEstimator(mets)).fit(X, Y)
    np.testing.assert_array_equal(frozen.decision_function(X), ZeroShotECGClassifier(mets).fit(X, Y).decision_function(X))


def test_cross_val_and_grid_search_over_template(data, mets):
    X, Y, _ = data
    y = np.where(Y[:, 0] == 1, "NORM", "MI")
    scores = cross_val_score(ZeroShotECGClassifier(mets), X, y, cv=KFold(3))
    # Each fold's score is the accuracy of the classifier fitted on the other folds.
    expected = [accuracy_score(y[test], ZeroShotECGClassifier(mets).fit(X[train], y[train])
                               .predict(X[test])) for train, test in KFold(3).split(X)]
    np.testing.assert_allclose(scores, expected)
    clf = ZeroShotECGClassifier(mets).fit(X, y)
    assert clf.score(X, y) == accuracy_score(y, clf.predict(X))
    grid = GridSearchCV(ZeroShotECGClassifier(mets),
                        {"template": ["The ECG of {}, a type of diagnostic.", "An ECG showing {}."]},
                        cv=3, scoring="roc_auc").fit(X, y)
    assert grid.best_params_["template"] in grid.param_grid["template"]
    assert grid.best_estimator_.pretrainer is mets


class SelfPretrainedZeroShot(ZeroShotECGClassifier):
    """Zero-shot classifier that pretrains a tiny METS on the records ``fit`` sees.

    scikit-learn's common checks draw tabular X of every shape, which a METS
    model fitted beforehand cannot embed (it refuses other lengths and lead
    counts). This test-only variant fits a tiny METS, with made-up reports,
    on the X given to ``fit``, so every common check runs for real.
    """

    def fit(self, X, y):
        n_records = X.shape[0] if hasattr(X, "shape") else len(np.asarray(X))
        reports = np.array([f"finding {i % 4}" for i in range(n_records)], dtype=object)
        try:
            self.own_pretrainer_ = _fit_tiny(X, reports)
        except Exception:
            # Bad X (NaN, sparse, strings...): fit below refuses it with its own message.
            self.own_pretrainer_ = None
        return super().fit(X, y)

    def _pretrainer(self):
        own = getattr(self, "own_pretrainer_", None)
        return own if own is not None else super()._pretrainer()


def _checks_classifier():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 1, 40)).astype(np.float32)
    reports = np.array(["normal ecg", "infarction", "left bundle branch block", "hypertrophy"] * 5, dtype=object)
    return SelfPretrainedZeroShot(_fit_tiny(X, reports))


# A zero-shot model is not trained on y, so it cannot reach the accuracy the
# checks demand on separable toy data.
_NOT_TRAINED = "zero-shot: y only names the classes, so toy data cannot be fitted"
_COPY_HASH = ("the check compares joblib.hash of a deep copy of the fitted pretrainer, and a "
              "deep-copied torch model hashes differently although nothing changed")


@parametrize_with_checks(
    [_checks_classifier()],
    expected_failed_checks=lambda est: {
        "check_classifiers_train": _NOT_TRAINED,
        "check_estimators_overwrite_params": _COPY_HASH,
    },
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("scoring", ["similarity", "relative"])
def test_crops_average_the_windows_scores(data, mets, scoring):
    import torch

    X, Y, _ = data
    whole = ZeroShotECGClassifier(mets, scoring=scoring).fit(X, Y)
    np.testing.assert_array_equal(
        ZeroShotECGClassifier(mets, scoring=scoring, crops=1, crop_length=0.5).fit(X, Y).decision_function(X),
        whole.decision_function(X))
    clf = ZeroShotECGClassifier(mets, scoring=scoring, crops=3, crop_length=0.75).fit(X, Y)
    assert clf._windows(128) == [(0, 96), (16, 96), (32, 96)]
    # The windows at samples 0, 16 and 32, 96 samples each: the mean of their scores.
    expected = np.mean([whole.decision_function(np.ascontiguousarray(X[..., s:s + 96])) for s in (0, 16, 32)],
                       axis=0)
    np.testing.assert_allclose(clf.decision_function(X), expected, rtol=0, atol=1e-6)
    assert not np.allclose(clf.decision_function(X), whole.decision_function(X))
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    # The differentiable forward averages the same windows.
    for output, method in (("proba", clf.predict_proba), ("decision", clf.decision_function)):
        forward = clf.differentiable_forward(output).eval()
        with torch.no_grad():
            out = forward(torch.from_numpy(X[:8].astype(np.float32))).numpy()
        np.testing.assert_allclose(out, method(X[:8]), rtol=0, atol=1e-5)


def test_bad_crops(data, mets):
    X, Y, _ = data
    for params, match in ((dict(crops=0), "crops"), (dict(crops=2.5), "crops"),
                          (dict(crop_length=0.0), "crop_length"), (dict(crop_length=1.5), "crop_length")):
        with pytest.raises(ValueError, match=match):
            ZeroShotECGClassifier(mets, **params).fit(X, Y)
