"""Tests of ECGClassifier: fine-tuning a pretrained encoder, and the same network from scratch."""

import json
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from _text_encoders import BagOfWords
from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer, PretrainedModelError, load_pretrained
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.preprocessing import PadOrCrop

TINY = dict(max_epochs=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample(leads=["II", "V1", "V5"])
    n = 48
    return d.X[:n, :, :128].copy(), d.y[:n], np.asarray(d.patient_id[:n]), np.asarray(d.report[:n], dtype=object)


@pytest.fixture(scope="module")
def lcd(data):
    X = data[0]
    return LCDPretrainer(width=0.0625, projector_dim=32, predictor_dim=32, max_epochs=1, batch_size=16,
                         random_state=0).fit(X)


@pytest.fixture(scope="module")
def mets(data):
    X, _, _, reports = data
    return METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, text_encoder=BagOfWords(),
                          translate_reports=False, random_state=0).fit(X, reports=reports)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_multilabel_fine_tuning_of_lcd(data, lcd):
    X, Y, groups, _ = data
    clf = ECGClassifier(lcd, **TINY).fit(X, Y, groups=groups)
    assert clf.multilabel_ and clf.architecture_ == "lcd"
    np.testing.assert_array_equal(clf.classes_, np.arange(5))
    proba = clf.predict_proba(X)
    assert proba.shape == (48, 5) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert clf.decision_function(X).shape == (48, 5)
    # One copy of the single-lead encoder per lead, concatenated into the head.
    module = clf.net_.module_
    assert len(module.encoders) == 3 and module.head.in_features == 3 * lcd.encoder_.out_features
    assert 1 <= clf.best_epoch_ <= 2 and len(clf.history_) == 2
    assert "valid_loss" in clf.history_[-1]


def test_the_pretrainer_is_never_modified(data, lcd):
    X, Y, groups, _ = data
    before, emb = _state(lcd.net_.module_), lcd.transform(X)
    clf = ECGClassifier(lcd, lr=1e-2, **TINY).fit(X, Y, groups=groups)
    _assert_same_state(before, _state(lcd.net_.module_))
    np.testing.assert_array_equal(emb, lcd.transform(X))
    # ...and the fine-tuned copies did move away from it.
    tuned = clf.net_.module_.encoders[0].state_dict()
    start = lcd.encoder_.state_dict()
    assert any(not torch.equal(tuned[k].cpu(), start[k].cpu()) for k in start)
    assert all(p.requires_grad for p in lcd.net_.module_.encoder.parameters())


def test_standardize_is_applied_as_by_the_pretrainer(data):
    X = data[0]
    lcd = LCDPretrainer(width=0.0625, projector_dim=16, predictor_dim=16, standardize="record", max_epochs=1,
                        batch_size=16, random_state=0).fit(X)
    clf = ECGClassifier(lcd, **TINY).fit(X, data[1])
    module = clf.net_.module_
    assert module.standardize == "record"
    # With the head's weights as the identity, the features are the pretrainer's embeddings.
    lcd_copy = ECGClassifier(lcd, max_epochs=1, random_state=0)._build_module(
        "lcd", {"width": 0.0625, "standardize": "record"}, lcd.encoder_contract_, 3, 5, True, None).eval()
    with torch.inference_mode():
        feats = lcd_copy.features(torch.from_numpy(X[:4])).numpy()
    np.testing.assert_allclose(feats, lcd.transform(X[:4]), rtol=1e-5, atol=1e-5)


