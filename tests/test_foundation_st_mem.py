"""ST-MEM: the package's network and pipeline against fixtures made with the authors' code.

tests/data/foundation/st_mem was written by tools/make_st_mem_fixtures.py
from the authors' repository: the encoder of a reduced configuration of their
pretraining model (random weights, same classes) saved as their
``encoder.pth`` and as the full pretraining checkpoint, its outputs on a fixed
preprocessed input, and on raw records in mV through their evaluation
pipeline (FFT resampling to 250 Hz, three crops, filters, z-score, crops
averaged). The released configuration is checked by its tensor names and shapes.
"""

import json
import pathlib
import pickle
import warnings

import numpy as np
import pytest
import torch

import sklearn_ecg
from sklearn_ecg._checkpoints import CheckpointError
from sklearn_ecg.foundation import FoundationEmbedder, _table
from sklearn_ecg.foundation._st_mem import st_mem_crops
from sklearn_ecg.nn.st_mem import ST_MEM_BASE, STMEMEncoder
from sklearn_ecg.preprocessing import STANDARD_LEADS
from _foundation import register_reduced

DATA = pathlib.Path(__file__).parent / "data" / "foundation" / "st_mem"
EXPECTED = dict(np.load(DATA / "expected.npz"))
ENCODER = DATA / "encoder.pth"
NAME = "st-mem-reduced"
REDUCED = dict(width=64, depth=2, mlp_dim=256, heads=2, dim_head=64)


@pytest.fixture(autouse=True)
def reduced_model(monkeypatch):
    """A table entry for the reduced configuration: the released one with a smaller network."""
    register_reduced(monkeypatch, "st-mem", NAME, REDUCED, REDUCED["width"])


def _embed(emb, name, crop="start"):
    fs = float(EXPECTED[f"{name}_fs"])
    records = emb.input_pipeline(fs=fs, crop=crop).fit_transform(EXPECTED[name])
    return emb.transform(records)


@pytest.mark.parametrize("checkpoint", ["encoder.pth", "full.pth"])
def test_same_input_matches_authors(checkpoint):
    emb = FoundationEmbedder(NAME, DATA / checkpoint, preprocess=False).fit()
    with torch.no_grad():
        out = emb.module_(torch.from_numpy(EXPECTED["same_input"])).numpy()
    np.testing.assert_allclose(out, EXPECTED["same_input_embedding"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["raw_100hz_10s", "raw_500hz_10s"])
def test_raw_records_match_authors_pipeline(name):
    emb = sklearn_ecg.load_foundation_model(NAME, ENCODER, batch_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 10 s records at any rate are what the model reads
        out = _embed(emb, name)
    ref = EXPECTED[f"{name}_embedding"]
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_fitted_embedder_pickles():
    emb = FoundationEmbedder(NAME, ENCODER).fit()
    x = emb.input_pipeline(fs=100).fit_transform(EXPECTED["raw_100hz_10s"][:2])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(emb)).transform(x), emb.transform(x))


def test_shorter_record_keeps_the_authors_crops():
    """A 9.5 s record: the authors spread their three crops over it (crop=None keeps it whole)."""
    emb = FoundationEmbedder(NAME, ENCODER).fit()
    with pytest.warns(UserWarning, match="samples but FoundationEmbedder"):
        out = _embed(emb, "raw_100hz_9p5s", crop=None)
    ref = EXPECTED["raw_100hz_9p5s_embedding"]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_input_pipeline_resamples_by_fft_and_orders_leads():
    emb = FoundationEmbedder(NAME, ENCODER).fit()
    contract = emb.input_contract_
    assert (contract.fs, contract.n_timepoints, contract.lead_names) == (250.0, 2500, STANDARD_LEADS)
    order = [6, 0, 11, 3, 1, 2, 4, 5, 7, 8, 9, 10]
    x = EXPECTED["raw_500hz_10s"]
    prep = emb.input_pipeline(fs=500, lead_names=[STANDARD_LEADS[i] for i in order], units="uV")
    assert [n for n, _ in prep.steps] == ["selectleads", "convertunits", "resample", "padorcrop"]
    assert type(prep.named_steps["resample"]).__name__ == "FFTResample"
    out = emb.transform(prep.fit_transform(x[:, order] * 1000))
    ref = EXPECTED["raw_500hz_10s_embedding"]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_released_configuration_has_the_released_tensors():
    shapes = json.loads((DATA / "released_keys.json").read_text())
    assert _table.entry("st-mem")["config"] == ST_MEM_BASE
    with torch.device("meta"):
        ours = STMEMEncoder(**ST_MEM_BASE).state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == shapes
    assert sum(int(np.prod(s)) for s in shapes.values()) == pytest.approx(85.15e6, rel=1e-3)


