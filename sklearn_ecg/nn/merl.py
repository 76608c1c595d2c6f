"""MERL's networks (Liu et al., ICML 2024), written for this package, with the keys of its checkpoints.

MERL aligns a 12-lead ECG encoder with a BERT text encoder (MedCPT's query
encoder). Its released checkpoints are ``state_dict``s of its ``ECGCLIP``
module; :class:`MERLNet` has the same submodules under the same names, so a
checkpoint loads into it key for key:

- ``ecg_encoder.*``: :class:`MERLResNet` (a 1-D ResNet-18, 512 × 313
  feature map for 5,000 samples) or :class:`MERLViT` (ViT-tiny: patches of
  50 samples, 12 pre-norm blocks, mean of the tokens then LayerNorm, 192-d);
- the ECG projection: for the ResNet, ``downconv.*`` (1 × 1 convolution to
  256 channels) and ``att_pool_head.*`` (attention pooling with a learned
  query token, :class:`AttentionPool`); for the ViT, ``proj_e.*``
  (Linear–BatchNorm–ReLU–Linear–BatchNorm);
- ``linear1.*``, ``linear2.*``: heads of MERL's training-time uni-modal
  loss, loaded but never used at inference;
- ``proj_t.*``: the text projection (Linear–GELU–Linear) applied to BERT's
  ``pooler_output``;
- ``lm_model.*``: the BERT itself, a ``transformers.BertModel``, built by
  :class:`sklearn_ecg.merl.MERLEmbedder` only when text is embedded.

MERL feeds its encoders records min-max scaled to [0, 1] over all leads of a
record (:func:`minmax_scale`); the networks here take such records.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .vit import TransformerBlock

__all__ = [
    "RESNET_BLOCKS",
    "VIT_TINY",
    "MERLResNet",
    "MERLViT",
    "AttentionPool",
    "MERLNet",
    "minmax_scale",
]

#: Residual blocks per stage of the released ResNet1d-18.
RESNET_BLOCKS = (2, 2, 2, 2)
#: The released ViT-tiny: patch size, width, depth, heads, head width, MLP width.
VIT_TINY = {"patch_size": 50, "width": 192, "depth": 12, "heads": 3, "dim_head": 64, "mlp_dim": 768}
#: Samples per record the released encoders were trained on (10 s at 500 Hz).
N_TIMEPOINTS = 5000


def minmax_scale(x, eps=1e-8):
    """Scale each record of ``x`` (batch, leads, time) to [0, 1] over all its leads, as MERL does.

    ``(x - min) / (max - min + eps)`` with the minimum and maximum of the
    whole record; a flat record becomes zeros.
    """
    low = x.amin(dim=(1, 2), keepdim=True)
    high = x.amax(dim=(1, 2), keepdim=True)
    return (x - low) / (high - low + eps)


class _BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class MERLResNet(nn.Module):
    """MERL's 1-D ResNet: a stride-2 7-tap stem without max-pooling, four stages of basic blocks.

    ``forward`` returns the last stage's feature map ``(B, 512, ⌈T/16⌉)``;
    :meth:`pool` averages it over time (MERL's linear-probe features).
    ``linear`` (512 → 10) is an unused layer of MERL's checkpoints, kept so
    that they load key for key.

    Parameters
    ----------
    blocks : tuple of 4 int, default=(2, 2, 2, 2)
        Basic blocks per stage (ResNet-18).
    n_leads : int, default=12
    """

    out_features = 512

    def __init__(self, blocks=RESNET_BLOCKS, n_leads=12):
        super().__init__()
        self.conv1 = nn.Conv1d(n_leads, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm1d(64)
        channels = 64
        for stage, (width, stride, n) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2), blocks), 1):
            layers = []
            for s in [stride] + [1] * (n - 1):
                layers.append(_BasicBlock(channels, width, s))
                channels = width
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        self.linear = nn.Linear(512, 10)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        for stage in range(1, 5):
            out = getattr(self, f"layer{stage}")(out)
        return out

    @staticmethod
    def pool(feature_map):
        """Mean over time of a feature map: ``(B, 512, L)`` to ``(B, 512)``."""
        return feature_map.mean(dim=2)


class MERLViT(nn.Module):
    """MERL's 1-D ViT: non-overlapping patches by a bias-free convolution, pre-norm blocks, token mean.

    ``forward`` returns ``LayerNorm(mean over tokens)``, ``(B, width)``.
    The blocks are attributes ``block0``, ``block1``, … as in MERL.

    Parameters
    ----------
    n_leads : int, default=12
    n_timepoints : int, default=5000
        Record length; a multiple of ``patch_size`` (the position
        embedding has one row per patch).
    patch_size, width, depth, heads, dim_head, mlp_dim : int
        Defaults: ViT-tiny (50, 192, 12, 3, 64, 768).
    """

    def __init__(self, n_leads=12, n_timepoints=N_TIMEPOINTS, patch_size=50, width=192, depth=12,
                 heads=3, dim_head=64, mlp_dim=768):
        super().__init__()
        if n_timepoints % patch_size:
            raise ValueError(f"n_timepoints={n_timepoints} is not a multiple of patch_size={patch_size}.")
        self.to_patch_embedding = nn.Conv1d(n_leads, width, patch_size, stride=patch_size, bias=False)
        self.pos_embedding = nn.Parameter(torch.zeros(1, n_timepoints // patch_size, width))
        self.depth = depth
        self.width = width
        for i in range(depth):
            self.add_module(f"block{i}", TransformerBlock(width, heads, dim_head, mlp_dim))
        self.norm = nn.LayerNorm(width)

    @property
    def out_features(self):
        return self.width

    def forward(self, x):
        x = self.to_patch_embedding(x).transpose(1, 2) + self.pos_embedding
        for i in range(self.depth):
            x = getattr(self, f"block{i}")(x)
        return self.norm(x.mean(dim=1))


class AttentionPool(nn.Module):
    """MERL's attention pooling: one learned query token attends to the positions of a feature map.

    Parameters
    ----------
    n_positions : int
        Positions of the feature map (313 for 5,000 samples).
    dim : int
        Channels of the feature map.
    heads : int
    """

    def __init__(self, n_positions, dim, heads):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(1, n_positions + 1, dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.mhsa = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.c_proj = nn.Linear(dim, dim)

    def forward(self, x):
        x = x.transpose(1, 2)  # (B, C, L) -> (B, L, C)
        cls = (self.cls_token + self.positional_embedding[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.positional_embedding.to(x.dtype)
        out, _ = self.mhsa(x[:, :1], x, x, need_weights=False)
        return self.c_proj(out[:, 0])


class MERLNet(nn.Module):
    """The ECG side and text projection of MERL's ``ECGCLIP``, with its checkpoint keys.

    ``forward(x)`` gives the encoder's embedding (ResNet: the time-mean of
    its feature map, 512-d; ViT: 192-d); :meth:`project` the ECG embedding
    in the joint space (256-d, not normalised) and :meth:`project_text` the
    projection of BERT's pooled output. ``lm_model`` (the BERT) is attached
    by the caller when text is needed; until then the module holds no text
    model.

    Parameters
    ----------
    encoder : {"resnet18", "vit_tiny"}
    n_leads : int, default=12
    n_timepoints : int, default=5000
    text_dim : int, default=768
        Width of the BERT (``proj_t``'s input).
    projection_dim : int, default=256
    resnet_blocks : tuple of 4 int, default=(2, 2, 2, 2)
    vit : dict or None, default=None
        ViT settings overriding :data:`VIT_TINY`.
    heads : bool, default=True
        False: the encoder alone (``ecg_encoder.*``), for MERL's bare
        ``*_encoder.pth`` files; only ``forward`` then.
    """

    def __init__(self, encoder, n_leads=12, n_timepoints=N_TIMEPOINTS, text_dim=768,
                 projection_dim=256, resnet_blocks=RESNET_BLOCKS, vit=None, heads=True):
        super().__init__()
        self.kind = encoder
        self.has_heads = heads
        if encoder == "resnet18":
            self.ecg_encoder = MERLResNet(tuple(resnet_blocks), n_leads)
            side = projection_dim
        elif encoder == "vit_tiny":
            self.ecg_encoder = MERLViT(n_leads, n_timepoints, **{**VIT_TINY, **(vit or {})})
            side = self.ecg_encoder.width
        else:
            raise ValueError(f"encoder must be 'resnet18' or 'vit_tiny'; got {encoder!r}.")
        if not heads:
            return
        if encoder == "resnet18":
            self.downconv = nn.Conv1d(512, projection_dim, 1)
            self.att_pool_head = AttentionPool(-(-n_timepoints // 16), projection_dim, heads=4)
        else:
            self.proj_e = nn.Sequential(
                nn.Linear(side, projection_dim), nn.BatchNorm1d(projection_dim), nn.ReLU(),
                nn.Linear(projection_dim, projection_dim), nn.BatchNorm1d(projection_dim),
            )
        self.linear1 = nn.Linear(side, projection_dim, bias=False)
        self.linear2 = nn.Linear(side, projection_dim, bias=False)
        self.proj_t = nn.Sequential(nn.Linear(text_dim, projection_dim), nn.GELU(),
                                    nn.Linear(projection_dim, projection_dim))

    @property
    def out_features(self):
        return self.ecg_encoder.out_features

    @property
    def projection_dim(self):
        return self.proj_t[2].out_features

    def forward(self, x):
        out = self.ecg_encoder(x)
        return MERLResNet.pool(out) if self.kind == "resnet18" else out

    def features(self, x):
        """The encoder's embedding (``forward``)."""
        return self(x)

    def project(self, x):
        """The ECG embedding in the joint space (``ext_ecg_emb`` of MERL), not normalised."""
        out = self.ecg_encoder(x)
        if self.kind == "resnet18":
            return self.att_pool_head(self.downconv(out))
        return self.proj_e(out)

    def joint(self, x):
        """The ECG embedding in the joint space, L2-normalised (what MERL scores text against)."""
        return F.normalize(self.project(x), dim=-1)

    def embed(self, x, output):
        """``forward`` (``output="encoder"``), ``project`` (``"projected"``) or its L2-normalised form (``"joint"``)."""
        return {"encoder": self.features, "projected": self.project, "joint": self.joint}[output](x)

    def project_text(self, pooled):
        """``proj_t`` of BERT's ``pooler_output``, not normalised."""
        return self.proj_t(pooled)