def test_frozen_and_loaded_pretrainers(data, lcd, tmp_path):
    X, Y, groups, _ = data
    ref = ECGClassifier(lcd, **TINY).fit(X, Y).predict_proba(X)
    frozen = ECGClassifier(FrozenEstimator(lcd), **TINY).fit(X, Y).predict_proba(X)
    joblib.dump(lcd, tmp_path / "lcd.joblib")
    loaded = ECGClassifier(joblib.load(tmp_path / "lcd.joblib"), **TINY).fit(X, Y).predict_proba(X)
    np.testing.assert_allclose(frozen, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(loaded, ref, rtol=1e-6, atol=1e-6)


def test_mets_fine_tuning_and_from_scratch(data, mets):
    X, Y, groups, _ = data
    clf = ECGClassifier(mets, **TINY).fit(X, Y, groups=groups)
    module = clf.net_.module_
    assert clf.architecture_ == "mets" and len(module.encoders) == 1
    assert module.head.in_features == mets.encoder_.out_features == 32
    assert clf.predict_proba(X).shape == (48, 5)
    scratch = ECGClassifier(architecture="mets", encoder_params={"width": 0.0625}, **TINY).fit(X, Y)
    assert scratch.net_.module_.head.in_features == 32
    assert scratch.encoder_params_ == {"width": 0.0625, "standardize": None}


def test_from_scratch_lcd_and_shared_encoder(data):
    X, Y, _, _ = data
    scratch = ECGClassifier(encoder_params={"width": 0.0625}, **TINY).fit(X, Y)
    assert scratch.architecture_ == "lcd" and len(scratch.net_.module_.encoders) == 3
    shared = ECGClassifier(encoder_params={"width": 0.0625}, share_encoder=True, **TINY).fit(X, Y)
    assert len(shared.net_.module_.encoders) == 1
    n_enc = sum(p.numel() for p in shared.net_.module_.encoders.parameters())
    assert sum(p.numel() for p in scratch.net_.module_.encoders.parameters()) == 3 * n_enc
    assert shared.predict_proba(X).shape == (48, 5)


def test_string_labels_binary_and_multiclass(data, lcd):
    X, Y, _, _ = data
    y2 = np.where(Y[:, 0] == 1, "NORM", "other")
    clf = ECGClassifier(lcd, **TINY).fit(X, y2)
    assert list(clf.classes_) == ["NORM", "other"] and not clf.multilabel_
    assert clf.decision_function(X).shape == (48,)
    assert set(clf.predict(X)) <= {"NORM", "other"}
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # decision_function ranks as predict_proba's positive column.
    np.testing.assert_array_equal(np.argsort(clf.decision_function(X), kind="stable"),
                                  np.argsort(proba[:, 1], kind="stable"))
    y3 = np.array(["a", "b", "c"])[np.arange(48) % 3]
    clf3 = ECGClassifier(lcd, **TINY).fit(X, y3)
    assert clf3.decision_function(X).shape == (48, 3) and clf3.predict_proba(X).shape == (48, 3)
    assert 0 <= clf3.score(X, y3) <= 1


def test_freeze_epochs_keeps_the_encoder_fixed(data, lcd):
    X, Y, _, _ = data
    probe = ECGClassifier(lcd, freeze_epochs=2, lr=1e-2, **TINY).fit(X, Y)
    start = lcd.encoder_.state_dict()
    for enc in probe.net_.module_.encoders:
        _assert_same_state(start, enc.state_dict())  # weights and BatchNorm statistics
    assert all(p.requires_grad for p in probe.net_.module_.parameters())
    tuned = ECGClassifier(lcd, freeze_epochs=1, lr=1e-2, **TINY).fit(X, Y)
    after = tuned.net_.module_.encoders[0].state_dict()
    assert any(not torch.equal(after[k], start[k]) for k in start)


def test_separate_learning_rates_and_weight_decay(data, lcd):
    X, Y, _, _ = data
    clf = ECGClassifier(lcd, lr=1e-3, encoder_lr=1e-5, weight_decay=1e-4, max_epochs=1, random_state=0).fit(X, Y)
    groups = clf.net_.optimizer_.param_groups
    lrs = sorted(g["lr"] for g in groups)
    assert lrs == [1e-5, 1e-3] and all(g["weight_decay"] == 1e-4 for g in groups)
    n_encoder = sum(p.numel() for p in clf.net_.module_.encoders.parameters())
    assert sum(p.numel() for g in groups if g["lr"] == 1e-5 for p in g["params"]) == n_encoder


def test_class_weight(data, lcd):
    X, Y, _, _ = data
    clf = ECGClassifier(lcd, class_weight="balanced", validation_fraction=None, max_epochs=1)
    w = clf._class_weight_tensor(Y.astype(np.float32), np.arange(5), True).numpy()
    pos = Y.sum(axis=0)
    np.testing.assert_allclose(w, (len(Y) - pos) / pos, rtol=1e-6)
    y = np.array([0] * 40 + [1] * 8)
    w = clf._class_weight_tensor(y, np.array(["a", "b"]), False).numpy()
    np.testing.assert_allclose(w, [48 / 80, 48 / 16], rtol=1e-6)
    w = ECGClassifier(class_weight={"b": 3.0})._class_weight_tensor(y, np.array(["a", "b"]), False)
    np.testing.assert_allclose(w.numpy(), [1.0, 3.0])
    # Fitting with the weights works and leaves no weights in the fitted module.
    fitted = ECGClassifier(lcd, class_weight="balanced", **TINY).fit(X, Y)
    assert fitted.net_.module_.class_weight is None


def test_validation_split_keeps_patients_apart(data):
    X, Y, groups, _ = data
    clf = ECGClassifier(validation_fraction=0.25)
    train, valid = clf._split(len(X), groups, 0)
    assert set(groups[train]).isdisjoint(groups[valid]) and len(valid) > 0
    assert len(train) + len(valid) == len(X)
    assert ECGClassifier(validation_fraction=None)._split(len(X), groups, 0)[1] is None
    with pytest.raises(ValueError, match="single group"):
        clf._split(len(X), np.zeros(len(X)), 0)


def test_no_validation_keeps_the_last_epoch_and_patience_stops(data):
    X, Y, _, _ = data
    last = ECGClassifier(encoder_params={"width": 0.0625}, validation_fraction=None, **TINY).fit(X, Y)
    assert last.best_epoch_ == 2 and "valid_loss" not in last.history_[-1]
    # A frozen encoder and a step far below float32 resolution: the validation
    # loss never improves after the first epoch, so patience=2 stops at the third.
    stopped = ECGClassifier(encoder_params={"width": 0.0625}, lr=1e-20, freeze_epochs=20, patience=2,
                            max_epochs=20, random_state=0).fit(X, Y)
    assert len(stopped.history_) == 3 and stopped.best_epoch_ == 1


def test_random_state_reproducible_and_global_rng_untouched(data, lcd):
    X, Y, _, _ = data
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = ECGClassifier(lcd, **TINY).fit(X, Y).predict_proba(X)
    assert torch.equal(state, torch.get_rng_state())
    b = ECGClassifier(lcd, **TINY).fit(X, Y).predict_proba(X)
    c = ECGClassifier(lcd, **{**TINY, "random_state": 1}).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_pipeline_group_cv_and_grid_search_reuse_one_pretrainer(data, lcd):
    X, Y, groups, _ = data
    y = np.where(Y[:, 0] == 1, "NORM", "other")
    before = _state(lcd.net_.module_)
    pipe = make_pipeline(PadOrCrop(128), ECGClassifier(lcd, **TINY))
    scores = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(3), scoring="roc_auc")
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(ECGClassifier(lcd, **TINY), {"lr": [1e-4, 1e-3], "freeze_epochs": [0, 1]},
                        cv=GroupKFold(2), scoring="roc_auc").fit(X, y, groups=groups)
    assert grid.best_estimator_.pretrainer is lcd
    assert clone(ECGClassifier(lcd)).pretrainer is lcd
    _assert_same_state(before, _state(lcd.net_.module_))


