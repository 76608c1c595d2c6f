"""Self-supervised losses, written for float32 tensors of one batch."""

import torch
from torch.nn import functional as F

from .collectives import all_reduce_sum, global_batch_norm


def byol_loss(q, z):
    """BYOL regression loss ``2 - 2 cos(q, z)``, averaged over the batch.

    Parameters
    ----------
    q, z : torch.Tensor of shape (batch, dim)
        Online predictions and (detached) target projections.
    """
    return (2.0 - 2.0 * F.cosine_similarity(q, z, dim=-1)).mean()


def decorrelation_loss(h1, h2=None, lambd=0.0051, eps=1e-5, group=None):
    """LCD's decorrelation term on the concatenated projections of two leads.

    ``Z = BatchNorm(affine=False)([h1 ‖ h2])``, ``C = ZᵀZ / B`` and
    ``L = Σ_i (C_ii − 1)² + λ Σ_{i≠j} C_ij²``. The within-lead blocks of ``C``
    decorrelate the features of one lead, the between-lead blocks the two
    leads. With ``h2=None`` only ``h1``'s own features are decorrelated.

    ``B`` is the actual number of rows, not a configured batch size: the
    reference implementation divides by the configured size, which inflates
    the loss of a last, partial batch. In a data-parallel fit, ``group`` (the
    process group) makes the statistics and ``C`` those of the global batch.
    """
    z = h1 if h2 is None else torch.cat([h1, h2], dim=1)
    if group is None:
        z = F.batch_norm(z, None, None, training=True, eps=eps)
        c = z.T @ z / z.shape[0]
    else:
        # A data-parallel fit: statistics and C over the global batch.
        z, _, _, n = global_batch_norm(z, group, eps)
        c = all_reduce_sum(z.T @ z, group) / n
    diag = torch.diagonal(c)
    on_diag = (diag - 1.0).pow(2).sum()
    off_diag = c.pow(2).sum() - diag.pow(2).sum()
    return on_diag + lambd * off_diag


def lcd_loss(q1, z3, h1, q2=None, h2=None, gamma=0.005, lambd=0.0051, group=None):
    """Total LCD loss and its terms.

    ``L = byol(q1, z3) + byol(q2, z3) + γ·decorrelation(h1, h2)``. With one
    lead only (``q2`` and ``h2`` None) the inter-lead term is absent and the
    decorrelation acts on ``h1`` alone. ``group``: the process group of a
    data-parallel fit, or None.

    Returns
    -------
    loss : torch.Tensor
        Scalar total loss.
    terms : dict of str to torch.Tensor
        ``intra``, ``inter`` (zero without a second lead) and ``decorrelation``.
    """
    intra = byol_loss(q1, z3)
    if q2 is None:
        inter = torch.zeros((), device=q1.device, dtype=intra.dtype)
    else:
        inter = byol_loss(q2, z3)
    dec = decorrelation_loss(h1, h2, lambd=lambd, group=group)
    loss = intra + inter + gamma * dec
    return loss, {"intra": intra, "inter": inter, "decorrelation": dec}
