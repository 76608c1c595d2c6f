"""The table of foundation models the package can load (``data/models.json``).

Each entry says how to build the network, read its checkpoint, bring records
to its input and what it outputs; see ``data/README.md`` for the fields.
Entries are data: adding a model means adding an entry and, where needed, a
network class under ``sklearn_ecg.nn`` that loads the authors' checkpoint.
"""

import copy
import functools
import importlib
import json
from importlib import resources

from sklearn.pipeline import Pipeline

from .. import preprocessing as _preprocessing
from ..input_contract import InputContract

__all__ = ["classes_of", "entry", "estimator_class", "input_contract", "network_class",
           "package_object", "preprocessing_pipeline", "table"]

_REQUIRED = ("family", "summary", "module", "config", "checkpoint", "input", "preprocessing",
             "embedding", "licence", "source", "weights", "reference")


def _data(name):
    return resources.files("sklearn_ecg.foundation").joinpath("data", name)


@functools.lru_cache(maxsize=1)
def _document():
    return json.loads(_data("models.json").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def table():
    """The entries by name (a dict shared by the process: do not modify it)."""
    models = _document()["models"]
    for name, spec in models.items():
        missing = [k for k in _REQUIRED if k not in spec]
        if missing:  # pragma: no cover - guarded by the tests of the table
            raise RuntimeError(f"foundation model table: entry {name!r} lacks {', '.join(missing)}.")
    return dict(models)


def lead_reference():
    """The amplitude and per-lead polarity references of the input checks."""
    return _document()["lead_reference"]


def entry(name):
    """The table entry of ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    models = table()
    if not isinstance(name, str) or name not in models:
        raise ValueError(
            f"Unknown foundation model {name!r}; the package knows "
            f"{', '.join(repr(n) for n in sorted(models))} "
            "(sklearn_ecg.foundation.foundation_models() describes them)."
        )
    return copy.deepcopy(models[name])


def package_object(reference):
    """The object ``"sklearn_ecg.module:name"`` (only the package's own)."""
    module_name, _, attr = reference.partition(":")
    if not module_name.startswith("sklearn_ecg.") or not attr:
        raise ValueError(f"foundation model table: {reference!r} is not an object of the package.")
    return getattr(importlib.import_module(module_name), attr)


def network_class(spec):
    """The network class ``"sklearn_ecg.module:Class"`` of an entry (only the package's own)."""
    return package_object(spec["module"])


def estimator_class(spec):
    """The estimator class of an entry that names its own (``"estimator"``), else None."""
    if "estimator" not in spec:
        return None
    return package_object(spec["estimator"])


@functools.lru_cache(maxsize=8)
def _read_classes(filename):
    text = _data(filename).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def classes_of(spec):
    """The head's class names in output order, or None for a model without a head."""
    head = spec.get("head")
    return None if not head else list(_read_classes(head["classes"]))


def preprocessing_pipeline(spec):
    """The model's own preprocessing as a Pipeline of the package's transformers (unfitted).

    Steps that take a sampling rate get the model's (``input.fs``): the
    steps run on records already brought to the model's rate. A step is a
    class of :mod:`sklearn_ecg.preprocessing` by name, or
    ``"sklearn_ecg.module:Class"`` for a step that reproduces a model's own
    code.
    """
    steps = []
    for class_name, params in spec["preprocessing"]:
        if ":" in class_name:
            cls = package_object(class_name)
        elif class_name in _preprocessing.__all__:
            cls = getattr(_preprocessing, class_name)
        else:
            raise ValueError(f"foundation model table: unknown preprocessing step {class_name!r}.")
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        if "fs" in cls().get_params() and "fs" not in params:
            params["fs"] = spec["input"]["fs"]
        steps.append((cls.__name__.lower(), cls(**params)))
    if not steps:
        steps.append(("passthrough", "passthrough"))
    return Pipeline(steps)


def input_contract(spec, lead_names):
    """The contract of the model reading leads ``lead_names`` (tuple, in its order)."""
    inp = spec["input"]
    ref = lead_reference()
    polarity = ref["polarity"]
    known = all(n in polarity for n in lead_names)
    return InputContract(
        fs=float(inp["fs"]),
        n_timepoints=None if inp["n_timepoints"] is None else int(inp["n_timepoints"]),
        lead_names=tuple(lead_names),
        n_leads=len(lead_names), units=inp.get("units", "mV"), standardize=inp.get("standardize"),
        amplitude=float(ref["amplitude"]),
        lead_polarity=tuple(float(polarity[n]) for n in lead_names) if known else None,
    )
