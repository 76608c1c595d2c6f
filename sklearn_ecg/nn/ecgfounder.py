"""ECGFounder's network: a 1-D RegNet-style CNN with squeeze-and-excitation.

A re-implementation of the network of Li et al., "An Electrocardiogram
Foundation Model Built on over 10 Million Recordings" (NEJM AI, 2025), whose
released checkpoints it loads: its parameter and buffer names are those of
the authors' ``state_dict`` one for one, so a checkpoint loads strictly.

Every stage starts with a block that halves the length (a strided grouped
convolution; its shortcut is a zero-padded max pool and zero channels are
added to it where the width grows), followed by blocks of the same width.
A block is ``1x1 conv -> k-tap grouped conv -> 1x1 conv`` with Swish
activations and squeeze-and-excitation (reduction 2). Convolutions pad as
TensorFlow's ``"same"`` does (the odd sample of padding on the right).
BatchNorm layers exist in every configuration (the checkpoints carry them)
but run only with ``use_bn=True``; the released models have ``use_bn=False``.
"""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Net1D", "RELEASED_CONFIG"]

#: The configuration of the released checkpoints (12-lead: ``in_channels=12``,
#: 1-lead: ``in_channels=1``).
RELEASED_CONFIG = dict(
    base_filters=64, ratio=1.0, filter_list=(64, 160, 160, 400, 400, 1024, 1024),
    m_blocks_list=(2, 2, 2, 3, 3, 4, 4), kernel_size=16, stride=2, groups_width=16,
    use_bn=False, n_classes=150,
)


def _same_pad(x, kernel_size, stride):
    length = x.shape[-1]
    out = (length + stride - 1) // stride
    total = max(0, (out - 1) * stride + kernel_size - length)
    return F.pad(x, (total // 2, total - total // 2))


class SameConv1d(nn.Module):
    """``Conv1d`` with "same" padding: ``ceil(length / stride)`` samples out."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride, groups=groups)

    def forward(self, x):
        conv = self.conv
        return conv(_same_pad(x, conv.kernel_size[0], conv.stride[0]))


def _swish(x):
    return x * torch.sigmoid(x)


class SEBlock1d(nn.Module):
    """One block: three convolutions, squeeze-and-excitation and a shortcut."""

    def __init__(self, in_channels, out_channels, ratio, kernel_size, stride, groups,
                 first=False, use_bn=False):
        super().__init__()
        middle = int(out_channels * ratio)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.first, self.use_bn = stride, first, use_bn
        self.bn1 = nn.BatchNorm1d(in_channels)
        self.conv1 = SameConv1d(in_channels, middle, 1)
        self.bn2 = nn.BatchNorm1d(middle)
        self.conv2 = SameConv1d(middle, middle, kernel_size, stride, groups)
        self.bn3 = nn.BatchNorm1d(middle)
        self.conv3 = SameConv1d(middle, out_channels, 1)
        self.se_fc1 = nn.Linear(out_channels, out_channels // 2)
        self.se_fc2 = nn.Linear(out_channels // 2, out_channels)

    def _pre(self, bn, x):
        return _swish(bn(x) if self.use_bn else x)

    def forward(self, x):
        out = x if self.first else self._pre(self.bn1, x)
        out = self.conv1(out)
        out = self.conv2(self._pre(self.bn2, out))
        out = self.conv3(self._pre(self.bn3, out))
        gate = torch.sigmoid(self.se_fc2(_swish(self.se_fc1(out.mean(-1)))))
        out = out * gate[:, :, None]
        shortcut = x
        if self.stride > 1:
            # Max pool of width ``stride`` over the zero-padded input.
            shortcut = F.max_pool1d(_same_pad(shortcut, self.stride, 1), self.stride)
        extra = self.out_channels - self.in_channels
        if extra:
            shortcut = F.pad(shortcut, (0, 0, extra // 2, extra - extra // 2))
        return out + shortcut


class _Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.block_list = nn.ModuleList(blocks)

    def forward(self, x):
        for block in self.block_list:
            x = block(x)
        return x


class Net1D(nn.Module):
    """ECGFounder's network: ``features`` gives the pooled embedding, ``forward`` the logits.

    Parameters
    ----------
    in_channels : int
        Leads of the input (12 or 1 for the released models).
    base_filters : int, default=64
        Channels of the first convolution.
    ratio : float, default=1.0
        Width of a block's middle convolutions relative to its output.
    filter_list : sequence of int
        Output channels of each stage; the embedding has ``filter_list[-1]``
        features.
    m_blocks_list : sequence of int
        Blocks in each stage.
    kernel_size : int, default=16
        Taps of the first and the grouped convolutions.
    stride : int, default=2
        Stride of each stage's first block (the first convolution has stride 2).
    groups_width : int, default=16
        Channels per group of the grouped convolutions.
    use_bn : bool, default=False
        Run the BatchNorm layers (they exist either way).
    n_classes : int, default=150
        Outputs of the final linear layer ``dense``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.ecgfounder import Net1D
    >>> net = Net1D(2, base_filters=8, filter_list=(8, 16), m_blocks_list=(1, 2),
    ...             groups_width=4, n_classes=3)
    >>> x = torch.zeros(4, 2, 500)
    >>> net.features(x).shape, net(x).shape
    (torch.Size([4, 16]), torch.Size([4, 3]))
    """

    def __init__(self, in_channels, base_filters=64, ratio=1.0, filter_list=(), m_blocks_list=(),
                 kernel_size=16, stride=2, groups_width=16, use_bn=False, n_classes=150):
        super().__init__()
        if len(filter_list) != len(m_blocks_list) or not filter_list:
            raise ValueError("filter_list and m_blocks_list need one entry per stage, at least one.")
        self.use_bn = use_bn
        self.first_conv = SameConv1d(in_channels, base_filters, kernel_size, stride=2)
        self.first_bn = nn.BatchNorm1d(base_filters)
        stages, width = [], base_filters
        for i, (channels, n_blocks) in enumerate(zip(filter_list, m_blocks_list)):
            blocks = [
                SEBlock1d(width if b == 0 else channels, channels, ratio, kernel_size,
                          stride if b == 0 else 1, channels // groups_width,
                          first=(i == 0 and b == 0), use_bn=use_bn)
                for b in range(n_blocks)
            ]
            stages.append(_Stage(blocks))
            width = channels
        self.stage_list = nn.ModuleList(stages)
        self.dense = nn.Linear(width, n_classes)
        self.embedding_dim = width

    def features(self, x):
        """The embedding ``(B, filter_list[-1])``: the last stage averaged over time."""
        out = self.first_conv(x)
        out = _swish(self.first_bn(out) if self.use_bn else out)
        for stage in self.stage_list:
            out = stage(out)
        return out.mean(-1)

    def forward(self, x):
        """The head's logits ``(B, n_classes)`` (one sigmoid each: multi-label)."""
        return self.dense(self.features(x))
