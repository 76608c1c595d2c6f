"""Embedding at scale: memmaps of any float dtype, dask arrays, the folded inference copy."""

import pickle
import tracemalloc

import numpy as np
import pytest
import torch

from _text_encoders import BagOfWords
from sklearn_ecg import LCDPretrainer, LeadwiseEmbedder, METSPretrainer
from sklearn_ecg import _base, _validation
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.distributed import transform_dask
from sklearn_ecg.nn.inference import folded_copy
from sklearn_ecg.nn.resnet1d import ResNet1d
from sklearn_ecg.nn.vgg1d import VGG1d


@pytest.fixture(scope="module")
def records():
    sample = load_ptbxl_sample()
    return np.ascontiguousarray(sample.X[:40, :3, :256]), list(sample.report[:40])


@pytest.fixture(scope="module")
def lcd(records):
    X, _ = records
    return LCDPretrainer(max_epochs=1, batch_size=8, projector_dim=32, predictor_dim=32,
                         random_state=0, device="cpu").fit(X)


@pytest.fixture(scope="module")
def mets(records):
    X, reports = records
    return METSPretrainer(width=0.0625, max_epochs=1, batch_size=8, random_state=0, device="cpu",
                          text_encoder=BagOfWords(), translate_reports=False).fit(X, reports=reports)


def _memmap(tmp_path, X, dtype, mode):
    path = tmp_path / f"records_{np.dtype(dtype).name}.dat"
    out = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    out[:] = X
    out.flush()
    del out
    return np.memmap(path, dtype=dtype, mode=mode, shape=X.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["r", "r+"])
def test_memmap_fit_and_transform_equal_in_memory(tmp_path, records, dtype, mode):
    X, _ = records
    X = X.astype(dtype).astype(np.float32)  # values representable in both dtypes
    mm = _memmap(tmp_path, X, dtype, mode)
    params = dict(max_epochs=1, batch_size=8, projector_dim=32, predictor_dim=32,
                  random_state=0, device="cpu")
    from_memmap = LCDPretrainer(**params).fit(mm)
    in_memory = LCDPretrainer(**params).fit(X)
    for key, value in in_memory.net_.module_.state_dict().items():
        torch.testing.assert_close(from_memmap.net_.module_.state_dict()[key], value,
                                   rtol=0, atol=0)
    np.testing.assert_array_equal(from_memmap.transform(mm), in_memory.transform(X))
    assert not mm.flags.writeable or mode == "r+"


@pytest.mark.parametrize("dtype", [np.float64, np.int16])
def test_memmap_of_another_dtype_is_never_copied_whole(tmp_path, records, monkeypatch, dtype):
    X, _ = records
    # 400 records of 1024 samples: 4.9 MB as float32.
    big = np.tile(X, (10, 1, 4)) * (100 if dtype == np.int16 else 1)
    mm = _memmap(tmp_path, big, dtype, "r")
    float32_bytes = big.size * 4
    # The finiteness scan reads chunks of this many values.
    monkeypatch.setattr(_validation, "_CHUNK_ELEMENTS", 2**14)
    est = LCDPretrainer(max_epochs=1, batch_size=16, projector_dim=32, predictor_dim=32,
                        random_state=0, device="cpu")
    tracemalloc.start()
    try:
        est.fit(mm)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        Z = est.transform(mm)
        _, transform_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A whole float32 copy would be float32_bytes; a batch is 1/25 of it
    # (Python objects of the fit, e.g. its history, are counted too).
    assert fit_peak < float32_bytes / 3, (fit_peak, float32_bytes)
    assert transform_peak < float32_bytes / 3, (transform_peak, float32_bytes)
    assert Z.shape == (len(big), 3 * 64) and Z.dtype == np.float32


