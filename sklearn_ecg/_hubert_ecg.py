"""HuBERT-ECG: its checkpoints, its input contract and its embeddings.

The network is ``transformers``' own :class:`~transformers.HubertModel` (the
authors' ``HuBERTECG`` subclasses it and adds pretraining heads that the
embedding does not use). ``transformers`` comes with the ``text`` extra.

Input contract (the authors' ``utils.ecg_preprocessing`` and ``ECGDataset``):

* 12 leads in the order I, II, III, aVR, aVL, aVF, V1-V6, at ``fs`` Hz;
* band-pass 0.05-47 Hz: a FIR filter of ``int(0.3 * fs)`` taps (one more if
  that is even) designed by ``scipy.signal.firwin`` and applied forward and
  backward (``filtfilt``), as ``biosppy.signals.tools.filter_signal`` does;
* FFT resampling to 500 Hz (``int(n_samples * 500 / fs)`` samples);
* min-max scaling of each lead to [-1, 1] over the whole record;
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

import json
import os

import numpy as np
import torch
from scipy.signal import decimate, filtfilt, firwin, resample

from ._checkpoint_io import (CheckpointFormatError, check_state_dict, load_exact,
                             read_torch_checkpoint)

FS = 500
SECONDS = 5
DOWNSAMPLING = 5
BAND = (0.05, 47.0)
_WHAT = ("a HuBERT-ECG checkpoint (the authors' hubert_ecg_*.pt with 'model_config' and "
         "'model_state_dict', or a transformers folder with config.json and model.safetensors)")
# Config fields that shape the encoder; the rest (dropouts, masking, CTC...) is left at
# inference values.
_ENCODER_FIELDS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "hidden_act", "layer_norm_eps", "feat_extract_norm", "feat_extract_activation",
    "conv_dim", "conv_stride", "conv_kernel", "conv_bias", "num_conv_pos_embeddings",
    "num_conv_pos_embedding_groups", "do_stable_layer_norm", "feat_proj_layer_norm",
    "conv_pos_batch_norm",
)
_HEADS = ("final_proj.", "label_embedding.", "masked_spec_embed", "classifier.")
_POS_CONV = "encoder.pos_conv_embed.conv."
_WEIGHT_NORM_NAMES = {"weight_g": "parametrizations.weight.original0",
                      "weight_v": "parametrizations.weight.original1"}


def _transformers():
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "HuBERT-ECG runs on transformers' HubertModel, and transformers is not installed. "
            'Install the text extra with `pip install "sklearn-ecg[text]"` (or '
            "`pip install transformers`).") from exc
    return transformers


class _PickledConfig:
    """What a pickled ``HuBERTECGConfig``/``HubertConfig`` holds: its attributes, nothing else."""

    def __setstate__(self, state):
        self.__dict__.update(state if isinstance(state, dict) else {})


_CONFIG_CLASSES = ("hubert_ecg.HuBERTECGConfig",
                   "transformers.models.hubert.configuration_hubert.HubertConfig")


def _read_pt(path, source):
    with torch.serialization.safe_globals([(_PickledConfig, name) for name in _CONFIG_CLASSES]):
        ckpt = read_torch_checkpoint(path, _WHAT)
    if not isinstance(ckpt, dict) or "model_state_dict" not in ckpt:
        found = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointFormatError(f"{source}: no 'model_state_dict' entry (found {found}); "
                                    f"expected {_WHAT}.")
    config = ckpt.get("model_config")
    if not isinstance(config, _PickledConfig):
        raise CheckpointFormatError(f"{source}: no 'model_config' (the HuBERT configuration) "
                                    f"beside the weights; expected {_WHAT}.")
    return vars(config), ckpt["model_state_dict"]


def _read_folder(path, source):
    config_path = os.path.join(path, "config.json")
    weights = os.path.join(path, "model.safetensors")
    for needed in (config_path, weights):
        if not os.path.isfile(needed):
            raise FileNotFoundError(f"{source}: no {os.path.basename(needed)} in the folder; "
                                    f"expected {_WHAT}.")
    try:
        with open(config_path) as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise CheckpointFormatError(f"{source}: config.json is not valid JSON ({exc}).") from exc
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointFormatError(f"{source}: model.safetensors could not be read "
                                    f"({exc}).") from exc
    return config, state


def _encoder_state(state, source):
    if not isinstance(state, dict):
        raise CheckpointFormatError(f"{source}: the weights are not a state dict; expected {_WHAT}.")
    out = {}
    for key, value in state.items():
        key = str(key)
        for prefix in ("hubert_ecg.", "hubert."):  # a fine-tuned classifier's backbone
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(_HEADS):
            continue
        if key.startswith(_POS_CONV):
            leaf = key[len(_POS_CONV):]
            key = _POS_CONV + _WEIGHT_NORM_NAMES.get(leaf, leaf)
        out[key] = value
    return check_state_dict(out, source)


def _hubert_config(config, source):
    transformers = _transformers()
    missing = [f for f in _ENCODER_FIELDS[:4] if f not in config]
    if missing:
        raise CheckpointFormatError(f"{source}: the configuration lacks {missing}; "
                                    f"expected {_WHAT}.")
    fields = {f: config[f] for f in _ENCODER_FIELDS if f in config}
    for f in ("conv_dim", "conv_stride", "conv_kernel"):
        if f in fields:
            fields[f] = tuple(fields[f])
    return transformers.HubertConfig(
        **fields, mask_time_prob=0.0, mask_feature_prob=0.0, layerdrop=0.0,
        hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0,
        feat_proj_dropout=0.0, final_dropout=0.0)


def _use_weight_norm_names_of(module_keys, state):
    """Rename the position convolution's tensors to the names this torch gives them."""
    if _POS_CONV + "weight_g" in module_keys:
        back = {v: k for k, v in _WEIGHT_NORM_NAMES.items()}
        return {(_POS_CONV + back[k[len(_POS_CONV):]] if k[len(_POS_CONV):] in back else k): v
                for k, v in state.items()}
    return state


