"""One fit template for every net estimator, one place that assigns the fitted state, and
an imported model (a pre-built module with its weights from a file, no training) as a small
subclass that plugs into fit, fine-tuning, explanations and saved folders."""

import numpy as np
import pytest
import torch

from _text_encoders import tiny_mets
from sklearn_ecg import ECGClassifier, LCDPretrainer, METSPretrainer, load_pretrained
from sklearn_ecg._base import NET_PARAMETER_CONSTRAINTS, NetEstimator
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.lcd import LCDModule

TINY = dict(projector_dim=16, predictor_dim=16, max_epochs=1, batch_size=16, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def data():
    sample = load_ptbxl_sample()
    return sample.X[:32, :2, :128].copy(), sample.y[:32, 0], np.asarray(sample.report[:32], dtype=object), sample


@pytest.fixture
def calls(monkeypatch):
    """The calls of the fit template and of the one assignment of the fitted state, by class."""
    seen = []
    fit_net, set_fitted = NetEstimator._fit_net, NetEstimator._set_fitted

    def counting_fit_net(self, *args, **kwargs):
        seen.append(("fit", type(self).__name__))
        return fit_net(self, *args, **kwargs)

    def counting_set_fitted(self, *args, **kwargs):
        seen.append(("set", type(self).__name__))
        return set_fitted(self, *args, **kwargs)

    monkeypatch.setattr(NetEstimator, "_fit_net", counting_fit_net)
    monkeypatch.setattr(NetEstimator, "_set_fitted", counting_set_fitted)
    return seen


@pytest.mark.filterwarnings("ignore:pretrainer is not saved")
def test_every_fit_and_load_goes_through_the_template(calls, data, tmp_path):
    X, y, reports, sample = data
    lcd = LCDPretrainer(**TINY).fit(X)
    tiny_mets().fit(sample.X[:32, :, :128], reports=reports)
    clf = ECGClassifier(lcd, max_epochs=1, batch_size=16, device="cpu", random_state=0, warm_start=True)
    clf.fit(X, y).fit(X, y)  # a fresh fit, then a warm start
    assert calls == [("fit", "LCDPretrainer"), ("set", "LCDPretrainer"), ("fit", "METSPretrainer"),
                     ("set", "METSPretrainer"), ("fit", "ECGClassifier"), ("set", "ECGClassifier"),
                     ("fit", "ECGClassifier"), ("set", "ECGClassifier")]
    del calls[:]
    loaded = load_pretrained(clf.save_pretrained(tmp_path / "clf"), device="cpu")
    assert calls == [("set", "ECGClassifier")] and loaded.input_contract_ is not None


def test_a_failed_fit_assigns_nothing(calls, data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="single class"):
        ECGClassifier(max_epochs=1, batch_size=16, device="cpu").fit(X, np.zeros(len(X)))
    assert calls == [("fit", "ECGClassifier")]


def test_the_shared_settings_are_declared_once():
    for cls in (LCDPretrainer, METSPretrainer, ECGClassifier):
        for name, constraints in NET_PARAMETER_CONSTRAINTS.items():
            assert cls._parameter_constraints[name] is constraints, (cls.__name__, name)
    # One bound everywhere: BatchNorm needs two records per batch; zero epochs is the untrained baseline.
    for cls in (LCDPretrainer, ECGClassifier):
        with pytest.raises(ValueError, match="batch_size"):
            cls(batch_size=1)._validate_params()
        cls(max_epochs=0)._validate_params()


def test_an_untrained_classifier_is_its_initial_network(data):
    X, y, _, _ = data
    clf = ECGClassifier(max_epochs=0, batch_size=16, device="cpu", random_state=0).fit(X, y)
    assert len(clf.history_) == 0 and clf.best_epoch_ == 0
    assert clf.predict_proba(X).shape == (len(X), 2)


class ImportedLCD(LCDPretrainer):
    """A model imported from a checkpoint file: the module is built and its weights read in
    ``_module_spec``, and ``fit`` trains nothing."""

    checkpoint = None
    _trains_in_fit = False

    def _module_spec(self, n_leads, n_timepoints, **context):
        module_cls, kwargs = super()._module_spec(n_leads, n_timepoints)
        module = module_cls(**kwargs)
        module.load_state_dict(torch.load(self.checkpoint, weights_only=True))
        return module, None

    def _module_config(self):
        # Saved as the class and arguments it was built from: loading needs no checkpoint.
        return {"class": "LCDModule", "kwargs": dict(super()._module_spec(self.n_leads_, None)[1])}


def test_an_imported_model_is_a_small_subclass(data, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn_ecg import _persistence

    X, y, _, _ = data
    source = LCDPretrainer(**TINY).fit(X)
    path = tmp_path / "checkpoint.pt"
    torch.save(source.net_.module_.state_dict(), path)
    monkeypatch.setattr(ImportedLCD, "checkpoint", path)
    imported = ImportedLCD(**{**TINY, "max_epochs": 3}).fit(X)
    assert len(imported.history_) == 0 and isinstance(imported.net_.module_, LCDModule)
    np.testing.assert_array_equal(imported.transform(X), source.transform(X))
    assert imported.input_contract_ is not None and imported.n_features_in_ == 2
    # Fine-tuned with a frozen encoder first, explained, saved and loaded.
    clf = ECGClassifier(imported, max_epochs=2, freeze_epochs=1, batch_size=16, device="cpu",
                        random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 2)
    pytest.importorskip("captum")
    from sklearn_ecg.inspection import explain_prediction

    pipe = make_pipeline(imported, LogisticRegression()).fit(X, y)
    assert explain_prediction(pipe, X[:2], n_steps=4).attributions.shape == (2, 2, 128)
    monkeypatch.setitem(_persistence._REGISTRY, "ImportedLCD", ImportedLCD)
    loaded = ImportedLCD.from_pretrained(imported.save_pretrained(tmp_path / "imported"), device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), imported.transform(X))
