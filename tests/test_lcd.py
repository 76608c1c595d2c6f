"""LCDPretrainer as a scikit-learn estimator."""

import io
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg import LCDPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample

TINY = dict(projector_dim=16, predictor_dim=16, max_epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


@pytest.fixture(scope="module")
def small(sample):
    """120 records, 8 leads, 2.56 s: enough to exercise the pipelines quickly."""
    leads = [sample.lead_names.index(n) for n in ("II", "III", "V1", "V2", "V3", "V4", "V5", "V6")]
    X = np.ascontiguousarray(sample.X[:120][:, leads, :256])
    norm = sample.y[:120, list(sample.target_names).index("NORM")]
    y = np.where(norm == 1, "normal", "abnormal")
    return X, y, sample.patient_id[:120]


@parametrize_with_checks([LCDPretrainer(**TINY)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # sklearn's checks feed records of a few samples: the short-record warning is expected.
        warnings.filterwarnings("ignore", message="Single-lead records of", category=UserWarning)
        check(estimator)


def test_fit_transform_shapes_and_feature_names(small):
    X, _, _ = small
    lcd = LCDPretrainer(**TINY).fit(X)
    Z = lcd.transform(X)
    assert Z.shape == (len(X), 8 * 64) and Z.dtype == np.float32
    assert np.isfinite(Z).all()
    names = lcd.get_feature_names_out()
    assert len(names) == Z.shape[1] and names[0] == "lcdpretrainer_lead0_0"
    assert names[64] == "lcdpretrainer_lead1_0"
    assert lcd.n_leads_ == 8 and lcd.n_timepoints_ == 256 and lcd.n_features_in_ == 8
    # Each block of 64 columns is one lead embedded by the shared encoder.
    single = lcd.encoder_.eval()
    with torch.inference_mode():
        lead3 = single(torch.from_numpy(X[:4, 3:4])).numpy()
    np.testing.assert_allclose(Z[:4, 3 * 64 : 4 * 64], lead3, rtol=1e-4, atol=1e-5)
    lcd.set_output(transform="pandas")
    df = lcd.transform(X[:5])
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)


@pytest.mark.parametrize("per", ["record", "lead"])
def test_standardize_makes_embeddings_scale_invariant(small, per):
    X, _, _ = small
    lcd = LCDPretrainer(**{**TINY, "standardize": per}).fit(X)
    scale = np.float32(3.0) if per == "record" else np.linspace(0.5, 4, X.shape[1], dtype=np.float32)[:, None]
    np.testing.assert_allclose(lcd.transform(X * scale), lcd.transform(X), rtol=1e-3, atol=1e-4)
    raw = LCDPretrainer(**TINY).fit(X)  # millivolts kept: amplitude matters
    assert not np.allclose(raw.transform(X * 3), raw.transform(X), atol=1e-3)


def test_transform_is_batched_and_does_not_touch_batchnorm(small):
    X, _, _ = small
    lcd = LCDPretrainer(**{**TINY, "batch_size": 7}).fit(X)
    bn = lcd.net_.module_.encoder.features[1]
    before = bn.running_mean.clone()
    Z1 = lcd.transform(X)
    lcd.batch_size = 1000  # a different batching gives the same embeddings
    Z2 = lcd.transform(X)
    np.testing.assert_allclose(Z1, Z2, rtol=1e-5, atol=1e-6)
    assert torch.equal(bn.running_mean, before)
    assert lcd.net_.module_.training  # left in the mode it was in


def test_zero_epochs_gives_the_untrained_encoder(small):
    X, _, _ = small
    untrained = LCDPretrainer(**{**TINY, "max_epochs": 0}).fit(X)
    assert len(untrained.history_) == 0
    trained = LCDPretrainer(**TINY).fit(X)
    assert untrained.transform(X).shape == trained.transform(X).shape
    assert not np.allclose(untrained.transform(X), trained.transform(X))


def test_single_lead_input_trains_intra_lead_terms_only(small):
    X, _, _ = small
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 2}).fit(X[:, 0, :])
    assert lcd.transform(X[:, 0, :]).shape == (len(X), 64)
    assert all(v == 0.0 for v in lcd.history_[:, "inter_loss"])
    assert all(v > 0.0 for v in lcd.history_[:, "intra_loss"])