def load_hubert_ecg(path):
    """The HuBERT-ECG encoder (a ``transformers.HubertModel``) of a checkpoint, in eval mode.

    ``path`` is an authors' ``.pt`` file or a ``transformers`` folder.

    Examples
    --------
    >>> from sklearn_ecg._hubert_ecg import load_hubert_ecg
    >>> load_hubert_ecg("no-such-file.pt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No checkpoint file 'no-such-file.pt'; expected a HuBERT-ECG checkpoint ...
    """
    source = str(path)
    if os.path.isdir(path):
        config, state = _read_folder(path, source)
    else:
        config, state = _read_pt(path, source)
    hub_config = _hubert_config(config, source)
    transformers = _transformers()
    state = _encoder_state(state, source)

    def build():
        return transformers.HubertModel(hub_config)

    with torch.device("meta"):
        keys = set(build().state_dict())
    return load_exact(build, _use_weight_norm_names_of(keys, state), source)


def hubert_ecg_inputs(X, fs):
    """Raw records ``(n, 12, T)`` at ``fs`` Hz → model inputs ``(n, 6000)`` (float32).

    The authors' preprocessing (see the module's docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg._hubert_ecg import hubert_ecg_inputs
    >>> hubert_ecg_inputs(np.random.default_rng(0).normal(size=(2, 12, 5000)), fs=500).shape
    (2, 6000)
    """
    x = np.asarray(X, dtype=np.float64)
    if fs <= 2 * BAND[1]:
        raise ValueError(f"HuBERT-ECG band-passes records to {BAND[1]:g} Hz, which needs a "
                         f"sampling rate above {2 * BAND[1]:g} Hz; got {fs:g} Hz.")
    if x.shape[-1] * FS / fs < FS * SECONDS:
        raise ValueError(f"HuBERT-ECG takes records of at least {SECONDS} s; these have "
                         f"{x.shape[-1]} samples at {fs:g} Hz ({x.shape[-1] / fs:g} s).")
    numtaps = int(0.3 * fs)
    numtaps += numtaps % 2 == 0
    b = firwin(numtaps, [2.0 * f / fs for f in BAND], pass_zero=False)
    x = filtfilt(b, np.array([1.0]), x)
    x = resample(x, int(x.shape[-1] * (FS / fs)), axis=-1)
    lo = x.min(axis=-1, keepdims=True)
    hi = x.max(axis=-1, keepdims=True)
    x = 2 * (x - lo) / (hi - lo + 1e-8) - 1
    x = x[..., :FS * SECONDS].reshape(x.shape[0], -1)
    return decimate(x, DOWNSAMPLING, axis=-1).astype(np.float32)


def hubert_ecg_embed(module, X, fs, batch_size=32):
    """Embeddings of raw records: ``last_hidden_state`` averaged over time."""
    inputs = torch.from_numpy(hubert_ecg_inputs(X, fs))
    with torch.inference_mode():
        out = [module(inputs[i:i + batch_size]).last_hidden_state.mean(dim=1)
               for i in range(0, len(inputs), batch_size)]
    return torch.cat(out).numpy()
