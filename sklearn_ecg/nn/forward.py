"""The forward contract: a fitted model's outputs as one differentiable torch module.

Every estimator of the package whose outputs come from a network offers
``differentiable_forward(output)``, returning a :class:`ForwardModule`:
records ``(B, n_leads, T)`` (float32, on the networks' device) to the
estimator's own outputs for those records (``transform``, ``predict_proba``
or ``decision_function``, as ``(B, k)``; a binary decision as ``(B,)``),
computed by the estimator's own functions, with gradients. Explanations
(:mod:`sklearn_ecg.inspection`) compose it with the steps of a pipeline.
"""

import numpy as np
import torch
from torch import nn


class ForwardModule(nn.Module):
    """A fitted model as a differentiable function of its records.

    Parameters
    ----------
    function : callable
        Maps a batch of records (a tensor) to the outputs.
    networks : list of torch.nn.Module
        The networks that ``function`` runs (registered, so ``eval()`` and
        ``modules()`` reach them).
    n_leads : int
        Leads per record the model takes.
    min_length : int
        The shortest record the model takes.
    classes : ndarray or None, default=None
        The labels of the output columns of a classifier.
    output : str, default="transform"
        What the outputs are: ``"transform"``, ``"joint"``, ``"proba"`` or
        ``"decision"``.
    """

    def __init__(self, function, networks, *, n_leads, min_length, classes=None, output="transform"):
        super().__init__()
        self.networks = nn.ModuleList(networks)
        self.function = function
        self.n_leads = int(n_leads)
        self.min_length = min_length
        self.classes = classes
        self.output = output

    def forward(self, x):
        return self.function(x)

    @property
    def device(self):
        """The device of the networks' first parameter (the CPU without one)."""
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")


def check_output(output, allowed, owner):
    """Refuse an ``output`` that the model's forward does not offer."""
    if output not in allowed:
        raise ValueError(f"{owner}'s differentiable forward outputs one of {list(allowed)}; got {output!r}.")


def place_leads(x, positions, n_leads):
    """Records ``x`` with their leads at ``positions`` among ``n_leads`` zero leads (as ``LeadLayout``)."""
    out = x.new_zeros((x.shape[0], n_leads, x.shape[2]))
    out[:, positions, :] = x
    return out


# -- a classifier's outputs from its logits, for arrays and tensors alike --


def row_mean(x):
    """The mean over the classes (axis 1), kept as a column."""
    return x.mean(1, keepdim=True) if torch.is_tensor(x) else x.mean(axis=1, keepdims=True)


def sigmoid(x):
    """The logistic function, elementwise."""
    if torch.is_tensor(x):
        return torch.sigmoid(x)
    with np.errstate(over="ignore"):  # exp overflows to inf for very negative x: 1/inf is 0
        return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    """Softmax over the classes (axis 1)."""
    if torch.is_tensor(x):
        return torch.softmax(x, dim=1)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def decision_from_logits(logits, multilabel, n_classes):
    """``decision_function`` of a classifier from its logits (an array or a tensor).

    The logits as they are, except for two single-label classes: the second
    class's logit minus the first's, shape (n,), as scikit-learn expects of a
    binary classifier.
    """
    if not multilabel and n_classes == 2:
        return logits[:, 1] - logits[:, 0]
    return logits


def proba_from_logits(logits, multilabel):
    """``predict_proba`` from logits (an array or a tensor): sigmoid per class (multi-label) or softmax."""
    return sigmoid(logits) if multilabel else softmax(logits)
