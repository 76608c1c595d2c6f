"""Process state, failed fits, interrupts and parameter validation of the estimators."""

import pickle
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, EarlyStopping
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation

from sklearn_ecg import LCDPretrainer, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg._runtime import denormals_flushed, flush_denormals
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.text import CallableTextEncoder, HFTextEncoder, SentenceTransformerEncoder
from _text_encoders import BagOfWords

TINY = dict(projector_dim=16, predictor_dim=16, max_epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def X():
    data = load_ptbxl_sample()
    return np.ascontiguousarray(data.X[:48, :8, :256])


# -- 1. the caller's process is left as it was -------------------------------


@pytest.mark.slow
def test_import_and_fit_leave_denormals_alone():
    code = textwrap.dedent(
        """
        import numpy as np
        tiny = np.float64(5e-324)
        import sklearn_ecg
        from sklearn_ecg import LCDPretrainer
        assert float("1e-310") != 0.0, "denormals flushed by the import"
        assert tiny != 0.0
        X = np.random.default_rng(0).normal(size=(8, 2, 64)).astype(np.float32)
        LCDPretrainer(max_epochs=1, batch_size=4, projector_dim=8, predictor_dim=8,
                      random_state=0).fit(X).transform(X)
        assert float("1e-310") != 0.0, "denormals flushed after fit"
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_flush_denormals_is_scoped_and_restored():
    assert not denormals_flushed()
    with flush_denormals():
        assert denormals_flushed()
    assert not denormals_flushed()
    # A caller who flushes on purpose keeps it.
    torch.set_flush_denormal(True)
    try:
        with flush_denormals():
            pass
        assert denormals_flushed()
    finally:
        torch.set_flush_denormal(False)


def test_concurrent_fits_equal_sequential_ones(X):
    expected = LCDPretrainer(**{**TINY, "max_epochs": 2}).fit(X).transform(X)
    results = [None, None]

    def run(i):
        results[i] = LCDPretrainer(**{**TINY, "max_epochs": 2}).fit(X).transform(X)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for Z in results:
        np.testing.assert_array_equal(Z, expected)


def test_fit_neither_uses_nor_changes_the_global_generator(X):
    torch.manual_seed(0)
    state = torch.get_rng_state()
    Z1 = LCDPretrainer(**TINY).fit(X).transform(X)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(12345)  # another global state gives the same model
    Z2 = LCDPretrainer(**TINY).fit(X).transform(X)
    np.testing.assert_array_equal(Z1, Z2)


# -- 2. no silent failures ---------------------------------------------------


class _RaiseAtEpoch(Callback):
    def __init__(self, exc_type=RuntimeError, epoch=1):
        self.exc_type = exc_type
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            raise self.exc_type("stop here")


def test_failed_first_fit_leaves_the_estimator_unfitted(X):
    lcd = LCDPretrainer(**{**TINY, "callbacks": [_RaiseAtEpoch()]})
    with pytest.raises(RuntimeError, match="stop here"):
        lcd.fit(X)
    assert not hasattr(lcd, "net_") and not hasattr(lcd, "n_leads_")
    with pytest.raises(Exception, match="not fitted"):
        lcd.transform(X)


@pytest.mark.parametrize("warm_start", [False, True])
def test_failed_refit_keeps_the_previous_model(X, warm_start):
    lcd = LCDPretrainer(**{**TINY, "warm_start": warm_start}).fit(X)
    before = lcd.transform(X)
    net, history = lcd.net_, len(lcd.history_)
    lcd.set_params(callbacks=[_RaiseAtEpoch()])
    with pytest.raises(RuntimeError, match="stop here"):
        lcd.fit(X)
    assert lcd.net_ is net and len(lcd.history_) == history
    np.testing.assert_array_equal(lcd.transform(X), before)


def test_divergence_on_the_last_step_is_an_error(X):
    lcd = LCDPretrainer(**{**TINY, "lr": 1e3, "max_epochs": 1, "batch_size": 8})
    with pytest.raises(FloatingPointError, match="diverged.*Lower the learning rate"):
        lcd.fit(X[:8])
    assert not hasattr(lcd, "net_")


def test_nonfinite_embeddings_are_an_error(X):
    lcd = LCDPretrainer(**TINY).fit(X)
    with torch.no_grad():
        lcd.net_.module_.encoder.features[0].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite embeddings for 48 record"):
        lcd.transform(X)


class _CtrlCAtEpoch(Callback):
    """Sends the process the signal Ctrl+C sends, at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            signal.raise_signal(signal.SIGINT)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="Ctrl+C (SIGINT) reaches the main thread only")
def test_ctrl_c_stops_fit_and_keeps_the_previous_model(X):
    lcd = LCDPretrainer(**TINY).fit(X)
    net = lcd.net_
    before = signal.getsignal(signal.SIGINT)
    lcd.set_params(max_epochs=5, callbacks=[_CtrlCAtEpoch(epoch=2)])
    with pytest.raises(KeyboardInterrupt):
        lcd.fit(X)
    assert lcd.net_ is net and len(lcd.history_) == 1
    assert signal.getsignal(signal.SIGINT) is before


def test_early_stopping_ends_the_fit_without_an_error(X):
    # skorch's EarlyStopping stops by raising KeyboardInterrupt, which is no Ctrl+C.
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 5,
                           "callbacks": [_RaiseAtEpoch(KeyboardInterrupt, epoch=2)]}).fit(X)
    assert len(lcd.history_) == 2
    assert np.isfinite(lcd.transform(X[:2])).all()