def test_leadwise_embedder_never_copies_a_memmap_whole(tmp_path, records, lcd, monkeypatch):
    X, _ = records
    big = np.tile(X, (10, 1, 4))  # 4.9 MB as float32
    mm = _memmap(tmp_path, big, np.float64, "r")
    float32_bytes = big.size * 4
    monkeypatch.setattr(_validation, "_CHUNK_ELEMENTS", 2**14)
    emb = LeadwiseEmbedder(lcd, leads=[0, 2])
    tracemalloc.start()
    try:
        emb.fit(mm)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        Z = emb.transform(mm)
        _, transform_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fit_peak < float32_bytes / 3, (fit_peak, float32_bytes)
    assert transform_peak < float32_bytes / 3, (transform_peak, float32_bytes)
    in_memory = big.astype(np.float32)
    expected = LeadwiseEmbedder(lcd, leads=[0, 2]).fit(in_memory).transform(in_memory)
    np.testing.assert_array_equal(Z, expected)


def test_float64_values_beyond_float32_are_refused(records):
    X, _ = records
    X = X.astype(np.float64)
    X[3, 1, 7] = 1e300
    with pytest.raises(ValueError, match=r"NaN or infinity in 1 record\(s\) \(index 3\)"):
        LCDPretrainer(max_epochs=1, batch_size=8, device="cpu").fit(X)


@pytest.mark.parametrize("name", ["lcd", "mets"])
def test_folded_transform_matches_the_fitted_module(request, records, name):
    est = request.getfixturevalue(name)
    X, _ = records
    fast = est.transform(X)
    est._fold_batchnorm = False
    try:
        exact = est.transform(X)
    finally:
        del est._fold_batchnorm
    np.testing.assert_allclose(fast, exact, rtol=1e-4, atol=1e-6)
    if name == "mets":
        np.testing.assert_allclose(
            np.linalg.norm(est.encode_ecg(X), axis=1), 1.0, rtol=1e-5
        )


@pytest.mark.parametrize("encoder", [VGG1d(width=0.125), ResNet1d(in_channels=1, width=0.0625)])
def test_folded_copy_is_exact_and_leaves_the_original(encoder):
    encoder.train()
    x = torch.randn(8, 1, 300, generator=torch.Generator().manual_seed(0))
    encoder(x)  # running statistics away from their initial values
    encoder.eval()
    fused = folded_copy(encoder)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in encoder.modules())
    with torch.no_grad():
        torch.testing.assert_close(fused(x), encoder(x), rtol=1e-4, atol=1e-5)


def test_inference_copy_follows_the_weights_and_is_not_pickled(records, lcd):
    X, _ = records
    before = lcd.transform(X[:4])
    assert lcd.net_.module_ in _base._INFERENCE_COPIES
    assert pickle.loads(pickle.dumps(lcd)).net_.module_ not in _base._INFERENCE_COPIES
    with torch.no_grad():
        conv = lcd.net_.module_.encoder.features[0]
        conv.bias.add_(1.0)
    try:
        after = lcd.transform(X[:4])
        assert not np.allclose(before, after)
        lcd._fold_batchnorm = False
        np.testing.assert_allclose(lcd.transform(X[:4]), after, rtol=1e-4, atol=1e-6)
    finally:
        del lcd._fold_batchnorm
        with torch.no_grad():
            conv.bias.sub_(1.0)
    np.testing.assert_allclose(lcd.transform(X[:4]), before, rtol=1e-6, atol=1e-7)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.mark.parametrize("name", ["lcd", "mets"])
def test_dask_cluster_transform_equals_in_memory(request, records, dask_client, name):
    da = pytest.importorskip("dask.array")
    est = request.getfixturevalue(name)
    X, _ = records
    darr = da.from_array(X, chunks=(12, 2, 256))  # rechunked to whole records
    Z = transform_dask(est, darr)
    assert Z.shape == (len(X), len(est.get_feature_names_out()))
    result = dask_client.compute(Z).result()
    np.testing.assert_allclose(result, est.transform(X), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_dask_process_workers_receive_the_model_by_pickling(records, lcd):
    distributed = pytest.importorskip("dask.distributed")
    da = pytest.importorskip("dask.array")
    X, _ = records
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            Z = transform_dask(lcd, da.from_array(X, chunks=(10, 3, 256)))
            result = client.compute(Z).result()
            assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(result, lcd.transform(X), rtol=1e-5, atol=1e-6)


def test_transform_dask_refuses_other_input(lcd, records):
    X, _ = records
    with pytest.raises(TypeError, match="dask array"):
        transform_dask(lcd, X)
