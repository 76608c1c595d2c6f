"""HuBERT-ECG against fixtures made with its authors' code (tools/make_hubert_ecg_fixtures.py)."""

import json
import pathlib
import shutil
import sys
import types

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from sklearn_ecg._checkpoint_io import (CheckpointFormatError, MissingTensorsError,  # noqa: E402
                                        TensorShapeError, UnexpectedTensorsError)
from sklearn_ecg._hubert_ecg import (_PickledConfig, _CONFIG_CLASSES, hubert_ecg_embed,  # noqa: E402
                                     hubert_ecg_inputs, load_hubert_ecg)

DATA = pathlib.Path(__file__).parent / "data" / "foundation" / "hubert_ecg"
CHECKPOINTS = ["hubert_ecg_reduced.pt", "hubert_ecg_reduced_weight_g.pt", "hf_folder"]
RAW = ["raw_100hz_10s", "raw_500hz_6s"]


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(DATA / "expected.npz"))


def _embed_same_input(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).last_hidden_state.mean(dim=1).numpy()


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_same_input_matches_authors(expected, checkpoint):
    module = load_hubert_ecg(DATA / checkpoint)
    out = _embed_same_input(module, expected["same_input"])
    np.testing.assert_allclose(out, expected["same_input_embedding"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", RAW)
def test_raw_records_match_authors_preprocessing(expected, name):
    fs = float(expected[f"{name}_fs"])
    inputs = hubert_ecg_inputs(expected[name], fs)
    np.testing.assert_allclose(inputs, expected[f"{name}_input"], rtol=0, atol=1e-5)
    module = load_hubert_ecg(DATA / "hubert_ecg_reduced.pt")
    emb = hubert_ecg_embed(module, expected[name], fs, batch_size=1)
    ref = expected[f"{name}_embedding"]
    np.testing.assert_allclose(emb, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("size, millions", [("small", 30.37), ("base", 93.02), ("large", 188.19)])
def test_released_sizes_have_the_released_tensors(size, millions):
    """Our encoder at each released size has the authors' tensors, heads aside."""
    import transformers

    from sklearn_ecg._hubert_ecg import _hubert_config

    shapes = json.loads((DATA / f"released_keys_{size}.json").read_text())
    assert sum(int(np.prod(s)) for s in shapes.values()) / 1e6 == pytest.approx(millions, abs=0.01)
    config = {"hidden_size": shapes["encoder.layer_norm.weight"][0],
              "num_hidden_layers": 1 + max(int(k.split(".")[2]) for k in shapes
                                           if k.startswith("encoder.layers.")),
              "num_attention_heads": {"small": 8, "base": 12, "large": 12}[size],
              "intermediate_size": shapes["encoder.layers.0.feed_forward.intermediate_dense.bias"][0],
              "conv_kernel": [10, 3, 3, 2, 2], "conv_stride": [4, 2, 2, 2, 2], "conv_dim": [512] * 5}
    heads = ("final_proj.", "label_embedding.", "masked_spec_embed")
    kept = {k: s for k, s in shapes.items() if not k.startswith(heads)}
    with torch.device("meta"):
        ours = transformers.HubertModel(_hubert_config(config, size)).state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == kept


def test_inputs_contract():
    x = np.random.default_rng(0).normal(size=(2, 12, 5000))
    inputs = hubert_ecg_inputs(x, fs=500)
    assert inputs.shape == (2, 6000) and inputs.dtype == np.float32
    # only the first 5 s are seen
    np.testing.assert_allclose(hubert_ecg_inputs(x[..., :2500].copy(), fs=500)[:, :100],
                               inputs[:, :100], atol=0.5)
    with pytest.raises(ValueError, match="at least 5 s"):
        hubert_ecg_inputs(x[..., :2000], fs=500)
    with pytest.raises(ValueError, match="above 94 Hz"):
        hubert_ecg_inputs(x, fs=90)


def _resave(tmp_path, edit, monkeypatch):
    """The reduced checkpoint with its weights edited, its config pickled as the authors' class."""
    with torch.serialization.safe_globals([(_PickledConfig, n) for n in _CONFIG_CLASSES]):
        ckpt = torch.load(DATA / "hubert_ecg_reduced.pt", weights_only=True)
    edit(ckpt["model_state_dict"])
    authors = types.ModuleType("hubert_ecg")
    authors.HuBERTECGConfig = type("HuBERTECGConfig", (), {"__module__": "hubert_ecg"})
    config = authors.HuBERTECGConfig()
    config.__dict__.update(vars(ckpt["model_config"]))
    ckpt["model_config"] = config
    path = tmp_path / "edited.pt"
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "hubert_ecg", authors)
        torch.save(ckpt, path)
    return path


def test_pickled_config_is_read_without_the_authors_code():
    with pytest.raises(ModuleNotFoundError):
        import hubert_ecg  # noqa: F401
    module = load_hubert_ecg(DATA / "hubert_ecg_reduced.pt")
    assert module.config.hidden_size == 32 and module.config.num_hidden_layers == 2


def test_missing_tensor_is_named(tmp_path, monkeypatch):
    path = _resave(tmp_path, lambda sd: sd.pop("encoder.layers.1.final_layer_norm.bias"),
                   monkeypatch)
    with pytest.raises(MissingTensorsError, match="encoder.layers.1.final_layer_norm.bias"):
        load_hubert_ecg(path)


def test_unexpected_tensor_is_named(tmp_path, monkeypatch):
    path = _resave(tmp_path, lambda sd: sd.__setitem__("encoder.layers.7.x", torch.zeros(1)),
                   monkeypatch)
    with pytest.raises(UnexpectedTensorsError, match="encoder.layers.7.x"):
        load_hubert_ecg(path)


def test_misshaped_tensor_is_named(tmp_path, monkeypatch):
    def edit(sd):
        sd["feature_projection.projection.bias"] = torch.zeros(3)
    with pytest.raises(TensorShapeError, match="feature_projection.projection.bias"):
        load_hubert_ecg(_resave(tmp_path, edit, monkeypatch))


def test_folder_without_weights_is_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(DATA / "hf_folder", folder)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointFormatError, match="model.safetensors"):
        load_hubert_ecg(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        load_hubert_ecg(folder)


class _Anything:
    pass


@pytest.mark.parametrize("content, match", [
    (b"\x00\x01", "is not a torch checkpoint"),
    ("object", "weights-only"),
    ({"model": {}}, "no 'model_state_dict'"),
    ({"model_state_dict": {}}, "no 'model_config'"),
])
def test_other_files_are_refused(tmp_path, content, match):
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "object":
        torch.save({"model_config": _Anything(), "model_state_dict": {}}, path)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointFormatError, match=match):
        load_hubert_ecg(path)
