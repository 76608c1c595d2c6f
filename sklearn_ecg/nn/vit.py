"""Pre-LayerNorm transformer blocks with the tensor names of the 1-D ViTs of MERL and ST-MEM.

Both authors build their encoders from the same blocks (``attn.norm``,
``attn.fn.to_qkv``, ``attn.fn.to_out.0``, ``ff.norm``, ``ff.fn.net.{0,3}``),
so one implementation loads both checkpoints key for key.
"""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TransformerBlock"]


class _PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x))


class _FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(hidden, dim), nn.Dropout(0.0))

    def forward(self, x):
        return self.net(x)


class _Attention(nn.Module):
    def __init__(self, dim, heads, dim_head, qkv_bias, fused):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.fused = fused
        self.to_qkv = nn.Linear(dim, inner * 3, bias=qkv_bias)
        # Both authors skip the output projection only for one head as wide as the input.
        self.to_out = (nn.Identity() if heads == 1 and dim_head == dim
                       else nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0)))

    def forward(self, x):
        batch, n, _ = x.shape
        q, k, v = (t.reshape(batch, n, self.heads, -1).transpose(1, 2)
                   for t in self.to_qkv(x).chunk(3, dim=-1))
        if self.fused:
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
            out = torch.matmul(attn, v)
        return self.to_out(out.transpose(1, 2).reshape(batch, n, -1))


class TransformerBlock(nn.Module):
    """One pre-LayerNorm block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``.

    Parameters
    ----------
    dim : int
        Token width.
    heads, dim_head : int
        Attention heads and the width of each.
    mlp_dim : int
        Hidden width of the MLP (GELU).
    qkv_bias : bool, default=True
        Whether the query-key-value projection has a bias.
    fused : bool, default=False
        ``torch.nn.functional.scaled_dot_product_attention`` (ST-MEM's code)
        instead of the explicit ``softmax(q kᵀ · scale) v`` (MERL's code):
        each network computes attention as its authors' code does, so that it
        matches their outputs to float rounding.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.vit import TransformerBlock
    >>> block = TransformerBlock(16, heads=2, dim_head=8, mlp_dim=32)
    >>> block(torch.zeros(3, 5, 16)).shape
    torch.Size([3, 5, 16])
    """

    def __init__(self, dim, heads, dim_head, mlp_dim, qkv_bias=True, fused=False):
        super().__init__()
        self.attn = _PreNorm(dim, _Attention(dim, heads, dim_head, qkv_bias, fused))
        self.ff = _PreNorm(dim, _FeedForward(dim, mlp_dim))

    def forward(self, x):
        x = self.attn(x) + x
        return self.ff(x) + x