@pytest.mark.slow
def test_loss_falls_on_the_sample(sample):
    X = sample.X[:256]
    lcd = LCDPretrainer(max_epochs=6, batch_size=64, random_state=0).fit(X)
    losses = lcd.history_[:, "train_loss"]
    assert losses[-1] < losses[0] - 0.3, losses
    for term in ("intra_loss", "inter_loss", "decorrelation_loss"):
        assert lcd.history_[-1, term] < lcd.history_[0, term]


@pytest.mark.slow
def test_pipeline_cross_val_score_group_kfold_string_labels(small):
    X, y, groups = small
    pipe = make_pipeline(LCDPretrainer(**TINY), LogisticRegression(max_iter=200))
    scores = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(n_splits=3), scoring="roc_auc")
    assert scores.shape == (3,) and np.isfinite(scores).all()
    pipe.fit(X, y)
    assert set(pipe.predict(X)) <= {"normal", "abnormal"}


@pytest.mark.slow
def test_grid_search_over_pretrainer_and_classifier(small):
    X, y, _ = small
    pipe = make_pipeline(LCDPretrainer(**TINY), LogisticRegression(max_iter=200))
    grid = GridSearchCV(
        pipe,
        {"lcdpretrainer__width": [0.0625, 0.125], "logisticregression__C": [0.1, 1.0]},
        cv=2,
        scoring="roc_auc",
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    width = grid.best_params_["lcdpretrainer__width"]
    n_features = grid.best_estimator_[0].transform(X[:2]).shape[1]
    assert n_features == 8 * int(round(512 * width))


class _CountingLCD(LCDPretrainer):
    fits = 0

    def fit(self, X, y=None):
        type(self).fits += 1
        return super().fit(X, y)


def test_frozen_estimator_avoids_repretraining(small):
    X, y, groups = small
    lcd = _CountingLCD(**TINY).fit(X)
    _CountingLCD.fits = 0
    epochs = len(lcd.history_)
    pipe = make_pipeline(FrozenEstimator(lcd), LogisticRegression(max_iter=200))
    cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(n_splits=3))
    assert _CountingLCD.fits == 0
    assert len(lcd.history_) == epochs


@pytest.mark.slow
def test_pipeline_memory_avoids_repretraining(small, tmp_path):
    X, y, _ = small
    _CountingLCD.fits = 0
    pipe = Pipeline(
        [("lcd", _CountingLCD(**TINY)), ("clf", LogisticRegression(max_iter=200))],
        memory=str(tmp_path),
    )
    grid = GridSearchCV(pipe, {"clf__C": [0.01, 0.1, 1.0]}, cv=2)
    grid.fit(X, y)
    # Two folds plus the refit pretrain once each, not once per value of C.
    assert _CountingLCD.fits == 3


def test_clone_gives_unfitted_copy_with_same_params(small):
    X, _, _ = small
    lcd = LCDPretrainer(**TINY).fit(X)
    copy = clone(lcd)
    assert not hasattr(copy, "net_")
    assert copy.get_params() == lcd.get_params()


def test_pickle_and_joblib_round_trips(small, tmp_path):
    X, _, _ = small
    lcd = LCDPretrainer(**TINY).fit(X)
    Z = lcd.transform(X)
    restored = pickle.loads(pickle.dumps(lcd))
    np.testing.assert_array_equal(restored.transform(X), Z)
    path = tmp_path / "lcd.joblib"
    joblib.dump(lcd, path)
    np.testing.assert_array_equal(joblib.load(path).transform(X), Z)
    # The encoder's weights alone, for use outside scikit-learn.
    buffer = io.BytesIO()
    torch.save(lcd.encoder_.state_dict(), buffer)
    assert buffer.tell() < 1_000_000


