"""HuBERT-ECG: its checkpoints, its input contract and its embeddings.

The network is ``transformers``' own ``HubertModel``
(:class:`~sklearn_ecg.nn.hubert_ecg.HuBERTECGEncoder`; the authors'
``HuBERTECG`` subclasses it and adds pretraining heads that the embedding
does not use). ``transformers`` comes with the ``text`` extra.

Input contract (the authors' ``utils.ecg_preprocessing`` and ``ECGDataset``):

* 12 leads in the order I, II, III, aVR, aVL, aVF, V1-V6;
* band-pass 0.05-47 Hz: a FIR filter of ``int(0.3 * fs)`` taps (one more if
  that is even) designed by ``scipy.signal.firwin`` and applied forward and
  backward (``filtfilt``), as ``biosppy.signals.tools.filter_signal`` does;
* FFT resampling to 500 Hz (``int(n_samples * 500 / fs)`` samples). The
  authors filter at the record's own rate, then resample; the entry's
  contract is 500 Hz (its ``input_pipeline`` resamples by FFT) and the
  filter runs at 500 Hz: for records at 500 Hz this is the authors'
  pipeline exactly, for records at other rates the band-pass is the same
  band with a longer filter;
* min-max scaling of each lead to [-1, 1] over the whole record (the
  contract has no fixed length: records are scaled whole, then cut);
* the first 5 s (2,500 samples) are kept: records must be at least 5 s long,
  and the rest of a longer record is not seen;
* the 12 leads are concatenated (lead after lead) into one 30,000-sample
  vector, decimated by 5 with ``scipy.signal.decimate`` (order-8 Chebyshev,
  zero phase) to 6,000 samples at 100 Hz;
* the embedding is the time average of ``last_hidden_state`` (93 frames), as
  the authors' classifier pools it (``attention_mask=None``).

Checkpoints: the authors' ``.pt`` files (a dict with ``model_config``, the
pickled config object, and ``model_state_dict``), read with
``weights_only=True`` while mapping the two config classes onto an inert
record of their attributes (no code of theirs is imported or run), and
``transformers`` folders (``config.json`` + ``model.safetensors``; the
custom code those folders ship is never run). The pretraining heads
(``final_proj``, ``label_embedding``), ``masked_spec_embed`` and a
fine-tuned classifier are left out. The position convolution's weight-norm
tensors are accepted under both names torch has used (``weight_g`` /
``weight_v`` and ``parametrizations.weight.original0`` / ``original1``).
"""

import functools
import os

import numpy as np
import torch
from scipy.signal import cheby1, decimate, filtfilt, firwin, sosfilt
from torch import nn

from .._checkpoints import CheckpointError
from ._readers import read_checkpoint
from ._steps import StatelessStep

__all__ = ["HuBERTECGInput", "hubert_ecg_inputs", "hubert_ecg_state_dict"]

FS = 500
SECONDS = 5
DOWNSAMPLING = 5
BAND = (0.05, 47.0)
_HEADS = ("final_proj.", "label_embedding.", "masked_spec_embed", "classifier.")
_POS_CONV = "encoder.pos_conv_embed.conv."
_WEIGHT_NORM_NAMES = {"weight_g": "parametrizations.weight.original0",
                      "weight_v": "parametrizations.weight.original1"}
_CONFIG_CLASSES = ("hubert_ecg.HuBERTECGConfig",
                   "transformers.models.hubert.configuration_hubert.HubertConfig")


def _read_pt(path, what, hint):
    source = str(path)
    ckpt = read_checkpoint(path, what=what, hint=hint, records=_CONFIG_CLASSES)
    if isinstance(ckpt, dict) and "model_state_dict" in ckpt:
        return ckpt["model_state_dict"]
    if isinstance(ckpt, dict) and ckpt and all(torch.is_tensor(v) for v in ckpt.values()):
        return ckpt  # a bare state dict
    found = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
    raise CheckpointError(f"{source}: is not {what}: no 'model_state_dict' entry (found "
                          f"{found}). {hint}".strip())


