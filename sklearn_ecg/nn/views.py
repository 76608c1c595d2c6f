"""Batched ECG augmentations that run on the training device.

Every function takes ``x`` of shape (batch, leads, time) and draws one set of
random parameters per record, applied identically to all of that record's
leads (LCD's views keep the leads of one record aligned in time).
"""

import numpy as np
import torch


def random_resized_crop(x, scale=(0.5, 1.0), generator=None):
    """Keep a random contiguous span of ``U(scale)·T`` samples, stretched back to ``T``.

    The stretch is linear interpolation, computed for the whole batch with two
    gathers; the reference resamples each record with an FFT on the CPU.
    """
    batch, n_leads, length = x.shape
    device = x.device
    frac = torch.empty(batch, device=device).uniform_(scale[0], scale[1], generator=generator)
    crop_len = (frac * length).floor().clamp_(min=1)
    start = (torch.rand(batch, device=device, generator=generator) * (length - crop_len + 1)).floor()
    # Sample positions within the crop, spanning its first to its last sample.
    grid = torch.linspace(0.0, 1.0, length, device=device)
    pos = start[:, None] + grid[None, :] * (crop_len[:, None] - 1)
    left = pos.floor().long().clamp_(0, length - 1)
    right = (left + 1).clamp_(max=length - 1)
    weight = (pos - left).to(x.dtype)[:, None, :]
    left = left[:, None, :].expand(batch, n_leads, length)
    right = right[:, None, :].expand(batch, n_leads, length)
    x_left = torch.gather(x, 2, left)
    return x_left + (torch.gather(x, 2, right) - x_left) * weight


def time_out(x, ratio=(0.0, 0.5), generator=None):
    """Zero a random contiguous span of ``U(ratio)·T`` samples."""
    batch, _, length = x.shape
    device = x.device
    span = (torch.empty(batch, device=device).uniform_(ratio[0], ratio[1], generator=generator) * length).floor()
    start = (torch.rand(batch, device=device, generator=generator) * (length - span + 1)).floor()
    t = torch.arange(length, device=device)[None, :]
    keep = (t < start[:, None]) | (t >= (start + span)[:, None])
    return x * keep[:, None, :].to(x.dtype)


def lcd_view(x, crop_scale=(0.5, 1.0), mask_ratio=(0.0, 0.5), generator=None):
    """One LCD view: random resized crop, then time-out."""
    return time_out(random_resized_crop(x, crop_scale, generator), mask_ratio, generator)


#: How many leads a masked record keeps (see :func:`random_lead_mask`).
LEAD_COUNTS = ("uniform", "harmonic")


def kept_lead_weights(n_leads, kept="uniform"):
    """Probabilities of keeping ``k = 1 … n_leads-1`` leads of a masked record.

    ``"uniform"``: every ``k`` alike. ``"harmonic"``: ``P(k) ∝ 1/k``, which
    puts a third of the masked records of 12 leads on one lead and half on
    one or two.

    Returns
    -------
    weights : ndarray of shape (n_leads - 1,)
        Summing to 1; entry ``k-1`` is the probability of ``k`` kept leads.
    """
    if kept not in LEAD_COUNTS:
        raise ValueError(f"kept must be one of {LEAD_COUNTS}; got {kept!r}.")
    k = np.arange(1, max(n_leads, 2), dtype=np.float64)
    weights = np.ones_like(k) if kept == "uniform" else 1.0 / k
    return weights / weights.sum()


def random_lead_mask(x, p=0.5, generator=None, kept="uniform"):
    """Zero a random subset of the leads of a random share ``p`` of the records.

    A masked record keeps ``k`` of its ``L`` leads, ``k`` in ``1 … L-1``
    drawn as ``kept`` says (:func:`kept_lead_weights`: uniform, or
    ``P(k) ∝ 1/k`` with ``"harmonic"``), and the kept leads uniform among
    the ``L``; the others become zero, which is how a record with fewer
    leads looks once placed into the ``L``-lead layout. Records with one
    lead are never masked.

    Returns
    -------
    x_masked : torch.Tensor
        Same shape and dtype as ``x``.
    keep : torch.Tensor of bool, shape (batch, leads)
        Which leads of each record were kept.
    """
    batch, n_leads, _ = x.shape
    device = x.device
    weights = kept_lead_weights(n_leads, kept)
    keep = torch.ones(batch, n_leads, dtype=torch.bool, device=device)
    if n_leads < 2 or p <= 0:
        return x, keep
    masked = torch.rand(batch, device=device, generator=generator) < p
    if kept == "uniform":
        n_kept = 1 + (torch.rand(batch, device=device, generator=generator) * (n_leads - 1)).floor().long()
    else:
        # Inverse of the cumulative distribution at one uniform draw per record.
        cdf = torch.as_tensor(weights.cumsum(), dtype=torch.float32, device=device)
        u = torch.rand(batch, device=device, generator=generator)
        n_kept = 1 + torch.searchsorted(cdf, u, right=True).clamp_(max=n_leads - 2)
    # The k leads with the smallest random keys are a uniform random k-subset.
    keys = torch.rand(batch, n_leads, device=device, generator=generator)
    rank = keys.argsort(dim=1).argsort(dim=1)
    keep = ~masked[:, None] | (rank < n_kept[:, None])
    return x * keep[:, :, None].to(x.dtype), keep
