"""Imported foundation models on the package's one fit template: loaded by ``fit`` through
``NetEstimator._fit_net``, fine-tuned by ``ECGClassifier`` (with freezing), explained, saved
and loaded in the package's own format, and read lead by lead by ``LeadwiseEmbedder``."""

import json
import pathlib

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_ecg import ECGClassifier, LeadwiseEmbedder, load_pretrained
from sklearn_ecg._base import NetEstimator
from sklearn_ecg._encoder import ARCHITECTURES
from sklearn_ecg._persistence import PretrainedModelError
from sklearn_ecg.foundation import FoundationClassifier, FoundationEmbedder, MERLEmbedder
from sklearn_ecg.foundation._forward import FoundationNetwork
from _foundation import DATA, register_reduced

ECGFOUNDER = {tag: (f"ecgfounder-{tag}-reduced", DATA / f"ecgfounder-{tag}-reduced.pth")
              for tag in ("12lead", "1lead")}
# Reduced configurations of the transformer fixtures (as in their own test files).
TRANSFORMERS = {
    "st-mem-reduced": ("st-mem", DATA / "st_mem" / "encoder.pth",
                       dict(width=64, depth=2, mlp_dim=256, heads=2, dim_head=64), 64),
    "ecg-fm-reduced": ("ecg-fm", DATA / "ecg_fm" / "ecg_fm_reduced_finetuned.pt",
                       dict(conv_layers=[[32, 2, 2]] * 4, embed_dim=64, layers=2, heads=4,
                            ffn_dim=128, conv_pos=16, conv_pos_groups=4), 64),
    "hubert-ecg-reduced": ("hubert-ecg-base", DATA / "hubert_ecg" / "hubert_ecg_reduced.pt",
                           dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, conv_dim=[32] * 5), 32),
}
MERL = DATA / "merl"


@pytest.fixture(autouse=True)
def reduced_models(monkeypatch):
    for tag in ("12lead", "1lead"):
        register_reduced(monkeypatch, f"ecgfounder-{tag}", ECGFOUNDER[tag][0])
    for name, (released, _, config, dim) in TRANSFORMERS.items():
        register_reduced(monkeypatch, released, name, config, dim)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    t = np.arange(5000) / 500
    # Two classes that differ in rate: a learnable signal, not noise alone.
    rate = np.repeat([1.0, 2.0], 6)
    X = 0.8 * np.sin(2 * np.pi * rate[:, None, None] * t) + 0.05 * rng.normal(size=(12, 12, 5000))
    return X.astype(np.float32), (rate > 1.5).astype(int)


def embedder(tag="12lead", **params):
    name, path = ECGFOUNDER[tag]
    return FoundationEmbedder(name, path, **params).fit()


def merl(kind="resnet18"):
    name, arch = {"resnet18": ("merl-resnet18", {"resnet_blocks": [1, 1, 1, 1]}),
                  "vit_tiny": ("merl-vit-tiny", {"vit": {"depth": 2}})}[kind]
    return MERLEmbedder(name, MERL / f"merl_{kind}_ckpt.pth", architecture=arch,
                        text_model=MERL / "text_model").fit()


def test_loading_is_the_fit_template(monkeypatch, data):
    calls = []
    fit_net = NetEstimator._fit_net
    monkeypatch.setattr(NetEstimator, "_fit_net",
                        lambda self, *a, **k: calls.append(type(self).__name__) or fit_net(self, *a, **k))
    X, _ = data
    emb = embedder()
    clf = FoundationClassifier(*ECGFOUNDER["12lead"]).fit(X)
    assert calls == ["FoundationEmbedder", "FoundationClassifier"]
    # Nothing trained; the net keeps the network as a FoundationNetwork, module_ is the network.
    assert len(emb.history_) == 0 and isinstance(emb.net_.module_, FoundationNetwork)
    assert emb.module_ is emb.net_.module_.network and not emb.module_.training
    assert emb.n_leads_ == 12 and emb.n_timepoints_ == 5000
    assert not hasattr(emb, "n_features_in_") and clf.n_features_in_ == 12
    # A refit without records forgets the width of the earlier one.
    assert not hasattr(clf.fit(), "n_features_in_")


