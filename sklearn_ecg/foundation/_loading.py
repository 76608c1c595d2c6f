"""Finding a foundation model's checkpoint and loading it into the package's network."""

import functools
import os
import re

import torch

from .._checkpoints import CheckpointError, load_state_dict_once, read_torch_checkpoint, \
    state_dict_differences
from ._table import entry, network_class, table

__all__ = ["load_network", "resolve_checkpoint"]

# "owner/repo" or "owner/repo/file" on the Hugging Face Hub (optionally "hf://...").
_HUB_ID = re.compile(r"^(?:hf://)?([\w.-]+/[\w.-]+)(?:/([\w./-]+))?$")
_CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar", ".safetensors")


def _where_to_get(name, spec):
    ckpt = spec["checkpoint"]
    hub = ckpt.get("hub_repo")
    text = f"The weights of {name!r} are not shipped with the package: get them from {spec['weights']}"
    if hub:
        text += (f" and pass checkpoint='path/to/{ckpt.get('hub_filename', 'file')}', or pass "
                 f"checkpoint={hub!r} to download them with huggingface_hub (pip install "
                 "huggingface_hub)")
    return text + "."


def resolve_checkpoint(checkpoint, name, spec):
    """The local file of ``checkpoint``: a path, or a Hub repo id downloaded on request."""
    if checkpoint is None:
        raise ValueError(f"checkpoint is None. {_where_to_get(name, spec)}")
    if isinstance(checkpoint, os.PathLike):
        return os.fspath(checkpoint)
    if not isinstance(checkpoint, str):
        raise ValueError(f"checkpoint must be a file path or a Hub repository id; got {checkpoint!r}.")
    explicit_hub = checkpoint.startswith("hf://")
    match = _HUB_ID.match(checkpoint)
    if os.path.exists(checkpoint) or match is None or (
            not explicit_hub and checkpoint.lower().endswith(_CHECKPOINT_SUFFIXES)):
        return checkpoint
    repo, filename = match.groups()
    filename = filename or spec["checkpoint"].get("hub_filename")
    if not filename:
        raise ValueError(f"{name!r} names no file to download from {repo!r}; pass 'owner/repo/file'.")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise ImportError(
            f"checkpoint={checkpoint!r} is not a file here, and reading it from the Hugging Face "
            "Hub needs huggingface_hub (pip install huggingface_hub); or download "
            f"{filename!r} yourself and pass its path."
        ) from exc
    return hf_hub_download(repo_id=repo, filename=filename)


def _builder(spec):
    cls = network_class(spec)
    config = spec["config"]
    return lambda: cls(**config)


@functools.lru_cache(maxsize=32)
def _expected_shapes(name):
    """Tensor names and shapes of the network of table entry ``name`` (built without storage)."""
    with torch.device("meta"):
        module = _builder(entry(name))()
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _state_dict(obj, spec, source, what):
    key = spec["checkpoint"].get("state_dict_key")
    if key is not None and isinstance(obj, dict) and key in obj:
        state = obj[key]
    elif isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values()):
        state = obj  # a bare state dict
    else:
        found = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(
            f"{source}: holds no state dict of {what} (expected a dict with {key!r}, or the "
            f"state dict itself); found {found}.")
    prefix = spec["checkpoint"].get("strip_prefix")
    if prefix and isinstance(state, dict) and state and all(
            isinstance(k, str) and k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}  # saved from DataParallel
    ignore = tuple(spec["checkpoint"].get("ignore_prefixes", ()))
    if ignore and isinstance(state, dict):
        state = {k: v for k, v in state.items() if not (isinstance(k, str) and k.startswith(ignore))}
    convert = getattr(network_class(spec), "convert_checkpoint_state", None)
    if convert is not None and isinstance(state, dict):
        # The network's own renaming of the authors' tensors (e.g. across torch versions).
        state = convert(state, **spec["config"])
    return state


def _matching_entries(name, state):
    """Other table entries whose network has exactly the tensors of ``state``."""
    found = []
    for other in table():
        if other == name:
            continue
        try:
            expected = _expected_shapes(other)
        except Exception:  # an entry whose network cannot be built here names nothing
            continue
        if not any(state_dict_differences(expected, state)):
            found.append(other)
    return found


def load_network(name, checkpoint):
    """The network of table entry ``name`` with the weights of file ``checkpoint`` (CPU, eval mode)."""
    spec = entry(name)
    what = f"{name!r} ({spec['family']})"
    hint = _where_to_get(name, spec)
    obj = read_torch_checkpoint(checkpoint, what=f"a checkpoint of {what}", hint=hint)
    state = _state_dict(obj, spec, os.fspath(checkpoint), what)
    del obj
    try:
        module = load_state_dict_once(_builder(spec), state, os.fspath(checkpoint), what)
    except CheckpointError as exc:
        others = _matching_entries(name, state) if isinstance(state, dict) else []
        if others:
            raise CheckpointError(
                f"{exc} It is a checkpoint of {' or '.join(repr(o) for o in others)}: pass "
                f"name={others[0]!r}.") from None
        raise
    return module.eval()