def _read_safetensors(path, what, hint):
    """A transformers folder's weights: the folder, or its model.safetensors file."""
    source = str(path)
    weights = os.path.join(path, "model.safetensors") if os.path.isdir(path) else path
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"{source}: no model.safetensors in the folder; expected {what} "
                                f"(a transformers folder). {hint}".strip())
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{source}: model.safetensors could not be read ({exc}). "
                              f"{hint}".strip()) from exc


def hubert_ecg_state_dict(path, *, what, hint="", config=None):
    """The encoder's tensors (named as in :class:`HuBERTECGEncoder`) of a HuBERT-ECG checkpoint.

    ``path`` is an authors' ``.pt`` file (read with ``weights_only=True``;
    its pickled config object becomes an inert record, none of the
    authors' code is imported), a ``transformers`` folder or its
    ``model.safetensors`` file (the custom code such folders ship never
    runs; e.g. ``checkpoint="hf://Edoardo-BS/hubert-ecg-base/model.safetensors"``
    downloads that file from the Hub).
    """
    if os.path.isdir(path) or str(path).endswith(".safetensors"):
        state = _read_safetensors(path, what, hint)
    else:
        state = _read_pt(path, what, hint)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the weights are not a state dict. {hint}".strip())
    out = {}
    for key, value in state.items():
        key = str(key)
        for prefix in ("hubert_ecg.", "hubert."):  # a fine-tuned classifier's backbone
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(_HEADS):
            continue
        if key.startswith(_POS_CONV):  # the names of older torch versions
            leaf = key[len(_POS_CONV):]
            key = _POS_CONV + _WEIGHT_NORM_NAMES.get(leaf, leaf)
        out["hubert." + key] = value
    return out


def hubert_ecg_inputs(X, fs=FS):
    """Records ``(n, 12, T)`` at ``fs`` Hz → model inputs ``(n, 6000)`` (float32).

    The authors' preprocessing (see the module's docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation._hubert_ecg import hubert_ecg_inputs
    >>> hubert_ecg_inputs(np.random.default_rng(0).normal(size=(2, 12, 5000)), fs=500).shape
    (2, 6000)
    """
    x = np.asarray(X, dtype=np.float64)
    if fs <= 2 * BAND[1]:
        raise ValueError(f"HuBERT-ECG band-passes records to {BAND[1]:g} Hz, which needs a "
                         f"sampling rate above {2 * BAND[1]:g} Hz; got {fs:g} Hz.")
    if x.shape[-1] * FS / fs < FS * SECONDS:
        raise ValueError(f"HuBERT-ECG takes records of at least {SECONDS} s; these have "
                         f"{x.shape[-1]} samples at {fs:g} Hz ({x.shape[-1] / fs:g} s). Pad "
                         "them, e.g. with input_pipeline(fs=...) of a model with a fixed length.")
    numtaps = int(0.3 * fs)
    numtaps += numtaps % 2 == 0
    b = firwin(numtaps, [2.0 * f / fs for f in BAND], pass_zero=False)
    x = filtfilt(b, np.array([1.0]), x)
    if fs != FS:
        from scipy.signal import resample
        x = resample(x, int(x.shape[-1] * (FS / fs)), axis=-1)
    lo = x.min(axis=-1, keepdims=True)
    hi = x.max(axis=-1, keepdims=True)
    x = 2 * (x - lo) / (hi - lo + 1e-8) - 1
    x = x[..., :FS * SECONDS].reshape(x.shape[0], -1)
    return decimate(x, DOWNSAMPLING, axis=-1).astype(np.float32)


