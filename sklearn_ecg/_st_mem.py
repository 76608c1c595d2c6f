"""ST-MEM: its checkpoints, its input contract and its embeddings.

Input contract (the authors' downstream evaluation, ``configs/downstream/
st_mem.yaml``):

* 12 leads in the order I, II, III, aVR, aVL, aVF, V1-V6;
* FFT resampling to 250 Hz (``scipy.signal.resample`` to
  ``int(n_samples * 250 / fs)`` samples);
* three crops of 2,250 samples (9 s), equally spaced from the start to the
  end of the record (a record of exactly 9 s gives one crop; a shorter one is
  refused, as the authors' code refuses it);
* on each crop, a 5th-order Butterworth high-pass at 0.67 Hz then low-pass at
  40 Hz, both forward-backward (``sosfiltfilt``), then one z-score over all
  leads and samples of the crop (0 where the crop is constant);
* the embedding is the encoder's 768-d output (mean of the patch tokens,
  then LayerNorm) averaged over the crops. The authors average the linear
  head's outputs over the crops; for a linear head that is the head applied
  to this average.

Checkpoints: the ``encoder.pth`` the authors release (a ``torch.save`` dict
whose ``'model'`` entry is the encoder's state dict), the full pretraining
checkpoint (``'model'`` holds ``encoder.*`` and the decoder; the decoder is
left out) and fine-tuned checkpoints (the ``head.*`` classifier is left out).
"""

import numpy as np
import torch
from scipy.signal import butter, resample, sosfiltfilt

from ._checkpoint_io import (CheckpointFormatError, check_state_dict, load_exact,
                             read_torch_checkpoint)
from .nn.st_mem import STMEMEncoder

FS = 250
CROP = 2250
N_CROPS = 3
_WHAT = "an ST-MEM checkpoint (the authors' encoder.pth: a dict with a 'model' state dict)"


def _encoder_state(ckpt, source):
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f"{source}: holds a {type(ckpt).__name__}; expected {_WHAT}.")
    if "model" in ckpt:
        state = ckpt["model"]
    elif ckpt and all(torch.is_tensor(v) for v in ckpt.values()):
        state = ckpt  # a bare state dict
    else:
        raise CheckpointFormatError(
            f"{source}: has no 'model' entry (found {sorted(map(str, ckpt))[:6]}); expected {_WHAT}.")
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointFormatError(f"{source}: its 'model' entry is not a state dict; "
                                    f"expected {_WHAT}.")
    if any(k.startswith("encoder.") for k in state):  # the full pretraining model: no decoder
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    state = {k: v for k, v in state.items() if not k.startswith("head.")}  # a fine-tuned head
    return check_state_dict(state, source)


def _config(state, source):
    """The encoder's sizes, read from its tensors' shapes."""
    try:
        patch = state["to_patch_embedding.1.weight"].shape[0]
        width = state["norm.weight"].shape[0]
        n_pos = state["pos_embedding"].shape[1]
        inner = state["block0.attn.fn.to_qkv.weight"].shape[0] // 3
        mlp_dim = state["block0.ff.fn.net.0.weight"].shape[0]
    except (KeyError, IndexError) as exc:
        raise CheckpointFormatError(
            f"{source}: no ST-MEM encoder tensor {exc}; expected {_WHAT}.") from None
    depth = len({k.split(".")[0] for k in state if k.startswith("block")})
    num_leads = len([k for k in state if k.startswith("lead_embeddings.")])
    # The authors never set dim_head: every ST-MEM encoder has 64-d heads.
    return dict(seq_len=(n_pos - 2) * patch, patch_size=patch, num_leads=num_leads,
                width=width, depth=depth, mlp_dim=mlp_dim, heads=max(inner // 64, 1),
                dim_head=64, qkv_bias="block0.attn.fn.to_qkv.bias" in state)


def load_st_mem(path):
    """The ST-MEM encoder of a checkpoint file, in eval mode on the CPU.

    Examples
    --------
    >>> from sklearn_ecg._st_mem import load_st_mem
    >>> load_st_mem("no-such-file.pth")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No checkpoint file 'no-such-file.pth'; expected an ST-MEM checkpoint ...
    """
    source = str(path)
    state = _encoder_state(read_torch_checkpoint(path, _WHAT), source)
    config = _config(state, source)
    return load_exact(lambda: STMEMEncoder(**config), state, source)


def st_mem_crops(X, fs, seq_len=CROP):
    """Raw records ``(n, 12, T)`` at ``fs`` Hz → model inputs ``(n, k, 12, seq_len)``.

    The authors' evaluation pipeline (see the module's docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg._st_mem import st_mem_crops
    >>> st_mem_crops(np.random.default_rng(0).normal(size=(2, 12, 5000)), fs=500).shape
    (2, 3, 12, 2250)
    """
    x = np.asarray(X, dtype=np.float32)
    if fs != FS:
        x = resample(x, int(x.shape[-1] * FS / fs), axis=-1)
    n = x.shape[-1]
    if n < seq_len:
        raise ValueError(
            f"ST-MEM takes records of at least {seq_len} samples at {FS} Hz "
            f"({seq_len / FS:g} s); these have {n} ({X.shape[-1]} at {fs:g} Hz). Pad or "
            "choose longer records.")
    if n == seq_len:
        starts = np.array([0])
    else:  # util.transforms.NCrop (whose step of 0 would fail for n == seq_len + 1)
        starts = np.arange(0, n - seq_len + 1, max((n - seq_len) // (N_CROPS - 1), 1))
    crops = np.stack([x[..., s:s + seq_len] for s in starts], axis=1)
    for btype, cutoff in (("highpass", 0.67), ("lowpass", 40)):
        crops = sosfiltfilt(butter(5, cutoff, btype=btype, fs=FS, output="sos"), crops)
    loc = crops.mean(axis=(-1, -2), keepdims=True)
    scale = crops.std(axis=(-1, -2), keepdims=True)
    crops = np.divide(crops - loc, scale, out=np.zeros_like(crops), where=scale != 0)
    return crops.astype(np.float32)


def st_mem_embed(module, X, fs, batch_size=32):
    """768-d embeddings of raw records: the encoder's output averaged over the crops."""
    crops = st_mem_crops(X, fs, seq_len=module.seq_len)
    n, k = crops.shape[:2]
    flat = torch.from_numpy(crops.reshape(n * k, *crops.shape[2:]))
    with torch.inference_mode():
        out = torch.cat([module(flat[i:i + batch_size]) for i in range(0, n * k, batch_size)])
    return out.reshape(n, k, -1).mean(dim=1).numpy()