@pytest.mark.slow
def test_same_seed_same_embeddings_and_global_rng_untouched(small):
    X, _, _ = small
    torch.manual_seed(123)
    state = torch.get_rng_state()
    Z1 = LCDPretrainer(**TINY).fit(X).transform(X)
    assert torch.equal(torch.get_rng_state(), state)
    Z2 = LCDPretrainer(**TINY).fit(X).transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    Z3 = LCDPretrainer(**{**TINY, "random_state": 1}).fit(X).transform(X)
    assert not np.allclose(Z1, Z3)


@pytest.mark.slow
def test_warm_start_continues_training(small):
    X, _, _ = small
    lcd = LCDPretrainer(**{**TINY, "warm_start": True}).fit(X)
    first = lcd.transform(X)
    lcd.fit(X)
    # The continued training runs on a copy (a failed fit keeps the model).
    assert len(lcd.history_) == 2 and not np.array_equal(lcd.transform(X), first)
    cold = LCDPretrainer(**TINY).fit(X)
    first = cold.net_
    cold.fit(X)
    assert cold.net_ is not first and len(cold.history_) == 1


def test_verbose_shows_a_progress_bar(small, capsys):
    X, _, _ = small
    LCDPretrainer(**{**TINY, "verbose": 1}).fit(X)
    err = capsys.readouterr().err
    assert "epoch" in err and "loss=" in err


def test_user_callbacks_are_called(small):
    from skorch.callbacks import Callback

    class Count(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    X, _, _ = small
    cb = Count()
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 3, "callbacks": [cb]}).fit(X)
    assert [c for _, c in lcd.net_.callbacks_ if isinstance(c, Count)][0].epochs == 3


def test_memmap_input(small, tmp_path):
    X, _, _ = small
    path = tmp_path / "X.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    Z_mm = LCDPretrainer(**TINY).fit(mm).transform(mm)
    Z = LCDPretrainer(**TINY).fit(X).transform(X)
    np.testing.assert_array_equal(Z_mm, Z)


# -- bad input -------------------------------------------------------------


def _fitted(X):
    return LCDPretrainer(**TINY).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_are_refused_naming_records(small, bad):
    X = small[0][:20].copy()
    X[3, 2, 10] = bad
    X[7, 0, 0] = bad
    with pytest.raises(ValueError, match=r"NaN or infinity in 2 record\(s\) \(index 3, 7\)"):
        LCDPretrainer(**TINY).fit(X)
    lcd = _fitted(small[0][:20])
    with pytest.raises(ValueError, match="index 3, 7"):
        lcd.transform(X)


@pytest.mark.parametrize("shape", [(100,), (2, 3, 8, 100)])
def test_wrong_number_of_dimensions(shape):
    with pytest.raises(ValueError, match=r"\(n_records, n_leads, n_timepoints\).*-D array"):
        LCDPretrainer(**TINY).fit(np.zeros(shape, dtype=np.float32))


def test_transposed_records_are_refused():
    X = np.random.default_rng(0).standard_normal((10, 1000, 12)).astype(np.float32)
    with pytest.raises(ValueError, match=r"more leads \(1000\) than samples.*transpose\(0, 2, 1\)"):
        LCDPretrainer(**TINY).fit(X)


def test_short_records_are_refused(small):
    X = small[0][:20, :, :16]
    with pytest.raises(ValueError, match="Records of 16 samples are shorter than the 32 samples"):
        LCDPretrainer(**TINY).fit(X)
    lcd = _fitted(small[0][:20])
    with pytest.raises(ValueError, match="shorter than the 32 samples"):
        lcd.transform(X)
    # Single-lead 2-D input follows scikit-learn's any-number-of-columns convention.
    with pytest.warns(UserWarning, match="16 samples are shorter than the 32"):
        LCDPretrainer(**TINY).fit(X[:, 0, :])


def test_empty_records_are_refused():
    with pytest.raises(ValueError, match="0 feature"):
        LCDPretrainer(**TINY).fit(np.zeros((10, 0), dtype=np.float32))


def test_fewer_than_two_records(small):
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        LCDPretrainer(**TINY).fit(small[0][:1])


