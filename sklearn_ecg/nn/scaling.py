"""Scaling of ECG batches inside the networks, on the training device."""

import torch

#: The values the pretrainers accept for ``standardize``.
STANDARDIZE_OPTIONS = (None, "record", "lead")


def standardize(x, per, eps=1e-6):
    """z-score each record (over all its leads) or each lead of ``x`` (batch, leads, time).

    ``per=None`` returns ``x`` unchanged. The statistics are computed on ``x``
    divided by its largest magnitude in the group, so that finite but huge
    values (e.g. 1e37 in float32, whose square overflows) give the same
    result as their rescaled copy instead of NaN; ``eps`` keeps its meaning
    in the units of ``x``.
    """
    if per is None:
        return x
    if per not in ("record", "lead"):
        raise ValueError(f"per must be one of {STANDARDIZE_OPTIONS}; got {per!r}.")
    dims = (1, 2) if per == "record" else (2,)
    scale = x.abs().amax(dim=dims, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    y = x / scale
    mean = y.mean(dim=dims, keepdim=True)
    std = y.std(dim=dims, keepdim=True, unbiased=False)
    return (y - mean) / (std + eps / scale)
