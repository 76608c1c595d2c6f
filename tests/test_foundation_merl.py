"""MERL: the package's networks, text side and zero-shot scoring against fixtures made with the authors' code.

The fixtures in tests/data/foundation/merl were written by
tools/make_merl_fixtures.py from the authors' repository: ``ECGCLIP``
checkpoints of reduced configurations of their ResNet1d and ViT (random
weights) with a tiny randomly initialised BERT, and the outputs of their code
(encoder, projections, text projections, zero-shot similarities) on a fixed
preprocessed input and on raw records in mV read through their dataset
class. The released configurations are checked by their tensor names and
shapes.
"""

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

import sklearn_ecg
from sklearn_ecg import FewShotECGClassifier, ZeroShotECGClassifier
from sklearn_ecg._checkpoints import CheckpointError
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.foundation import MERL_PROMPTS, MERLEmbedder
from sklearn_ecg.nn.merl import MERLNet
from sklearn_ecg.preprocessing import MinMaxScale

transformers = pytest.importorskip("transformers")

DATA = Path(__file__).resolve().parent / "data" / "foundation" / "merl"
TEXT_MODEL = DATA / "text_model"
PTBXL_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
# The reduced configurations of the fixtures (see tools/make_merl_fixtures.py).
MODELS = {
    "resnet18": ("merl-resnet18", {"resnet_blocks": [1, 1, 1, 1]}),
    "vit_tiny": ("merl-vit-tiny", {"vit": {"depth": 2}}),
}


def expected(kind):
    return np.load(DATA / f"merl_{kind}_expected.npz")


def ckpt(kind):
    return DATA / f"merl_{kind}_ckpt.pth"


def merl(kind, path=None, **params):
    name, arch = MODELS[kind]
    return MERLEmbedder(name, ckpt(kind) if path is None else path, architecture=arch,
                        text_model=TEXT_MODEL, **params).fit()


def zero_shot(model, keys):
    """ZeroShotECGClassifier with MERL's procedure: the CKEPE prompt alone, raw cosine."""
    descriptions = {k: MERL_PROMPTS[k] for k in keys}
    y = np.eye(len(keys), dtype=int)[: 2]
    X = np.zeros((2, 12, 5000), dtype=np.float32)
    X[:, :, ::7] = 1.0
    return ZeroShotECGClassifier(model, template="{}", class_descriptions=descriptions,
                                 class_names=list(keys)).fit(X, y)


