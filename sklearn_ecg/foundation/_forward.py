"""A foundation model's preprocessing and network as one differentiable torch function.

``transform`` runs the model's preprocessing with the package's NumPy
transformers; attributions to the raw records need it in torch, with
gradients. Each step of the recipes in the table has a torch counterpart
that computes the same thing:

- the zero-phase linear filters (``NotchFilter``, ``BandpassFilter``) are,
  for records of a given length, one matrix: the package's own transformers
  applied to unit impulses (computed once per length and kept);
- the running median of ``BaselineWanderRemoval`` picks one sample per
  window, through which the gradient flows (zero-padded or reflected ends,
  as the transformer);
- ``Standardize`` is the same z-score, ``MinMaxScale`` the same min-max
  scaling;
- a step of a model's own (``"sklearn_ecg.module:Class"`` in the table) gives
  its counterpart with a ``torch_module()`` method.
"""

import functools

import numpy as np
import torch
from torch import nn

from ..preprocessing import BandpassFilter, BaselineWanderRemoval, MinMaxScale, NotchFilter, Standardize
from ..preprocessing._filters import odd_window
from ._table import entry, network_class

__all__ = ["FoundationEncoder", "FoundationNetwork", "torch_preprocessing"]

_LINEAR = (NotchFilter, BandpassFilter)


@functools.lru_cache(maxsize=4)
def _impulse_responses(steps_key, n_timepoints):
    """Row i: the linear steps applied to a unit impulse at sample i, ``(T, T)`` float32."""
    steps = [cls(**dict(params)) for cls, params in steps_key]
    eye = np.eye(n_timepoints, dtype=np.float32)[:, np.newaxis, :]
    out = eye
    for step in steps:
        out = step.transform(out)
    matrix = torch.from_numpy(np.ascontiguousarray(out[:, 0, :]))
    matrix.requires_grad_(False)
    return matrix


class _Linear(nn.Module):
    def __init__(self, steps):
        super().__init__()
        self.key = tuple((type(s), tuple(sorted(s.get_params().items()))) for s in steps)

    def forward(self, x):
        matrix = _impulse_responses(self.key, x.shape[-1]).to(x.device, x.dtype)
        return x @ matrix


class _MedianBaseline(nn.Module):
    def __init__(self, step):
        super().__init__()
        if step.method != "median":
            raise ValueError("only the median method of BaselineWanderRemoval has a torch counterpart")
        fs = float(step.fs)
        self.windows = [odd_window(float(w), fs) for w in step.median_windows]
        self.edges = step.median_edges

    def forward(self, x):
        baseline = x
        for window in self.windows:
            half = window // 2
            if self.edges == "zeros":
                padded = nn.functional.pad(baseline, (half, half))
            else:  # numpy's "symmetric": the edge sample repeated
                left = baseline[..., :half].flip(-1)
                right = baseline[..., -half:].flip(-1)
                padded = torch.cat([left, baseline, right], dim=-1)
            baseline = padded.unfold(-1, window, 1).median(dim=-1).values
        return x - baseline


class _Standardize(nn.Module):
    def __init__(self, step):
        super().__init__()
        self.per, self.eps = step.per, float(step.eps)

    def forward(self, x):
        dims = (-1,) if self.per == "lead" else (-2, -1)
        mean = x.mean(dim=dims, keepdim=True)
        std = x.std(dim=dims, keepdim=True, unbiased=False)
        scale = torch.where(std > self.eps, std, torch.full_like(std, float("inf")))
        return (x - mean) / scale


class _MinMaxScale(nn.Module):
    def __init__(self, step):
        super().__init__()
        self.eps = float(step.eps)

    def forward(self, x):
        low = x.amin(dim=(-2, -1), keepdim=True)
        high = x.amax(dim=(-2, -1), keepdim=True)
        return (x - low) / (high - low + self.eps)


def torch_preprocessing(pipeline):
    """The steps of a model's ``preprocessing_`` as a differentiable ``nn.Sequential``."""
    steps = [step for _, step in pipeline.steps if step != "passthrough"]
    modules, linear = [], []
    for step in steps:
        if isinstance(step, _LINEAR):
            linear.append(step)
            continue
        if linear:
            modules.append(_Linear(linear))
            linear = []
        if isinstance(step, BaselineWanderRemoval):
            modules.append(_MedianBaseline(step))
        elif isinstance(step, Standardize):
            modules.append(_Standardize(step))
        elif isinstance(step, MinMaxScale):
            modules.append(_MinMaxScale(step))
        elif hasattr(step, "torch_module"):  # a step reproducing a model's own code
            modules.append(step.torch_module())
        else:
            raise ValueError(f"{type(step).__name__} has no torch counterpart for gradients yet.")
    if linear:
        modules.append(_Linear(linear))
    return nn.Sequential(*modules)


class FoundationNetwork(nn.Module):
    """A foundation model's network, described by its table name and settings.

    The module a fitted foundation estimator keeps (``net_.module_``), and
    what its saved folder describes: ``name`` (the table entry) and
    ``config`` (the network's keyword arguments) rebuild it.

    Parameters
    ----------
    name : str
        The model's name in the table.
    config : dict
        Keyword arguments of the network's class.
    network : torch.nn.Module or None, default=None
        The network, already built (e.g. with a checkpoint's weights); None
        builds a freshly initialised one.
    """

    def __init__(self, name, config, network=None):
        super().__init__()
        self.name, self.config = name, dict(config)
        self.network = network if network is not None else network_class(entry(name))(**self.config)

    def forward(self, x):
        return self.network(x)


class FoundationEncoder(nn.Module):
    """Records in mV to a foundation model's embedding: its preprocessing in torch, then its network.

    The encoder a foundation embedder hands to the estimators built on it
    (``ECGClassifier`` fine-tunes a copy of it), and the function of its
    differentiable forward.

    Parameters
    ----------
    network : torch.nn.Module
        The model's network.
    preprocessing : torch.nn.Module
        Its preprocessing (:func:`torch_preprocessing`); holds no tensors.
    method : str
        The network's method that gives the embedding.
    out_features : int
        Features of the embedding.
    """

    def __init__(self, network, preprocessing, method, out_features):
        super().__init__()
        self.network, self.preprocessing = network, preprocessing
        self.method, self.out_features = method, int(out_features)

    def forward(self, x):
        return getattr(self.network, self.method)(self.preprocessing(x))
