"""One-dimensional ResNet-18: METS's ECG encoder."""

from torch import nn


class BasicBlock1d(nn.Module):
    """ResNet's basic block with 1-D kernels: two 3-tap convolutions and a shortcut.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    stride : int, default=1
        Stride of the first convolution; the shortcut is a strided 1×1
        convolution whenever the shape changes.
    kernel_size : int, default=3
        Taps of both convolutions (odd).
    """

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, kernel_size=3):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet1d(nn.Module):
    """ResNet with 1-D kernels and global average pooling (ResNet1d-18 by default).

    A 7-tap stride-2 stem convolution and a stride-2 max-pooling, then four
    stages of :class:`BasicBlock1d` (the first stride 1, the others stride 2)
    with ``c``, ``2·c``, ``4·c`` and ``8·c`` channels, ``c = round(64 · width)``
    (64, 128, 256 and 512 as in ResNet-18 at ``width=1.0``), then the mean
    over time. Every lead of a record is an input channel.

    Parameters
    ----------
    in_channels : int, default=12
        Leads per record.
    layers : tuple of int, default=(2, 2, 2, 2)
        Blocks per stage; ``(2, 2, 2, 2)`` is ResNet-18.
    width : float, default=1.0
        Multiplier of ResNet-18's channels: the first stage has
        ``round(64 * width)`` (1.0 gives ResNet-18's 64 … 512 channels and
        512-d embeddings), like :class:`~sklearn_ecg.nn.vgg1d.VGG1d`'s
        ``width`` multiplies VGG16's.
    kernel_size : int, default=3
        Taps of the block convolutions.

    Attributes
    ----------
    out_features : int
        Size of the embedding (``8 * round(64 * width)`` for four stages).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.resnet1d import ResNet1d
    >>> encoder = ResNet1d(in_channels=12)
    >>> encoder(torch.zeros(2, 12, 1000)).shape
    torch.Size([2, 512])
    """

    def __init__(self, in_channels=12, layers=(2, 2, 2, 2), width=1.0, kernel_size=3):
        super().__init__()
        base = int(round(64 * width))
        if base < 1:
            raise ValueError(f"width={width!r} leaves ResNet1d's first stage without a channel; "
                             "use a multiplier of at least 1/64.")
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, base, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm1d(base),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(kernel_size=3, stride=2, padding=1),
        )
        stages = []
        c_in = base
        for i, n_blocks in enumerate(layers):
            c_out = base * 2**i
            blocks = []
            for j in range(n_blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock1d(c_in, c_out, stride, kernel_size))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.out_features = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero-initialised last BatchNorm of each residual branch: every block
        # starts as the identity, which steadies early training (Goyal et al.).
        for m in self.modules():
            if isinstance(m, BasicBlock1d):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        """Embed ``x`` of shape (batch, in_channels, time) into (batch, out_features)."""
        return self.stages(self.stem(x)).mean(dim=-1)
