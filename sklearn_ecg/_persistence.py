"""Saving and loading fitted pretrainers without pickle.

A saved model is a folder, as in the Hugging Face ecosystem:

- ``config.json``: the format name and version, the package version, the
  estimator's class, its hyper-parameters, the module's keyword arguments,
  the fitted attributes, the training history and, for METS, the
  specification of the frozen text encoder;
- ``model.safetensors``: the module's ``state_dict`` (every network, BatchNorm
  statistics included);
- ``README.md``: a model card (ignored when loading).

Loading reads JSON and safetensors only: nothing is unpickled and no class is
imported by name except from fixed lists (the package's registered estimators,
their modules, ``torch.optim``'s optimizers, and what an estimator's own hooks
restore, e.g. METS's text encoders). Every check runs
before the estimator is built, so a damaged folder never gives a half-loaded
model.
"""

import inspect
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils._param_validation import validate_parameter_constraints

from ._runtime import resolve_device, seeded_construction
from ._version import __version__

FORMAT_NAME = "sklearn-ecg-pretrained"
#: Version of the folder layout written by this release; loading accepts it and older ones.
# 2: METS's ``width`` is a multiplier of ResNet-18's channels (version 1: the
# channels of its first stage); each class translates its own entries of an
# older folder in ``_upgrade_config``.
FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_CARD_NAME = "README.md"

# Parameters that hold Python objects (callbacks, arbitrary skorch settings):
# never saved, the loaded estimator gets their defaults.
_NOT_SAVED = ("callbacks", "net_params")
# A classifier's labels: their JSON values and the numpy dtype to restore, of these kinds only.
_CLASS_DTYPE_KINDS = "biufUO"
_FLOAT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


#: The folder of the models shipped with the package (``sklearn_ecg.pretrained``).
SHIPPED_ROOT = Path(__file__).resolve().parent / "pretrained"


def shipped_names():
    """Names of the models shipped with the package (folders of ``SHIPPED_ROOT``), sorted."""
    root = Path(SHIPPED_ROOT)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and (p / CONFIG_NAME).is_file())


#: What ``_saved_param`` returns for a parameter that is not saved.
NOT_SAVED = object()


class PretrainedModelError(ValueError):
    """A saved model folder is damaged, foreign, or written by a newer release."""


# -- the fixed lists of what a config may name ---------------------------------


# Estimator classes of the package that a saved folder may name, registered by
# PretrainedMixin.__init_subclass__ when their module is imported.
_REGISTRY = {}


def _estimator_classes():
    """``{class name: (estimator class, module class)}`` of the registered estimators."""
    return {name: (cls, cls._module_class) for name, cls in _REGISTRY.items()}


# -- JSON helpers ---------------------------------------------------------------


class Unsaveable(Exception):
    """A value that JSON cannot hold (raised by :func:`to_json`)."""


def to_json(value):
    """``value`` as plain JSON types, or ``Unsaveable``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [to_json(v) for v in value.tolist()]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_json(v) for k, v in value.items()}
    raise Unsaveable(type(value).__name__)


# -- saving ---------------------------------------------------------------------


def _check_dtype(dtype):
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"dtype must be one of {sorted(_FLOAT_DTYPES)} (the precision of the saved "
            f"floating-point weights); got {dtype!r}."
        )
    return _FLOAT_DTYPES[dtype]


def _creation_modes():
    """Modes of a new file and a new folder under the process's umask (0644 and 0755 under 022)."""
    umask = None
    try:
        # Read, not set: os.umask would change it for every thread of the process.
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask, 0o777 & ~umask