# -- the networks -------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
def test_released_configuration_has_the_authors_tensors(kind):
    released = json.loads((DATA / "released_keys.json").read_text())[kind]
    net = MERLNet(kind)
    assert {k: list(v.shape) for k, v in net.state_dict().items()} == released["ckpt"]
    encoder = {k[len("ecg_encoder."):]: list(v.shape) for k, v in net.state_dict().items()
               if k.startswith("ecg_encoder.")}
    assert encoder == released["encoder"]
    assert sum(p.numel() for p in net.ecg_encoder.parameters()) == released["n_parameters_encoder"]


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("output", ["encoder", "projected"])
def test_embeddings_equal_the_authors_on_preprocessed_input(kind, output):
    ref = expected(kind)
    got = merl(kind, output=output).transform(ref["x"])
    np.testing.assert_allclose(got, ref[output], rtol=0, atol=1e-5)
    joint = merl(kind, output="joint").transform(ref["x"])
    norm = ref["projected"] / np.linalg.norm(ref["projected"], axis=1, keepdims=True)
    np.testing.assert_allclose(joint, norm, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", list(MODELS))
def test_text_and_zero_shot_similarities_equal_the_authors(kind):
    ref = expected(kind)
    keys = [str(k) for k in ref["prompt_keys"]]
    # The shipped prompt table is the authors'.
    assert [MERL_PROMPTS[k] for k in keys] == [str(p) for p in ref["prompts"]]
    model = merl(kind)
    text = model.encode_text([str(p) for p in ref["prompts"]])
    np.testing.assert_allclose(text, ref["class_embeddings"], rtol=0, atol=1e-5)
    unnormalised = ref["text_projected"]
    np.testing.assert_allclose(text, unnormalised / np.linalg.norm(unnormalised, axis=1, keepdims=True),
                               rtol=0, atol=1e-5)
    clf = zero_shot(model, keys)
    np.testing.assert_allclose(clf.class_embeddings_, ref["class_embeddings"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(clf.decision_function(ref["x"]), ref["similarities"], rtol=0, atol=1e-5)
    assert clf.logit_scale_ == pytest.approx(1 / 0.07)


@pytest.mark.parametrize("kind", list(MODELS))
def test_raw_records_in_mv_through_the_full_preprocessing(kind):
    ref = expected(kind)
    raw = ref["raw_mv"]  # PTB-XL lead order, 500 Hz, 5,200 samples, mV
    model = merl(kind)
    steps = model.input_pipeline(fs=500, lead_names=PTBXL_LEADS)
    prepared = steps.transform(raw)
    # MERL's dataset: first 5000 samples, min-max over the record, aVL and aVF swapped.
    np.testing.assert_allclose(MinMaxScale().fit_transform(prepared), ref["raw_inputs"],
                               rtol=0, atol=1e-6)
    for output in ("encoder", "projected"):
        pipe = make_pipeline(steps, merl(kind, output=output))
        got = pipe.transform(raw)
        np.testing.assert_allclose(got, ref[f"raw_{output}"], rtol=1e-4,
                                   atol=1e-4 * np.abs(ref[f"raw_{output}"]).max())
    clf = make_pipeline(steps, zero_shot(model, [str(k) for k in ref["prompt_keys"]]))
    np.testing.assert_allclose(clf.decision_function(raw), ref["raw_similarities"], rtol=1e-4,
                               atol=1e-5)


def test_scale_of_the_records_does_not_matter():
    x = expected("vit_tiny")["x"]
    model = merl("vit_tiny")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # microvolts are not a mistake for a min-max scaled model
        np.testing.assert_allclose(model.transform(1000 * x - 3), model.transform(x), rtol=1e-4,
                                   atol=1e-4)


def test_bare_encoder_file(tmp_path):
    ref = expected("resnet18")
    # MERL's *_encoder.pth is ecg_encoder.state_dict(): the checkpoint's ecg_encoder.* entries.
    state = torch.load(ckpt("resnet18"), weights_only=True)
    path = tmp_path / "resnet_encoder.pth"
    torch.save({k[len("ecg_encoder."):]: v for k, v in state.items() if k.startswith("ecg_encoder.")},
               path)
    model = merl("resnet18", path)
    assert not model.has_text_
    np.testing.assert_allclose(model.transform(ref["x"]), ref["encoder"], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="bare encoder"):
        model.encode_text(["atrial fibrillation"])
    with pytest.raises(ValueError, match="bare encoder"):
        merl("resnet18", path, output="projected")


def test_the_text_side_is_the_checkpoints_bert_with_merls_tokens(tmp_path):
    """With a BERT that has a layer, attention masks and padding matter; the weights are the file's."""
    config = transformers.BertConfig.from_pretrained(TEXT_MODEL)
    config.num_hidden_layers = 1
    torch.manual_seed(0)
    bert = transformers.BertModel(config).eval()
    state = {k: v for k, v in torch.load(ckpt("vit_tiny"), weights_only=True).items()
             if not k.startswith("lm_model.")}
    state.update({f"lm_model.{k}": v for k, v in bert.state_dict().items()})
    torch.save(state, tmp_path / "ckpt.pth")
    folder = tmp_path / "text"
    config.save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(TEXT_MODEL).save_pretrained(folder)
    model = MERLEmbedder("merl-vit-tiny", tmp_path / "ckpt.pth", architecture=MODELS["vit_tiny"][1],
                         text_model=folder, batch_size=2).fit()
    texts = ["Atrial FIBRILLATION", "normal ecg, sinus rhythm", "left bundle branch block"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    enc = tokenizer([t.lower() for t in texts], truncation=True, max_length=256,
                    padding="max_length", return_tensors="pt")
    with torch.no_grad():
        pooled = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).pooler_output
        want = torch.nn.functional.normalize(model.module_.project_text(pooled), dim=-1).numpy()
    np.testing.assert_allclose(model.encode_text(texts), want, rtol=0, atol=1e-5)


def test_lm_position_ids_of_older_transformers(tmp_path):
    state = torch.load(ckpt("vit_tiny"), weights_only=True)
    ref = expected("vit_tiny")
    texts = [str(p) for p in ref["prompts"]]
    # Written by transformers < 4.31, which kept the position ids in the state dict.
    state["lm_model.embeddings.position_ids"] = torch.arange(256).unsqueeze(0)
    torch.save(state, tmp_path / "old.pth")
    np.testing.assert_allclose(merl("vit_tiny", tmp_path / "old.pth").encode_text(texts),
                               ref["class_embeddings"], rtol=0, atol=1e-5)
    state["lm_model.embeddings.position_ids"] = torch.arange(256).flip(0).unsqueeze(0)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="position_ids"):
        merl("vit_tiny", tmp_path / "bad.pth").encode_text(texts)


# -- scikit-learn conventions -----------------------------------------------------------


def test_fitted_estimator_conventions():
    ref = expected("vit_tiny")
    model = merl("vit_tiny", output="projected")
    check_is_fitted(model)
    unfitted = clone(model)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(unfitted)
    np.testing.assert_array_equal(unfitted.fit().transform(ref["x"]), model.transform(ref["x"]))
    frozen = FrozenEstimator(model)
    np.testing.assert_array_equal(frozen.transform(ref["x"]), model.transform(ref["x"]))
    names = model.get_feature_names_out()
    assert len(names) == 256 and names[0] == "merl_vit_tiny_joint0"
    assert list(merl("vit_tiny").get_feature_names_out()[:2]) == ["merl_vit_tiny_0", "merl_vit_tiny_1"]
    frame = clone(model).set_output(transform="pandas").fit().transform(ref["x"])
    assert list(frame.columns) == list(names)
    # Pickled without the text model, which is rebuilt from the checkpoint.
    model.encode_text(["sinus rhythm"])
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.encode_text(["sinus rhythm"]), model.encode_text(["sinus rhythm"]))


def test_few_shot_classifier_starts_from_merls_zero_shot_weights():
    model = merl("resnet18")
    keys = list(MERL_PROMPTS)[:3]
    prompts = dict(template="{}", class_descriptions={k: MERL_PROMPTS[k] for k in keys},
                   class_names=keys)
    rng = np.random.default_rng(0)
    X = (0.3 * rng.standard_normal((10, 12, 5000))).astype(np.float32)
    y = np.tile([[1, 0, 1], [0, 1, 0]], (5, 1))
    zero = ZeroShotECGClassifier(model, **prompts).fit(X, y)
    # With C=0 the few-shot classifier is MERL's zero-shot classifier.
    none = FewShotECGClassifier(model, C=0, **prompts).fit(X, y)
    np.testing.assert_array_equal(none.decision_function(X), zero.decision_function(X))
    np.testing.assert_allclose(none.text_weights_, zero.class_embeddings_, rtol=0, atol=1e-7)
    # With labels it moves away from the text weights, towards the labels.
    few = FewShotECGClassifier(model, C=100, **prompts).fit(X, y)
    assert not np.allclose(few.coef_, few.prior_scale * few.text_weights_)
    proba = few.predict_proba(X)
    assert proba.shape == (10, 3) and ((proba > 0) & (proba < 1)).all()
    assert np.mean((proba > 0.5) == y) > np.mean((zero.predict_proba(X) > 0.5) == y)


def test_pipeline_cross_validation_and_grid_search():
    sample = load_ptbxl_sample()
    X, y = sample.X[:24], np.asarray(sample.y)[:24, 0]  # NORM or not
    steps = merl("vit_tiny").input_pipeline(fs=sample.fs, lead_names=sample.lead_names)
    unfitted = MERLEmbedder("merl-vit-tiny", ckpt("vit_tiny"), architecture=MODELS["vit_tiny"][1],
                            text_model=TEXT_MODEL)
    pipe = make_pipeline(steps, unfitted, LogisticRegression(max_iter=200))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    search = GridSearchCV(pipe, {"merlembedder__output": ["encoder", "projected"]}, cv=2).fit(X, y)
    assert search.best_params_["merlembedder__output"] in ("encoder", "projected")
    # Zero-shot: the classifier shares the loaded model between clones.
    keys = ["NORM", "MI", "STTC", "CD", "HYP"]
    clf = make_pipeline(steps, ZeroShotECGClassifier(
        merl("vit_tiny"), template="{}", class_names=keys,
        class_descriptions={k: MERL_PROMPTS[k] for k in keys}))
    Y = np.asarray(sample.y)[:24]
    assert cross_val_score(clf, X, Y, cv=2).shape == (2,)
    proba = clf.fit(X, Y).predict_proba(X)
    assert proba.shape == (24, 5) and np.all((proba > 0) & (proba < 1))


@pytest.mark.parametrize("output", ["encoder", "joint"])
def test_differentiable_forward_is_transform_with_gradients(output):
    raw = expected("resnet18")["raw_mv"]
    model = merl("resnet18", output=output)
    X = model.input_pipeline(fs=500, lead_names=PTBXL_LEADS).transform(raw)
    forward = model.differentiable_forward()
    x = torch.from_numpy(X).requires_grad_(True)
    out = forward(x)
    np.testing.assert_allclose(out.detach().numpy(), model.transform(X), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_load_foundation_model_gives_merl():
    model = sklearn_ecg.load_foundation_model("merl-vit-tiny", ckpt("vit_tiny"),
                                              architecture=MODELS["vit_tiny"][1], text_model=TEXT_MODEL)
    assert type(model) is MERLEmbedder and model.has_text_
    assert model.input_contract_.lead_names[4:6] == ("aVF", "aVL")
    assert model.input_contract_.fs == 500 and model.input_contract_.n_timepoints == 5000
    with pytest.raises(ValueError, match="no classification head"):
        sklearn_ecg.load_foundation_model("merl-vit-tiny", ckpt("vit_tiny"), kind="classifier")
    assert "merl-resnet18" in sklearn_ecg.foundation.foundation_models()


def test_input_checks():
    model = merl("vit_tiny")
    sample = load_ptbxl_sample()
    X = sample.X[:40]  # 100 Hz, PTB-XL's lead order
    steps = model.input_pipeline(fs=sample.fs, lead_names=sample.lead_names)
    prepared = steps.transform(X)
    assert prepared.shape == (40, 12, 5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.transform(prepared)
    with pytest.raises(ValueError, match="input_pipeline"):
        model.transform(prepared[:, :, :2500])
    with pytest.warns(UserWarning, match="do not look like the leads"):
        model.transform(prepared[:, ::-1])
    flat = prepared.copy()
    flat[:, 7] = 0
    with pytest.warns(UserWarning, match="V2 are flat"):
        model.transform(flat)


# -- bad checkpoints ------------------------------------------------------------------


def test_checkpoint_of_the_other_model_is_refused_with_its_tensors_named():
    with pytest.raises(CheckpointError, match=r"missing tensors: att_pool_head.*unexpected tensors: ecg_encoder.block0"):
        merl("resnet18", ckpt("vit_tiny"))
    # The released configuration against the reduced file: tensors of another shape or missing.
    with pytest.raises(CheckpointError, match="missing tensors: ecg_encoder.block1"):
        MERLEmbedder("merl-vit-tiny", ckpt("vit_tiny")).fit()


def test_truncated_malicious_and_textless_checkpoints(tmp_path):
    data = ckpt("vit_tiny").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        merl("vit_tiny", tmp_path / "cut.pth")

    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "ran",))

    torch.save({"weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError):
        merl("vit_tiny", tmp_path / "evil.pth")
    assert not (tmp_path / "ran").exists()

    state = torch.load(ckpt("vit_tiny"), weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("lm_model.")}, tmp_path / "nolm.pth")
    with pytest.raises(CheckpointError, match="lm_model"):
        merl("vit_tiny", tmp_path / "nolm.pth")
    state.pop("lm_model.pooler.dense.weight")
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="pooler.dense.weight"):
        merl("vit_tiny", tmp_path / "partial.pth").encode_text(["sinus rhythm"])


def test_text_model_that_is_not_there():
    model = MERLEmbedder("merl-vit-tiny", ckpt("vit_tiny"), architecture=MODELS["vit_tiny"][1],
                         text_model="no-such-owner/no-such-model").fit()
    with pytest.raises(OSError, match="local_files_only=False"):
        model.encode_text(["sinus rhythm"])


# -- the command line --------------------------------------------------------------------


def test_command_line_embeds_and_zero_shot_classifies(tmp_path):
    import pandas as pd
    import wfdb

    from sklearn_ecg.cli import load_folder, main

    ref = expected("vit_tiny")
    folder = tmp_path / "records"
    folder.mkdir()
    for i, record in enumerate(ref["raw_mv"].astype(np.float64)):
        wfdb.wrsamp(f"r{i}", fs=500, units=["mV"] * 12, sig_name=PTBXL_LEADS, p_signal=record.T,
                    fmt=["16"] * 12, write_dir=str(folder))
    X, _, _, _, _ = load_folder(folder, verbose=0)  # as the command line reads them
    model = merl("vit_tiny")
    steps = model.input_pipeline(fs=500, lead_names=PTBXL_LEADS)
    keys = [str(k) for k in ref["prompt_keys"]]
    (tmp_path / "prompts.json").write_text(json.dumps({k: MERL_PROMPTS[k] for k in keys}))
    # The reduced test configuration is registered under its own name for the command line.
    from sklearn_ecg.foundation import _table

    spec = json.loads(json.dumps(_table.table()["merl-vit-tiny"]))
    spec["config"].update(MODELS["vit_tiny"][1])
    _table.table()["merl-vit-tiny-reduced"] = spec
    try:
        assert main(["embed", "merl-vit-tiny-reduced", str(folder), "--checkpoint", str(ckpt("vit_tiny")),
                     "--out", str(tmp_path / "emb.npy"), "--quiet"]) == 0
        assert main(["zero-shot", "merl-vit-tiny-reduced", str(folder), "--checkpoint",
                     str(ckpt("vit_tiny")), "--text-model", str(TEXT_MODEL), "--template", "{}",
                     "--descriptions", str(tmp_path / "prompts.json"), "--out",
                     str(tmp_path / "z.csv"), "--quiet"]) == 0
    finally:
        del _table.table()["merl-vit-tiny-reduced"]
    np.testing.assert_allclose(np.load(tmp_path / "emb.npy"), model.transform(steps.transform(X)),
                               rtol=1e-5, atol=1e-6)
    scores = pd.read_csv(tmp_path / "z.csv", index_col=0)
    assert list(scores.columns) == keys
    np.testing.assert_allclose(scores.to_numpy(), ref["raw_similarities"], rtol=1e-4, atol=1e-4)
