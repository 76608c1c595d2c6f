"""Inference-only copies of the networks: BatchNorm folded into the convolutions.

In evaluation mode a BatchNorm layer is an affine map per channel, which the
convolution before it absorbs exactly (up to float rounding): the folded copy
computes the same embeddings without one full pass over every activation per
layer. On the CPU, the VGG encoder of LCD also runs as 2-D convolutions over
channels-last tensors, the layout in which oneDNN's kernels are fastest for
these narrow layers.
"""

import copy

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .vgg1d import VGG1d, _HalvingMaxPool1d


def _fold_sequential(seq):
    children = list(seq.children())
    for i in range(len(children) - 1):
        conv, bn = children[i], children[i + 1]
        if type(conv) is nn.Conv1d and type(bn) is nn.BatchNorm1d and bn.track_running_stats:
            seq[i] = fuse_conv_bn_eval(conv, bn)
            seq[i + 1] = nn.Identity()


def _fold_pairs(module):
    # Blocks that name their convolution and its BatchNorm (conv1/bn1, ...).
    for k in range(1, 10):
        conv, bn = getattr(module, f"conv{k}", None), getattr(module, f"bn{k}", None)
        if conv is None or bn is None:
            break
        if type(conv) is nn.Conv1d and type(bn) is nn.BatchNorm1d and bn.track_running_stats:
            setattr(module, f"conv{k}", fuse_conv_bn_eval(conv, bn))
            setattr(module, f"bn{k}", nn.Identity())


class _HalvingMaxPool2d(nn.Module):
    """:class:`~sklearn_ecg.nn.vgg1d._HalvingMaxPool1d` over (N, C, 1, T)."""

    def forward(self, x):
        if x.shape[-1] < 2:
            return x
        return F.max_pool2d(x, (1, 2))


class _VGG1dAs2d(nn.Module):
    """A folded :class:`~sklearn_ecg.nn.vgg1d.VGG1d` computed with 2-D channels-last layers.

    The input (N, C, T) is viewed as (N, C, 1, T) and the kernels as (1, k):
    the same arithmetic, in oneDNN's faster layout on the CPU.
    """

    def __init__(self, vgg):
        super().__init__()
        layers = []
        for layer in vgg.features:
            if type(layer) is nn.Conv1d:
                # skip_init: no draw from torch's global generator.
                conv = nn.utils.skip_init(
                    nn.Conv2d,
                    layer.in_channels, layer.out_channels, (1, layer.kernel_size[0]),
                    stride=(1, layer.stride[0]), padding=(0, layer.padding[0]),
                    dilation=(1, layer.dilation[0]), groups=layer.groups,
                    bias=layer.bias is not None,
                )
                with torch.no_grad():
                    conv.weight.copy_(layer.weight[:, :, None, :])
                    if layer.bias is not None:
                        conv.bias.copy_(layer.bias)
                layers.append(conv)
            elif type(layer) is nn.ReLU:
                layers.append(nn.ReLU(inplace=True))
            elif type(layer) is _HalvingMaxPool1d:
                layers.append(_HalvingMaxPool2d())
            elif type(layer) is not nn.Identity:
                raise TypeError(f"no 2-D form for {type(layer).__name__}")
        self.features = nn.Sequential(*layers).to(memory_format=torch.channels_last)
        self.out_features = vgg.out_features

    def forward(self, x):
        x = x[:, :, None, :].contiguous(memory_format=torch.channels_last)
        return self.features(x).mean(dim=(-2, -1))


def _on_cpu(module):
    return all(p.device.type == "cpu" for p in module.parameters())


def folded_copy(module):
    """An evaluation-mode copy of ``module`` with BatchNorm folded into the convolutions.

    Every ``Conv1d`` directly followed by a ``BatchNorm1d`` (in an
    ``nn.Sequential``, or as ``convK``/``bnK`` attributes of a block) becomes
    one convolution; the BatchNorm becomes an identity. On the CPU, VGG
    encoders are moreover computed as 2-D channels-last convolutions (same
    arithmetic, faster layout). ``module`` itself is left as it is. The copy
    is for inference only.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.resnet1d import ResNet1d
    >>> from sklearn_ecg.nn.inference import folded_copy
    >>> net = ResNet1d(in_channels=2, width=0.0625).eval()
    >>> fast = folded_copy(net)
    >>> x = torch.randn(3, 2, 200)
    >>> bool(torch.allclose(fast(x), net(x), atol=1e-5))
    True
    >>> from sklearn_ecg.nn.vgg1d import VGG1d
    >>> vgg = VGG1d(width=0.125).eval()
    >>> x = torch.randn(3, 1, 500)
    >>> bool(torch.allclose(folded_copy(vgg)(x), vgg(x), atol=1e-5))
    True
    """
    fused = copy.deepcopy(module).eval()
    with torch.no_grad():
        for m in list(fused.modules()):
            if isinstance(m, nn.Sequential):
                _fold_sequential(m)
            else:
                _fold_pairs(m)
    if _on_cpu(fused):
        if type(fused) is VGG1d:
            fused = _VGG1dAs2d(fused)
        for parent in list(fused.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is VGG1d:
                    setattr(parent, name, _VGG1dAs2d(child))
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused
