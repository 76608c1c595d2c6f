"""HuBERT-ECG: the package's network and preprocessing against fixtures made with the authors' code.

tests/data/foundation/hubert_ecg was written by tools/make_hubert_ecg_fixtures.py
from the authors' repository: their HuBERTECG at a reduced size (random
weights) saved as their .pt dict (pickled config object and state dict), with
the position convolution's older tensor names, and as a transformers folder;
its embeddings (last_hidden_state averaged over time) of a fixed input and of
raw records in mV through their preprocessing and ECGDataset.
"""

import copy
import json
import pathlib
import shutil
import sys
import types
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

import sklearn_ecg  # noqa: E402
from sklearn_ecg._checkpoints import CheckpointError  # noqa: E402
from sklearn_ecg.foundation import FoundationEmbedder, _table  # noqa: E402
from sklearn_ecg.foundation._hubert_ecg import _CONFIG_CLASSES, hubert_ecg_inputs  # noqa: E402
from sklearn_ecg.foundation._readers import AttributeRecord  # noqa: E402
from sklearn_ecg.preprocessing import STANDARD_LEADS  # noqa: E402
from _foundation import register_reduced  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "foundation" / "hubert_ecg"
EXPECTED = dict(np.load(DATA / "expected.npz"))
PT = DATA / "hubert_ecg_reduced.pt"
CHECKPOINTS = ["hubert_ecg_reduced.pt", "hubert_ecg_reduced_weight_g.pt", "hf_folder",
               "hf_folder/model.safetensors"]
NAME = "hubert-ecg-reduced"
REDUCED = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               conv_dim=[32] * 5)
SIZES = {"small": 30.37, "base": 93.02, "large": 188.19}


@pytest.fixture(autouse=True)
def reduced_model(monkeypatch):
    """A table entry for the reduced configuration: the released one with a smaller network."""
    register_reduced(monkeypatch, "hubert-ecg-base", NAME, REDUCED, REDUCED["hidden_size"])


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_same_input_matches_authors(checkpoint):
    emb = FoundationEmbedder(NAME, DATA / checkpoint).fit()
    with torch.no_grad():
        out = emb.module_.features(torch.from_numpy(EXPECTED["same_input"])).numpy()
    np.testing.assert_allclose(out, EXPECTED["same_input_embedding"], rtol=0, atol=1e-5)


