"""Tests of sklearn_ecg.prompts: class descriptions from statements, few-label selection."""

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import roc_auc_score

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.prompts import (
    PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS,
    FewLabelPromptSelector,
    class_descriptions_from_statements,
)
from _text_encoders import BagOfWords

SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]


@pytest.fixture(scope="module")
def statements():
    return pd.read_csv(files("sklearn_ecg.datasets") / "data" / "scp_statements.csv", index_col=0)


def test_every_superclass_gets_the_descriptions_of_its_statements(statements):
    flat = class_descriptions_from_statements(statements)
    # The default differs in NORM only: "normal ECG" is in sinus rhythm (statement SR).
    assert {**flat, "NORM": ["sinus rhythm, normal ECG"]} == PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
    assert flat["NORM"] == ["normal ECG"]
    assert list(flat) == SUPERCLASSES
    for cls in SUPERCLASSES:
        expected = statements.loc[statements["diagnostic_class"] == cls, "description"].tolist()
        assert sorted(flat[cls]) == sorted(expected) and expected
    # Form and rhythm statements (no diagnostic class) are left out.
    every = {d for descriptions in flat.values() for d in descriptions}
    assert "sinus rhythm" not in every and "atrial fibrillation" not in every
    grouped = class_descriptions_from_statements(statements, weighting="subclass")
    assert list(grouped) == SUPERCLASSES
    for cls in SUPERCLASSES:
        rows = statements[statements["diagnostic_class"] == cls]
        assert len(grouped[cls]) == rows["diagnostic_subclass"].nunique()
        assert sorted(d for g in grouped[cls] for d in g) == sorted(flat[cls])
        for group in grouped[cls]:
            subclasses = set(rows.loc[rows["description"].isin(group), "diagnostic_subclass"])
            assert len(subclasses) == 1


# What the package shipped as hand-written literals before these tables were derived
# from scp_statements.csv or moved to package data: the public values must not change.
_STATEMENT_DESCRIPTIONS_AS_SHIPPED = {
    "NORM": ["sinus rhythm, normal ECG"],  # "normal ECG" before 0.1.0's retrained mets-ptbxl
    "MI": [
        "inferior myocardial infarction", "anteroseptal myocardial infarction",
        "inferolateral myocardial infarction", "anterior myocardial infarction",
        "anterolateral myocardial infarction", "subendocardial injury in anteroseptal leads",
        "lateral myocardial infarction", "subendocardial injury in anterolateral leads",
        "inferoposterolateral myocardial infarction", "inferoposterior myocardial infarction",
        "subendocardial injury in inferior leads", "subendocardial injury in lateral leads",
        "posterior myocardial infarction", "subendocardial injury in inferolateral leads",
    ],
    "STTC": [
        "non-diagnostic T abnormalities", "non-specific ST changes", "digitalis-effect",
        "long QT-interval", "non-specific ischemic", "ischemic in anterolateral leads",
        "ischemic in inferior leads", "ischemic in inferolateral leads",
        "ischemic in anteroseptal leads", "ischemic in lateral leads",
        "ST-T changes compatible with ventricular aneurysm",
        "electrolytic disturbance or drug (former EDIS)", "ischemic in anterior leads",
    ],
    "CD": [
        "left anterior fascicular block", "incomplete right bundle branch block",
        "first degree AV block", "non-specific intraventricular conduction disturbance (block)",
        "complete right bundle branch block", "complete left bundle branch block",
        "left posterior fascicular block", "Wolf-Parkinson-White syndrome",
        "incomplete left bundle branch block", "third degree AV block", "second degree AV block",
    ],
    "HYP": [
        "left ventricular hypertrophy", "left atrial overload/enlargement",
        "right ventricular hypertrophy", "right atrial overload/enlargement", "septal hypertrophy",
    ],
}
_HAND_WRITTEN_AS_SHIPPED = {
    "NORM": ["normal ECG", "sinus rhythm, normal ECG", "no abnormality"],
    "MI": ["myocardial infarction", "infarction", "old myocardial infarction",
           "Q waves of infarction"],
    "STTC": ["ST/T change", "ST-T wave abnormality", "ischemic ST depression",
             "T wave inversion"],
    "CD": ["conduction disturbance", "bundle branch block", "atrioventricular block",
           "left anterior fascicular block"],
    "HYP": ["hypertrophy", "left ventricular hypertrophy", "right ventricular hypertrophy",
            "ventricular hypertrophy"],
}


