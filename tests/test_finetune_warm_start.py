"""ECGClassifier(warm_start=True): continuing the fitted network, and refusing what cannot continue."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_ecg import ECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample

TINY = dict(architecture="lcd", encoder_params={"width": 0.0625}, max_epochs=1, batch_size=16,
            validation_fraction=None, random_state=0)


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample(leads=["II", "V1"])
    n = 40
    labels = np.asarray(d.y[:n]).argmax(axis=1)
    return d.X[:n, :, :128].copy(), np.where(labels == 0, "NORM", "OTHER")


def _params(clf):
    return {k: v.detach().clone() for k, v in clf.net_.module_.named_parameters()}


def _max_change(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


class _Raise(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("stop here")


def test_warm_start_continues_the_fitted_network_with_this_calls_settings(data):
    X, y = data
    clf = ECGClassifier(**{**TINY, "max_epochs": 2}, lr=1e-3, warm_start=True).fit(X, y)
    before = _params(clf)
    clf.set_params(lr=1e-12, max_epochs=1)
    clf.fit(X, y)
    # The network went on from its fitted weights, at this call's learning rate.
    assert len(clf.history_) == 3
    assert _max_change(before, _params(clf)) < 1e-6
    assert {g["lr"] for g in clf.net_.optimizer_.param_groups} == {1e-12}
    # Without warm_start the same call starts from new random weights.
    clf.set_params(warm_start=False).fit(X, y)
    assert len(clf.history_) == 1
    assert _max_change(before, _params(clf)) > 1e-3


def test_warm_start_applies_encoder_lr_and_freeze_epochs(data):
    X, y = data
    clf = ECGClassifier(**TINY, lr=1e-3, warm_start=True).fit(X, y)
    before = _params(clf)
    clf.set_params(encoder_lr=1e-5, weight_decay=0.01, freeze_epochs=1).fit(X, y)
    groups = clf.net_.optimizer_.param_groups
    assert [g["lr"] for g in groups] == [1e-5, 1e-3]
    assert {g["weight_decay"] for g in groups} == {0.01}
    after = _params(clf)
    # The first epoch of this call trained the head alone.
    encoder = [k for k in after if k.startswith("encoders.")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_warm_start_refuses_other_classes_or_leads_and_keeps_the_model(data):
    X, y = data
    clf = ECGClassifier(**TINY, warm_start=True).fit(X, y)
    net, before = clf.net_, _params(clf)
    with pytest.raises(ValueError, match=r"warm_start: y has the classes \['A', 'NORM'\].*set warm_start=False"):
        clf.fit(X, np.where(y == "NORM", "NORM", "A"))
    with pytest.raises(ValueError, match="warm_start: X has 1 lead.*takes 2"):
        clf.fit(X[:, :1], y)
    with pytest.raises(ValueError, match="warm_start: y is a multi-label indicator"):
        clf.fit(X, np.stack([y == "NORM", y != "NORM"], axis=1).astype(int))
    assert clf.net_ is net and _max_change(before, _params(clf)) == 0
    np.testing.assert_array_equal(clf.classes_, ["NORM", "OTHER"])


@pytest.mark.parametrize("how", ["callback", "divergence"])
def test_a_failed_warm_started_fit_leaves_the_model_as_it_was(data, how):
    X, y = data
    clf = ECGClassifier(**TINY, warm_start=True).fit(X, y)
    net, history, before = clf.net_, list(clf.history_), _params(clf)
    proba = clf.predict_proba(X)
    if how == "callback":
        clf.set_params(callbacks=[_Raise()])
        error = RuntimeError
    else:
        clf.set_params(lr=1e6, max_epochs=3)
        error = FloatingPointError
    with pytest.raises(error):
        clf.fit(X, y)
    assert clf.net_ is net and list(clf.history_) == history
    assert _max_change(before, _params(clf)) == 0
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.net_.lr == TINY.get("lr", 1e-4)
