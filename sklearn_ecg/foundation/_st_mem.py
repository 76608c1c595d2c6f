"""ST-MEM: reading its checkpoints and its input pipeline (the authors' evaluation).

Input contract (``configs/downstream/st_mem.yaml`` and ``data/process_ecg.py``
of the authors' code):

* 12 leads in the order I, II, III, aVR, aVL, aVF, V1-V6; the authors cut
  recordings into 10 s segments and FFT-resample each to 250 Hz
  (``scipy.signal.resample`` to ``int(n_samples * 250 / fs)`` samples):
  the entry's contract is 2,500 samples at 250 Hz, and its
  ``input_pipeline`` resamples by FFT;
* three crops of 2,250 samples (9 s), equally spaced from the start to the
  end of the record (``util.transforms.NCrop``; a record of exactly 2,250
  samples gives one crop, a shorter one is refused as the authors' code
  refuses it);
* on each crop, a 5th-order Butterworth high-pass at 0.67 Hz then low-pass at
  40 Hz, both forward-backward (``sosfiltfilt``), then one z-score over all
  leads and samples of the crop (0 where the crop is constant);
* the embedding is the encoder's 768-d output (mean of the patch tokens, then
  LayerNorm) averaged over the crops. The authors average the linear head's
  outputs over the crops; for a linear head that is the head applied to this
  average.

Checkpoints: the authors' ``encoder.pth`` (a ``torch.save`` dict whose
``'model'`` entry is the encoder's state dict), the full pretraining
checkpoint (``'model'`` holds ``encoder.*`` and the decoder, which is left
out) and fine-tuned checkpoints (the ``head.*`` classifier is left out).
"""

import functools

import numpy as np
import torch
from scipy.signal import butter, sosfiltfilt
from torch import nn

from .._checkpoints import CheckpointError
from ._readers import read_checkpoint
from ._steps import StatelessStep

__all__ = ["STMEMCrops", "st_mem_crops", "st_mem_state_dict"]

FS = 250
CROP = 2250
N_CROPS = 3


def st_mem_state_dict(path, *, what, hint="", config=None):
    """The encoder's state dict in a checkpoint of the authors' formats."""
    source = str(path)
    ckpt = read_checkpoint(path, what=what, hint=hint)
    if isinstance(ckpt, dict) and "model" in ckpt:
        state = ckpt["model"]
    elif isinstance(ckpt, dict) and ckpt and all(torch.is_tensor(v) for v in ckpt.values()):
        state = ckpt  # a bare state dict
    else:
        found = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{source}: is not {what}: no 'model' entry (found {found}). "
                              f"{hint}".strip())
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{source}: its 'model' entry is not a state dict. {hint}".strip())
    if any(k.startswith("encoder.") for k in state):  # the full pretraining model: no decoder
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    return {k: v for k, v in state.items() if not k.startswith("head.")}  # a fine-tuned head


def _crop_starts(n, seq_len, n_crops):
    """util.transforms.NCrop (whose step of 0 would fail for n <= seq_len + 1)."""
    step = (n - seq_len) // (n_crops - 1)
    return np.arange(0, n - seq_len + 1, step) if step > 0 else np.arange(n - seq_len + 1)


def _band_pass(x, fs):
    for btype, cutoff in (("highpass", 0.67), ("lowpass", 40)):
        x = sosfiltfilt(butter(5, cutoff, btype=btype, fs=fs, output="sos"), x)
    return x


def st_mem_crops(X, seq_len=CROP, n_crops=N_CROPS, fs=FS):
    """Records ``(n, leads, T)`` at 250 Hz → crops ``(n, k, leads, seq_len)``, filtered, z-scored.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation._st_mem import st_mem_crops
    >>> st_mem_crops(np.random.default_rng(0).normal(size=(2, 12, 2500))).shape
    (2, 3, 12, 2250)
    """
    x = np.asarray(X, dtype=np.float32)
    n = x.shape[-1]
    if n < seq_len:
        raise ValueError(
            f"ST-MEM takes records of at least {seq_len} samples at {fs:g} Hz "
            f"({seq_len / fs:g} s); these have {n}. Give longer records, or bring them to the "
            "model with input_pipeline(fs=..., lead_names=...), which pads shorter ones.")
    crops = np.stack([x[..., s:s + seq_len] for s in _crop_starts(n, seq_len, n_crops)], axis=1)
    crops = _band_pass(crops, fs)
    loc = crops.mean(axis=(-1, -2), keepdims=True)
    scale = crops.std(axis=(-1, -2), keepdims=True)
    crops = np.divide(crops - loc, scale, out=np.zeros_like(crops), where=scale != 0)
    return crops.astype(np.float32)


class STMEMCrops(StatelessStep):
    """ST-MEM's evaluation preprocessing: crops, band-pass and z-score per crop.

    Records ``(n, 12, T)`` at 250 Hz become ``(n, n_crops, 12, seq_len)``;
    the network averages its outputs over the crops.

    Parameters
    ----------
    fs : float, default=250.0
        Rate of the records (the filters' design rate).
    seq_len : int, default=2250
        Samples per crop.
    n_crops : int, default=3
        Crops per record.
    """

    def __init__(self, fs=FS, seq_len=CROP, n_crops=N_CROPS):
        self.fs = fs
        self.seq_len = seq_len
        self.n_crops = n_crops

    def transform(self, X):
        return st_mem_crops(X, seq_len=self.seq_len, n_crops=self.n_crops, fs=self.fs)

    def torch_module(self):
        """The same computation in torch, with gradients (for attributions)."""
        return _TorchCrops(float(self.fs), int(self.seq_len), int(self.n_crops))


@functools.lru_cache(maxsize=2)
def _band_pass_matrix(fs, seq_len):
    """Row i: the two zero-phase filters applied to a unit impulse at sample i."""
    return torch.from_numpy(_band_pass(np.eye(seq_len), fs).astype(np.float32))


class _TorchCrops(nn.Module):
    def __init__(self, fs, seq_len, n_crops):
        super().__init__()
        self.fs, self.seq_len, self.n_crops = fs, seq_len, n_crops

    def forward(self, x):
        n = x.shape[-1]
        if n < self.seq_len:
            raise ValueError(f"ST-MEM takes records of at least {self.seq_len} samples.")
        starts = _crop_starts(n, self.seq_len, self.n_crops)
        crops = torch.stack([x[..., s:s + self.seq_len] for s in starts], dim=1)
        crops = crops @ _band_pass_matrix(self.fs, self.seq_len).to(x.device, x.dtype)
        mean = crops.mean(dim=(-1, -2), keepdim=True)
        std = crops.std(dim=(-1, -2), keepdim=True, unbiased=False)
        scale = torch.where(std > 0, std, torch.full_like(std, float("inf")))
        return (crops - mean) / scale
