"""Pretrained models shipped with the package, loaded offline in one line.

Each shipped model is a folder ``sklearn_ecg/pretrained/<name>/`` written by
``save_pretrained`` (``config.json``, ``model.safetensors`` and its model card
``README.md``). :func:`list_pretrained` names them and :func:`load` (also
``LCDPretrainer.from_pretrained(name)``) loads one as a fitted estimator; no
network is involved.

Examples
--------
>>> from sklearn_ecg import pretrained
>>> names = pretrained.list_pretrained()
>>> all(pretrained.pretrained_path(n).is_dir() for n in names)
True
"""

from pathlib import Path

from .. import _persistence
from .._persistence import load_pretrained, shipped_names

__all__ = ["list_pretrained", "load", "pretrained_path"]


def list_pretrained():
    """Names of the models shipped with the package, sorted.

    Returns
    -------
    names : list of str
        Each name loads with :func:`load` or ``<Class>.from_pretrained(name)``.
    """
    return shipped_names()


def pretrained_path(name):
    """The folder of the shipped model ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.

    Returns
    -------
    path : pathlib.Path
    """
    names = list_pretrained()
    if name not in names:
        raise ValueError(
            f"No shipped model named {name!r}; the shipped models are: "
            f"{', '.join(names) or 'none in this installation'}."
        )
    return Path(_persistence.SHIPPED_ROOT) / name


def load(name, *, device="auto"):
    """Load a shipped model as a fitted estimator (offline).

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.
    device : str, default="auto"
        Where the networks are loaded (``"auto"``: CUDA when available).

    Returns
    -------
    estimator
        The fitted pretrainer (e.g. an :class:`~sklearn_ecg.LCDPretrainer`).
    """
    return load_pretrained(pretrained_path(name), device=device)