def test_statement_descriptions_are_derived_from_the_shipped_table():
    assert PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS == _STATEMENT_DESCRIPTIONS_AS_SHIPPED
    assert list(PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS) == SUPERCLASSES


def test_hand_written_descriptions_come_from_package_data():
    from sklearn_ecg._tables import read_lists
    from sklearn_ecg.zero_shot import PTBXL_SUPERCLASS_DESCRIPTIONS

    assert PTBXL_SUPERCLASS_DESCRIPTIONS == _HAND_WRITTEN_AS_SHIPPED
    assert list(PTBXL_SUPERCLASS_DESCRIPTIONS) == SUPERCLASSES
    # Each reader returns its own copy, so a caller editing it changes no other.
    copy = read_lists("ptbxl_superclass_descriptions.tsv", "class", "description")
    copy["NORM"].append("edited")
    assert PTBXL_SUPERCLASS_DESCRIPTIONS["NORM"][-1] == "no abnormality"


def test_custom_table_columns_classes_and_translate():
    table = pd.DataFrame({
        "label": ["B", "A", "B", "A", None, "B"],
        "text": ["bee one", "ay one", "bee two", "ay one", "nothing", None],
        "group": ["b1", "a1", "b2", "a1", None, "b2"],
    })
    flat = class_descriptions_from_statements(table, "label", "text")
    assert flat == {"A": ["ay one"], "B": ["bee one", "bee two"]}
    grouped = class_descriptions_from_statements(table, "label", "text", subclass_column="group",
                                                 classes=["B", "A"], translate=str.upper,
                                                 weighting="subclass")
    assert grouped == {"B": [["BEE ONE"], ["BEE TWO"]], "A": [["AY ONE"]]}


@pytest.mark.parametrize(
    "table, kwargs, error, match",
    [
        (np.zeros((2, 2)), {}, TypeError, "pandas DataFrame"),
        (pd.DataFrame({"description": ["x"]}), {}, ValueError, r"lacks the column\(s\) \['diagnostic_class'"),
        (pd.DataFrame({"description": ["x"], "diagnostic_class": ["A"]}), {"weighting": "subclass"},
         ValueError, "diagnostic_subclass"),
        (pd.DataFrame({"description": ["x"], "diagnostic_class": [None]}),
         {"weighting": "statement"}, ValueError, "no row with both a class"),
        (pd.DataFrame({"description": ["x"], "diagnostic_class": ["A"]}),
         {"weighting": "statement", "classes": ["A", "Z"]}, ValueError, r"class\(es\) \['Z'\]"),
        (pd.DataFrame({"description": [3], "diagnostic_class": ["A"]}),
         {"weighting": "statement"}, TypeError, "must hold strings"),
        (pd.DataFrame({"description": ["x"], "diagnostic_class": ["A"]}),
         {"weighting": "class"}, ValueError, "weighting must be one of"),
        (pd.DataFrame({"description": ["x"], "diagnostic_class": ["A"]}),
         {"weighting": "statement", "translate": lambda s: ""}, ValueError, "non-empty string"),
    ],
)
def test_bad_tables_get_clear_errors(table, kwargs, error, match):
    with pytest.raises(error, match=match):
        class_descriptions_from_statements(table, **kwargs)


@pytest.fixture(scope="module")
def mets():
    d = load_ptbxl_sample()
    return METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16,
                          text_encoder=BagOfWords(), translate_reports=False,
                          random_state=0).fit(d.X[:32, :, :128], reports=d.report[:32])


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_grouped_descriptions_weigh_every_group_the_same(mets):
    X = load_ptbxl_sample().X[:6, :, :128]
    groups = {"a": [["one x", "two x", "three x"], ["four y"]], "b": ["five z", "six z"]}
    clf = ZeroShotECGClassifier(mets, template="{}", class_descriptions=groups).fit(X, list("ababab"))
    emb = mets.encode_text(["one x", "two x", "three x", "four y"])
    expected = _unit(_unit(emb[:3].mean(0)) + emb[3])
    np.testing.assert_allclose(clf.class_embeddings_[0], expected, rtol=1e-5, atol=1e-6)
    # A flat list keeps the plain mean over its prompts.
    np.testing.assert_allclose(clf.class_embeddings_[1], _unit(mets.encode_text(["five z", "six z"]).mean(0)),
                               rtol=1e-5, atol=1e-6)
    assert clf.prompts_[0] == ["one x", "two x", "three x", "four y"]
    with pytest.raises(ValueError, match="groups"):
        ZeroShotECGClassifier(mets, class_descriptions={"a": [["x"], []], "b": "y"}).fit(X, list("ababab"))


