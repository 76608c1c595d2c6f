"""The encoder contract that fitted pretrainers offer, and the helper that unwraps them."""

import copy

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

from _text_encoders import BagOfWords
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg._encoder import ARCHITECTURES, EncoderContract, fitted_pretrainer
from sklearn_ecg.datasets import load_ptbxl_sample


@pytest.fixture(scope="module")
def data():
    d = load_ptbxl_sample()
    return np.ascontiguousarray(d.X[:32, :3, :128]), np.asarray(d.report[:32], dtype=object)


@pytest.fixture(scope="module")
def lcd(data):
    return LCDPretrainer(width=1 / 32, projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16,
                         standardize="lead", random_state=0, device="cpu").fit(data[0])


@pytest.fixture(scope="module")
def mets(data):
    X, reports = data
    return METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, random_state=0, device="cpu",
                          text_encoder=BagOfWords(dim=16), translate_reports=False).fit(X, reports=reports)


def test_lcd_contract_describes_the_encoder_and_embeds_as_transform(lcd, data):
    X = data[0]
    contract = lcd.encoder_contract_
    assert isinstance(contract, EncoderContract)
    assert contract.encoder is lcd.net_.module_.encoder
    assert (contract.per_lead, contract.n_leads, contract.min_length) == (True, 3, 32)
    assert (contract.standardize, contract.architecture, contract.width) == ("lead", "lcd", 1 / 32)
    contract.encoder.eval()
    with torch.no_grad():
        emb = contract.embed(torch.as_tensor(X[:5]))
    np.testing.assert_allclose(emb.numpy(), lcd.transform(X[:5]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(contract.embed_records(X[:5]), lcd.transform(X[:5]), rtol=1e-6, atol=1e-6)
    assert contract.n_features_per_lead * 3 == lcd.transform(X[:1]).shape[1]


@pytest.mark.parametrize("output", ["encoder", "joint"])
def test_mets_contract_embeds_as_transform(mets, data, output):
    X = data[0]
    model = copy.deepcopy(mets).set_params(output=output)
    contract = model.encoder_contract_
    assert (contract.per_lead, contract.architecture, contract.width) == (False, "mets", 0.0625)
    assert (contract.head is None) == (output == "encoder")
    contract.encoder.eval()
    with torch.no_grad():
        emb = contract.embed(torch.as_tensor(X[:5]))
    np.testing.assert_allclose(emb.numpy(), model.transform(X[:5]), rtol=1e-4, atol=1e-5)


def test_embed_is_differentiable(lcd, data):
    contract = copy.deepcopy(lcd.encoder_contract_)
    contract.encoder.eval()
    contract.embed(torch.as_tensor(data[0][:4])).sum().backward()
    grads = [p.grad for p in contract.encoder.parameters()]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)


def test_new_encoder_is_a_fresh_network_of_the_same_architecture(lcd, mets):
    for pre in (lcd, mets):
        contract = pre.encoder_contract_
        fresh = contract.new_encoder()
        assert type(fresh) is type(contract.encoder)
        assert fresh.out_features == contract.encoder.out_features
        trained = dict(contract.encoder.named_parameters())
        assert any(not torch.equal(p, trained[n]) for n, p in fresh.named_parameters())
    # The package's own, and one per imported model of the foundation table.
    from sklearn_ecg.foundation import foundation_models
    from sklearn_ecg.foundation._architectures import FoundationArchitecture

    assert set(ARCHITECTURES) == {"lcd", "mets", *foundation_models()}
    assert all(isinstance(ARCHITECTURES[n], FoundationArchitecture) for n in foundation_models())


def test_fitted_pretrainer_unwraps_and_refuses(lcd):
    assert fitted_pretrainer(lcd) is lcd
    assert fitted_pretrainer(FrozenEstimator(lcd)) is lcd
    with pytest.raises(NotFittedError, match="LCDPretrainer given as pretrainer is not fitted"):
        fitted_pretrainer(LCDPretrainer())
    with pytest.raises(NotFittedError, match="given as base is not fitted"):
        fitted_pretrainer(FrozenEstimator(METSPretrainer()), name="base")
    with pytest.raises(TypeError, match="must be a fitted pretrainer .* got str"):
        fitted_pretrainer("lcd")
    with pytest.raises(TypeError, match="got LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        fitted_pretrainer(LogisticRegression().fit([[0], [1]], [0, 1]))


def test_unfitted_pretrainer_has_no_contract():
    with pytest.raises(NotFittedError):
        LCDPretrainer().encoder_contract_


@pytest.mark.parametrize("module_name", ["lcd", "mets"])
def test_network_settings_are_declared_once(module_name):
    # The signatures repeat the table's defaults; the constraints are the table's.
    import importlib
    import inspect

    module = importlib.import_module(f"sklearn_ecg.{module_name}")
    estimator = module.LCDPretrainer if module_name == "lcd" else module.METSPretrainer
    network = module.LCDModule if module_name == "lcd" else module.METSModule
    for name, (default, constraints) in module.NETWORK_SETTINGS.items():
        assert inspect.signature(estimator).parameters[name].default == default, name
        assert inspect.signature(network).parameters[name].default == default, name
        assert estimator._parameter_constraints[name] is constraints, name
    assert module.NETWORK_SETTINGS["width"][0] == ARCHITECTURES[module_name].default_width