def _write_atomically(target, write, overwrite):
    """Run ``write(folder)`` on a temporary folder, then move its files to ``target``.

    The temporary folder sits beside ``target`` (one file system, so renames
    are atomic). A new (or empty) ``target`` is the temporary folder renamed:
    if another save creates it meanwhile, the rename fails and this save
    raises instead of replacing the other model. Into an existing non-empty
    ``target`` (``overwrite``) only the files written here are moved, one
    atomic replacement each, ``config.json`` last; the folder's other files
    stay. On any failure the temporary folder is removed.
    """
    target = Path(target).expanduser().absolute()
    # Decided before writing: a folder that another save fills meanwhile is not replaced.
    into_existing = False
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise FileExistsError(f"{target} exists and is not a folder; choose another path.")
        into_existing = any(target.iterdir())
        if into_existing and not overwrite:
            raise FileExistsError(
                f"{target} is not empty; pass overwrite=True to replace the saved model's files "
                f"({CONFIG_NAME}, {WEIGHTS_NAME}, {MODEL_CARD_NAME}) in it, or choose a new folder."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(tmp)
        # mkdtemp's folder is private (0o700) and some writers create private
        # files: a saved model gets the permissions of any new file.
        file_mode, folder_mode = _creation_modes()
        names = sorted(os.listdir(tmp), key=lambda n: n == CONFIG_NAME)
        for name in names:
            os.chmod(tmp / name, file_mode)
        os.chmod(tmp, folder_mode)
        if into_existing:
            for name in names:
                os.replace(tmp / name, target / name)
        else:
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if not (target.is_dir() and any(target.iterdir())):
                    raise
                raise FileExistsError(
                    f"{target} was created by another save while this one was writing; nothing "
                    "was replaced. Save again (with overwrite=True to replace it), or choose "
                    "another folder."
                ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _default_model_card(est, config):
    name = type(est).__name__
    module = est._public_module
    fitted = config["fitted"]
    lines = [
        "---",
        "library_name: sklearn-ecg",
        "tags:",
        "- ecg",
        "- ecg-classification" if is_classifier(est) else "- self-supervised-learning",
        "- sklearn-ecg",
        "---",
        "",
        f"# {name}",
        "",
        f"A fitted `{module}.{name}` saved with `save_pretrained` "
        f"(sklearn-ecg {config['sklearn_ecg_version']}).",
        "",
        f"- leads per record in fit: {fitted.get('n_leads_')}",
        f"- samples per record in fit: {fitted.get('n_timepoints_') or 'any'}",
        f"- epochs trained: {len(config['history'])}",
        *est._model_card_notes(),
        "",
        "```python",
        f"from {module} import {name}",
        f"model = {name}.from_pretrained(\"path/or/owner/name\")",
        "proba = model.predict_proba(X)" if is_classifier(est) else "embeddings = model.transform(X)",
        "```",
        "",
    ]
    return "\n".join(lines)


def _build_config(est):
    params, not_saved = {}, list(_NOT_SAVED)
    for key, value in est.get_params(deep=False).items():
        if key in _NOT_SAVED:
            if value:
                warnings.warn(
                    f"{key} is not saved (it holds Python objects): the loaded model has "
                    f"{key}=None; set it again before continuing the training.",
                    UserWarning,
                    stacklevel=4,
                )
            continue
        if key == "optimizer":
            name = getattr(value, "__name__", None)
            if name is None or getattr(torch.optim, name, None) is not value:
                warnings.warn(
                    f"optimizer={value!r} is not one of torch.optim's optimizers: it is not "
                    "saved and the loaded model uses the default (torch.optim.Adam) to "
                    "continue training.",
                    UserWarning,
                    stacklevel=4,
                )
                not_saved.append(key)
            else:
                params[key] = name
            continue
        try:
            saved = est._saved_param(key, value)
        except Unsaveable as exc:
            warnings.warn(
                f"{key}={value!r} ({exc}) cannot be written as JSON: it is not saved and the "
                "loaded model gets its default.",
                UserWarning,
                stacklevel=4,
            )
            not_saved.append(key)
            continue
        if saved is NOT_SAVED:
            not_saved.append(key)
        else:
            params[key] = saved
    sections, _ = est._get_fitted_state()
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "sklearn_ecg_version": __version__,
        "estimator": type(est).__name__,
        "params": params,
        "params_not_saved": not_saved,
    }
    config.update(sections)
    return config


def _history_as_list(history):
    # Per-epoch entries only: the per-batch records (a loss per step) would
    # make config.json hundreds of times larger for a long fit.
    epochs = [{k: v for k, v in row.items() if k != "batches"} for row in history]
    try:
        return json.loads(json.dumps(epochs, default=_json_default))
    except (TypeError, ValueError):  # pragma: no cover - skorch records numbers only
        return []


def _json_default(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if torch.is_tensor(value) and value.numel() == 1:
        return value.item()
    raise TypeError(type(value).__name__)


def save_pretrained(est, save_directory, *, overwrite=False, dtype="float32", model_card=None):
    """Write a fitted pretrainer to ``save_directory`` (see :meth:`PretrainedMixin.save_pretrained`)."""
    from safetensors.torch import save_file
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "net_")
    float_dtype = _check_dtype(dtype)
    if model_card is not None and not isinstance(model_card, str):
        raise TypeError(f"model_card must be a string (Markdown) or None; got {type(model_card).__name__}.")
    config = _build_config(est)
    config["weights_dtype"] = dtype
    state = {}
    _, module = est._get_fitted_state()
    for key, tensor in module.state_dict().items():
        tensor = tensor.detach().to("cpu")
        if tensor.is_floating_point():
            tensor = tensor.to(float_dtype)
        # safetensors stores each tensor alone: no views into shared storage.
        state[key] = tensor.contiguous().clone()
    text = json.dumps(config, indent=2, allow_nan=True)
    card = model_card if model_card is not None else _default_model_card(est, config)

    def write(folder):
        save_file(state, os.fspath(folder / WEIGHTS_NAME),
                  metadata={"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION)})
        (folder / CONFIG_NAME).write_text(text + "\n", encoding="utf-8")
        (folder / MODEL_CARD_NAME).write_text(card, encoding="utf-8")

    return _write_atomically(save_directory, write, overwrite)


# -- locating a saved model -----------------------------------------------------


def _resolve_folder(name_or_path, *, revision=None, cache_dir=None, local_files_only=False,
                    token=None):
    """The local folder of a saved model: a folder, a shipped name, or a Hub repo id."""
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise TypeError(
            "from_pretrained expects a folder, the name of a shipped model or a Hugging Face "
            f"Hub repo id ('owner/name'); got {type(name_or_path).__name__}."
        )
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(
            f"{path} is a file; a saved model is the folder that holds {CONFIG_NAME} and "
            f"{WEIGHTS_NAME}."
        )
    shipped = shipped_names()
    if name_or_path in shipped:
        return Path(SHIPPED_ROOT) / name_or_path
    if _HUB_ID.match(name_or_path) and not name_or_path.startswith((".", "~")):
        return _snapshot_download(name_or_path, revision=revision, cache_dir=cache_dir,
                                  local_files_only=local_files_only, token=token)
    raise FileNotFoundError(
        f"No saved model {name_or_path!r}: it is not a folder, not a model shipped with "
        f"sklearn_ecg ({', '.join(shipped) or 'none installed'}), and not a Hugging Face Hub "
        "repo id of the form 'owner/name'."
    )


def _import_hub():
    try:
        import huggingface_hub
    except ImportError as exc:
        raise ImportError(
            "Loading from or publishing to the Hugging Face Hub needs the package "
            "'huggingface_hub': pip install \"sklearn-ecg[hub]\"."
        ) from exc
    return huggingface_hub


def _snapshot_download(repo_id, *, revision, cache_dir, local_files_only, token):
    hub = _import_hub()
    try:
        folder = hub.snapshot_download(
            repo_id=repo_id,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, MODEL_CARD_NAME],
        )
    except Exception as exc:
        from huggingface_hub import constants

        offline = local_files_only or bool(getattr(constants, "HF_HUB_OFFLINE", False))
        hint = (
            " Offline (HF_HUB_OFFLINE=1 or local_files_only=True), only models already in "
            "the local Hugging Face cache can be loaded: download it once while online."
            if offline
            else " Check the repo id, your network connection and, for a private repo, token=..."
        )
        raise OSError(
            f"Could not get the model {repo_id!r} from the Hugging Face Hub "
            f"({type(exc).__name__}: {exc}).{hint}"
        ) from exc
    return Path(folder)


# -- loading --------------------------------------------------------------------


def bad_file(path, what):
    """The error for a saved file ``path`` that is wrong in ``what`` way."""
    return PretrainedModelError(f"{path}: {what}")


def _bad(path, what):
    return PretrainedModelError(f"{path}: {what}")


def _read_config(folder):
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no {CONFIG_NAME}, so it is not a saved sklearn_ecg model (a saved "
            f"model is a folder with {CONFIG_NAME} and {WEIGHTS_NAME}, written by "
            "save_pretrained)."
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(path, f"is not UTF-8 text ({exc}); the file is damaged.") from exc
    except json.JSONDecodeError as exc:
        raise _bad(
            path, f"is not valid JSON ({exc}); the file is damaged or truncated: save or "
            "download the model again."
        ) from exc
    if not isinstance(config, dict):
        raise _bad(path, f"holds a JSON {type(config).__name__}, not an object.")
    fmt = config.get("format")
    if fmt != FORMAT_NAME:
        raise _bad(
            path,
            f"is not an sklearn_ecg model configuration (its 'format' is {fmt!r}, expected "
            f"{FORMAT_NAME!r}); it probably belongs to another library (e.g. transformers).",
        )
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad(path, f"has an invalid 'format_version' {version!r} (a positive integer).")
    if version > FORMAT_VERSION:
        raise _bad(
            path,
            f"was written in format version {version} by sklearn-ecg "
            f"{config.get('sklearn_ecg_version', '?')}; this release reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sklearn-ecg (pip install -U sklearn-ecg).",
        )
    expected = {"estimator": (str, "string"), "params": (dict, "object"),
                "module": (dict, "object"), "fitted": (dict, "object"), "history": (list, "array")}
    for key, (kind, json_name) in expected.items():
        if not isinstance(config.get(key), kind):
            raise _bad(path, f"lacks the entry {key!r} or it is not a JSON {json_name}; the file is damaged.")
    return config, path


def _restore_params(est_cls, config, path, device):
    sig = inspect.signature(est_cls.__init__)
    params = dict(config["params"])
    unknown = sorted(set(params) - set(sig.parameters))
    if unknown:
        raise _bad(
            path,
            f"sets parameter(s) {', '.join(unknown)} that {est_cls.__name__} of this release "
            "does not have; the model was written by another version of sklearn-ecg.",
        )
    for key in _NOT_SAVED:
        params.pop(key, None)
    if "optimizer" in params:
        name = params["optimizer"]
        opt = getattr(torch.optim, name, None) if isinstance(name, str) else None
        if not (inspect.isclass(opt) and issubclass(opt, torch.optim.Optimizer)):
            raise _bad(path, f"names the optimizer {name!r}, which is not a torch.optim optimizer.")
        params["optimizer"] = opt
    for key, value in params.items():
        params[key] = value = est_cls._restored_param(key, value, path)
        default = sig.parameters[key].default
        if isinstance(default, tuple) and isinstance(value, list):
            params[key] = tuple(value)
    params["device"] = device
    est = est_cls(**params)
    try:
        est._validate_params()
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"holds invalid parameters: {exc}") from exc
    return est


def _check_fitted(est_cls, config, path):
    """The generic fitted attributes of ``config``: positive integer counts and feature names."""
    fitted = dict(config["fitted"])
    for key in ("n_leads_", "n_features_in_"):
        if key not in fitted:
            raise _bad(path, f"lacks the fitted attribute {key!r}; the file is damaged.")
    for key in est_cls._saved_fitted_scalars:
        value = fitted.get(key)
        if key in fitted and value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise _bad(path, f"has an invalid fitted attribute {key}={value!r} (a positive integer).")
    names = fitted.get("feature_names_in_")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _bad(path, "has an invalid 'feature_names_in_' (a list of strings).")
        if len(names) != fitted["n_features_in_"]:
            raise _bad(path, "has feature_names_in_ and n_features_in_ of different lengths.")
        fitted["feature_names_in_"] = np.asarray(names, dtype=object)
    return fitted


def _check_history(history, path):
    """The saved training history: one JSON object per epoch, numbered from 1."""
    for i, row in enumerate(history):
        if not isinstance(row, dict):
            raise _bad(path, f"has a malformed training history: entry {i} is a JSON "
                             f"{type(row).__name__}, not an object; the file is damaged.")
        epoch = row.get("epoch", i + 1)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch != i + 1:
            raise _bad(path, f"has a malformed training history: entry {i} is epoch {epoch!r}, "
                             f"expected {i + 1}; the file is damaged.")


def _check_agreement(est_cls, fitted, module_kwargs, path):
    """The fitted attributes and the module's arguments must describe one model."""
    n_leads, n_features = fitted["n_leads_"], fitted["n_features_in_"]
    n_timepoints = fitted.get("n_timepoints_")
    # 3-D input counts leads as features; 2-D input is one lead with its samples as features.
    # None: a model fitted without records (an imported one) has no input width.
    if n_features is not None and n_features != n_leads and not (
            n_leads == 1 and n_timepoints in (None, n_features)):
        raise _bad(path, f"has n_features_in_={n_features} but n_leads_={n_leads}: they contradict "
                         "each other; the file is damaged.")
    if "n_leads" in module_kwargs and module_kwargs["n_leads"] != n_leads:
        raise _bad(path, f"describes a network for {module_kwargs['n_leads']!r} leads but n_leads_={n_leads}; "
                         "the file is damaged.")
    # The module's settings obey the constructor's constraints of the same names.
    constraints = getattr(est_cls, "_parameter_constraints", {})
    shared = {k: tuple(v) if isinstance(v, list) else v for k, v in module_kwargs.items() if k in constraints}
    try:
        validate_parameter_constraints({k: constraints[k] for k in shared}, shared,
                                       caller_name=f"the module of {est_cls.__name__}")
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"has an invalid module setting: {exc}") from exc


def _check_params_agree(config, path):
    """Warn where a saved parameter differs from the saved network's setting of that name.

    The network is built from its own settings; a parameter that differs
    (changed with ``set_params`` after the fit, or edited) only matters to
    the next ``fit``, which uses the parameter.
    """
    params, kwargs = config["params"], config["module"]["kwargs"]

    def agree(param, setting):
        if param is None:  # resolved at fit (e.g. from a pretrainer)
            return True
        if isinstance(param, dict) and isinstance(setting, dict):
            return all(k in setting and agree(v, setting[k]) for k, v in param.items())
        return param == setting

    differ = [k for k in sorted(set(params) & set(kwargs)) if not agree(params[k], kwargs[k])]
    if differ:
        shown = ", ".join(f"{k}={params[k]!r} (network: {kwargs[k]!r})" for k in differ)
        warnings.warn(
            f"{path}: the saved parameter(s) {shown} differ from the saved network's; the "
            "network is loaded as saved, and the parameters apply to the next fit only.",
            UserWarning,
            stacklevel=3,
        )


def check_classes(entry, path):
    """A classifier's ``classes_`` from its JSON entry, with its numpy dtype."""
    if not isinstance(entry, dict) or not isinstance(entry.get("values"), list) or len(entry["values"]) < 1:
        raise _bad(path, "has an invalid fitted attribute 'classes_' (an object with 'values' and 'dtype').")
    try:
        dtype = np.dtype(entry.get("dtype"))
    except TypeError as exc:
        raise _bad(path, f"has an invalid dtype {entry.get('dtype')!r} for 'classes_'.") from exc
    if dtype.kind not in _CLASS_DTYPE_KINDS:
        raise _bad(path, f"has the dtype {entry.get('dtype')!r} for 'classes_'; labels are numbers or strings.")
    values = entry["values"]
    if dtype.kind == "O" and not all(isinstance(v, str) for v in values):
        raise _bad(path, "has labels of dtype object that are not all strings.")
    try:
        classes = np.array(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"has labels that are not of their dtype {entry['dtype']!r} ({exc}).") from exc
    if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
        raise _bad(path, "has 'classes_' that are not distinct single labels.")
    return classes


# Saved weights beyond these magnitudes are not those of a trained network (a
# training that reached them is refused as diverged): learnable weights stay
# within a few units, BatchNorm's running statistics follow the input's scale.
_MAX_SAVED_PARAMETER = 1e6
_MAX_SAVED_BUFFER = 1e12


def check_inside(folder, root, names=(CONFIG_NAME, WEIGHTS_NAME)):
    """Refuse files of a saved folder that are links leading outside ``root`` (the folder itself,
    or the Hugging Face cache of its repository, whose snapshots link into its blobs)."""
    root = Path(root).resolve()
    for name in names:
        path = Path(folder) / name
        if path.is_symlink():
            target = path.resolve()
            if target != root and root not in target.parents:
                raise _bad(
                    path,
                    f"is a link to {target}, outside the model folder; a saved model keeps "
                    "its files in its folder. Copy the file into the folder instead of linking it.",
                )


def check_weights(path, state, module, dtype_name):
    """Refuse saved tensors of another dtype than saved, or non-finite or absurd values.

    ``dtype_name`` is the ``weights_dtype`` of ``config.json`` (None in older
    folders: any one floating-point precision of the save's choices).
    """
    expected = module.state_dict()
    parameters = {n for n, _ in module.named_parameters()}
    floats = {str(t.dtype).replace("torch.", "") for t in state.values() if t.is_floating_point()}
    if dtype_name is not None and (not isinstance(dtype_name, str) or dtype_name not in _FLOAT_DTYPES):
        raise _bad(path, f"names the weights dtype {dtype_name!r}; one of {sorted(_FLOAT_DTYPES)}.")
    allowed = {dtype_name} if dtype_name is not None else set(_FLOAT_DTYPES)
    if len(floats) > 1 or not floats <= allowed:
        raise _bad(
            path,
            f"holds floating-point tensors of dtype {', '.join(sorted(floats))} but "
            f"{CONFIG_NAME} says {dtype_name or 'one of ' + ', '.join(sorted(_FLOAT_DTYPES))}; "
            "the two files do not belong together.",
        )
    for key, ref in expected.items():
        tensor = state[key]
        if not ref.is_floating_point() and tensor.dtype != ref.dtype:
            raise _bad(path, f"tensor {key!r} has dtype {tensor.dtype}, expected {ref.dtype}.")
        if not tensor.is_floating_point() or not tensor.numel():
            continue
        size = float(tensor.float().abs().max())
        limit = _MAX_SAVED_PARAMETER if key in parameters else _MAX_SAVED_BUFFER
        if np.isfinite(size) and size > limit:
            raise _bad(
                path,
                f"tensor {key!r} holds values up to {size:.3g} (above {limit:g}): not the "
                "weights of a trained network; the file is damaged.",
            )


def _read_weights(folder, module, dtype_name=None):
    """The state dict in ``folder``, checked against ``module``'s own."""
    from safetensors.torch import load_file

    path = folder / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} holds {CONFIG_NAME} but no {WEIGHTS_NAME}: the weights are missing; "
            "save or download the model again."
        )
    try:
        state = load_file(os.fspath(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error type for a bad file
        raise _bad(
            path,
            f"is not a readable safetensors file ({type(exc).__name__}: {exc}); it is damaged "
            "or truncated: save or download the model again.",
        ) from exc
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} tensor(s) the model described in {CONFIG_NAME} "
                         f"needs (e.g. {missing[0]!r})")
        if extra:
            parts.append(f"holds {len(extra)} tensor(s) it does not have (e.g. {extra[0]!r})")
        raise _bad(path, " and ".join(parts) + f"; {WEIGHTS_NAME} and {CONFIG_NAME} do not belong together.")
    for key, ref in expected.items():
        tensor = state[key]
        if tuple(tensor.shape) != tuple(ref.shape):
            raise _bad(
                path,
                f"tensor {key!r} has shape {tuple(tensor.shape)} but the model described in "
                f"{CONFIG_NAME} needs {tuple(ref.shape)}; the two files do not belong together.",
            )
        if tensor.is_floating_point() != ref.is_floating_point():
            raise _bad(path, f"tensor {key!r} has dtype {tensor.dtype}, expected {ref.dtype}.")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _bad(path, f"tensor {key!r} holds NaN or infinite values; these weights are unusable.")
    check_weights(path, state, module, dtype_name)
    return {key: tensor.to(expected[key].dtype) for key, tensor in state.items()}


def load_pretrained(name_or_path, *, device="auto", estimator_class=None, revision=None,
                    cache_dir=None, local_files_only=False, token=None):
    """Load a fitted model saved with ``save_pretrained``, of whichever class it is.

    Parameters
    ----------
    name_or_path : str or path
        A folder written by ``save_pretrained``, the name of a model shipped
        with the package (see :func:`sklearn_ecg.pretrained.list_pretrained`),
        or a Hugging Face Hub repo id ``"owner/name"`` (needs the ``hub``
        extra; the Hub's cache and ``HF_HUB_OFFLINE`` are respected). An
        existing folder wins over a shipped name or a repo id.
    device : str, default="auto"
        Where the loaded networks live (``"auto"``: CUDA when available);
        becomes the estimator's ``device`` parameter.
    estimator_class : class or None, default=None
        Expected class: the folder must describe this class or one of its
        bases among the package's pretrainers. None accepts any of them.
    revision, cache_dir, local_files_only, token
        Passed to :func:`huggingface_hub.snapshot_download` for a repo id.

    Returns
    -------
    estimator : LCDPretrainer, METSPretrainer, ECGClassifier or a foundation model's estimator
        Fitted: ``transform`` gives the saved model's embeddings (a
        classifier's ``predict_proba`` its probabilities).

    Raises
    ------
    FileNotFoundError
        A file of the folder is missing.
    PretrainedModelError
        A file is damaged, truncated, foreign, written by a newer release, or
        does not match the other.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_ecg import LCDPretrainer, load_pretrained
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> X = load_ptbxl_sample().X[:32, :2, :256]
    >>> lcd = LCDPretrainer(projector_dim=16, predictor_dim=16, max_epochs=1,
    ...                     batch_size=16, random_state=0).fit(X)
    >>> folder = tempfile.mkdtemp()
    >>> _ = lcd.save_pretrained(folder, overwrite=True)
    >>> loaded = load_pretrained(folder, device="cpu")
    >>> type(loaded).__name__, bool((loaded.transform(X) == lcd.transform(X)).all())
    ('LCDPretrainer', True)
    """
    from skorch.history import History

    folder = _resolve_folder(name_or_path, revision=revision, cache_dir=cache_dir,
                             local_files_only=local_files_only, token=token)
    local = isinstance(name_or_path, (str, os.PathLike)) and Path(name_or_path).expanduser().is_dir()
    hub = not local and folder.parent.name == "snapshots"
    check_inside(folder, folder.parents[1] if hub else folder)
    config, cpath = _read_config(folder)
    classes = _estimator_classes()
    name = config["estimator"]
    if name not in classes:
        raise _bad(cpath, f"describes a {name!r}; only {', '.join(sorted(classes))} can be loaded.")
    est_cls, module_cls = classes[name]
    if estimator_class is not None and not issubclass(estimator_class, est_cls):
        raise _bad(
            cpath,
            f"describes a {name}, not a {estimator_class.__name__}: load it with "
            f"{name}.from_pretrained(...) or sklearn_ecg.load_pretrained(...).",
        )
    cls = estimator_class or est_cls
    config = est_cls._upgrade_config(config, cpath)
    module_spec = config["module"]
    if module_spec.get("class") != module_cls.__name__ or not isinstance(module_spec.get("kwargs"), dict):
        raise _bad(
            cpath,
            f"describes the module {module_spec.get('class')!r}; a {name} has a "
            f"{module_cls.__name__} with its keyword arguments under 'kwargs'.",
        )
    est = _restore_params(cls, config, cpath, device)
    fitted = est_cls._check_fitted_state(config, _check_fitted(est_cls, config, cpath), cpath)
    _check_agreement(est_cls, fitted, module_spec["kwargs"], cpath)
    _check_params_agree(config, cpath)
    _check_history(config["history"], cpath)
    dev = resolve_device(device)
    try:
        # Initial weights are overwritten below: seeded so that loading leaves
        # torch's global random state as it was.
        with seeded_construction(0, dev):
            net = est._net_from_spec(module_cls, dict(module_spec["kwargs"]), dev, None)
            net.initialize()
    except (TypeError, ValueError) as exc:
        raise _bad(cpath, f"has module arguments that {module_cls.__name__} refuses ({exc}).") from exc
    state = _read_weights(folder, net.module_, config.get("weights_dtype"))
    net.module_.load_state_dict(state, strict=True)
    try:
        net.history_ = History(config["history"])
    except Exception as exc:  # pragma: no cover - History accepts any list
        raise _bad(cpath, f"has an unreadable training history ({exc}).") from exc
    # Everything checked: only now the estimator becomes fitted.
    est._set_fitted_state(fitted, net)
    if Path(folder).resolve().parent == Path(SHIPPED_ROOT).resolve():
        # Which shipped model this is: what is documented about it (e.g. the
        # cost of a lead subset, sklearn_ecg/data/lead_subset_costs.tsv) applies.
        est._shipped_name = Path(folder).name
    return est


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` for the pretrainers and ECGClassifier.

    A class of the package that defines ``_module_class`` (the torch module
    its ``net_`` trains) registers itself under its name, so that a saved
    folder naming it can be loaded; nothing else can be.

    The contract between this format layer and the estimators: the format
    layer writes and checks what is generic (format, version, parameters,
    weights, history); the estimator answers through these hooks, and the
    format layer knows nothing else of it.

    - saving: ``_saved_param(key, value)``, ``_module_config()``,
      ``_get_fitted_state()``, ``_model_card_notes()``;
    - loading: ``_upgrade_config(config, path)`` (older formats),
      ``_restored_param(key, value, path)`` (the inverse of
      ``_saved_param``), ``_check_fitted_state(config, fitted, path)``,
      ``_net_from_spec(module, kwargs, device, n_records)`` and
      ``_set_fitted_state(fitted, net)`` (both required: implemented by
      ``NetEstimator``).
    """

    _module_class = None
    # Where users import the class from (the model card's example).
    _public_module = "sklearn_ecg"
    # Fitted integer attributes saved when the estimator has them (positive, or None).
    _saved_fitted_scalars = ("n_leads_", "n_timepoints_", "n_features_in_")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_module_class") is not None and cls.__module__.startswith("sklearn_ecg."):
            _REGISTRY[cls.__name__] = cls

    # -- the fitted-state hooks: what an estimator saves and how it is restored --

    def _saved_param(self, key, value):
        """The JSON value saved for the parameter ``key``, or ``NOT_SAVED``.

        Raises ``Unsaveable`` for a value that JSON cannot hold (the saved
        model then gets the default, with a warning).
        """
        return to_json(value)

    @classmethod
    def _restored_param(cls, key, value, path):
        """The parameter ``key`` of a loaded model from its saved JSON ``value`` (the inverse of
        ``_saved_param``); errors name ``path``."""
        return value

    def _model_card_notes(self):
        """Further Markdown lines of the default model card (e.g. where the weights come from)."""
        return []

    def _module_config(self):
        """The network's description: its class name and keyword arguments."""
        net = self.net_
        return {"class": type(net.module_).__name__, "kwargs": to_json(net.get_params_for("module"))}

    def _get_fitted_state(self):
        """The fitted model: ``(sections, module)``.

        ``sections`` are the JSON entries of ``config.json`` that describe
        the fitted model (``module``, ``fitted``, ``history``, and whatever
        a subclass adds); ``module`` is the torch module whose ``state_dict``
        is saved.
        """
        fitted = {attr: to_json(getattr(self, attr)) for attr in self._saved_fitted_scalars
                  if hasattr(self, attr)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(n) for n in self.feature_names_in_]
        sections = {
            "module": self._module_config(),
            "fitted": fitted,
            "history": to_json(_history_as_list(self.net_.history)),
        }
        return sections, self.net_.module_

    @classmethod
    def _upgrade_config(cls, config, path):
        """``config`` of a folder written in an older format, in this release's terms.

        Returns a new dict (the default: ``config`` as it is); ``config`` has
        passed the checks of the generic format, its other entries not yet.
        """
        return config

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        """Check and convert the class's own fitted entries of ``config``; returns ``fitted``.

        ``fitted`` holds the generic attributes, already checked; errors name
        ``path`` (raise ``PretrainedModelError``).
        """
        return fitted

    # -- what loading needs from the estimator (implemented by NetEstimator) --

    def _net_from_spec(self, module, module_kwargs, device, n_records):
        """An uninitialised skorch net around the module a saved ``config.json`` describes.

        ``module`` is the class ``_module_class`` (the loader checks its name)
        and ``module_kwargs`` the saved keyword arguments; ``n_records`` is
        None. Loading initialises the net under a fixed seed, then replaces
        its weights with the saved ones.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement _net_from_spec")

    def _set_fitted_state(self, fitted, net):
        """Make the freshly built estimator fitted: ``net`` holds the saved weights and history,
        ``fitted`` the checked fitted attributes by name."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _set_fitted_state")

    def save_pretrained(self, save_directory, *, overwrite=False, dtype="float32", model_card=None):
        """Save the fitted model to a folder, without pickle.

        Writes ``config.json`` (hyper-parameters, the module's arguments,
        fitted attributes, training history and, for METS, the text
        encoder's specification, not its weights), ``model.safetensors``
        (the networks' weights) and ``README.md`` (a model card). The folder
        is written beside its final place and renamed into it, so a failure
        never leaves a half-written model.

        ``callbacks`` and ``net_params`` hold Python objects and are not
        saved: the loaded model has their defaults (None). Neither is the
        optimizer's state: ``warm_start`` after loading continues from the
        weights with a fresh optimizer. An optimizer outside ``torch.optim``
        is replaced by the default, with a warning. A METS model whose text
        encoder is a Python function (``CallableTextEncoder``) cannot be
        saved (a ``TypeError`` says so).

        Parameters
        ----------
        save_directory : str or path
            The folder to write; created if needed.
        overwrite : bool, default=False
            Replace the content of a non-empty folder. Without it such a
            folder is refused with ``FileExistsError``.
        dtype : {"float32", "float16", "bfloat16"}, default="float32"
            Precision of the saved floating-point weights. Half precision
            halves the size; the loaded model computes in float32 again, so
            its embeddings then differ slightly from the original's.
        model_card : str or None, default=None
            Markdown written to ``README.md``; None writes a short card.

        Returns
        -------
        path : pathlib.Path
            The absolute path of the saved folder.
        """
        return save_pretrained(self, save_directory, overwrite=overwrite, dtype=dtype,
                               model_card=model_card)

    @classmethod
    def from_pretrained(cls, name_or_path, *, device="auto", revision=None, cache_dir=None,
                        local_files_only=False, token=None):
        """Load a fitted model saved with :meth:`save_pretrained`.

        Nothing is unpickled: the folder's JSON and safetensors files are
        checked (format, version, class, tensor names and shapes, finite
        weights) before the estimator is built, and a problem raises an
        error naming the file and what is wrong.

        Parameters
        ----------
        name_or_path : str or path
            A saved folder, the name of a model shipped with the package
            (:func:`sklearn_ecg.pretrained.list_pretrained`), or a Hugging
            Face Hub repo id ``"owner/name"`` (needs ``huggingface_hub``,
            the ``hub`` extra; the Hub cache and ``HF_HUB_OFFLINE=1`` are
            respected).
        device : str, default="auto"
            Where the networks are loaded; the estimator's ``device``.
        revision, cache_dir, local_files_only, token
            Passed to :func:`huggingface_hub.snapshot_download` for a repo id.

        Returns
        -------
        estimator
            A fitted estimator of this class.
        """
        return load_pretrained(name_or_path, device=device, estimator_class=cls,
                               revision=revision, cache_dir=cache_dir,
                               local_files_only=local_files_only, token=token)

    def push_to_hub(self, repo_id, *, commit_message=None, private=None, token=None,
                    revision=None, create_pr=False, model_card=None, dtype="float32"):
        """Publish the fitted model to the Hugging Face Hub.

        Saves it with :meth:`save_pretrained` into a temporary folder,
        creates the model repository if needed, and uploads the folder.
        Needs ``huggingface_hub`` (``pip install "sklearn-ecg[hub]"``) and a
        token with write access (``hf auth login`` or ``token=...``).

        Parameters
        ----------
        repo_id : str
            ``"owner/name"``.
        commit_message : str or None, default=None
            None writes ``"Upload <class name>"``.
        private : bool or None, default=None
            Visibility of a repository created by this call.
        token : str or None, default=None
            Hugging Face token; None uses the saved login.
        revision : str or None, default=None
            Branch to push to.
        create_pr : bool, default=False
            Open a pull request instead of committing.
        model_card : str or None, default=None
            README.md of the repository (see :meth:`save_pretrained`).
        dtype : {"float32", "float16", "bfloat16"}, default="float32"
            Precision of the uploaded weights.

        Returns
        -------
        commit_info
            What :meth:`huggingface_hub.HfApi.upload_folder` returns.
        """
        hub = _import_hub()
        if not isinstance(repo_id, str) or not _HUB_ID.match(repo_id):
            raise ValueError(f"repo_id must be 'owner/name'; got {repo_id!r}.")
        api = hub.HfApi(token=token)
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save_pretrained(Path(tmp) / "model", model_card=model_card, dtype=dtype)
            api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
            return api.upload_folder(
                repo_id=repo_id,
                repo_type="model",
                folder_path=os.fspath(folder),
                commit_message=commit_message or f"Upload {type(self).__name__}",
                revision=revision,
                create_pr=create_pr,
            )
