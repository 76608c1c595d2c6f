"""Reading other code's torch checkpoints: weights only, exact tensors, named errors."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_ecg import load_foundation_model
from sklearn_ecg._checkpoints import CheckpointError, load_state_dict_once, read_torch_checkpoint
from sklearn_ecg.foundation import _table
from sklearn_ecg.foundation._loading import _matching_entries
from sklearn_ecg.nn.ecgfounder import Net1D
from _foundation import DATA, REDUCED, register_reduced

CKPT = DATA / "ecgfounder-12lead-reduced.pth"
NAME = "ecgfounder-12lead-reduced-ckpt"


@pytest.fixture(autouse=True)
def reduced_model(monkeypatch):
    register_reduced(monkeypatch, "ecgfounder-12lead", NAME)


def _state():
    return torch.load(CKPT, weights_only=True)["state_dict"]


def _save(tmp_path, obj, name="model.pth"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


class _RunsCode:
    """An object whose unpickling would create a file: the marker of code having run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_missing_unexpected_and_misshaped_tensors_are_named(tmp_path):
    state = _state()
    del state["stage_list.2.block_list.0.se_fc1.bias"]
    state["stage_list.9.extra.weight"] = torch.zeros(3)
    state["dense.weight"] = torch.zeros(10, 64)
    with pytest.raises(CheckpointError) as info:
        load_foundation_model(NAME, _save(tmp_path, {"state_dict": state}))
    message = str(info.value)
    assert "missing tensors: stage_list.2.block_list.0.se_fc1.bias" in message
    assert "unexpected tensors: stage_list.9.extra.weight" in message
    assert "dense.weight is (10, 64), expected (150, 64)" in message


def test_bare_state_dict_and_dataparallel_prefix_load(tmp_path):
    state = _state()
    ref = load_foundation_model(NAME, CKPT)
    x = np.random.default_rng(0).normal(size=(2, 12, 5000)).astype(np.float32)
    for obj in (state, {"state_dict": {"module." + k: v for k, v in state.items()}}):
        emb = load_foundation_model(NAME, _save(tmp_path, obj), preprocess=False)
        np.testing.assert_array_equal(emb.transform(x), ref.set_params(preprocess=False).transform(x))


def test_code_carrying_pickle_never_runs(tmp_path):
    marker = tmp_path / "ran"
    zipped = _save(tmp_path, {"state_dict": _state(), "extra": _RunsCode(marker)})
    legacy = tmp_path / "legacy.pth"
    with open(legacy, "wb") as f:
        pickle.dump({"state_dict": _RunsCode(marker)}, f, protocol=2)
    for path in (zipped, legacy):
        with pytest.raises(CheckpointError, match="never unpickled"):
            load_foundation_model(NAME, path)
        assert not marker.exists()
    # The object does run code when unpickled without the guard: the test can fail.
    pickle.loads(pickle.dumps(_RunsCode(marker)))
    assert marker.exists()


def test_truncated_and_foreign_files(tmp_path):
    data = CKPT.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth.*damaged, truncated"):
        load_foundation_model(NAME, truncated)
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="is not a checkpoint of .*starts with"):
        load_foundation_model(NAME, text)
    other = _save(tmp_path, {"model": {"w": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match=r"holds no state dict .*\['model'\]"):
        load_foundation_model(NAME, other)
    nan = _state()
    nan["dense.bias"][0] = float("nan")
    with pytest.raises(CheckpointError, match="dense.bias hold NaN"):
        load_foundation_model(NAME, _save(tmp_path, {"state_dict": nan}))


def test_one_lead_checkpoint_under_a_twelve_lead_name():
    with torch.device("meta"):
        one_lead = Net1D(**_table.entry("ecgfounder-1lead")["config"]).state_dict()
        twelve = Net1D(**_table.entry("ecgfounder-12lead")["config"]).state_dict()
    assert _matching_entries("ecgfounder-12lead", one_lead) == ["ecgfounder-1lead"]
    assert _matching_entries("ecgfounder-1lead", twelve) == ["ecgfounder-12lead"]
    with pytest.raises(CheckpointError, match="pass name='ecgfounder-12lead-reduced-ckpt'"):
        load_foundation_model("ecgfounder-12lead", CKPT)


def test_weights_are_held_once():
    state = _state()
    module = load_state_dict_once(lambda: Net1D(12, **REDUCED), state, "x", "y")
    ours = dict(module.state_dict())
    assert all(ours[k].data_ptr() == v.data_ptr() for k, v in state.items())


def test_read_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        read_torch_checkpoint(tmp_path / "nothing.pth")


def test_network_renames_the_authors_tensors_and_picks_its_embedding(tmp_path, monkeypatch):
    state = {"old." + k: v for k, v in _state().items()}
    path = _save(tmp_path, {"state_dict": state})
    with pytest.raises(CheckpointError, match="missing tensors"):
        load_foundation_model(NAME, path)

    def rename(state, **config):
        assert config["in_channels"] == 12
        return {k.removeprefix("old."): v for k, v in state.items()}

    monkeypatch.setattr(Net1D, "convert_checkpoint_state", staticmethod(rename), raising=False)
    x = np.random.default_rng(0).normal(size=(2, 12, 5000)).astype(np.float32)
    clf = load_foundation_model(NAME, path, kind="classifier", preprocess=False)
    spec = _table.table()[NAME]
    monkeypatch.setitem(spec, "embedding", {"dim": 150, "method": "forward"})
    emb = load_foundation_model(NAME, path, preprocess=False)
    assert emb.embedding_method_ == "forward"
    np.testing.assert_array_equal(emb.transform(x), clf.decision_function(x))


@pytest.mark.parametrize("numpy_module", ["numpy._core.multiarray", "numpy.core.multiarray"])
def test_numpy_values_beside_the_weights_are_read(tmp_path, numpy_module):
    # Training scripts save their scores as NumPy scalars; NumPy 1 names its module numpy.core.
    obj = {"state_dict": _state(), "val_auroc": np.float64(0.9), "curve": np.arange(3.0),
           "step": np.int64(7)}
    path = tmp_path / "numpy.pth"
    torch.save(obj, path, pickle_protocol=2, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b"numpy._core.multiarray" in data
    path.write_bytes(data.replace(b"numpy._core.multiarray", numpy_module.encode()))
    loaded = read_torch_checkpoint(path)
    assert loaded["val_auroc"] == 0.9 and loaded["step"] == 7
    np.testing.assert_array_equal(loaded["curve"], [0.0, 1.0, 2.0])
    load_foundation_model(NAME, path)