def test_crops_follow_the_authors_ncrop():
    x = np.random.default_rng(0).normal(size=(1, 12, 2500))
    crops = st_mem_crops(x)
    assert crops.shape == (1, 3, 12, 2250)
    np.testing.assert_allclose(crops.mean(axis=(-1, -2)), 0, atol=1e-5)
    np.testing.assert_allclose(crops.std(axis=(-1, -2)), 1, atol=1e-4)
    assert st_mem_crops(x[..., :2250]).shape == (1, 1, 12, 2250)
    assert st_mem_crops(x[..., :2251]).shape == (1, 2, 12, 2250)
    assert np.all(st_mem_crops(np.zeros((1, 12, 2500))) == 0)
    with pytest.raises(ValueError, match="at least 2250 samples at 250 Hz"):
        st_mem_crops(x[..., :2000])


# -- bad checkpoints -------------------------------------------------------------------


def _resave(tmp_path, edit):
    ckpt = torch.load(ENCODER, weights_only=True)
    edit(ckpt["model"])
    path = tmp_path / "edited.pth"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda sd: sd.pop("block1.ff.norm.weight"), r"missing tensors: block1\.ff\.norm\.weight"),
    (lambda sd: sd.__setitem__("extra.weight", torch.zeros(2)), r"unexpected tensors: extra\.weight"),
    (lambda sd: sd.__setitem__("block0.attn.fn.to_out.0.bias", torch.zeros(7)),
     r"block0\.attn\.fn\.to_out\.0\.bias is \(7\), expected \(64\)"),
    (lambda sd: sd["norm.weight"].fill_(float("nan")), "NaN"),
])
def test_bad_checkpoints_are_refused_naming_the_tensors(tmp_path, edit, match):
    with pytest.raises(CheckpointError, match=match):
        FoundationEmbedder(NAME, _resave(tmp_path, edit)).fit()


def test_released_name_with_reduced_checkpoint_names_the_right_entry():
    with pytest.raises(CheckpointError, match="It is a checkpoint of 'st-mem-reduced'"):
        FoundationEmbedder("st-mem", ENCODER).fit()


def test_finetuned_head_is_left_out(tmp_path):
    path = _resave(tmp_path, lambda sd: sd.update({"head.weight": torch.ones(5, 64),
                                                   "head.bias": torch.ones(5)}))
    a = FoundationEmbedder(NAME, path, preprocess=False).fit()
    b = FoundationEmbedder(NAME, ENCODER, preprocess=False).fit()
    x = EXPECTED["same_input"][:, None]  # one crop per record
    with pytest.warns(UserWarning, match="2250 samples"):
        np.testing.assert_array_equal(a.transform(x[:, 0]), b.transform(x[:, 0]))


class _Anything:
    pass


@pytest.mark.parametrize("content, match", [
    (b"not a checkpoint", "is not a checkpoint"),
    ("pickled-object", "weights-only"),
    ({"state": {"a": 1}}, "no 'model' entry"),
])
def test_other_files_are_refused(tmp_path, content, match):
    path = tmp_path / "bad.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "pickled-object":
        torch.save({"model": _Anything()}, path)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=match):
        FoundationEmbedder(NAME, path).fit()


def test_differentiable_forward_equals_transform():
    """Attributions: the preprocessing in torch (crops, filters as a matrix, z-score) with gradients."""
    emb = FoundationEmbedder(NAME, ENCODER).fit()
    x = emb.input_pipeline(fs=100).fit_transform(EXPECTED["raw_100hz_10s"][:2])
    forward = emb.differentiable_forward()
    records = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    out = forward(records)
    np.testing.assert_allclose(out.detach().numpy(), emb.transform(x), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert records.grad is not None and torch.isfinite(records.grad).all()
    assert records.grad.abs().sum() > 0
