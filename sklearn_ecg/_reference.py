"""Import of the LCD authors' pretraining checkpoints (``model.pth``).

The reference implementation saves, with ``torch.save``, a dict with
``online_network_state_dict``, ``target_network_state_dict`` and
``optimizer_state_dict``. Its online and target networks hold a 1-D VGG16
(``encoder``: an ``nn.Sequential`` of five blocks, each a sequence of
``(Conv1d, BatchNorm1d, ReLU)`` triples and a max-pooling, then an adaptive
average pooling) and a projection MLP (``projection.net``:
``Linear → BatchNorm1d → ReLU → Linear``). Their keys map one to one onto
:class:`~sklearn_ecg.lcd.LCDModule`'s ``encoder.features`` (a flat sequence of
the same layers) and ``projector``; the target network maps onto
``target_encoder`` and ``target_projector``. The predictor is not in the
checkpoint and the optimizer's state is not imported.
"""

import os
import warnings
from numbers import Integral

import torch

from ._checkpoints import read_torch_checkpoint
from ._runtime import resolve_device, seed_from, seeded_construction
from .nn.vgg1d import _VGG16_BLOCKS


def _encoder_key_map(ref_prefix, our_prefix):
    """Reference names of the VGG's convolution and BatchNorm layers → ours."""
    mapping = {}
    index = 0
    for b, block in enumerate(_VGG16_BLOCKS):
        for layer in range(len(block)):
            mapping[f"{ref_prefix}.{b}.{layer}.0"] = f"{our_prefix}.features.{index}"
            mapping[f"{ref_prefix}.{b}.{layer}.1"] = f"{our_prefix}.features.{index + 1}"
            index += 3  # Conv1d, BatchNorm1d, ReLU
        index += 1  # the block's max-pooling
    return mapping


def _projector_key_map(ref_prefix, our_prefix):
    return {f"{ref_prefix}.net.{i}": f"{our_prefix}.{i}" for i in (0, 1, 3)}


def _translate(state, layer_map, source):
    """Rename ``state``'s tensors with ``layer_map`` (layer prefix → layer prefix)."""
    out = {}
    for ref_layer, our_layer in layer_map.items():
        names = [k for k in state if k.startswith(ref_layer + ".")]
        if not names:
            raise ValueError(
                f"{source}: the reference network lacks the layer {ref_layer!r}; this is not "
                "a checkpoint of the LCD reference's EncoderNet (VGG16, one input lead)."
            )
        for key in names:
            out[our_layer + key[len(ref_layer):]] = state[key]
    return out


def _read_checkpoint(path):
    source = os.fspath(path)
    ckpt = read_torch_checkpoint(
        source, hint="Pass the .pth file that the reference LCD code saved.")
    if not isinstance(ckpt, dict):
        raise ValueError(f"{source}: holds a {type(ckpt).__name__}, not a dict of state dicts.")
    if "online_network_state_dict" in ckpt:
        online = ckpt["online_network_state_dict"]
        target = ckpt.get("target_network_state_dict")
    elif any(isinstance(k, str) and k.startswith("encoder.") for k in ckpt):
        online, target = ckpt, None  # the state dict of an EncoderNet alone
    else:
        raise ValueError(
            f"{source}: has neither 'online_network_state_dict' (the reference's pretraining "
            "checkpoint) nor the keys of an EncoderNet state dict ('encoder.…'); found "
            f"{sorted(map(str, ckpt))[:5]}."
        )
    for name, state in (("online", online), ("target", target)):
        if state is None:
            continue
        if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
            raise ValueError(f"{source}: the {name} network's state dict is not a dict of tensors.")
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise ValueError(f"{source}: the {name} network's tensor {bad[0]!r} holds NaN or infinity.")
    return source, online, target


def load_reference_checkpoint(cls, path, *, n_leads=8, n_timepoints=None, standardize=None,
                              predictor_dim=512, device="auto", random_state=0):
    """Build a fitted ``cls`` (an LCDPretrainer) from a reference ``model.pth``."""
    if isinstance(n_leads, bool) or not isinstance(n_leads, Integral) or n_leads < 1:
        raise ValueError(f"n_leads must be a positive integer (leads per record to embed); got {n_leads!r}.")
    if n_timepoints is not None and (
        isinstance(n_timepoints, bool) or not isinstance(n_timepoints, Integral) or n_timepoints < 1
    ):
        raise ValueError(f"n_timepoints must be None or a positive integer; got {n_timepoints!r}.")
    source, online, target = _read_checkpoint(path)

    first = online.get("encoder.0.0.0.weight")
    if first is None or first.ndim != 3:
        raise ValueError(f"{source}: no first convolution 'encoder.0.0.0.weight' of a 1-D VGG.")
    if first.shape[1] != 1:
        raise ValueError(
            f"{source}: the encoder takes {first.shape[1]} input channels; LCD's generic encoder "
            "takes one lead (in_ch=1), which is what this import supports."
        )
    width = first.shape[0] / _VGG16_BLOCKS[0][0]
    proj_in = online.get("projection.net.0.weight")
    proj_out = online.get("projection.net.3.weight")
    keep_projector = (
        proj_in is not None and proj_out is not None and proj_in.shape[0] == proj_out.shape[0]
    )
    projector_dim = int(proj_out.shape[0]) if keep_projector else 512
    if not keep_projector:
        warnings.warn(
            f"{source}: the projection head is missing or its hidden and output sizes differ, "
            "which LCDModule's projector cannot represent: only the encoder is imported, the "
            "projector is freshly initialised.",
            UserWarning,
            stacklevel=3,
        )

    est = cls(width=width, projector_dim=projector_dim, predictor_dim=predictor_dim,
              standardize=standardize, device=device, random_state=random_state)
    est._validate_params()
    est._check_params()
    dev = resolve_device(device)
    module_cls, module_kwargs = est._module_spec(n_leads, n_timepoints or 0)
    net = est._net_from_spec(module_cls, module_kwargs, dev, None)
    with seeded_construction(seed_from(random_state), dev):
        net.initialize()

    layer_map = _encoder_key_map("encoder", "encoder")
    if keep_projector:
        layer_map.update(_projector_key_map("projection", "projector"))
    mapped = _translate(online, layer_map, source)
    if target is not None:
        mapped.update(_translate(target, {
            ref: f"target_{ours}" for ref, ours in layer_map.items()}, source))
    else:
        # No target network: it starts as the online one, as in the reference.
        mapped.update({f"target_{k}": v for k, v in list(mapped.items())})

    state = net.module_.state_dict()
    for key, tensor in mapped.items():
        if key not in state:
            raise ValueError(f"{source}: the tensor mapped to {key!r} has no place in LCDModule.")
        if tuple(tensor.shape) != tuple(state[key].shape):
            raise ValueError(
                f"{source}: tensor for {key!r} has shape {tuple(tensor.shape)}, LCDModule "
                f"(width={width:g}) needs {tuple(state[key].shape)}."
            )
        state[key] = tensor.to(state[key].dtype)
    net.module_.load_state_dict(state, strict=True)

    est.net_ = net
    est.history_ = net.history_
    est.n_leads_ = n_leads
    est.n_timepoints_ = n_timepoints
    est.n_features_in_ = n_leads
    return est
