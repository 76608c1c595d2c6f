"""ECG-FM: the package's network and pipeline against fixtures made with the authors' code.

tests/data/foundation/ecg_fm was written by tools/make_ecg_fm_fixtures.py:
fairseq-signals' own modules and ``ECGTransformerModel`` forward code at a
reduced size (random weights) saved as fairseq checkpoints of the pretraining
model and of the fine-tuned classifier, the authors' pooled embedding of a
fixed input, and of raw records in mV through the inference notebook's
transforms (ecg_transform: linear resampling, constant leads, z-score per
lead, 5 s segments; one embedding per segment).
"""

import json
import pathlib

import numpy as np
import pytest
import torch

import sklearn_ecg
from sklearn_ecg._checkpoints import CheckpointError
from sklearn_ecg.foundation import FoundationEmbedder, _table
from sklearn_ecg.foundation._ecg_fm import _conv_layers, ecg_fm_segments
from sklearn_ecg.nn.ecg_fm import ECG_FM_BASE, ECGFMEncoder
from sklearn_ecg.preprocessing import STANDARD_LEADS
from _foundation import register_reduced

DATA = pathlib.Path(__file__).parent / "data" / "foundation" / "ecg_fm"
EXPECTED = dict(np.load(DATA / "expected.npz"))
PRETRAINED = DATA / "ecg_fm_reduced_pretrained.pt"
NAME = "ecg-fm-reduced"
REDUCED = dict(conv_layers=[[32, 2, 2]] * 4, embed_dim=64, layers=2, heads=4, ffn_dim=128,
               conv_pos=16, conv_pos_groups=4)


@pytest.fixture(autouse=True)
def reduced_model(monkeypatch):
    """A table entry for the reduced configuration: the released one with a smaller network."""
    register_reduced(monkeypatch, "ecg-fm", NAME, REDUCED, REDUCED["embed_dim"])


@pytest.mark.parametrize("checkpoint", ["ecg_fm_reduced_pretrained.pt", "ecg_fm_reduced_finetuned.pt"])
def test_same_input_matches_authors(checkpoint):
    emb = FoundationEmbedder(NAME, DATA / checkpoint).fit()
    with torch.no_grad():
        out = emb.module_.features(torch.from_numpy(EXPECTED["same_input"])).numpy()
    np.testing.assert_allclose(out, EXPECTED["same_input_embedding"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["raw_100hz_10s", "raw_250hz_8s"])
def test_raw_records_match_authors_pipeline(name):
    """Through input_pipeline and transform: the mean of the authors' segment embeddings."""
    fs = float(EXPECTED[f"{name}_fs"])
    emb = sklearn_ecg.load_foundation_model(NAME, PRETRAINED, batch_size=2)
    order = [6, 0, 11, 3, 1, 2, 4, 5, 7, 8, 9, 10]
    prep = emb.input_pipeline(fs=fs, lead_names=[STANDARD_LEADS[i] for i in order])
    assert type(prep.named_steps["resample"]).__name__ == "LinearResample"
    out = emb.transform(prep.fit_transform(EXPECTED[name][:, order]))
    ref = EXPECTED[f"{name}_segment_embeddings"].mean(axis=1)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_segments_are_the_authors_transforms():
    emb = FoundationEmbedder(NAME, PRETRAINED).fit()
    x = emb.input_pipeline(fs=250).fit_transform(EXPECTED["raw_250hz_8s"])
    segments = ecg_fm_segments(x)
    np.testing.assert_allclose(segments, EXPECTED["raw_250hz_8s_segments"], rtol=0, atol=1e-5)
    assert np.all(segments[1, :, 4] == 0)  # the constant lead
    assert ecg_fm_segments(np.ones((1, 12, 7600))).shape == (1, 3, 12, 2500)
    with pytest.raises(ValueError, match="at least 2500 samples at 500 Hz"):
        ecg_fm_segments(np.ones((1, 12, 2000)))


def test_released_configuration_has_the_released_tensors():
    shapes = json.loads((DATA / "released_keys.json").read_text())
    assert _table.entry("ecg-fm")["config"] == {**ECG_FM_BASE, "conv_layers": [[256, 2, 2]] * 4}
    with torch.device("meta"):
        ours = ECGFMEncoder(**_table.entry("ecg-fm")["config"]).state_dict()
    shapes.pop("mask_emb")  # a pretraining tensor, left out
    assert {k: list(v.shape) for k, v in ours.items()} == shapes
    assert sum(int(np.prod(s)) for s in shapes.values()) / 1e6 == pytest.approx(90.37, abs=0.01)


def test_conv_layers_are_read_without_eval():
    assert _conv_layers("[(256, 2, 2)] * 4") == [[256, 2, 2]] * 4
    assert _conv_layers("[(512, 10, 5)] + [(512, 3, 2)] * 2") == [[512, 10, 5], [512, 3, 2], [512, 3, 2]]
    with pytest.raises(ValueError):
        _conv_layers("__import__('os').getcwd()")


# -- bad checkpoints -------------------------------------------------------------------


def _resave(tmp_path, edit_state=None, edit_cfg=None):
    ckpt = torch.load(PRETRAINED, weights_only=True)
    if edit_state:
        edit_state(ckpt["model"])
    if edit_cfg:
        edit_cfg(ckpt["cfg"]["model"])
    path = tmp_path / "edited.pt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda sd: sd.pop("encoder.layers.1.fc2.bias"), r"missing tensors: encoder\.layers\.1\.fc2\.bias"),
    (lambda sd: sd.__setitem__("encoder.extra", torch.zeros(2)), r"unexpected tensors: encoder\.extra"),
    (lambda sd: sd.__setitem__("post_extract_proj.bias", torch.zeros(3)),
     r"post_extract_proj\.bias is \(3\), expected \(64\)"),
])
def test_bad_checkpoints_are_refused_naming_the_tensors(tmp_path, edit, match):
    with pytest.raises(CheckpointError, match=match):
        FoundationEmbedder(NAME, _resave(tmp_path, edit)).fit()