def test_raw_500hz_records_match_authors_preprocessing():
    """Records at 500 Hz, 6 s: the authors' pipeline exactly (scaled whole, then cut to 5 s)."""
    name = "raw_500hz_6s"
    emb = sklearn_ecg.load_foundation_model(NAME, PT, batch_size=1)
    np.testing.assert_allclose(hubert_ecg_inputs(EXPECTED[name], 500.0), EXPECTED[f"{name}_input"],
                               rtol=0, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = emb.transform(emb.input_pipeline(fs=500).fit_transform(EXPECTED[name]))
    ref = EXPECTED[f"{name}_embedding"]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    order = [6, 0, 11, 3, 1, 2, 4, 5, 7, 8, 9, 10]
    prep = emb.input_pipeline(fs=500, lead_names=[STANDARD_LEADS[i] for i in order])
    np.testing.assert_allclose(emb.transform(prep.fit_transform(EXPECTED[name][:, order])), out,
                               rtol=0, atol=1e-6)


def test_raw_100hz_records_authors_order_of_filter_and_resampling():
    """At other rates the authors band-pass before resampling; the function does the same."""
    name = "raw_100hz_10s"
    inputs = hubert_ecg_inputs(EXPECTED[name], 100.0)
    np.testing.assert_allclose(inputs, EXPECTED[f"{name}_input"], rtol=0, atol=1e-5)
    emb = FoundationEmbedder(NAME, PT, preprocess=False).fit()
    with torch.no_grad():
        out = emb.module_.features(torch.from_numpy(inputs)).numpy()
    ref = EXPECTED[f"{name}_embedding"]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    # through input_pipeline (FFT to 500 Hz first, band-pass at 500 Hz): same band, longer filter
    via = emb.set_params(preprocess=True).fit()
    out_via = via.transform(via.input_pipeline(fs=100).fit_transform(EXPECTED[name]))
    assert np.abs(out_via - ref).max() < 0.2 * np.abs(ref).max()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_released_sizes_have_the_released_tensors(size):
    """The table's network at each released size has the authors' tensors, heads aside."""
    shapes = json.loads((DATA / f"released_keys_{size}.json").read_text())
    assert sum(int(np.prod(s)) for s in shapes.values()) / 1e6 == pytest.approx(SIZES[size], abs=0.01)
    heads = ("final_proj.", "label_embedding.", "masked_spec_embed")
    kept = {"hubert." + k: s for k, s in shapes.items() if not k.startswith(heads)}
    network = _table.network_class(_table.entry(f"hubert-ecg-{size}"))
    with torch.device("meta"):
        ours = network(**_table.entry(f"hubert-ecg-{size}")["config"]).state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == kept


def test_inputs_contract():
    x = np.random.default_rng(0).normal(size=(2, 12, 5000))
    inputs = hubert_ecg_inputs(x)
    assert inputs.shape == (2, 6000) and inputs.dtype == np.float32
    assert np.abs(inputs).max() <= 1.1  # min-max to [-1, 1], then the decimation filter
    with pytest.raises(ValueError, match="at least 5 s"):
        hubert_ecg_inputs(x[..., :2000])
    with pytest.raises(ValueError, match="above 94 Hz"):
        hubert_ecg_inputs(x, fs=90)
    emb = FoundationEmbedder(NAME, PT).fit()
    assert emb.input_contract_.n_timepoints is None and emb.input_contract_.fs == 500.0
    assert [n for n, _ in emb.input_pipeline(fs=250).steps] == ["resample"]
    assert type(emb.input_pipeline(fs=250).named_steps["resample"]).__name__ == "FFTResample"


def _resave(tmp_path, edit, monkeypatch):
    """The reduced checkpoint with its weights edited, its config pickled as the authors' class."""
    with torch.serialization.safe_globals([(AttributeRecord, n) for n in _CONFIG_CLASSES]):
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
    emb = FoundationEmbedder(NAME, PT).fit()
    assert emb.module_.hubert.config.hidden_size == 32


def test_missing_tensor_is_named(tmp_path, monkeypatch):
    path = _resave(tmp_path, lambda sd: sd.pop("encoder.layers.1.final_layer_norm.bias"),
                   monkeypatch)
    with pytest.raises(CheckpointError, match=r"missing tensors: hubert\.encoder\.layers\.1\.final_layer_norm\.bias"):
        FoundationEmbedder(NAME, path).fit()


def test_unexpected_tensor_is_named(tmp_path, monkeypatch):
    path = _resave(tmp_path, lambda sd: sd.__setitem__("encoder.layers.7.x", torch.zeros(1)),
                   monkeypatch)
    with pytest.raises(CheckpointError, match=r"unexpected tensors: hubert\.encoder\.layers\.7\.x"):
        FoundationEmbedder(NAME, path).fit()


def test_misshaped_tensor_is_named(tmp_path, monkeypatch):
    def edit(sd):
        sd["feature_projection.projection.bias"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match=r"hubert\.feature_projection\.projection\.bias is \(3\), expected \(32\)"):
        FoundationEmbedder(NAME, _resave(tmp_path, edit, monkeypatch)).fit()


def test_folder_without_weights_is_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(DATA / "hf_folder", folder)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        FoundationEmbedder(NAME, folder).fit()
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        FoundationEmbedder(NAME, folder).fit()


class _Anything:
    pass


@pytest.mark.parametrize("content, match", [
    (b"\x00\x01", "is not a checkpoint"),
    ("object", "weights-only"),
    ({"model": {}}, "no 'model_state_dict'"),
])
def test_other_files_are_refused(tmp_path, content, match):
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "object":
        torch.save({"model_config": _Anything(), "model_state_dict": {}}, path)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=match):
        FoundationEmbedder(NAME, path).fit()


def test_hub_ids_download_the_size_file_or_the_safetensors(monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename))
        return str(PT if filename.endswith(".pt") else DATA / "hf_folder" / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    spec = copy.deepcopy(_table.table()[NAME])
    spec["checkpoint"]["hub_filename"] = "hubert_ecg_base.pt"
    monkeypatch.setitem(_table.table(), NAME, spec)
    FoundationEmbedder(NAME, "Edoardo-BS/HuBERT-ECG").fit()
    FoundationEmbedder(NAME, "hf://Edoardo-BS/hubert-ecg-base/model.safetensors").fit()
    assert calls == [("Edoardo-BS/HuBERT-ECG", "hubert_ecg_base.pt"),
                     ("Edoardo-BS/hubert-ecg-base", "model.safetensors")]
    assert _table.entry("hubert-ecg-large")["checkpoint"]["hub_filename"] == "hubert_ecg_large.pt"


def test_without_transformers_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"sklearn-ecg\[text\]"):
        FoundationEmbedder(NAME, PT).fit()


def test_preprocessing_in_torch_equals_the_authors():
    """Both zero-phase filters as convolutions from the steady state, in float64: scipy's result."""
    from sklearn_ecg.foundation._hubert_ecg import HuBERTECGInput

    x = np.random.default_rng(3).normal(size=(2, 12, 6000)).cumsum(-1) * 0.02
    x[1, 4] = 0.7  # a flat lead
    ref = hubert_ecg_inputs(x, fs=500)
    got = HuBERTECGInput().torch_module()(torch.from_numpy(x)).numpy()
    assert np.abs(got - ref).max() < 1e-6
    with pytest.raises(ValueError, match="500 Hz only"):
        HuBERTECGInput(fs=250).torch_module()


def test_differentiable_forward_equals_transform():
    emb = FoundationEmbedder(NAME, PT).fit()
    x = np.random.default_rng(0).normal(scale=0.3, size=(2, 12, 5000)).astype(np.float32)
    forward = emb.differentiable_forward()
    records = torch.from_numpy(x).requires_grad_(True)
    out = forward(records)
    np.testing.assert_allclose(out.detach().numpy(), emb.transform(x), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert torch.isfinite(records.grad).all() and records.grad.abs().sum() > 0
