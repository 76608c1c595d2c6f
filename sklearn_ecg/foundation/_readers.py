"""Reading checkpoints that pickle configuration objects beside the weights.

Some training scripts save their configuration object itself (a class of
their code) in the checkpoint. :func:`read_checkpoint` maps the named
classes onto :class:`AttributeRecord`, an inert record of the object's
attributes, for the duration of a ``weights_only=True`` read: none of the
authors' code is imported or run, and every other object is still refused.
"""

import torch

from .._checkpoints import read_torch_checkpoint

__all__ = ["AttributeRecord", "read_checkpoint"]


class AttributeRecord:
    """What a pickled configuration object holds: its attributes, nothing else."""

    def __setstate__(self, state):
        self.__dict__.update(state if isinstance(state, dict) else {})


def read_checkpoint(path, *, what, hint="", records=()):
    """:func:`~sklearn_ecg._checkpoints.read_torch_checkpoint`, ``records`` classes as records.

    ``records`` are fully qualified class names (``"module.Class"``).
    """
    with torch.serialization.safe_globals([(AttributeRecord, name) for name in records]):
        return read_torch_checkpoint(path, what=what, hint=hint)
