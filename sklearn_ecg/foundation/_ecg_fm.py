"""ECG-FM: reading its fairseq-signals checkpoints and its input pipeline.

Input contract (the transforms of ECG-FM's inference notebook, from the
``ecg_transform`` package):

* 12 leads in the order I, II, III, aVR, aVL, aVF, V1-V6;
* linear interpolation to 500 Hz (``int(n_samples * 500 / fs)`` samples;
  the entry's ``input_pipeline`` resamples that way);
* leads constant over the record set to 0, then a z-score of each lead over
  the whole record (``(x - mean) / (std + 1e-8)``);
* the record cut into consecutive 5 s segments (2,500 samples; the remainder
  is dropped, a record shorter than 5 s is refused);
* the embedding of a segment is the encoder's output summed over time and
  divided by the count of its non-zero values (``ecg_transformer_classifier.py``);
  the authors report one embedding per segment and aggregate a record's
  predictions over its segments; the embedder averages the segments'
  embeddings.

Checkpoints: fairseq ``.pt`` files (``{'cfg', 'model', ...}``) of the
pretraining model (``wav2vec2_cmsc``: its quantizer, ``project_q``,
``final_proj`` and ``mask_emb`` are left out) or of the fine-tuned classifier
(``encoder.*``; its ``proj`` head is left out). The checkpoint's ``cfg``
must describe the network of the table entry (convolutions, sizes, heads).
"""

import ast

import numpy as np
import torch
from torch import nn

from .._checkpoints import CheckpointError
from ._readers import read_checkpoint
from ._steps import StatelessStep

__all__ = ["ECGFMSegments", "ecg_fm_segments", "ecg_fm_state_dict"]

FS = 500
SEGMENT = 2500
_PRETRAINING = ("mask_emb", "quantizer.", "input_quantizer.", "project_q.", "project_inp.",
                "final_proj.", "target_glu.")
_POS_CONV = "conv_pos.pos_conv.0."
_WEIGHT_NORM_NAMES = {"weight_g": "parametrizations.weight.original0",
                      "weight_v": "parametrizations.weight.original1"}


def _conv_layers(text):
    """fairseq's ``conv_feature_layers`` string (``"[(256, 2, 2)] * 4"``), without ``eval``."""
    def value(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
            left, right = value(node.left), value(node.right)
            return left * right if isinstance(node.op, ast.Mult) else left + right
        return ast.literal_eval(node)
    layers = value(ast.parse(text, mode="eval").body)
    return [list(layer) for layer in layers]


def _check_config(cfg, config, source, hint):
    """Refuse a checkpoint whose configuration is not the table entry's network."""
    model = cfg.get("model") if isinstance(cfg, dict) else None
    if not isinstance(model, dict):
        return
    wanted = {"in_d": config.get("in_channels"), "encoder_embed_dim": config.get("embed_dim"),
              "encoder_layers": config.get("layers"),
              "encoder_attention_heads": config.get("heads"),
              "encoder_ffn_embed_dim": config.get("ffn_dim"), "conv_pos": config.get("conv_pos"),
              "conv_pos_groups": config.get("conv_pos_groups"), "extractor_mode": "default",
              "layer_norm_first": False, "conv_bias": False}
    found = {k: model[k] for k in wanted if k in model}
    if "conv_feature_layers" in model:
        try:
            found["conv_feature_layers"] = _conv_layers(model["conv_feature_layers"])
        except (ValueError, SyntaxError, TypeError):
            found["conv_feature_layers"] = model["conv_feature_layers"]
        wanted["conv_feature_layers"] = [list(layer) for layer in config.get("conv_layers", [])]
    differ = [f"{k}={found[k]!r} (the network: {wanted[k]!r})" for k in found
              if found[k] != wanted[k]]
    if differ:
        raise CheckpointError(f"{source}: its configuration describes another network: "
                              + "; ".join(differ) + f". {hint}".rstrip())


def ecg_fm_state_dict(path, *, what, hint="", config=None):
    """The encoder's state dict (named as in :class:`ECGFMEncoder`) of an ECG-FM checkpoint."""
    source = str(path)
    ckpt = read_checkpoint(path, what=what, hint=hint)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        found = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{source}: is not {what}: no 'model' state dict (found {found}). "
                              f"{hint}".strip())
    _check_config(ckpt.get("cfg"), config or {}, source, hint)
    state = {str(k): v for k, v in ckpt["model"].items()}
    if "encoder.feature_extractor.conv_layers.0.0.weight" in state:  # the fine-tuned classifier
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    out = {}
    for key, value in state.items():
        if key.startswith(_PRETRAINING):
            continue
        if key.startswith(_POS_CONV):  # the names of older torch versions
            leaf = key[len(_POS_CONV):]
            key = _POS_CONV + _WEIGHT_NORM_NAMES.get(leaf, leaf)
        out[key] = value
    return out


def ecg_fm_segments(X, segment=SEGMENT):
    """Records ``(n, 12, T)`` at 500 Hz → standardised segments ``(n, T // segment, 12, segment)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation._ecg_fm import ecg_fm_segments
    >>> ecg_fm_segments(np.random.default_rng(0).normal(size=(2, 12, 5400))).shape
    (2, 2, 12, 2500)
    """
    x = np.asarray(X, dtype=np.float64)
    k = x.shape[-1] // segment
    if k == 0:
        raise ValueError(f"ECG-FM takes records of at least {segment} samples at {FS} Hz "
                         f"({segment / FS:g} s); these have {x.shape[-1]}.")
    constant = x.std(axis=-1, keepdims=True) == 0
    x = np.where(constant, 0.0, x)
    x = (x - x.mean(axis=-1, keepdims=True)) / (x.std(axis=-1, keepdims=True) + 1e-8)
    x = np.where(constant, 0.0, x)
    x = x[..., :k * segment].reshape(*x.shape[:-1], k, segment)
    return np.moveaxis(x, -2, 1).astype(np.float32)


class ECGFMSegments(StatelessStep):
    """ECG-FM's preprocessing: constant leads zeroed, z-score per lead, 5 s segments.

    Records ``(n, 12, T)`` at 500 Hz become ``(n, T // 2500, 12, 2500)``;
    the network averages its embeddings over the segments.

    Parameters
    ----------
    segment : int, default=2500
        Samples per segment.
    """

    def __init__(self, segment=SEGMENT):
        self.segment = segment

    def transform(self, X):
        return ecg_fm_segments(X, segment=self.segment)

    def torch_module(self):
        """The same computation in torch, with gradients (for attributions)."""
        return _TorchSegments(self.segment)


class _TorchSegments(nn.Module):
    def __init__(self, segment):
        super().__init__()
        self.segment = segment

    def forward(self, x):
        k = x.shape[-1] // self.segment
        if k == 0:
            raise ValueError(f"ECG-FM takes records of at least {self.segment} samples.")
        std = x.std(dim=-1, keepdim=True, unbiased=False)
        constant = std == 0
        x = (x - x.mean(dim=-1, keepdim=True)) / (std + 1e-8)
        x = torch.where(constant, torch.zeros_like(x), x)
        x = x[..., :k * self.segment].reshape(*x.shape[:-1], k, self.segment)
        return x.movedim(-2, 1)
