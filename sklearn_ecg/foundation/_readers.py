"""Reading the checkpoint files of other frameworks with ``weights_only=True``.

Training frameworks store more than tensors beside the weights: step
counters, metrics as NumPy scalars or arrays, configuration objects.
:func:`read_checkpoint` lets NumPy's data types through (arrays, scalars and
dtypes are data, never code) and maps named configuration classes onto
inert records of their attributes; everything else is still refused by
``torch.load(weights_only=True)``.
"""

import numpy as np
import torch

from .._checkpoints import read_torch_checkpoint

__all__ = ["AttributeRecord", "read_checkpoint"]

_NUMPY_MULTIARRAY = getattr(np, "_core", None) or np.core


class AttributeRecord:
    """What a pickled configuration object holds: its attributes, nothing else."""

    def __setstate__(self, state):
        self.__dict__.update(state if isinstance(state, dict) else {})


def _numpy_data_globals(names):
    allowed = []
    for name in names:
        module, _, attr = name.rpartition(".")
        if name == "numpy.ndarray":
            allowed.append(np.ndarray)
        elif name == "numpy.dtype":  # with the dtype classes its pickles name
            allowed.append(np.dtype)
            allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
        elif module in ("numpy.core.multiarray", "numpy._core.multiarray") and attr in (
                "scalar", "_reconstruct"):
            allowed.append((getattr(_NUMPY_MULTIARRAY.multiarray, attr), name))
        elif module == "numpy.dtypes" and attr.endswith("DType") and hasattr(np.dtypes, attr):
            allowed.append((getattr(np.dtypes, attr), name))
    return allowed


def read_checkpoint(path, *, what, hint="", records=()):
    """``torch.load(weights_only=True)`` letting NumPy data and ``records`` classes through.

    ``records`` are fully qualified class names (``"module.Class"``) whose
    pickled instances become :class:`AttributeRecord` objects.
    """
    allowed = [(AttributeRecord, name) for name in records]
    try:
        allowed += _numpy_data_globals(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # not a readable zip checkpoint: read_torch_checkpoint says why
        pass
    with torch.serialization.safe_globals(allowed):
        return read_torch_checkpoint(path, what=what, hint=hint)
