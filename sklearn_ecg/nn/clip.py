"""CLIP-style contrastive loss between paired embeddings, and its temperature."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .collectives import all_gather


class LogitScale(nn.Module):
    """Learnable inverse temperature ``1/τ``, stored as its logarithm and clamped.

    Parameters
    ----------
    temperature : float, default=0.07
        Initial temperature τ (CLIP's 0.07, i.e. a scale of about 14.3).
    max_scale : float, default=100.0
        Upper bound of ``1/τ`` (CLIP's clamp): a larger scale lets the loss
        shrink by sharpening the softmax instead of aligning the embeddings.
    learnable : bool, default=True
        Whether τ is trained.
    """

    def __init__(self, temperature=0.07, max_scale=100.0, learnable=True):
        super().__init__()
        self.max_scale = float(max_scale)
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / temperature), dtype=torch.float32), requires_grad=learnable
        )

    def forward(self):
        """The current scale ``min(exp(log_scale), max_scale)``."""
        return self.log_scale.exp().clamp(max=self.max_scale)

    @torch.no_grad()
    def clamp_(self):
        """Clamp the stored parameter itself, as CLIP does after each step."""
        self.log_scale.clamp_(max=math.log(self.max_scale))


def clip_loss(ecg, text, logit_scale, groups=None, exclude=None, group=None):
    """Symmetric InfoNCE on the cosine similarity of paired embeddings.

    ``L = ½ (CE(s·E·Tᵀ, targets) + CE(s·T·Eᵀ, targets))`` with ``E`` and ``T``
    the L2-normalised rows of ``ecg`` and ``text`` and ``s = 1/τ``.

    Parameters
    ----------
    ecg, text : torch.Tensor of shape (batch, dim)
        Paired embeddings: row ``i`` of each belongs to the same record.
    logit_scale : torch.Tensor
        Scalar ``1/τ``.
    groups : torch.Tensor of shape (batch,) or None, default=None
        None gives the paper's plain InfoNCE, where the pair's own row is the
        only positive. With an id per row (e.g. the index of the record's
        distinct report), every row with the same id is a positive, with equal
        shares of the target (multi-positive InfoNCE).
    exclude : torch.Tensor of shape (batch,) or None, default=None
        An id per row (e.g. the row of its text in a table of distinct
        texts): pairs of different rows with the same id are left out of
        both softmaxes, so that a record is neither pushed away from another
        record's copy of its own text nor that text from it (identical texts
        are no negatives). The pair's own row stays the only positive.

    Returns
    -------
    loss : torch.Tensor
        Scalar loss.

    Notes
    -----
    When rows with the same id also have identical text embeddings (exactly
    repeated reports through a frozen language model and a deterministic
    head), both forms give the same loss and the same gradients: identical
    rows have identical logits, so spreading the target over them averages
    terms that plain InfoNCE already averages over the rows.
    """
    ecg = F.normalize(ecg.float(), dim=-1)
    text = F.normalize(text.float(), dim=-1)
    if group is not None:
        # A data-parallel fit: every record against every report of the global batch.
        ecg = all_gather(ecg, group)
        text = all_gather(text, group)
        if groups is not None:
            groups = all_gather(groups, group)
        if exclude is not None:
            exclude = all_gather(exclude, group)
    logits = logit_scale.float() * ecg @ text.T
    if exclude is not None:
        same = exclude[:, None] == exclude[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, float("-inf"))
    if groups is None:
        targets = torch.arange(len(ecg), device=ecg.device)
        return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
    same = (groups[:, None] == groups[None, :]).float()
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (
        F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)
    )
