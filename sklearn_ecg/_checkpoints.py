"""Reading torch checkpoints written by other code, safely.

A checkpoint file is unpickled with ``torch.load(weights_only=True)`` only:
tensors, numbers, strings and containers, never an arbitrary Python object,
so a file that carries code is refused before any of it runs. Its tensors
are then matched to a module's by name and shape, and any difference is
refused with an error that names the tensors (other code often loads with
``strict=False`` and never looks). Loading assigns the file's tensors to a
module built without storage, so the weights are held once.
"""

import os

import torch

__all__ = ["CheckpointError", "check_state_dict", "load_state_dict_once", "read_torch_checkpoint"]


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not hold the tensors of the model asked for."""


def read_torch_checkpoint(path, *, what="a torch checkpoint", hint="", mmap=False):
    """The object a ``torch.save`` file holds, unpickled with ``weights_only=True`` on the CPU.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str, default="a torch checkpoint"
        What the file should be, for the error messages.
    hint : str, default=""
        A sentence added to the messages (what to pass instead).
    mmap : bool, default=False
        Map the file's tensors instead of reading them (zip files, the format
        of ``torch.save`` since torch 1.6): only the tensors used are ever
        read. The tensors then depend on the file: copy those kept.

    Returns
    -------
    obj : object
        Usually a dict of tensors, or a dict holding one (beside which NumPy
        scalars and arrays, e.g. a validation score, are read too).

    Raises
    ------
    FileNotFoundError
        No such file.
    CheckpointError
        Not a torch file, truncated or damaged, or holding Python objects
        besides tensors and containers (which are never unpickled).
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"No checkpoint file {source!r}. {hint}".strip())
    with open(source, "rb") as f:
        head = f.read(8)
    # torch.save writes a zip archive (since torch 1.6) or, formerly, a pickle.
    if not head.startswith((b"PK\x03\x04", b"\x80")):
        raise CheckpointError(
            f"{source}: is not {what} (a file written by torch.save starts as a zip archive or "
            f"a pickle; this one starts with {head!r}). {hint}".strip()
        )
    try:
        # weights_only: tensors, numbers, NumPy data and containers only, never arbitrary objects.
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(source, map_location="cpu", weights_only=True,
                              mmap=bool(mmap) and head.startswith(b"PK"))
    except Exception as exc:
        # torch's own advice (load with weights_only=False) must not be followed for a
        # downloaded file, so only the first line of its message is kept.
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(
            f"{source}: could not be read as a weights-only torch checkpoint ({type(exc).__name__}: "
            f"{reason}). A checkpoint is a file written by torch.save; this one is damaged, "
            "truncated (download it again), or holds Python objects besides tensors, which are "
            f"never unpickled. {hint}".strip()
        ) from exc


def _numpy_globals():
    """NumPy scalars, arrays and dtypes, which training scripts often save beside the weights.

    They are data: rebuilding them runs no code of the file (an array of
    Python objects unpickles its items under the same restrictions). Listed
    under the names NumPy 1 and 2 write.
    """
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core import multiarray
    allowed = [np.dtype, np.ndarray]
    for name in ("scalar", "_reconstruct"):
        func = getattr(multiarray, name)
        allowed += [(func, f"numpy.core.multiarray.{name}"), (func, f"numpy._core.multiarray.{name}")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [cls for name, cls in vars(dtypes).items()
                    if name.endswith("DType") and isinstance(cls, type)]
    return allowed


def _shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _listed(names, limit=8):
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def state_dict_differences(expected, state):
    """Missing, unexpected and mis-shaped tensor names of ``state`` against ``expected``.

    ``expected`` maps names to shapes; ``state`` names to tensors. Returns
    three lists (the third of ``(name, expected_shape, found_shape)``).
    """
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [(k, tuple(expected[k]), tuple(state[k].shape))
                 for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k])]
    return missing, unexpected, misshaped


def check_state_dict(expected, state, source, what, hint=""):
    """Refuse ``state`` unless it has exactly the tensors ``expected`` (name to shape).

    Raises
    ------
    CheckpointError
        Naming the missing, unexpected and mis-shaped tensors, the tensors
        that are not tensors or hold NaN or infinity.
    """
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"{source}: holds no state dict of tensors for {what}. {hint}".strip())
    not_tensors = [str(k) for k, v in state.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise CheckpointError(
            f"{source}: entries {_listed(not_tensors)} of the state dict are not tensors; this "
            f"is not a checkpoint of {what}. {hint}".strip())
    missing, unexpected, misshaped = state_dict_differences(expected, state)
    problems = []
    if missing:
        problems.append(f"missing tensors: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors: {_listed(unexpected)}")
    if misshaped:
        shown = "; ".join(f"{k} is {_shape(found)}, expected {_shape(exp)}"
                          for k, exp, found in misshaped[:8])
        more = f" and {len(misshaped) - 8} more" if len(misshaped) > 8 else ""
        problems.append(f"tensors of another shape: {shown}{more}")
    if problems:
        raise CheckpointError(
            f"{source}: is not a checkpoint of {what}: " + "; ".join(problems) + f". {hint}".rstrip()
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{source}: tensor(s) {_listed(bad)} hold NaN or infinity.")


def load_state_dict_once(build, state, source, what, hint=""):
    """A module built by ``build()`` with the tensors of ``state``, held once.

    ``build`` runs on PyTorch's meta device (no storage), ``state`` is
    checked with :func:`check_state_dict` against the module's own tensors,
    cast to the module's floating dtype where it differs, and assigned to
    the module (no copy).
    """
    with torch.device("meta"):
        module = build()
    own = module.state_dict()
    check_state_dict({k: tuple(v.shape) for k, v in own.items()}, state, source, what, hint)
    state = {k: (v.to(own[k].dtype) if v.is_floating_point() and v.dtype != own[k].dtype else v)
             for k, v in state.items()}
    module.load_state_dict(state, strict=True, assign=True)
    return module
