"""Attributions: the torch copies match the estimators, and the explanations pass sanity checks."""

import builtins
import copy

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

pytest.importorskip("captum", reason="explanations need the explain extra (captum)")

from _text_encoders import BagOfWords  # noqa: E402
from sklearn_ecg import (  # noqa: E402
    ECGClassifier,
    LCDPretrainer,
    LeadwiseEmbedder,
    METSPretrainer,
    ZeroShotECGClassifier,
)
from sklearn_ecg.datasets import load_ptbxl_sample  # noqa: E402
from sklearn_ecg.inspection import (  # noqa: E402
    ATTRIBUTION_METHODS,
    _eval_mode,
    _torch_function_for,
    explain_prediction,
)
from sklearn_ecg.preprocessing import SelectLeads  # noqa: E402

FS = 100
N_T = 200
WINDOW = (int(0.3 * N_T), int(0.5 * N_T))  # where the class signal lies, in lead 1


def _synthetic(n=96, n_leads=3, seed=0):
    """Noise; class 1 adds a wave to lead 1 somewhere in 0.3-0.5 of the record."""
    rng = np.random.default_rng(seed)
    X = 0.02 * rng.standard_normal((n, n_leads, N_T)).astype(np.float32)
    y = np.arange(n) % 2
    t = np.arange(N_T)
    for i in np.flatnonzero(y):
        centre = rng.integers(WINDOW[0] + 4, WINDOW[1] - 4)
        X[i, 1] += np.exp(-0.5 * ((t - centre) / 2.0) ** 2).astype(np.float32)
    return X, y


def _window_share(attributions, lead=1):
    """Share of the absolute attributions inside the signal's lead and time window."""
    mass = np.abs(attributions)
    inside = mass[:, lead, WINDOW[0] : WINDOW[1]].sum(axis=1)
    return inside / mass.sum(axis=(1, 2))