class HuBERTECGInput(StatelessStep):
    """HuBERT-ECG's preprocessing: band-pass, min-max per lead, first 5 s, leads concatenated.

    Records ``(n, 12, T)`` (at least 5 s) become ``(n, 6000)`` at 100 Hz.

    Parameters
    ----------
    fs : float, default=500.0
        Rate of the records in Hz (the filter's design rate; records at
        another rate are FFT-resampled to 500 Hz after the band-pass, as
        the authors do).
    """

    def __init__(self, fs=FS):
        self.fs = fs

    def transform(self, X):
        return hubert_ecg_inputs(X, fs=float(self.fs))

    def torch_module(self):
        """The same computation in torch, with gradients (for attributions and fine-tuning)."""
        if float(self.fs) != FS:
            raise ValueError(f"HuBERTECGInput has a torch counterpart for records at {FS} Hz only; "
                             f"got fs={self.fs!r}.")
        return _TorchInput()


# -- the preprocessing in torch ------------------------------------------------------
#
# Both zero-phase filters are linear: scipy's filtfilt (FIR band-pass) and sosfiltfilt
# (decimate's Chebyshev filter) extend the signal by an odd reflection, then filter it forward
# and backward starting from the steady state of a constant signal. The same in torch: the
# filter's impulse response (the IIR one kept until it falls below 1e-13 of its peak) as a
# convolution, the steady state as the first sample repeated before the start.


@functools.lru_cache(maxsize=None)
def _filters():
    """``(band-pass taps, its padding, decimation impulse response, its padding)``, float64."""
    numtaps = int(0.3 * FS)
    numtaps += numtaps % 2 == 0
    band = firwin(numtaps, [2.0 * f / FS for f in BAND], pass_zero=False)
    sos = cheby1(8, 0.05, 0.8 / DOWNSAMPLING, output="sos")
    impulse = np.zeros(20000)
    impulse[0] = 1.0
    h = sosfilt(sos, impulse)
    h = h[: np.nonzero(np.abs(h) > 1e-13 * np.abs(h).max())[0][-1] + 1]
    # sosfiltfilt's default padding: 3 * (2 * sections + 1 - trailing zero coefficients).
    pad = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    return band, 3 * numtaps, h, int(pad)


def _steady_filter(x, h):
    """Causal filter ``h`` over the last axis, as if ``x[..., 0]`` had lasted forever before."""
    pad = x[..., :1].expand(*x.shape[:-1], len(h) - 1)
    xx = torch.cat([pad, x], dim=-1)
    kernel = torch.as_tensor(np.ascontiguousarray(h[::-1]), dtype=x.dtype, device=x.device)
    out = nn.functional.conv1d(xx.reshape(-1, 1, xx.shape[-1]), kernel.view(1, 1, -1))
    return out.reshape(x.shape)


def _zero_phase(x, h, padlen):
    """scipy's filtfilt / sosfiltfilt of ``x`` by the filter of impulse response ``h``."""
    left = 2 * x[..., :1] - x[..., 1:padlen + 1].flip(-1)
    right = 2 * x[..., -1:] - x[..., -padlen - 1:-1].flip(-1)
    y = _steady_filter(torch.cat([left, x, right], dim=-1), h)
    y = _steady_filter(y.flip(-1), h).flip(-1)
    return y[..., padlen:-padlen]


class _TorchInput(nn.Module):
    """:func:`hubert_ecg_inputs` at 500 Hz in torch: ``(B, 12, T)`` → ``(B, 6000)``."""

    def forward(self, x):
        if x.shape[-1] < FS * SECONDS:
            raise ValueError(f"HuBERT-ECG takes records of at least {SECONDS} s ({FS * SECONDS} samples).")
        band, band_pad, h, h_pad = _filters()
        x = _zero_phase(x, band, band_pad)
        lo = x.amin(dim=-1, keepdim=True)
        hi = x.amax(dim=-1, keepdim=True)
        x = 2 * (x - lo) / (hi - lo + 1e-8) - 1
        x = x[..., :FS * SECONDS].reshape(x.shape[0], -1)
        return _zero_phase(x, h, h_pad)[..., ::DOWNSAMPLING]