def test_ecgclassifier_fine_tunes_a_copy_with_the_encoder_frozen_first(data):
    X, y = data
    emb = embedder()
    before = {k: v.clone() for k, v in emb.module_.state_dict().items()}
    reference = emb.transform(X)
    # Frozen for all epochs: a linear probe, whose encoder keeps the published weights.
    probe = ECGClassifier(emb, max_epochs=2, freeze_epochs=2, batch_size=4, lr=1e-2, device="cpu",
                          validation_fraction=None, random_state=0).fit(X, y)
    encoder = probe.net_.module_.encoders[0]
    for k, v in encoder.network.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    tuned = ECGClassifier(emb, max_epochs=3, freeze_epochs=1, batch_size=4, lr=1e-3, device="cpu",
                          validation_fraction=None, random_state=0).fit(X, y)
    moved = max((v - before[k]).abs().max().item()
                for k, v in tuned.net_.module_.encoders[0].network.state_dict().items())
    assert moved > 0
    assert tuned.architecture_ == "ecgfounder-12lead-reduced"
    assert tuned.encoder_params_["model"] == "ecgfounder-12lead-reduced"
    # The embedder itself is untouched, and the classifier reads raw records in mV like it.
    for k, v in emb.module_.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    np.testing.assert_array_equal(emb.transform(X), reference)
    assert tuned.input_contract_.fs == 500.0 and tuned.input_contract_.lead_names == emb.input_contract_.lead_names
    assert tuned.predict_proba(X).shape == (12, 2)


def test_fine_tuned_classifier_round_trips_with_the_weights_source(data, tmp_path):
    X, y = data
    clf = ECGClassifier(embedder(), max_epochs=1, batch_size=4, device="cpu", validation_fraction=None,
                        random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="pretrainer is not saved"):
        folder = clf.save_pretrained(tmp_path / "clf")
    card = (folder / "README.md").read_text()
    assert "published weights of ecgfounder-12lead-reduced" in card and "Weights:" in card
    loaded = load_pretrained(folder, device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.architecture == "ecgfounder-12lead-reduced"
    # Refitted without its pretrainer, it trains the same network from scratch.
    fresh = clone(loaded).set_params(max_epochs=1, validation_fraction=None).fit(X, y)
    assert fresh.encoder_params_["config"] == clf.encoder_params_["config"]
    # A folder whose encoder settings are not the network's is refused, naming them.
    config = json.loads((folder / "config.json").read_text())
    config["module"]["kwargs"]["encoder_params"]["config"]["filter_list"] = [8, 8]
    config["fitted"]["encoder_params_"]["config"]["filter_list"] = [8, 8]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PretrainedModelError):
        load_pretrained(folder, device="cpu")


@pytest.mark.parametrize("kind", ["embedder", "classifier"])
def test_imported_model_round_trips_in_the_package_format(kind, data, tmp_path):
    X, _ = data
    cls = FoundationEmbedder if kind == "embedder" else FoundationClassifier
    est = cls(*ECGFOUNDER["12lead"]).fit()
    folder = est.save_pretrained(tmp_path / kind)
    card = (folder / "README.md").read_text()
    assert "licence of the weights" in card and "huggingface.co/PKUDigitalHealth/ECGFounder" in card
    loaded = load_pretrained(folder, device="cpu")
    assert type(loaded) is cls and not hasattr(loaded, "n_features_in_")
    out = "transform" if kind == "embedder" else "predict_proba"
    np.testing.assert_array_equal(getattr(loaded, out)(X), getattr(est, out)(X))
    if kind == "classifier":
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
    assert loaded.input_contract_ == est.input_contract_


