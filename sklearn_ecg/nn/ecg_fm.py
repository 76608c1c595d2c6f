"""ECG-FM's encoder: a wav2vec 2.0 network over the 12 leads as input channels.

ECG-FM (McKeen et al., 2024) is fairseq-signals' ``ECGTransformerModel``
(the encoder of its ``wav2vec2_cmsc`` pretraining model): a convolutional
feature encoder whose first convolution reads the 12 leads as channels
(GroupNorm on the first layer, GELU), a LayerNorm, a linear projection to
the transformer's width, a convolutional position embedding (weight-norm
convolution, GELU) added to its input, a LayerNorm, then post-LayerNorm
transformer layers. ``transformers``' ``Wav2Vec2Model`` has the same layers
but a one-channel first convolution, so the network is written here, with
the tensor names of fairseq-signals' checkpoints.
"""

import math

from torch import nn
from torch.nn import functional as F

from ._pickling import PicklesByStateDict

__all__ = ["ECGFMEncoder", "ECG_FM_BASE"]

#: The released configuration (fairseq-signals' defaults with ``in_d=12``).
ECG_FM_BASE = dict(in_channels=12, conv_layers=[[256, 2, 2]] * 4, embed_dim=768, layers=12,
                   heads=12, ffn_dim=3072, conv_pos=128, conv_pos_groups=16)


class _GELU(nn.Module):
    def forward(self, x):
        return F.gelu(x)


class _GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 (fairseq's Fp32GroupNorm)."""

    def forward(self, x):
        out = F.group_norm(x.float(), self.num_groups, self.weight.float(), self.bias.float(),
                           self.eps)
        return out.type_as(x)


class _PositionalConv(nn.Module):
    def __init__(self, dim, kernel, groups):
        super().__init__()
        conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
        conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.pos_conv = nn.Sequential(conv)
        self.remove = 1 if kernel % 2 == 0 else 0

    def forward(self, x):
        """``(B, T, C)`` → ``(B, T, C)``."""
        out = self.pos_conv(x.transpose(1, 2))
        if self.remove:
            out = out[:, :, :-self.remove]
        return F.gelu(out).transpose(1, 2)


class _SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (proj(x).reshape(b, t, self.heads, -1).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.out_proj(out.transpose(1, 2).reshape(b, t, c))


class _Layer(nn.Module):
    def __init__(self, dim, heads, ffn_dim):
        super().__init__()
        self.self_attn = _SelfAttention(dim, heads)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.self_attn_layer_norm(x + self.self_attn(x))
        return self.final_layer_norm(x + self.fc2(F.gelu(self.fc1(x))))


class _Encoder(nn.Module):
    def __init__(self, dim, layers, heads, ffn_dim):
        super().__init__()
        self.layers = nn.ModuleList(_Layer(dim, heads, ffn_dim) for _ in range(layers))
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.layer_norm(x)
        for layer in self.layers:
            x = layer(x)
        return x


class ECGFMEncoder(PicklesByStateDict, nn.Module):
    """ECG-FM without its pretraining modules or classification head.

    Parameters
    ----------
    in_channels : int, default=12
        Leads read by the first convolution.
    conv_layers : list of (channels, kernel, stride)
        The convolutional feature encoder (released: four of (256, 2, 2), a
        frame every 16 samples).
    embed_dim, layers, heads, ffn_dim : int
        Transformer sizes (released: 768, 12, 12, 3072).
    conv_pos, conv_pos_groups : int
        Kernel and groups of the positional convolution (128, 16).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.ecg_fm import ECGFMEncoder
    >>> enc = ECGFMEncoder(conv_layers=[[16, 2, 2]] * 2, embed_dim=32, layers=1, heads=2,
    ...                    ffn_dim=64, conv_pos=8, conv_pos_groups=4).eval()
    >>> x = torch.randn(3, 12, 400)
    >>> tuple(enc(x).shape), tuple(enc.features(x).shape)
    ((3, 100, 32), (3, 32))
    """

    def __init__(self, in_channels=12, conv_layers=ECG_FM_BASE["conv_layers"], embed_dim=768,
                 layers=12, heads=12, ffn_dim=3072, conv_pos=128, conv_pos_groups=16):
        super().__init__()
        self._init_kwargs = dict(in_channels=in_channels, conv_layers=conv_layers,
                                 embed_dim=embed_dim, layers=layers, heads=heads, ffn_dim=ffn_dim,
                                 conv_pos=conv_pos, conv_pos_groups=conv_pos_groups)
        blocks, width = [], in_channels
        for i, (channels, kernel, stride) in enumerate(conv_layers):
            conv = nn.Conv1d(width, channels, kernel, stride=stride, bias=False)
            if i == 0:
                blocks.append(nn.Sequential(conv, nn.Dropout(0.0),
                                            _GroupNorm32(channels, channels), _GELU()))
            else:
                blocks.append(nn.Sequential(conv, nn.Dropout(0.0), _GELU()))
            width = channels
        self.feature_extractor = nn.Module()
        self.feature_extractor.conv_layers = nn.ModuleList(blocks)
        self.layer_norm = nn.LayerNorm(width)
        self.post_extract_proj = nn.Linear(width, embed_dim) if width != embed_dim else None
        self.conv_pos = _PositionalConv(embed_dim, conv_pos, conv_pos_groups)
        self.encoder = _Encoder(embed_dim, layers, heads, ffn_dim)
        self.embedding_dim = embed_dim
        std = math.sqrt(4 / (conv_pos * embed_dim))  # fairseq's initialisation
        nn.init.normal_(self.conv_pos.pos_conv[0].parametrizations.weight.original1, std=std)

    def forward(self, x):
        """``(B, leads, T)`` → the transformer's output ``(B, frames, embed_dim)``."""
        for block in self.feature_extractor.conv_layers:
            x = block(x)
        x = self.layer_norm(x.transpose(1, 2))
        if self.post_extract_proj is not None:
            x = self.post_extract_proj(x)
        x = x + self.conv_pos(x)
        return self.encoder(x)

    def features(self, x):
        """The embedding: each feature averaged over the frames where it is not 0.

        The authors' pooling (``ecg_transformer_classifier.py``:
        ``x.sum(dim=1) / (x != 0).sum(dim=1)``). ``x`` of shape
        ``(B, n_segments, leads, T)`` gives the average over the segments.
        """
        if x.ndim == 4:
            b, k = x.shape[:2]
            return self.features(x.reshape(b * k, *x.shape[2:])).reshape(b, k, -1).mean(dim=1)
        out = self(x)
        return out.sum(dim=1) / (out != 0).sum(dim=1)
