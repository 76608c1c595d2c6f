"""Weights-only reading of foreign checkpoints and exact loading into our modules.

Every tensor of the module must come from the checkpoint, every tensor the
checkpoint offers for it must be used, and shapes must agree: anything else
is refused with an error that names the tensors concerned. The module is
built on the ``meta`` device and the checkpoint's tensors are assigned to it,
so the weights exist once in memory (no random initialisation to overwrite,
no copy).
"""

import os

import torch

__all__ = [
    "CheckpointError",
    "CheckpointFormatError",
    "MissingTensorsError",
    "UnexpectedTensorsError",
    "TensorShapeError",
    "read_torch_checkpoint",
    "load_exact",
]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be imported (base of the errors below)."""


class CheckpointFormatError(CheckpointError):
    """The file is not the expected kind of checkpoint."""


class MissingTensorsError(CheckpointError):
    """The checkpoint lacks tensors the model needs."""


class UnexpectedTensorsError(CheckpointError):
    """The checkpoint holds tensors the model has no place for."""


class TensorShapeError(CheckpointError):
    """A tensor's shape differs from the model's."""


def _names(keys, limit=6):
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(repr(k) for k in keys[:limit]) + more


def read_torch_checkpoint(path, what):
    """``torch.load`` with ``weights_only=True``, errors saying what was wrong.

    ``what`` names the expected file in the messages (e.g. ``"an ST-MEM
    checkpoint (encoder.pth)"``).
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"No checkpoint file {source!r}; expected {what}.")
    with open(source, "rb") as f:
        head = f.read(8)
    if not head.startswith((b"PK\x03\x04", b"\x80")):
        raise CheckpointFormatError(
            f"{source}: is not a torch checkpoint (a file written by torch.save starts as a zip "
            f"archive or a pickle; this one starts with {head!r}); expected {what}.")
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        # torch's advice (load with weights_only=False) must not be followed for a downloaded
        # file, so only the first line of its message is kept.
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointFormatError(
            f"{source}: could not be read as a weights-only torch checkpoint "
            f"({type(exc).__name__}: {reason}); expected {what}. The file is damaged or "
            "truncated, or holds Python objects besides tensors, which are never unpickled."
        ) from exc


def check_state_dict(state, source):
    """Refuse a state dict that is not a flat dict of finite tensors."""
    if not isinstance(state, dict) or not state:
        raise CheckpointFormatError(f"{source}: the weights are not a non-empty dict of tensors.")
    bad = [k for k, v in state.items() if not torch.is_tensor(v)]
    if bad:
        raise CheckpointFormatError(f"{source}: entries that are not tensors: {_names(bad)}.")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointFormatError(f"{source}: tensors holding NaN or infinity: {_names(bad)}.")
    return state


def load_exact(build, state, source):
    """Build a module with ``build()`` on the meta device, then assign ``state`` to it.

    Raises :class:`MissingTensorsError`, :class:`UnexpectedTensorsError` or
    :class:`TensorShapeError` unless ``state`` has exactly the module's
    tensors with their shapes. Returns the module in eval mode on the CPU.
    """
    with torch.device("meta"):
        module = build()
    expected = module.state_dict()
    missing = set(expected) - set(state)
    if missing:
        raise MissingTensorsError(
            f"{source}: {len(missing)} tensors of the model are missing from the checkpoint: "
            f"{_names(missing)}.")
    unexpected = set(state) - set(expected)
    if unexpected:
        raise UnexpectedTensorsError(
            f"{source}: {len(unexpected)} tensors of the checkpoint have no place in the model: "
            f"{_names(unexpected)}.")
    wrong = [f"{k} {tuple(state[k].shape)} (model: {tuple(v.shape)})"
             for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise TensorShapeError(f"{source}: tensors whose shape differs from the model's: "
                               + "; ".join(wrong[:6]) + ("…" if len(wrong) > 6 else "") + ".")
    state = {k: v if v.dtype == expected[k].dtype else v.to(expected[k].dtype)
             for k, v in state.items()}
    module.load_state_dict(state, strict=True, assign=True)
    return module.eval()