@pytest.mark.parametrize("name", ["st-mem-reduced", "ecg-fm-reduced", "hubert-ecg-reduced"])
def test_transformer_models_fine_tune_and_round_trip(name, data, tmp_path):
    X, y = data
    X = X[:, :, :2500] if name == "st-mem-reduced" else X
    emb = FoundationEmbedder(name, TRANSFORMERS[name][1]).fit()
    # The encoder handed out computes what transform does (preprocessing in torch).
    contract = emb.encoder_contract_
    with torch.inference_mode():
        direct = contract.embed(torch.from_numpy(X[:3])).numpy()
    np.testing.assert_allclose(direct, emb.transform(X[:3]), rtol=1e-4, atol=1e-5)
    clf = ECGClassifier(emb, max_epochs=1, freeze_epochs=1, batch_size=4, device="cpu",
                        validation_fraction=None, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="pretrainer is not saved"):
        loaded = load_pretrained(clf.save_pretrained(tmp_path / "clf"), device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    reloaded = load_pretrained(emb.save_pretrained(tmp_path / "emb"), device="cpu")
    np.testing.assert_array_equal(reloaded.transform(X), emb.transform(X))


def test_merl_fine_tunes_and_round_trips_with_its_settings(data, tmp_path):
    X, y = data
    emb = merl("vit_tiny")
    clf = ECGClassifier(emb, max_epochs=1, batch_size=4, device="cpu", validation_fraction=None,
                        random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="pretrainer is not saved"):
        loaded = load_pretrained(clf.save_pretrained(tmp_path / "clf"), device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # MERL's patches fix the record length: another one is refused before any training.
    longer = np.concatenate([X, X[:, :, :1000]], axis=-1)
    with pytest.raises(ValueError, match="exactly 5000"):
        ECGClassifier(emb, max_epochs=1, batch_size=4, device="cpu").fit(longer, y)
    with pytest.raises(ValueError, match="shorter than the 5000 samples.*input_pipeline"):
        ECGClassifier(emb, max_epochs=1, batch_size=4, device="cpu").fit(X[:, :, :4000], y)
    saved = load_pretrained(emb.save_pretrained(tmp_path / "emb"), device="cpu")
    assert type(saved) is MERLEmbedder and saved.has_text_
    np.testing.assert_array_equal(saved.transform(X), emb.transform(X))
    np.testing.assert_array_equal(saved.encode_ecg(X), emb.encode_ecg(X))


def test_single_lead_model_reads_any_leads_one_by_one(data):
    X, y = data
    one = embedder("1lead")
    leadwise = LeadwiseEmbedder(one, leads=["II", "V1"]).fit(X)
    expected = embedder("1lead", lead_names=["II", "V1"]).transform(X[:, [1, 6]])
    np.testing.assert_array_equal(leadwise.transform(X), expected)
    # Fine-tuned on three leads: one shared copy of the network, or one per lead.
    three = embedder("1lead", lead_names=["I", "II", "III"])
    for share, copies in ((True, 1), (False, 3)):
        clf = ECGClassifier(three, share_encoder=share, max_epochs=1, batch_size=4, device="cpu",
                            validation_fraction=None, random_state=0).fit(X[:, :3], y)
        assert len(clf.net_.module_.encoders) == copies
    with pytest.raises(ValueError, match="pretrained on 1"):
        ECGClassifier(one, max_epochs=1, batch_size=4, device="cpu").fit(X[:, :3], y)


def test_models_that_cannot_be_fine_tuned_say_why(data):
    X, y = data
    with pytest.raises(ValueError, match="preprocess=True"):
        ECGClassifier(embedder(preprocess=False), max_epochs=1, batch_size=4).fit(X, y)
    # A head is not an encoder: the embedder is.
    with pytest.raises(TypeError, match="pretrainer"):
        ECGClassifier(FoundationClassifier(*ECGFOUNDER["12lead"]).fit(), max_epochs=1).fit(X, y)


def test_every_table_model_is_an_encoder_architecture():
    from sklearn_ecg.foundation import foundation_models

    for name, spec in foundation_models().items():
        arch = ARCHITECTURES[name]
        assert arch.per_lead == bool(spec["input"].get("any_single_lead"))
        assert arch.notice and spec["weights"] in arch.notice
        params = arch.default_params()
        assert set(params) == set(arch.param_names)
        arch.check_params(params)
        with pytest.raises(ValueError, match="not settings"):
            arch.check_params({**params, "method": "no_such_method"})
    assert pathlib.Path(DATA).is_dir()


DAMAGES = {
    "network settings": (lambda c: c["module"]["kwargs"]["config"].update(filter_list=[8, 8]),
                         "refuses .*one entry per stage"),
    "unknown setting": (lambda c: c["module"]["kwargs"]["config"].update(bogus=1), "unexpected keyword"),
    "unknown model": (lambda c: (c["params"].update(name="nope"), c["module"]["kwargs"].update(name="nope")),
                      "not one of the foundation model"),
    "another model's network": (lambda c: c["module"]["kwargs"].update(name="ecgfounder-1lead"),
                                "not one of the foundation model"),
    "no checkpoint path": (lambda c: c["fitted"].pop("checkpoint_path_"), "checkpoint_path_"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_saved_imported_model_is_refused(damage, tmp_path):
    folder = embedder().save_pretrained(tmp_path / "saved")
    config = json.loads((folder / "config.json").read_text())
    edit, message = DAMAGES[damage]
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PretrainedModelError, match=message):
        load_pretrained(folder, device="cpu")
