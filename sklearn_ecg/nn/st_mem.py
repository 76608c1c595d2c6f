"""The ST-MEM encoder: a ViT over per-lead patches with lead and SEP embeddings.

ST-MEM (Na et al., ICLR 2024) pretrains this encoder as a masked
autoencoder over time and leads. Each lead is cut into patches of
``patch_size`` samples; a patch goes through LayerNorm → Linear → LayerNorm,
receives a sine-cosine position embedding, and every lead is framed by a
shared SEP token at both ends. A learned embedding per lead is added to all of
that lead's tokens, and the ``num_leads * (n_patches + 2)`` tokens run through
pre-LayerNorm transformer blocks. The representation is the average of the
patch tokens over leads and time (SEP tokens left out), then a LayerNorm.

The parameter names are those of the released checkpoints
(``to_patch_embedding.{1,2,3}``, ``pos_embedding``, ``sep_embedding``,
``lead_embeddings.i``, ``block{i}.attn.norm``, ``block{i}.attn.fn.to_qkv``,
``block{i}.attn.fn.to_out.0``, ``block{i}.ff.norm``, ``block{i}.ff.fn.net.{0,3}``,
``norm``) so that a state dict loads key for key.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .vit import TransformerBlock

__all__ = ["STMEMEncoder", "ST_MEM_BASE"]

#: The released ViT-B/75 configuration.
ST_MEM_BASE = dict(seq_len=2250, patch_size=75, num_leads=12, width=768, depth=12,
                   mlp_dim=3072, heads=12, dim_head=64, qkv_bias=True)


class _Patches(nn.Module):
    """``(B, C, n * p)`` → ``(B, C, n, p)``: each lead cut into patches."""

    def __init__(self, patch_size):
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x):
        b, c, t = x.shape
        return x.reshape(b, c, t // self.patch_size, self.patch_size)


def sincos_position_embedding(width, n_patches):
    """The frozen position embedding: sine-cosine, zeros at the two SEP slots.

    Returns a ``(1, n_patches + 2, width)`` tensor, the value the released
    checkpoints store under ``pos_embedding``.

    Examples
    --------
    >>> from sklearn_ecg.nn.st_mem import sincos_position_embedding
    >>> e = sincos_position_embedding(8, 30)
    >>> tuple(e.shape), float(e[0, 0].abs().sum()), float(e[0, -1].abs().sum())
    ((1, 32, 8), 0.0, 0.0)
    """
    omega = torch.arange(width // 2, dtype=torch.float32) / (width / 2.0)
    omega = 1.0 / (10000 ** omega)
    grid = torch.arange(n_patches, dtype=torch.float32)[:, None] * omega[None, :]
    pos = torch.cat((grid.sin(), grid.cos()), dim=1)
    zeros = torch.zeros(1, width)
    return torch.cat([zeros, pos, zeros], dim=0).unsqueeze(0)


class STMEMEncoder(nn.Module):
    """The ST-MEM ViT encoder (no classification head).

    Parameters
    ----------
    seq_len : int, default=2250
        Samples per lead (9 s at 250 Hz for the released model).
    patch_size : int, default=75
        Samples per patch; must divide ``seq_len``.
    num_leads : int, default=12
        Leads per record, each with its own learned embedding.
    width, depth, mlp_dim, heads, dim_head : int
        Transformer sizes (released: 768, 12, 3072, 12, 64).
    qkv_bias : bool, default=True
        Bias of the query-key-value projection.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.st_mem import STMEMEncoder
    >>> enc = STMEMEncoder(seq_len=150, patch_size=75, num_leads=12, width=16,
    ...                    depth=1, mlp_dim=32, heads=2, dim_head=8).eval()
    >>> tuple(enc(torch.randn(3, 12, 150)).shape)
    (3, 16)
    """

    def __init__(self, seq_len=2250, patch_size=75, num_leads=12, width=768, depth=12,
                 mlp_dim=3072, heads=12, dim_head=64, qkv_bias=True):
        super().__init__()
        if seq_len % patch_size:
            raise ValueError(f"seq_len={seq_len} is not a multiple of patch_size={patch_size}.")
        self.seq_len = seq_len
        self.depth = depth
        self.width = width
        n_patches = seq_len // patch_size
        self.to_patch_embedding = nn.Sequential(_Patches(patch_size), nn.LayerNorm(patch_size),
                                                nn.Linear(patch_size, width), nn.LayerNorm(width))
        self.pos_embedding = nn.Parameter(sincos_position_embedding(width, n_patches),
                                          requires_grad=False)
        self.sep_embedding = nn.Parameter(torch.randn(width) * 0.02)
        self.lead_embeddings = nn.ParameterList(nn.Parameter(torch.randn(width) * 0.02)
                                                for _ in range(num_leads))
        for i in range(depth):
            self.add_module(f"block{i}", TransformerBlock(width, heads, dim_head, mlp_dim, qkv_bias,
                                                           fused=True))
        self.norm = nn.LayerNorm(width)

    @property
    def num_features(self):
        return self.width

    def features(self, x):
        """The embedding: ``(B, leads, seq_len)`` → ``(B, width)``, or crops averaged.

        ``x`` of shape ``(B, n_crops, leads, seq_len)`` gives the average of
        the crops' outputs (the authors' evaluation averages three crops).
        """
        if x.ndim == 4:
            b, k = x.shape[:2]
            return self(x.reshape(b * k, *x.shape[2:])).reshape(b, k, -1).mean(dim=1)
        return self(x)

    def forward(self, x):
        """``(B, leads, seq_len)`` → ``(B, width)``."""
        b, num_leads, t = x.shape
        if num_leads != len(self.lead_embeddings):
            raise ValueError(f"{num_leads} leads given; the encoder has "
                             f"{len(self.lead_embeddings)} lead embeddings and takes "
                             "exactly that many leads.")
        x = self.to_patch_embedding(x)
        n = x.shape[2]
        pos = self.pos_embedding
        x = x + pos[:, 1:n + 1, :].unsqueeze(1)
        sep = self.sep_embedding[None, None, None, :].expand(b, num_leads, -1, -1)
        left = sep + pos[:, :1, :].unsqueeze(1)
        right = sep + pos[:, -1:, :].unsqueeze(1)
        x = torch.cat([left, x, right], dim=2)
        leads = torch.stack(list(self.lead_embeddings))
        x = x + leads[None, :, None, :]
        x = x.reshape(b, num_leads * (n + 2), -1)
        for i in range(self.depth):
            x = getattr(self, f"block{i}")(x)
        x = x.reshape(b, num_leads, n + 2, -1)[:, :, 1:-1, :]
        return self.norm(x.mean(dim=(1, 2)))