def test_configuration_of_another_network_is_refused(tmp_path):
    """Heads and strides are not visible in the tensors' shapes: the cfg is checked."""
    path = _resave(tmp_path, edit_cfg=lambda m: m.update(encoder_attention_heads=2))
    with pytest.raises(CheckpointError, match="encoder_attention_heads=2"):
        FoundationEmbedder(NAME, path).fit()
    path = _resave(tmp_path, edit_cfg=lambda m: m.update(conv_feature_layers="[(32, 2, 1)] * 4"))
    with pytest.raises(CheckpointError, match="conv_feature_layers"):
        FoundationEmbedder(NAME, path).fit()


def test_numpy_metrics_beside_the_weights_are_read(tmp_path):
    ckpt = torch.load(PRETRAINED, weights_only=True)
    ckpt["extra_state"]["metrics"] = {"loss": np.float64(0.5), "hist": np.arange(3)}
    path = tmp_path / "with_numpy.pt"
    torch.save(ckpt, path)
    emb = FoundationEmbedder(NAME, path).fit()
    with torch.no_grad():
        out = emb.module_.features(torch.from_numpy(EXPECTED["same_input"])).numpy()
    np.testing.assert_allclose(out, EXPECTED["same_input_embedding"], atol=1e-5)


def test_released_name_with_reduced_checkpoint_is_refused():
    with pytest.raises(CheckpointError, match="another network|It is a checkpoint of"):
        FoundationEmbedder("ecg-fm", PRETRAINED).fit()


def test_differentiable_forward_equals_transform():
    """Attributions: z-score and segments in torch, with gradients to the raw records."""
    emb = FoundationEmbedder(NAME, PRETRAINED).fit()
    x = emb.input_pipeline(fs=100).fit_transform(EXPECTED["raw_100hz_10s"][:2])
    forward = emb.differentiable_forward()
    records = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
    out = forward(records)
    np.testing.assert_allclose(out.detach().numpy(), emb.transform(x), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert records.grad is not None and torch.isfinite(records.grad).all()
    assert records.grad.abs().sum() > 0
