"""The foundation models as encoder architectures: what fine-tuning and saved classifiers need.

``ECGClassifier`` reads a pretrainer through its encoder contract and, for
a saved classifier, rebuilds the encoder from its architecture's entry in
:data:`sklearn_ecg._encoder.ARCHITECTURES`. Each model of the table adds its
entry there when this package is imported, so that a classifier fine-tuned
from an imported model saves and loads like any other.
"""

from numbers import Integral

from .._encoder import ARCHITECTURES, EncoderArchitecture
from ._forward import FoundationEncoder, torch_preprocessing
from ._table import entry, network_class, preprocessing_pipeline, table

__all__ = ["FoundationArchitecture", "architecture_of", "encoder_settings", "register_architectures"]


class FoundationArchitecture(EncoderArchitecture):
    """A foundation model's network with its preprocessing, as an encoder architecture.

    Its settings (``param_names``) are the network's configuration, the
    method that gives the embedding and its size; the network is the
    published one, so there is no width to choose. The model's own
    preprocessing runs inside the encoder, so ``standardize`` is None.
    """

    param_names = ("model", "config", "method", "out_features", "standardize")

    def check_params(self, params, *, owner="encoder_params"):
        method = params.get("method")
        ok = (params.get("model") == self.name and isinstance(params.get("config"), dict)
              and isinstance(method, str) and callable(getattr(network_class(entry(self.name)), method, None))
              and isinstance(params.get("out_features"), Integral) and params["out_features"] > 0
              and params.get("standardize") is None)
        if not ok:
            raise ValueError(
                f"{owner}: {params!r} are not settings of the {self.name!r} network (its model name, "
                "network configuration, embedding method and size, and standardize=None).")

    def default_params(self):
        spec = entry(self.name)
        return encoder_settings(self.name, dict(spec["config"]), spec["embedding"].get("method", "features"),
                                spec["embedding"]["dim"])

    def build_encoder(self, params, n_leads):
        spec = entry(self.name)
        network = network_class(spec)(**params["config"])
        return FoundationEncoder(network, torch_preprocessing(preprocessing_pipeline(spec)),
                                 params["method"], params["out_features"])


def encoder_settings(name, config, method, out_features):
    """The settings of model ``name``'s encoder, by ``FoundationArchitecture.param_names``."""
    return {"model": name, "config": config, "method": method, "out_features": int(out_features),
            "standardize": None}


def _notice(name, spec):
    licence = spec["licence"]
    return (f"The encoder starts from the published weights of {name} ({spec['reference']}), "
            f"from {spec['weights']}. Code: {licence['code']}. Weights: {licence['weights']}.")


def architecture_of(name, spec):
    """The encoder architecture of table entry ``name`` (``spec``)."""
    inp = spec["input"]
    return FoundationArchitecture(
        name=name,
        per_lead=bool(inp.get("any_single_lead")),
        min_length=int(inp.get("min_n_timepoints") or inp["n_timepoints"]),
        width_constraints=[None],
        default_width=None,
        width_meaning="published network (no width to choose)",
        build=None,
        notice=_notice(name, spec),
        n_timepoints=inp["n_timepoints"] if inp.get("exact_length") else None,
        length_reason=("(the window of the model it was imported from). Bring the records to the "
                       "model's rate and length with its input_pipeline(fs=..., lead_names=...)."),
    )


def register_architectures():
    """Add an encoder architecture for each model of the table (once)."""
    for name, spec in table().items():
        ARCHITECTURES.setdefault(name, architecture_of(name, spec))