def test_statement_descriptions_work_in_the_zero_shot_classifier(mets):
    d = load_ptbxl_sample()
    X, Y = d.X[:20, :, :128], d.y[:20]
    clf = ZeroShotECGClassifier(mets, class_descriptions=PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS).fit(X, Y)
    assert list(clf.classes_) == SUPERCLASSES
    assert len(clf.prompts_[1]) == 2 * len(PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS["MI"])
    assert clf.decision_function(X).shape == (20, 5)


class _ToyPretrainer(BaseEstimator):
    """A fitted stand-in whose joint space is known: records embed as given, texts by word."""

    directions = {"good": np.array([1.0, 0.0, 0.0]), "bad": np.array([0.0, 1.0, 0.0]),
                  "other": np.array([0.0, 0.0, 1.0])}

    def fit(self, X=None, y=None):
        self.net_ = True
        self.n_leads_ = 3
        return self

    def encode_ecg(self, X):
        return _unit(np.asarray(X, dtype=np.float64)[:, :, 0]).astype(np.float32)

    def encode_text(self, texts):
        out = [sum(self.directions[w] for w in t.split() if w in self.directions) for t in texts]
        return _unit(np.asarray(out, dtype=np.float64) + 1e-3).astype(np.float32)

    @property
    def logit_scale_(self):
        return 10.0


def test_few_label_selector_picks_the_better_description():
    rng = np.random.default_rng(0)
    y = np.array(["pos"] * 20 + ["neg"] * 20)
    # Records of class "pos" point along "good", the others along "other"; "bad" is unrelated.
    X = np.zeros((40, 3, 4))
    X[:20, 0, :] = 1.0
    X[20:, 2, :] = 1.0
    X[:, :, 0] += rng.normal(scale=0.3, size=(40, 3))
    toy = _ToyPretrainer().fit()
    candidates = {"pos": ["bad sign", "good sign", "bad other"], "neg": ["other", "good"]}
    selector = FewLabelPromptSelector(toy, candidates=candidates, template="{}", n_descriptions=1)
    selector.fit(X, y)
    assert selector.selected_descriptions_ == {"neg": ["other"], "pos": ["good sign"]}
    scores = selector.candidate_scores_["pos"]
    assert scores["good sign"] > 0.9 and scores["good sign"] > scores["bad sign"]
    assert selector.classifier_.class_descriptions == {"neg": ["other"], "pos": ["good sign"]}
    assert (selector.predict(X) == y).mean() > 0.9
    # The zero-shot classifier on the worse description ranks the records worse.
    worse = ZeroShotECGClassifier(toy, template="{}", class_descriptions={"pos": "bad sign", "neg": "good"})
    worse.fit(X, y)
    auc_selected = roc_auc_score(y == "pos", selector.decision_function(X))
    auc_worse = roc_auc_score(y == "pos", worse.decision_function(X))
    assert auc_selected > auc_worse
    assert clone(selector).pretrainer is toy
    # Two descriptions kept, best first.
    two = FewLabelPromptSelector(toy, candidates=candidates, template="{}", n_descriptions=2).fit(X, y)
    assert two.selected_descriptions_["pos"][0] == "good sign" and len(two.selected_descriptions_["pos"]) == 2


def test_few_label_selector_multilabel_and_errors(mets):
    d = load_ptbxl_sample()
    X, Y = d.X[:40, :, :128], d.y[:40]
    keep = (Y.sum(0) > 0) & (Y.sum(0) < len(Y))
    assert keep.all()
    selector = FewLabelPromptSelector(mets, n_descriptions=2).fit(X, Y)
    assert list(selector.classes_) == SUPERCLASSES and selector.multilabel_
    assert all(1 <= len(v) <= 2 for v in selector.selected_descriptions_.values())
    assert selector.decision_function(X).shape == (40, 5)
    with pytest.raises(ValueError, match=r"'n_descriptions' parameter .* range \[1, inf\)"):
        FewLabelPromptSelector(mets, n_descriptions=0).fit(X, Y)
    with pytest.raises(ValueError, match="both in and out of it"):
        FewLabelPromptSelector(mets).fit(X, np.c_[Y[:, :4], np.ones(40, int)])
    with pytest.raises(TypeError, match="'candidates' parameter of FewLabelPromptSelector must be an instance of 'dict'"):
        FewLabelPromptSelector(mets, candidates=["x"]).fit(X, Y)