def test_pickle_round_trip(data, lcd, tmp_path):
    X, Y, _, _ = data
    clf = ECGClassifier(lcd, **TINY).fit(X, Y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    again = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).decision_function(X), clf.decision_function(X))


@pytest.mark.parametrize("case", ["lcd-strings", "lcd-shared-multilabel", "mets-scratch-multiclass"])
def test_save_pretrained_round_trip(data, lcd, tmp_path, case):
    X, Y, groups, _ = data
    if case == "lcd-strings":
        y = np.where(Y[:, 0] == 1, "NORM", "other").astype(object)
        clf = ECGClassifier(lcd, **TINY).fit(X, y, groups=groups)
    elif case == "lcd-shared-multilabel":
        y = Y
        clf = ECGClassifier(lcd, share_encoder=True, **TINY).fit(X, y)
    else:
        y = np.argmax(Y, axis=1)
        clf = ECGClassifier(architecture="mets", encoder_params={"width": 0.0625}, **TINY).fit(X, y)
    if clf.pretrainer is not None:
        with pytest.warns(UserWarning, match="pretrainer is not saved"):
            folder = clf.save_pretrained(tmp_path / "clf")
    else:
        folder = clf.save_pretrained(tmp_path / "clf")
    config = json.loads((folder / "config.json").read_text())
    assert config["estimator"] == "ECGClassifier" and config["module"]["class"] == "ECGClassifierModule"
    assert "predict_proba" in (folder / "README.md").read_text()
    loaded = ECGClassifier.from_pretrained(folder, device="cpu")
    assert type(load_pretrained(folder, device="cpu")) is ECGClassifier
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    for attr in ("multilabel_", "architecture_", "encoder_params_", "best_epoch_", "n_leads_", "n_timepoints_"):
        assert getattr(loaded, attr) == getattr(clf, attr), attr
    assert [h["valid_loss"] for h in loaded.history_] == pytest.approx([h["valid_loss"] for h in clf.history_])
    # Without its pretrainer, the loaded classifier refits the same network from scratch.
    assert loaded.pretrainer is None and loaded.architecture == clf.architecture_
    refit = clone(loaded).fit(X, y)
    assert refit.architecture_ == clf.architecture_
    assert len(refit.net_.module_.encoders) == len(clf.net_.module_.encoders) or clf.architecture_ == "lcd"
    with pytest.raises(PretrainedModelError, match="describes a ECGClassifier, not a LCDPretrainer"):
        LCDPretrainer.from_pretrained(folder, device="cpu")


