"""Import of checkpoints in the key layout of the LCD authors' code.

The reference network is re-implemented here from its description (a 1-D
VGG16 as five ``nn.Sequential`` blocks of ``(Conv1d, BatchNorm1d, ReLU)``
units and a max-pooling, then adaptive average pooling, under ``encoder``; a
``Linear → BatchNorm1d → ReLU → Linear`` head under ``projection.net``), so
that its ``state_dict`` has exactly the reference's key names.
"""

import argparse

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_ecg import LCDPretrainer, LeadwiseEmbedder
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.preprocessing import SelectLeads, Standardize

_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class _Head(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_out))

    def forward(self, h):
        return self.net(h)


class ReferenceEncoderNet(nn.Module):
    """The reference's EncoderNet("vgg", in_ch, alpha): VGG16 trunk + projection head."""

    def __init__(self, alpha=0.125, in_ch=1, hidden=512, n_out=512):
        super().__init__()
        stages, c_in = [], in_ch
        for stage in _STAGES:
            units = []
            for c in stage:
                c_out = int(c * alpha)
                units.append(nn.Sequential(nn.Conv1d(c_in, c_out, kernel_size=3, padding=1),
                                           nn.BatchNorm1d(c_out), nn.ReLU()))
                c_in = c_out
            units.append(nn.MaxPool1d(kernel_size=2, stride=2))
            stages.append(nn.Sequential(*units))
        stages.append(nn.AdaptiveAvgPool1d(1))
        self.encoder = nn.Sequential(*stages)
        self.projection = _Head(c_in, hidden, n_out)

    def embed(self, x):
        return self.encoder(x).flatten(1)

    def forward(self, x):
        return self.projection(self.embed(x))