def test_lead_count_must_match_fit(small):
    X = small[0][:20]
    lcd = _fitted(X)
    # Leads, not features, are what a user counts.
    with pytest.raises(ValueError, match=r"X has 12 lead\(s\), but LCDPretrainer was fitted on 8 lead\(s\)"):
        lcd.transform(np.zeros((3, 12, 256), dtype=np.float32))


@pytest.mark.parametrize(
    "X, exc",
    [
        (np.array([["a", "b", "c"]] * 4), ValueError),
        (np.array([[{"x": 1}, 1.0, 2.0]] * 4, dtype=object), TypeError),
    ],
)
def test_non_numeric_dtypes(X, exc):
    with pytest.raises(exc, match="numeric ECG samples"):
        LCDPretrainer(**TINY).fit(X)


def test_bad_hyper_parameters_are_refused_in_fit(small):
    X = small[0][:20]
    with pytest.raises(ValueError, match="'standardize' parameter .* must be a str among"):
        LCDPretrainer(**{**TINY, "standardize": "zscore"}).fit(X)
    with pytest.raises(ValueError, match="'crop_scale' parameter"):
        LCDPretrainer(**{**TINY, "crop_scale": (0.9, 0.5)}).fit(X)
    with pytest.raises(ValueError, match=r"'max_epochs' parameter .* range \[0, inf\)"):
        LCDPretrainer(**{**TINY, "max_epochs": -1}).fit(X)
    with pytest.raises(ValueError, match=r"'batch_size' parameter .* range \[2, inf\)"):
        LCDPretrainer(**{**TINY, "batch_size": 0}).fit(X)
    with pytest.raises(ValueError, match="not a torch device"):
        LCDPretrainer(**{**TINY, "device": "nonsense"}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available: nothing to refuse")
def test_cuda_requested_without_cuda_is_refused(small):
    with pytest.raises(ValueError, match="CUDA is not available"):
        LCDPretrainer(**{**TINY, "device": "cuda"}).fit(small[0][:20])


def test_diverging_training_raises_a_clear_error(small):
    X = small[0][:40]
    with pytest.raises(FloatingPointError, match="training diverged.*Lower the learning rate"):
        LCDPretrainer(**{**TINY, "lr": 1e30, "max_epochs": 5}).fit(X)


# -- CUDA ------------------------------------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_cuda_fit_with_amp_and_cpu_unpickling(small, tmp_path):
    X, _, _ = small
    lcd = LCDPretrainer(**{**TINY, "device": "cuda", "amp": True}).fit(X)
    assert next(lcd.net_.module_.parameters()).is_cuda
    Z = lcd.transform(X)
    path = tmp_path / "lcd_cuda.pkl"
    with open(path, "wb") as f:
        pickle.dump(lcd, f)
    np.save(tmp_path / "Z.npy", Z)
    # A process that sees no GPU must load the CUDA-fitted model onto the CPU.
    code = textwrap.dedent(
        f"""
        import pickle, warnings, numpy as np, torch
        assert not torch.cuda.is_available()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lcd = pickle.load(open({str(path)!r}, "rb"))
        X = np.load({str(tmp_path / 'X.npy')!r})
        Z = lcd.transform(X)
        np.testing.assert_allclose(Z, np.load({str(tmp_path / 'Z.npy')!r}), rtol=1e-2, atol=1e-3)
        print("ok", lcd.net_.device)
        """
    )
    np.save(tmp_path / "X.npy", X)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "ok cpu" in out.stdout


def test_denormal_weights_and_optimizer_state_are_zeroed_each_epoch(small):
    from sklearn_ecg._runtime import zero_denormals

    denormal = torch.tensor([1e-40, 1.0, -1e-41, 0.0, 2e-38])
    zero_denormals([denormal])
    assert denormal.tolist() == pytest.approx([0.0, 1.0, 0.0, 0.0, 2e-38])
    X, _, _ = small
    lcd = LCDPretrainer(**TINY).fit(X)
    tiny = torch.finfo(torch.float32).tiny
    state = [v for s in lcd.net_.optimizer_.state.values() for v in s.values() if v.is_floating_point()]
    for t in [*lcd.net_.module_.parameters(), *state]:
        small_nonzero = (t != 0) & (t.abs() < tiny)
        assert not small_nonzero.any()