def _edit(folder, edit):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("edit, match", [
    (lambda c: c["fitted"]["classes_"].update(dtype="<M8[ns]"), "labels are numbers or strings"),
    (lambda c: c["fitted"]["classes_"].update(values=[0, 0, 1, 2, 3]), "not distinct"),
    (lambda c: c["fitted"]["classes_"].update(dtype="object"), "not all strings"),
    (lambda c: c["fitted"].update(architecture_="transformer"), "architecture_"),
    (lambda c: c["fitted"].update(multilabel_="yes"), "multilabel_"),
    (lambda c: c["module"]["kwargs"].update(n_encoders=2), "2 encoders do not fit 3 leads"),
    (lambda c: c["module"]["kwargs"].update(n_outputs=4), "5 classes .* head of 4 outputs: they contradict"),
    (lambda c: c["fitted"]["classes_"].update(values=[0, 1, 2]), "3 classes .* head of 5 outputs"),
    (lambda c: c["module"]["kwargs"].update(n_leads=2), "network for 2 leads but n_leads_=3"),
    (lambda c: c["fitted"].update(n_features_in_=2), "n_features_in_=2 but n_leads_=3"),
    (lambda c: c["module"]["kwargs"]["encoder_params"].update(width=-1), "width"),
    (lambda c: c.update(history=[{"epoch": 1}, "oops"]), "malformed training history"),
    (lambda c: c["module"]["kwargs"].update(architecture="mets"),
     "architecture_='lcd' but a network of architecture='mets'"),
    (lambda c: c["module"]["kwargs"].update(n_encoders=1), r"holds \d+ tensor\(s\) it does not have \(e.g. 'encoders.1"),
    (lambda c: c["module"]["kwargs"].pop("multilabel"), "is described by"),
])
def test_damaged_classifier_folder_is_refused(data, lcd, tmp_path, edit, match):
    X, Y, _, _ = data
    with pytest.warns(UserWarning, match="pretrainer is not saved"):
        folder = ECGClassifier(lcd, **TINY).fit(X, Y).save_pretrained(tmp_path / "clf")
    _edit(folder, edit)
    with pytest.raises(PretrainedModelError, match=match):
        ECGClassifier.from_pretrained(folder, device="cpu")