def _randomise(net, generator):
    """Random weights and BatchNorm statistics, so that every tensor's mapping matters."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                tensor.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.3)
    return net.eval()


def _reference_checkpoint(path, seed=0, **net_kwargs):
    gen = torch.Generator().manual_seed(seed)
    online = _randomise(ReferenceEncoderNet(**net_kwargs), gen)
    target = _randomise(ReferenceEncoderNet(**net_kwargs), gen)
    predictor = _Head(512, 512, 512)
    opt = torch.optim.Adam(list(online.parameters()) + list(predictor.parameters()), lr=1e-3)
    online.train()
    loss = predictor(online(torch.randn(4, 1, 64, generator=gen))).pow(2).mean()
    loss.backward()
    opt.step()
    online.eval()
    # Its exact layout: three state dicts under these three names.
    torch.save({
        "online_network_state_dict": online.state_dict(),
        "target_network_state_dict": target.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
    }, path)
    return online, target


@pytest.fixture(scope="module")
def records():
    data = load_ptbxl_sample()
    X = SelectLeads().fit_transform(data.X[:24, :, :500])  # II, III, V1-V6
    return X


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "model.pth"
    online, target = _reference_checkpoint(path)
    return path, online, target


def _reference_embeddings(net, Z):
    with torch.inference_mode():
        x = torch.from_numpy(Z)
        return torch.cat([net.embed(x[:, [j]]) for j in range(x.shape[1])], dim=1).numpy()


def test_the_reference_layout_has_the_expected_keys(checkpoint):
    path, online, _ = checkpoint
    keys = set(torch.load(path, weights_only=True)["online_network_state_dict"])
    assert "encoder.0.0.0.weight" in keys and "encoder.4.2.1.running_var" in keys
    assert "projection.net.3.weight" in keys and len(keys) == len(online.state_dict())


def test_imported_embeddings_equal_the_reference_encoder(checkpoint, records):
    path, online, target = checkpoint
    lcd = LCDPretrainer.from_reference_checkpoint(path, device="cpu")
    assert lcd.n_leads_ == lcd.n_features_in_ == 8 and len(lcd.history_) == 0
    assert lcd.width == 0.125 and lcd.projector_dim == 512
    # The reference z-scores every record (all leads, ddof=0) before the encoder.
    Z = Standardize(per="record").fit_transform(records)
    x64 = records.astype(np.float64)
    expected_z = (x64 - x64.mean(axis=(1, 2), keepdims=True)) / x64.std(axis=(1, 2), keepdims=True)
    np.testing.assert_array_equal(Z, expected_z.astype(np.float32))
    ours = lcd.transform(Z)
    theirs = _reference_embeddings(online, Z)
    assert ours.shape == theirs.shape == (len(Z), 8 * 64)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # Every mapped tensor is the reference's: projector and target network too.
    module = lcd.net_.module_.eval()
    with torch.inference_mode():
        lead = torch.from_numpy(Z[:, :1])
        np.testing.assert_allclose(module.projector(module.encoder(lead)).numpy(),
                                   online(lead).numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(module.target_projector(module.target_encoder(lead)).numpy(),
                                   target(lead).numpy(), rtol=1e-5, atol=1e-5)
    # Inside the network, standardize="record" gives the same input up to float32 rounding.
    inside = LCDPretrainer.from_reference_checkpoint(path, device="cpu", standardize="record")
    np.testing.assert_allclose(inside.transform(records), theirs, rtol=1e-3, atol=1e-4)


def test_imported_model_embeds_other_lead_sets_saves_and_trains(checkpoint, records, tmp_path):
    path, online, _ = checkpoint
    Z = Standardize(per="record").fit_transform(records)
    lcd = LCDPretrainer.from_reference_checkpoint(path, device="cpu")
    two = LeadwiseEmbedder(lcd, leads=["II", "V1"], lead_names=["II", "III", "V1", "V2", "V3", "V4",
                                                                  "V5", "V6"])
    np.testing.assert_allclose(two.fit_transform(Z), _reference_embeddings(online, Z[:, [0, 2]]),
                               rtol=1e-5, atol=1e-6)
    loaded = LCDPretrainer.from_pretrained(lcd.save_pretrained(tmp_path / "m"), device="cpu")
    assert loaded.n_timepoints_ is None
    np.testing.assert_array_equal(loaded.transform(Z), lcd.transform(Z))
    lcd.set_params(warm_start=True, max_epochs=1, batch_size=8).fit(Z)
    assert len(lcd.history_) == 1 and np.isfinite(lcd.transform(Z)).all()


def test_a_bare_encoder_state_dict_and_no_target_are_accepted(tmp_path, records):
    online = _randomise(ReferenceEncoderNet(), torch.Generator().manual_seed(1))
    path = tmp_path / "encoder.pth"
    torch.save(online.state_dict(), path)
    lcd = LCDPretrainer.from_reference_checkpoint(path, n_leads=2, device="cpu")
    Z = Standardize(per="record").fit_transform(records[:, :2])
    np.testing.assert_allclose(lcd.transform(Z), _reference_embeddings(online, Z), rtol=1e-5, atol=1e-6)
    module = lcd.net_.module_
    assert all(torch.equal(a, b) for a, b in zip(module.encoder.state_dict().values(),
                                                 module.target_encoder.state_dict().values()))


def test_checkpoints_that_cannot_be_imported_are_refused(tmp_path):
    online = ReferenceEncoderNet()
    # Python objects besides tensors are never unpickled.
    path = tmp_path / "objects.pth"
    torch.save({"online_network_state_dict": online.state_dict(),
                "args": argparse.Namespace(lr=1e-3)}, path)
    with pytest.raises(ValueError, match="weights-only torch checkpoint"):
        LCDPretrainer.from_reference_checkpoint(path)
    # The reference's default EncoderNet(in_ch=8) reads all leads at once.
    path = tmp_path / "eight.pth"
    torch.save({"online_network_state_dict": ReferenceEncoderNet(in_ch=8).state_dict()}, path)
    with pytest.raises(ValueError, match="takes 8 input channels"):
        LCDPretrainer.from_reference_checkpoint(path)
    path = tmp_path / "other.pth"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(ValueError, match="neither 'online_network_state_dict'"):
        LCDPretrainer.from_reference_checkpoint(path)
    state = online.state_dict()
    state["encoder.1.0.0.weight"] = torch.full_like(state["encoder.1.0.0.weight"], float("nan"))
    path = tmp_path / "nan.pth"
    torch.save({"online_network_state_dict": state}, path)
    with pytest.raises(ValueError, match="'encoder.1.0.0.weight' holds NaN"):
        LCDPretrainer.from_reference_checkpoint(path)
    path = tmp_path / "truncated.pth"
    torch.save({"online_network_state_dict": online.state_dict()}, path)
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ValueError, match="damaged, truncated"):
        LCDPretrainer.from_reference_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        LCDPretrainer.from_reference_checkpoint(tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="n_leads must be a positive integer"):
        LCDPretrainer.from_reference_checkpoint(tmp_path / "eight.pth", n_leads=0)


@pytest.mark.parametrize("content", [
    b"sinus rhythm, not a checkpoint\n",  # torch's legacy reader fails with KeyError: 101
    b"{\"online_network_state_dict\": {}}",
    b"PK\x03\x04 not really a zip archive",
    b"\x80\x02 a pickle header and then nothing",
    b"",
])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"notes\.txt.*(is not a torch checkpoint|could not be "
                       r"read as a weights-only torch checkpoint).*torch\.save"):
        LCDPretrainer.from_reference_checkpoint(path)


def test_a_different_projection_head_keeps_the_encoder_only(tmp_path, records):
    online = _randomise(ReferenceEncoderNet(hidden=256, n_out=128), torch.Generator().manual_seed(2))
    path = tmp_path / "head.pth"
    torch.save({"online_network_state_dict": online.state_dict()}, path)
    with pytest.warns(UserWarning, match="only the encoder is imported"):
        lcd = LCDPretrainer.from_reference_checkpoint(path, n_leads=8, device="cpu")
    Z = Standardize(per="record").fit_transform(records)
    np.testing.assert_allclose(lcd.transform(Z), _reference_embeddings(online, Z), rtol=1e-5, atol=1e-6)
