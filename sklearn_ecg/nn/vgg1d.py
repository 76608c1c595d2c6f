"""One-dimensional VGG16 encoder: LCD's generic single-lead encoder."""

from torch import nn
from torch.nn import functional as F

# Output channels of the 13 convolutions of VGG16, grouped by block; each block
# ends in a max-pooling that halves the time axis.
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class _HalvingMaxPool1d(nn.Module):
    """``MaxPool1d(2)`` that leaves a time axis of length 1 as it is.

    For records of 32 samples or more this is exactly ``MaxPool1d(2)`` (floor
    mode, as in the reference VGG); shorter inputs keep a single time step
    instead of collapsing to an empty tensor, so the encoder is defined for any
    length.
    """

    def forward(self, x):
        if x.shape[-1] < 2:
            return x
        return F.max_pool1d(x, 2)


class VGG1d(nn.Module):
    """VGG16 with 1-D kernels and global average pooling.

    Parameters
    ----------
    in_channels : int, default=1
        Input channels (1 for LCD's single-lead encoder).
    width : float, default=0.125
        Width multiplier applied to VGG16's channels (64 ... 512). LCD uses
        0.125, giving channels 8 ... 64 and a 64-d embedding.

    Attributes
    ----------
    out_features : int
        Size of the embedding (``round(512 * width)``).
    """

    def __init__(self, in_channels=1, width=0.125):
        super().__init__()
        layers = []
        c_in = in_channels
        for block in VGG16_BLOCKS:
            for c in block:
                c_out = max(1, int(round(c * width)))
                layers += [
                    nn.Conv1d(c_in, c_out, kernel_size=3, padding=1),
                    nn.BatchNorm1d(c_out),
                    nn.ReLU(inplace=True),
                ]
                c_in = c_out
            layers.append(_HalvingMaxPool1d())
        self.features = nn.Sequential(*layers)
        self.out_features = c_in

    def forward(self, x):
        """Embed ``x`` of shape (batch, in_channels, time) into (batch, out_features)."""
        return self.features(x).mean(dim=-1)