def test_clear_errors(data, lcd, mets):
    X, Y, groups, _ = data
    with pytest.raises(ValueError, match="3 lead.*pretrained on 2|lead"):
        ECGClassifier(lcd, **TINY).fit(X[:, :2], Y)
    with pytest.raises(ValueError, match="pretrained on 3"):
        ECGClassifier(mets, **TINY).fit(X[:, :2], Y)
    with pytest.raises(ValueError, match="not fitted"):
        ECGClassifier(LCDPretrainer(), **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="single class"):
        ECGClassifier(lcd, **TINY).fit(X, np.ones(len(X)))
    bad = X.copy()
    bad[3, 1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ECGClassifier(lcd, **TINY).fit(bad, Y)
    y = Y[:, 0].astype(float)
    y[2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ECGClassifier(lcd, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="missing"):
        ECGClassifier(lcd, **TINY).fit(X, np.array(["a", None] * 24, dtype=object))
    with pytest.raises(ValueError, match="Unknown label type"):
        ECGClassifier(lcd, **TINY).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(TypeError, match="LCDPretrainer, METSPretrainer, a foundation model.s embedder"):
        ECGClassifier("lcd", **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="encoder_params"):
        ECGClassifier(lcd, encoder_params={"width": 1.0}, **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="does not match"):
        ECGClassifier(lcd, architecture="mets", **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="validation_fraction"):
        ECGClassifier(lcd, validation_fraction=1.5).fit(X, Y)
    clf = ECGClassifier(lcd, **TINY).fit(X, Y)
    with pytest.raises(ValueError, match=r"X has 2 lead\(s\), but ECGClassifier was fitted on 3"):
        clf.predict(X[:, :2])


def test_amp_is_ignored_on_the_cpu(data):
    X, Y, _, _ = data
    a = ECGClassifier(encoder_params={"width": 0.0625}, amp=True, device="cpu", **TINY).fit(X, Y)
    b = ECGClassifier(encoder_params={"width": 0.0625}, amp=False, device="cpu", **TINY).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_amp_on_cuda(data, lcd):
    X, Y, _, _ = data
    clf = ECGClassifier(lcd, device="cuda", amp=True, **TINY).fit(X, Y)
    assert clf.predict_proba(X).shape == (48, 5)
    assert clf.net_.grad_scaler_ is None


# The common checks feed tabular toy data: a few columns, taken here as
# single-lead records of a few samples, far shorter than the 32 samples the
# encoders' poolings need; the network then sees no more than a constant-ish
# feature map and a handful of gradient steps cannot reach the accuracy the
# checks demand on separable blobs.
_TOY = "toy tabular data of 2-3 samples per record: too short for the encoder to learn in a few epochs"


def _checks_estimator():
    return ECGClassifier(encoder_params={"width": 0.0625}, max_epochs=3, batch_size=32, lr=1e-2,
                         validation_fraction=None, random_state=0)


@pytest.mark.filterwarnings("ignore:Single-lead records")
@parametrize_with_checks(
    [_checks_estimator()],
    expected_failed_checks=lambda est: {"check_classifiers_train": _TOY},
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_label_efficiency_study_smallest_setting(tmp_path, monkeypatch):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_label_efficiency.py"
    spec = importlib.util.spec_from_file_location("bench_label_efficiency", path)
    bench = importlib.util.module_from_spec(spec)
    # Registered so that its classes pickle into the cache of pretrained models.
    monkeypatch.setitem(sys.modules, "bench_label_efficiency", bench)
    spec.loader.exec_module(bench)
    methods = [m for m in bench.METHODS if m != "minirocket" or importlib.util.find_spec("aeon")]
    rows = bench.main(["--smallest", "--methods", *methods, "--cache-dir", str(tmp_path / "cache"),
                       "--out-dir", str(tmp_path / "out")])
    assert {r["method"] for r in rows} == set(methods) and {r["fraction"] for r in rows} == {0.1, 1.0}
    assert all(0 <= r["macro"] <= 1 for r in rows)
    table = (tmp_path / "out" / "label_efficiency.md").read_text()
    assert "fine-tuned LCD" in table and "10 % (35)" in table
    assert (tmp_path / "out" / "label_efficiency.csv").exists()
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "out" / "label_efficiency.png").stat().st_size > 0
    # A second run finds the pretrained models in the cache.
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "lcd_test-smallest_e1_s0.joblib", "mets_test-smallest_e1_s0.joblib"]
