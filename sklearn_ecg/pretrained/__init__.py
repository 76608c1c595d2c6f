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

from .._persistence import CONFIG_NAME, load_pretrained

__all__ = ["list_pretrained", "load", "pretrained_path"]

# The folder that holds the shipped models (tests point it elsewhere).
_ROOT = Path(__file__).resolve().parent


def list_pretrained():
    """Names of the models shipped with the package, sorted.

    Returns
    -------
    names : list of str
        Each name loads with :func:`load` or ``<Class>.from_pretrained(name)``.
    """
    root = Path(_ROOT)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and (p / CONFIG_NAME).is_file())


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
    return Path(_ROOT) / name


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
