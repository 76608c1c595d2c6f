"""Inference-only copies of the networks: BatchNorm folded into the convolutions.

In evaluation mode a BatchNorm layer is an affine map per channel, which the
convolution before it absorbs exactly (up to float rounding): the folded copy
computes the same embeddings without one full pass over every activation per
layer.
"""

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


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


def folded_copy(module):
    """An evaluation-mode copy of ``module`` with BatchNorm folded into the convolutions.

    Every ``Conv1d`` directly followed by a ``BatchNorm1d`` (in an
    ``nn.Sequential``, or as ``convK``/``bnK`` attributes of a block) becomes
    one convolution; the BatchNorm becomes an identity. ``module`` itself is
    left as it is. The copy is for inference only.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.resnet1d import ResNet1d
    >>> from sklearn_ecg.nn.inference import folded_copy
    >>> net = ResNet1d(in_channels=2, width=4).eval()
    >>> fast = folded_copy(net)
    >>> x = torch.randn(3, 2, 200)
    >>> bool(torch.allclose(fast(x), net(x), atol=1e-5))
    True
    """
    fused = copy.deepcopy(module).eval()
    with torch.no_grad():
        for m in list(fused.modules()):
            if isinstance(m, nn.Sequential):
                _fold_sequential(m)
            else:
                _fold_pairs(m)
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused
