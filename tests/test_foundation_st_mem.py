"""ST-MEM against fixtures made with its authors' code (tools/make_st_mem_fixtures.py)."""

import json
import pathlib

import numpy as np
import pytest
import torch

from sklearn_ecg._checkpoint_io import (CheckpointFormatError, MissingTensorsError,
                                        TensorShapeError, UnexpectedTensorsError)
from sklearn_ecg._st_mem import load_st_mem, st_mem_crops, st_mem_embed
from sklearn_ecg.nn.st_mem import ST_MEM_BASE, STMEMEncoder

DATA = pathlib.Path(__file__).parent / "data" / "foundation" / "st_mem"
RAW = ["raw_100hz_10s", "raw_100hz_9p5s", "raw_500hz_10s"]


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(DATA / "expected.npz"))


@pytest.mark.parametrize("checkpoint", ["encoder.pth", "full.pth"])
def test_same_input_matches_authors(expected, checkpoint):
    module = load_st_mem(DATA / checkpoint)
    with torch.no_grad():
        out = module(torch.from_numpy(expected["same_input"])).numpy()
    np.testing.assert_allclose(out, expected["same_input_embedding"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", RAW)
def test_raw_records_match_authors_pipeline(expected, name):
    module = load_st_mem(DATA / "encoder.pth")
    emb = st_mem_embed(module, expected[name], float(expected[f"{name}_fs"]), batch_size=2)
    ref = expected[f"{name}_embedding"]
    assert emb.shape == ref.shape
    np.testing.assert_allclose(emb, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_released_configuration_has_the_released_tensors():
    shapes = json.loads((DATA / "released_keys.json").read_text())
    with torch.device("meta"):
        ours = STMEMEncoder(**ST_MEM_BASE).state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == shapes
    assert sum(int(np.prod(s)) for s in shapes.values()) == pytest.approx(85.15e6, rel=1e-3)


def test_crops_follow_the_authors_ncrop():
    x = np.random.default_rng(0).normal(size=(1, 12, 2500))
    crops = st_mem_crops(x, fs=250)
    assert crops.shape == (1, 3, 12, 2250)
    # each crop is standardised over leads and time
    np.testing.assert_allclose(crops.mean(axis=(-1, -2)), 0, atol=1e-5)
    np.testing.assert_allclose(crops.std(axis=(-1, -2)), 1, atol=1e-4)
    assert st_mem_crops(x[..., :2250], fs=250).shape == (1, 1, 12, 2250)
    assert np.all(st_mem_crops(np.zeros((1, 12, 2500)), fs=250) == 0)
    with pytest.raises(ValueError, match="at least 2250 samples at 250 Hz"):
        st_mem_crops(x[..., :2000], fs=250)


def _resave(tmp_path, edit):
    ckpt = torch.load(DATA / "encoder.pth", weights_only=True)
    edit(ckpt["model"])
    path = tmp_path / "edited.pth"
    torch.save(ckpt, path)
    return path


def test_missing_tensor_is_named(tmp_path):
    path = _resave(tmp_path, lambda sd: sd.pop("block1.ff.norm.weight"))
    with pytest.raises(MissingTensorsError, match="block1.ff.norm.weight"):
        load_st_mem(path)


def test_unexpected_tensor_is_named(tmp_path):
    path = _resave(tmp_path, lambda sd: sd.__setitem__("extra.weight", torch.zeros(2)))
    with pytest.raises(UnexpectedTensorsError, match="extra.weight"):
        load_st_mem(path)


def test_misshaped_tensor_is_named(tmp_path):
    def edit(sd):
        sd["block0.attn.fn.to_out.0.bias"] = torch.zeros(7)
    with pytest.raises(TensorShapeError, match=r"block0.attn.fn.to_out.0.bias \(7,\)"):
        load_st_mem(_resave(tmp_path, edit))


def test_nan_tensor_is_refused(tmp_path):
    path = _resave(tmp_path, lambda sd: sd["norm.weight"].fill_(float("nan")))
    with pytest.raises(CheckpointFormatError, match="NaN"):
        load_st_mem(path)


def test_finetuned_head_is_left_out(tmp_path, expected):
    path = _resave(tmp_path, lambda sd: sd.update({"head.weight": torch.ones(5, 64),
                                                   "head.bias": torch.ones(5)}))
    with torch.no_grad():
        out = load_st_mem(path)(torch.from_numpy(expected["same_input"])).numpy()
    np.testing.assert_allclose(out, expected["same_input_embedding"], atol=1e-5)


class _Anything:
    pass


@pytest.mark.parametrize("content, match", [
    (b"not a checkpoint", "is not a torch checkpoint"),
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
    with pytest.raises(CheckpointFormatError, match=match):
        load_st_mem(path)