def _found_the_signal(attributions, share=0.25):
    """Per record: the 0.1 s window of most attribution is in the signal's, which holds ``share`` of it.

    The signal's window is 1 lead of 3 and a fifth of the time: 7 % of the
    attributions if they were spread evenly.
    """
    mass = np.abs(attributions)
    n, n_leads, n_t = mass.shape
    cells = mass.reshape(n, n_leads, n_t // 10, 10).sum(axis=3).reshape(n, -1)
    best_lead, best_cell = np.divmod(cells.argmax(axis=1), n_t // 10)
    in_window = (best_lead == 1) & (best_cell >= WINDOW[0] // 10) & (best_cell < WINDOW[1] // 10)
    return in_window & (_window_share(attributions) > share)


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic()


@pytest.fixture(scope="module")
def lcd():
    return LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")


@pytest.fixture(scope="module")
def clf(synthetic):
    """A small network after one epoch: for the checks that need a model, not a good one."""
    X, y = synthetic
    return ECGClassifier(architecture="mets", encoder_params={"width": 0.0625}, max_epochs=1, batch_size=16,
                         validation_fraction=None, device="cpu", random_state=0).fit(X[:32], y[:32])


@pytest.fixture(scope="module")
def trained_clf(synthetic):
    """A network that has learnt the synthetic task."""
    X, y = synthetic
    return ECGClassifier(architecture="mets", encoder_params={"width": 0.125}, lr=3e-3, max_epochs=10,
                         batch_size=16, validation_fraction=None, device="cpu", random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def sample():
    data = load_ptbxl_sample(leads=["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"])
    return data.X[:48, :, :256].copy(), data


@pytest.fixture(scope="module")
def zero_shot():
    data = load_ptbxl_sample()
    X, y, reports = data.X[:48, :, :128].copy(), data.y[:48], np.asarray(data.report[:48], dtype=object)
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, text_encoder=BagOfWords(),
                          translate_reports=False, device="cpu", random_state=0).fit(X, reports=reports)
    return X, y, mets


class _Prefitted:
    """A pipeline of the fitted pretrainer itself (not frozen): the classifier is fitted on its
    embeddings, so that the pretrainer is not trained again."""

    def __init__(self, pretrainer, classifier):
        self.pretrainer, self.classifier = pretrainer, classifier

    def __getitem__(self, index):
        return [self.pretrainer, self.classifier][index]

    def fit(self, X, y):
        self.classifier.fit(self.pretrainer.transform(X), y)
        return make_pipeline(self.pretrainer, self.classifier)


def _prefitted(pretrainer, classifier):
    return _Prefitted(pretrainer, classifier)


def _own_outputs(estimator, X, output):
    if output == "proba":
        return estimator.predict_proba(X)
    d = estimator.decision_function(X)
    return np.stack([-d, d], axis=1) if d.ndim == 1 else d


def _torch_outputs(estimator, X, output):
    function = _torch_function_for(estimator, output)
    with _eval_mode(function), torch.no_grad():
        return function(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))).numpy()


@pytest.mark.parametrize("output", ["proba", "decision"])
def test_torch_function_matches_the_classifier(clf, synthetic, output):
    X, _ = synthetic
    np.testing.assert_allclose(_torch_outputs(clf, X[:16], output), _own_outputs(clf, X[:16], output),
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize("scoring", ["similarity", "relative"])
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("output", ["proba", "decision"])
def test_torch_function_matches_the_zero_shot_classifier(zero_shot, multilabel, output, scoring):
    X, y, mets = zero_shot
    labels = y if multilabel else np.asarray(["NORM", "MI", "STTC", "CD", "HYP"])[y.argmax(axis=1)]
    model = ZeroShotECGClassifier(FrozenEstimator(mets), scoring=scoring).fit(X, labels)
    np.testing.assert_allclose(_torch_outputs(model, X[:8], output), _own_outputs(model, X[:8], output),
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize("make", [
    lambda lcd: make_pipeline(FrozenEstimator(lcd), StandardScaler(), LogisticRegression(max_iter=2000)),
    lambda lcd: _prefitted(lcd, LogisticRegression(C=0.1, max_iter=2000)),
    lambda lcd: make_pipeline(FrozenEstimator(lcd), StandardScaler(), RidgeClassifier()),
    lambda lcd: make_pipeline(FrozenEstimator(lcd), StandardScaler(), LinearSVC(C=0.01)),
    lambda lcd: make_pipeline(LeadwiseEmbedder(lcd, leads=["V1", "II"],
                                               lead_names=["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]),
                              StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=2000))),
], ids=["frozen-scaler-logistic", "pretrainer-logistic", "ridge", "linear-svc", "leadwise-ovr"])
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_torch_function_matches_the_pipeline(lcd, sample, make, target):
    X, data = sample
    y = {"multiclass": np.asarray(data.target_names)[data.y[:48].argmax(axis=1)],
         "binary": data.y[:48, 0], "multilabel": data.y[:48]}[target]
    model = make(lcd)
    if target == "multilabel" and not isinstance(model[-1], OneVsRestClassifier):
        pytest.skip("multi-label targets need a OneVsRestClassifier")
    model = model.fit(X, y)
    for output in ["proba", "decision"] if hasattr(model, "predict_proba") else ["decision"]:
        np.testing.assert_allclose(_torch_outputs(model, X[:8], output), _own_outputs(model, X[:8], output),
                                   rtol=0, atol=1e-4)


@pytest.mark.parametrize("baseline", ["zero", "smooth"])
def test_integrated_gradients_are_complete(clf, lcd, sample, synthetic, baseline):
    X, y = synthetic
    # captum's Gauss-Legendre steps (its default): with 256
    # of them the sums are within 1 % of the change (measured: 0.54 % with the
    # zero baseline, 0.20 % with the smooth one); a left Riemann sum of as many
    # steps is 2.0 % off with the zero baseline.
    e = explain_prediction(clf, X[:6], baseline=baseline, output="decision", n_steps=256)
    change = e.scores - e.baseline_scores
    assert np.abs(change).max() > 1e-3  # a change to account for
    np.testing.assert_allclose(e.attributions.sum(axis=(1, 2)), change, atol=0.01 * np.abs(change).max())
    np.testing.assert_allclose(e.convergence_delta, e.attributions.sum(axis=(1, 2)) - change, atol=1e-4)
    np.testing.assert_allclose(e.lead_attributions.sum(axis=1), e.attributions.sum(axis=(1, 2)), rtol=1e-4,
                               atol=1e-6)
    records, data = sample
    model = make_pipeline(FrozenEstimator(lcd), StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(records, data.y[:48, 1])
    # ReLU and max-pooling make the path integral converge slowly. Measured
    # with 128 steps: 1.4 % (zero baseline) and 1.1 % (smooth) off the change;
    # 8.1 % for a left Riemann sum with the zero baseline.
    e = explain_prediction(model, records[:2], target=1, baseline=baseline, output="decision", n_steps=128)
    change = e.scores - e.baseline_scores
    assert np.abs(change).max() > 0.1
    np.testing.assert_allclose(e.attributions.sum(axis=(1, 2)), change, atol=0.03 * np.abs(change).max())


def test_shapes_targets_and_summaries(clf, synthetic):
    X, y = synthetic
    e = explain_prediction(clf, X[:5], n_steps=8)
    assert e.attributions.shape == (5, 3, N_T) and e.attributions.dtype == np.float32
    assert e.lead_attributions.shape == e.lead_importance.shape == (5, 3)
    np.testing.assert_allclose(e.lead_importance.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(e.target, clf.predict_proba(X[:5]).argmax(axis=1))
    np.testing.assert_array_equal(e.target_names, clf.classes_[e.target])
    np.testing.assert_allclose(e.scores, clf.predict_proba(X[:5]).max(axis=1), atol=1e-5)
    per_record = explain_prediction(clf, X[:2], target=[0, 1], n_steps=8)
    np.testing.assert_array_equal(per_record.target, [0, 1])
    assert e.method == "integrated_gradients" and e.output == "proba"
    decision = explain_prediction(clf, X[:2], target=1, output="decision", n_steps=8)
    np.testing.assert_allclose(decision.scores, clf.decision_function(X[:2]), atol=1e-4)


def test_lead_importance_is_the_share_of_absolute_attributions(clf, synthetic):
    # Attributions of both signs within a lead: a lead whose positive and
    # negative attributions cancel still matters as much as its magnitudes.
    X, _ = synthetic
    e = explain_prediction(clf, X[:6], target=1, output="decision", n_steps=16)
    absolute = np.abs(e.attributions.astype(np.float64)).sum(axis=2)
    signed = e.attributions.astype(np.float64).sum(axis=2)
    # The records do have leads where the signs cancel (the signed sum is less
    # than half the absolute one), so signed and absolute shares differ here.
    assert (np.abs(signed) < 0.5 * absolute).any()
    np.testing.assert_allclose(e.lead_importance, absolute / absolute.sum(axis=1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_allclose(e.lead_attributions, signed, rtol=1e-4, atol=1e-7)
    # On a record whose attributions cancel within a lead, the ranking of the
    # leads is that of their absolute attributions.
    cancel = np.flatnonzero((np.abs(signed) < 0.5 * absolute).any(axis=1))[0]
    np.testing.assert_array_equal(np.argsort(e.lead_importance[cancel]), np.argsort(absolute[cancel]))


def test_explaining_leaves_the_model_as_it_was(clf, synthetic):
    X, _ = synthetic
    module = clf.net_.module_
    before = clf.predict_proba(X[:4])
    module.train()
    try:
        a = explain_prediction(clf, X[:2], n_steps=8).attributions
        assert module.training and all(m.training for m in module.modules())
        b = explain_prediction(clf, X[:2], n_steps=8).attributions
    finally:
        module.eval()
    np.testing.assert_array_equal(a, b)  # the same call, the same attributions
    np.testing.assert_allclose(clf.predict_proba(X[:4]), before)


@pytest.mark.slow
def test_synthetic_signal_is_found_where_it_lies(trained_clf, synthetic):
    X, y = synthetic
    assert (trained_clf.predict(X) == y).mean() > 0.9
    positives = X[y == 1][:8]
    for method, kwargs in [("integrated_gradients", dict(n_steps=32)), ("occlusion", dict(window=10))]:
        e = explain_prediction(trained_clf, positives, target=1, method=method, **kwargs)
        assert _found_the_signal(e.attributions).mean() >= 0.75, (method, _window_share(e.attributions))
        assert (e.lead_importance.argmax(axis=1) == 1).all()


def test_synthetic_signal_through_a_leadwise_pipeline(lcd, synthetic):
    X, y = synthetic
    model = make_pipeline(LeadwiseEmbedder(lcd), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(X, y)
    assert model.score(X, y) > 0.9
    for method in ATTRIBUTION_METHODS:
        e = explain_prediction(model, X[y == 1][:6], target=1, method=method, n_steps=32, window=10)
        assert _found_the_signal(e.attributions).mean() >= 0.75, (method, _window_share(e.attributions))
        assert (e.lead_importance.argmax(axis=1) == 1).all()


def _reinitialised(module, seed=0):
    """Every layer of ``module`` re-initialised in place (the model-randomisation check)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for layer in module.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()


def _rank_correlations(a, b):
    return np.array([spearmanr(np.abs(x).ravel(), np.abs(z).ravel())[0] for x, z in zip(a, b)])


@pytest.mark.slow
def test_model_randomisation_changes_the_classifier_attributions(trained_clf, synthetic):
    X, y = synthetic
    positives = X[y == 1][:6]
    trained = explain_prediction(trained_clf, positives, target=1, n_steps=32).attributions
    randomised = copy.deepcopy(trained_clf)
    _reinitialised(randomised.net_.module_)
    random = explain_prediction(randomised, positives, target=1, n_steps=32).attributions
    rhos = _rank_correlations(trained, random)
    # Not also "the signal is no longer found": a random convolutional network
    # still responds most to the largest wave (IG multiplies by the input).
    assert np.median(rhos) < 0.5, rhos


def test_model_randomisation_changes_the_pipeline_attributions(lcd, synthetic):
    X, y = synthetic
    model = make_pipeline(LeadwiseEmbedder(lcd), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(X, y)
    positives = X[y == 1][:6]
    trained = explain_prediction(model, positives, target=1, n_steps=32).attributions
    # The encoder re-initialised, the scaler and the classifier kept (cascading randomisation).
    other = copy.deepcopy(lcd)
    _reinitialised(other.net_.module_)
    randomised = make_pipeline(LeadwiseEmbedder(other).fit(X), model[1], model[2])
    random = explain_prediction(randomised, positives, target=1, n_steps=32).attributions
    rhos = _rank_correlations(trained, random)
    # Not also "the signal is no longer found": a random convolutional network
    # still responds most to the largest wave (IG multiplies by the input).
    assert np.median(rhos) < 0.5, rhos


def test_zero_shot_attributions(zero_shot):
    X, y, mets = zero_shot
    model = ZeroShotECGClassifier(mets, class_descriptions={"MI": "myocardial infarction",
                                                            "NORM": "normal ECG"}).fit(X, ["MI", "NORM"] * 24)
    e = explain_prediction(model, X[:2], target="MI", n_steps=16)
    assert e.attributions.shape == (2, 12, 128) and list(e.target_names) == ["MI", "MI"]
    change = e.scores - e.baseline_scores
    np.testing.assert_allclose(e.attributions.sum(axis=(1, 2)), change, atol=0.02 + 0.05 * np.abs(change).max())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_attributions_on_cuda_match_the_cpu(clf, synthetic):
    X, _ = synthetic
    cpu = explain_prediction(clf, X[:3], target=1, n_steps=16)
    on_gpu = copy.deepcopy(clf)
    on_gpu.net_.module_.to("cuda")
    on_gpu.net_.set_params(device="cuda")
    gpu = explain_prediction(on_gpu, X[:3], target=1, n_steps=16)
    np.testing.assert_allclose(gpu.attributions, cpu.attributions, atol=1e-3 * np.abs(cpu.attributions).max())


def test_attributions_on_the_model_device_cpu(clf, synthetic):
    X, _ = synthetic
    function = _torch_function_for(clf, "proba")
    assert function.device == torch.device("cpu")
    e = explain_prediction(clf, torch.from_numpy(X[:2]), n_steps=4)  # a tensor is accepted too
    assert isinstance(e.attributions, np.ndarray)


def test_unsupported_models_and_bad_input(clf, lcd, sample, synthetic):
    X, y = synthetic
    records, data = sample
    labels = data.y[:48, 0]
    with pytest.raises(NotFittedError, match="ECGClassifier is not fitted"):
        explain_prediction(ECGClassifier(), X[:2])
    with pytest.raises(TypeError, match="RandomForestClassifier, which is not a linear classifier"):
        forest = make_pipeline(FrozenEstimator(lcd), RandomForestClassifier(n_estimators=3))
        explain_prediction(forest.fit(records, labels), records[:2])
    with pytest.raises(TypeError, match=r"step 'pca' \(PCA\) sits between the encoder and the classifier"):
        explain_prediction(make_pipeline(FrozenEstimator(lcd), PCA(4), LogisticRegression()).fit(records, labels),
                           records[:2])
    selected = make_pipeline(SelectLeads(["II", "V1"], lead_names=list(data.lead_names)),
                             LeadwiseEmbedder(lcd), LogisticRegression(max_iter=500))
    with pytest.raises(TypeError, match=r"first step 'selectleads'.*explain pipeline\[1:\]"):
        explain_prediction(selected.fit(data.X[:48, :, :256], labels), data.X[:2, :, :256])
    unfitted_head = make_pipeline(FrozenEstimator(lcd), LogisticRegression())
    with pytest.raises(NotFittedError, match="last step 'logisticregression'"):
        explain_prediction(unfitted_head, records[:2])
    with pytest.raises(NotFittedError, match="LCDPretrainer is not fitted"):
        explain_prediction(make_pipeline(LCDPretrainer(), LogisticRegression()), records[:2])
    with pytest.raises(TypeError, match="Cannot explain a LogisticRegression"):
        explain_prediction(LogisticRegression(), X[:2])
    ridge = make_pipeline(FrozenEstimator(lcd), RidgeClassifier()).fit(records, labels)
    with pytest.raises(ValueError, match="no predict_proba; explain its decision_function"):
        explain_prediction(ridge, records[:2], output="proba")
    for kwargs, match in [
        (dict(method="saliency"), "method must be one of"),
        (dict(baseline="noise"), "baseline must be one of"),
        (dict(baseline=np.zeros((2, 5))), "broadcasts to the records' shape"),
        (dict(baseline="smooth", smooth_window=1), "smooth_window must be"),
        (dict(target="AF"), r"target 'AF' is not a class of the model; its classes are \[0, 1\]"),
        (dict(target=[0, 1, 1]), "target has 3 entries for 2 records"),
        (dict(n_steps=1), "n_steps must be an integer >= 2"),
        (dict(output="logit"), "output must be one of"),
        (dict(method="occlusion", window=1000), "window=1000 is longer than the records"),
    ]:
        with pytest.raises(ValueError, match=match):
            explain_prediction(clf, X[:2], **kwargs)
    with pytest.raises(ValueError, match="X has 2 lead"):
        explain_prediction(clf, X[:2, :2])
    with pytest.raises(ValueError, match=r"pass X\[i:i \+ 1\]"):
        explain_prediction(clf, X[0, 0, 0])
    with pytest.raises(ValueError, match="needs at least 32"):
        explain_prediction(clf, X[:2, :, :16])
    bad = X[:2].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explain_prediction(clf, bad)


def test_missing_captum_names_the_extra(clf, synthetic, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("captum"):
            raise ImportError("No module named 'captum'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "sklearn-ecg\[explain\]"'):
        explain_prediction(clf, synthetic[0][:1])


def test_the_encoder_contract_is_used_where_it_exists(lcd, sample, monkeypatch):
    """A pretrainer that describes its encoder (``encoder_contract_``) is differentiated through it."""
    records, data = sample
    pretrainer = copy.deepcopy(lcd)
    module = pretrainer.net_.module_
    real = pretrainer.encoder_contract_
    calls = []

    class CountingContract:
        # The pretrainer's own contract, whose differentiable embedding is counted.
        scale = 1.0

        def __getattr__(self, name):
            return getattr(real, name)

        def embed(self, x):
            calls.append(x.shape)
            return self.scale * real.embed(x)

    contract = CountingContract()
    monkeypatch.setattr(type(pretrainer), "encoder_contract_", property(lambda self: contract))
    model = make_pipeline(FrozenEstimator(LeadwiseEmbedder(pretrainer, leads=[2, 0]).fit(records)),
                          StandardScaler(), LogisticRegression(max_iter=2000)).fit(records, data.y[:48, 1])
    e = explain_prediction(model, records[:2], target=1, n_steps=8)
    assert calls and all(shape[1] == 2 for shape in calls)  # the two chosen leads only
    assert np.abs(e.attributions[:, [1, 3, 4, 5, 6, 7]]).max() == 0.0
    assert np.abs(e.attributions[:, [0, 2]]).max() > 0.0
    # The leadwise step's differentiable forward is its transform.
    step = model[0].estimator
    forward = step.differentiable_forward()
    with _eval_mode(forward), torch.no_grad():
        np.testing.assert_allclose(forward(torch.from_numpy(records[:4])).numpy(), step.transform(records[:4]),
                                   rtol=1e-4, atol=1e-5)
    assert module is pretrainer.net_.module_


def test_importing_inspection_does_not_import_captum():
    import subprocess
    import sys

    code = "import sys, sklearn_ecg.inspection; assert 'captum' not in sys.modules, 'captum imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_differentiable_forwards_refuse_other_outputs(clf, lcd, zero_shot):
    _, _, mets = zero_shot
    with pytest.raises(ValueError, match=r"LCDPretrainer's differentiable forward outputs one of \['transform'\]"):
        lcd.differentiable_forward("proba")
    with pytest.raises(ValueError, match=r"\['transform', 'joint'\]; got 'proba'"):
        mets.differentiable_forward("proba")
    with pytest.raises(ValueError, match=r"\['proba', 'decision'\]; got 'transform'"):
        clf.differentiable_forward("transform")
    forward = mets.differentiable_forward("joint")
    assert forward.n_leads == mets.n_leads_ and forward.min_length == 32 and forward.classes is None
    X = torch.zeros(2, mets.n_leads_, 64, requires_grad=True)
    with _eval_mode(forward):
        forward(X).sum().backward()
    assert X.grad is not None


@pytest.mark.parametrize("output", ["proba", "decision"])
def test_torch_function_matches_a_zero_shot_classifier_of_fewer_leads(output):
    # Records with three of the pretrainer's twelve leads: the forward places them as LeadLayout does.
    data = load_ptbxl_sample()
    X, y, reports = data.X[:48, :, :128].copy(), data.y[:48], np.asarray(data.report[:48], dtype=object)
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, text_encoder=BagOfWords(),
                          translate_reports=False, device="cpu", random_state=0, lead_masking=0.5,
                          lead_names=data.lead_names).fit(X, reports=reports)
    few = np.ascontiguousarray(X[:, [0, 1, 6]])
    model = ZeroShotECGClassifier(mets, lead_names=["I", "II", "V1"]).fit(few, y)
    assert model.lead_layout_ is not None
    np.testing.assert_allclose(_torch_outputs(model, few[:8], output), _own_outputs(model, few[:8], output),
                               rtol=0, atol=1e-4)
    e = explain_prediction(model, few[:2], output=output, n_steps=4)
    assert e.attributions.shape == (2, 3, 128)
