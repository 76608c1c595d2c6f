"""The pieces of benchmarks/bench_few_shot.py that its figures rest on."""

import importlib.util
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from sklearn_ecg import FewShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample
from _text_encoders import tiny_mets

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("_bench_few_shot", ROOT / "benchmarks" / "bench_few_shot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auc_columns_is_roc_auc_and_skips_one_class_columns():
    bench = _bench()
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, (50, 3))
    Y[:, 2] = 0
    S = rng.normal(size=(50, 3)) + Y
    S[:5, 0] = S[5:10, 0]  # ties
    aucs = bench.auc_columns(Y, S)
    for c in range(2):
        assert abs(aucs[c] - roc_auc_score(Y[:, c], S[:, c])) < 1e-12
    assert np.isnan(aucs[2])


def test_draw_takes_k_records_with_and_without_each_class():
    bench = _bench()
    Y = load_ptbxl_sample().y
    for idx, c in zip(bench.draw(Y, 4, np.random.default_rng(0)), range(Y.shape[1])):
        assert len(set(idx)) == 8 and Y[idx[:4], c].all() and not Y[idx[4:], c].any()


def test_cached_embeddings_stand_in_for_the_model():
    bench = _bench()
    d = load_ptbxl_sample()
    X, Y = d.X[:40, :, :128].copy(), d.y[:40]
    mets = tiny_mets().fit(X, reports=np.asarray(d.report[:40], dtype=object))
    cached = bench.CachedEmbeddings(mets, X, mets.encode_ecg(X))
    np.testing.assert_array_equal(cached.encode_ecg(X[::-1]), mets.encode_ecg(X)[::-1])
    direct = FewShotECGClassifier(mets).fit(X[:30], Y[:30]).decision_function(X[30:])
    through = FewShotECGClassifier(cached).fit(X[:30], Y[:30]).decision_function(X[30:])
    np.testing.assert_allclose(through, direct, rtol=1e-5, atol=1e-5)