def test_huge_finite_input_is_standardised_not_nan(X):
    lcd = LCDPretrainer(**{**TINY, "standardize": "record"}).fit(X)
    Z = lcd.transform(X[:4])
    np.testing.assert_allclose(lcd.transform(X[:4] * 1e37), Z, rtol=1e-3, atol=1e-3)


def test_zero_shot_refuses_a_lead_count_the_pretrainer_cannot_embed(X):
    reports = np.array(["normal ecg", "infarction", "block", "hypertrophy"] * 12, dtype=object)
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16,
                          text_encoder=BagOfWords(), translate_reports=False,
                          random_state=0).fit(X, reports=reports)
    y = np.array(["a", "b"] * 24)
    with pytest.raises(ValueError, match="1 lead.*fitted on 8"):
        ZeroShotECGClassifier(mets, class_descriptions={}).fit(X[:, 0], y)


def test_transposed_input_gets_the_helpful_message_in_transform(X):
    lcd = LCDPretrainer(**TINY).fit(X)
    with pytest.raises(ValueError, match=r"X.transpose\(0, 2, 1\)"):
        lcd.transform(X.transpose(0, 2, 1))


# -- 4. parameters -----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"max_epochs": True}, {"lr": True}, {"gamma": -1}, {"warm_start": "x"},
        {"momentum": "high"}, {"crop_scale": (0.5,)}, {"projector_dim": 0},
        {"optimizer": "adam"}, {"batch_size": 1}, {"mask_ratio": (0.6, 0.2)},
        {"net_params": {"lr": 0.1}},
    ],
)
def test_bad_lcd_parameters_are_refused_clearly(X, params):
    with pytest.raises((InvalidParameterError, ValueError)) as info:
        LCDPretrainer(**{**TINY, **params}).fit(X)
    assert next(iter(params)) in str(info.value)


@pytest.mark.parametrize(
    "estimator",
    [
        LCDPretrainer(**TINY),
        METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, text_encoder=BagOfWords()),
    ],
    ids=["lcd", "mets"],
)
def test_check_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


def test_text_encoders_are_estimators_settable_through_the_pretrainer():
    mets = METSPretrainer(text_encoder=HFTextEncoder("some/model"))
    mets.set_params(text_encoder__pooling="cls", text_encoder__max_length=64)
    assert mets.text_encoder.pooling == "cls" and mets.text_encoder.max_length == 64
    assert mets.get_params()["text_encoder__pooling"] == "cls"
    with pytest.raises(InvalidParameterError, match="pooling"):
        HFTextEncoder("some/model", pooling="max")._get_model()
    with pytest.raises(InvalidParameterError, match="normalize"):
        SentenceTransformerEncoder(normalize="yes")._get_model()


def _widening(texts):
    # Two texts per batch get 3 columns, one text 4: the width changes within one call.
    return np.ones((len(texts), 3 if len(texts) > 1 else 4))


def test_text_encoder_width_change_within_a_call_is_explained():
    with pytest.raises(ValueError, match="every text the same embedding size"):
        CallableTextEncoder(_widening).encode(["a", "b", "c"], batch_size=2)


def test_net_params_reach_skorch(X):
    lcd = LCDPretrainer(**{**TINY, "net_params": {"optimizer__betas": (0.5, 0.6)}}).fit(X)
    assert lcd.net_.optimizer_.param_groups[0]["betas"] == (0.5, 0.6)


# -- 5. and 7. ---------------------------------------------------------------


def test_pickle_stores_the_weights_once(X):
    lcd = LCDPretrainer(**TINY).fit(X)
    tensors = [*lcd.net_.module_.state_dict().values(),
               *(v for s in lcd.net_.optimizer_.state.values() for v in s.values())]
    n_bytes = sum(t.numel() * t.element_size() for t in tensors)
    # Everything once, plus a little structure; a second copy would double it.
    assert len(pickle.dumps(lcd)) < 1.1 * n_bytes + 100_000


def test_validation_monitoring_callbacks_watch_the_training_loss(X, tmp_path):
    stopper = EarlyStopping(patience=1)
    checkpoint = Checkpoint(dirname=str(tmp_path))
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 2, "callbacks": [stopper, checkpoint]}).fit(X)
    assert len(lcd.history_) >= 1
    assert (tmp_path / "params.pt").exists()
    # The user's own objects are not modified.
    assert stopper.monitor == "valid_loss" and checkpoint.monitor == "valid_loss_best"


def test_progress_bar_names_the_estimator(X, capsys):
    LCDPretrainer(**{**TINY, "verbose": 1}).fit(X)
    err = capsys.readouterr().err
    assert "LCDPretrainer" in err and "LCDModule" not in err


def test_loading_the_default_text_model_prints_nothing(capfd):
    pytest.importorskip("sentence_transformers", reason="the text extra is not installed")
    from sklearn_ecg.text import clear_model_cache, get_text_encoder

    clear_model_cache()
    try:
        get_text_encoder().encode(["sinus rhythm"])
    except (OSError, ImportError) as exc:
        pytest.skip(f"the default text model is not available: {exc}")
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
