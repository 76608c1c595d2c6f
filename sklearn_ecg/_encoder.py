"""The encoder contract: what a fitted pretrainer offers to the estimators built on it.

A fitted pretrainer exposes an :class:`EncoderContract` as its
``encoder_contract_`` property. ``ECGClassifier`` (fine-tuning),
``LeadwiseEmbedder`` (embedding chosen leads) and ``ZeroShotECGClassifier``
read the pretrainer through it only: the trained encoder, whether it reads
one lead at a time, its minimum record length, the input recipe
(``standardize``) and the architecture it belongs to. A new pretraining
method that fills the contract works with all of them unchanged.

The encoder architectures themselves (VGG1d for LCD, ResNet1d for METS) are
declared once in :data:`ARCHITECTURES`, with their width setting, so that a
classifier trained from scratch builds the same network a pretrainer would.
"""

from dataclasses import dataclass, field
from numbers import Real
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import InvalidParameterError, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from torch.nn import functional as F

from ._param_validation import StrictInterval
from ._validation import POOLING_LENGTH_REASON
from .nn.resnet1d import ResNet1d
from .nn.scaling import standardize as _standardize
from .nn.vgg1d import VGG1d

__all__ = ["ARCHITECTURES", "EncoderArchitecture", "EncoderContract", "fitted_pretrainer", "width_of_format_1"]


@dataclass(frozen=True)
class EncoderArchitecture:
    """An encoder network family and its one width setting.

    ``width`` is always a multiplier of the channels of the reference network
    (VGG16 for LCD, ResNet-18 for METS): 1.0 is the full-size network.

    Attributes
    ----------
    name : str
        ``"lcd"`` or ``"mets"``: the value of ``ECGClassifier(architecture=...)``.
    per_lead : bool
        True: the encoder reads one lead at a time, ``(B, 1, T)``.
    min_length : int
        Shortest record (in samples) the encoder accepts.
    width_constraints : list
        scikit-learn constraints of the width setting.
    default_width : float
        The pretrainer's default width.
    width_meaning : str
        What the width is, for documentation and error messages.
    build : callable
        ``build(width, n_leads)`` returns a freshly initialised encoder.
    notice : str
        Where pretrained weights of this architecture come from and under
        which licence (written into the model card of a saved classifier);
        empty for the package's own.
    n_timepoints : int or None
        The one record length the encoder reads (a network with a position
        per patch); None: any length of at least ``min_length``.
    length_reason : str
        Why records shorter than ``min_length`` are refused, and what to do
        (the end of that error message).
    """

    name: str
    per_lead: bool
    min_length: int
    width_constraints: list
    default_width: object
    width_meaning: str
    build: Callable = field(repr=False)
    notice: str = ""
    n_timepoints: object = None
    length_reason: str = POOLING_LENGTH_REASON

    #: The keys of a network's settings (``ECGClassifier``'s ``encoder_params_``).
    param_names = ("width", "standardize")

    def check_params(self, params, *, owner="encoder_params"):
        """Refuse settings that build no network of this architecture, naming ``owner``."""
        constraints = {"width": self.width_constraints, "standardize": STANDARDIZE_CONSTRAINTS}
        try:
            validate_parameter_constraints(constraints, params, caller_name=f"the {self.name.upper()} encoder")
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"{owner}: {exc} The width of architecture {self.name!r} is the "
                f"{self.width_meaning}."
            ) from None
        self.check_width(params["width"], owner=owner)

    def default_params(self):
        """The settings of a network trained from scratch, by :attr:`param_names`."""
        return {"width": self.default_width, "standardize": None}

    def build_encoder(self, params, n_leads):
        """A freshly initialised encoder with the settings ``params`` (of :attr:`param_names`)."""
        return self.build(params["width"], n_leads)

    def check_width(self, width, *, owner):
        """Refuse a width that builds no network (``owner`` names the setting in the message)."""
        if self.name == "lcd" and int(round(512 * width)) < 1:
            raise ValueError(
                f"{owner} width={width!r} leaves VGG16's widest layer without a channel; use a "
                "multiplier of at least 1/512 (0.125 gives the paper's 64-d embeddings)."
            )
        if self.name == "mets" and int(round(64 * width)) < 1:
            raise ValueError(
                f"{owner} width={width!r} leaves ResNet-18's first stage without a channel; use "
                "a multiplier of at least 1/64 (1.0 gives ResNet-18's 512-d embeddings)."
            )


#: The z-scoring settings of every encoder (``standardize``), declared once.
STANDARDIZE_CONSTRAINTS = [StrOptions({"record", "lead"}), None]

#: The encoder architectures of the package, by name; :mod:`sklearn_ecg.foundation` adds one
#: per imported model when it is imported (with the package).
ARCHITECTURES = {
    "lcd": EncoderArchitecture(
        name="lcd",
        per_lead=True,
        min_length=32,
        width_constraints=[StrictInterval(Real, 0, None, closed="neither")],
        default_width=0.125,
        width_meaning="multiplier of VGG16's channels (one lead's embedding has 512 * width features)",
        build=lambda width, n_leads: VGG1d(in_channels=1, width=width),
    ),
    "mets": EncoderArchitecture(
        name="mets",
        per_lead=False,
        min_length=32,
        width_constraints=[StrictInterval(Real, 0, None, closed="neither")],
        default_width=1.0,
        width_meaning="multiplier of ResNet-18's channels (1.0: 64 to 512 channels; the embedding "
                      "has 512 * width features)",
        build=lambda width, n_leads: ResNet1d(in_channels=n_leads, width=width),
    ),
}


def width_of_format_1(architecture, width):
    """The width, in this release's terms, of a folder saved in format version 1.

    METS's ``width`` was then the channel count of the ResNet's first stage
    (64 for ResNet-18); it is now the multiplier of ResNet-18's channels.
    Anything else (LCD's multiplier, an invalid value that loading refuses
    later) is returned as it is.
    """
    if architecture == "mets" and isinstance(width, int) and not isinstance(width, bool):
        return width / 64
    return width


@dataclass(frozen=True)
class EncoderContract:
    """The trained encoder of a fitted pretrainer and how to feed it.

    Obtained from a fitted pretrainer as ``pretrainer.encoder_contract_``.
    The ``encoder`` is the pretrainer's own module: copy it
    (:func:`copy.deepcopy`) before training it.

    Attributes
    ----------
    encoder : torch.nn.Module
        The trained encoder network (LCD: the single-lead VGG1d; METS: the
        multi-lead ResNet1d).
    per_lead : bool
        True: the encoder sees one lead at a time, ``(B, 1, T)``, and the
        embedding of a record concatenates those of its leads, lead after
        lead; records may then have any number of leads.
    n_leads : int
        Leads the pretrainer was fitted on.
    min_length : int
        Shortest record, in samples, the encoder accepts.
    standardize : {"record", "lead"} or None
        z-scoring applied to every record before the encoder.
    architecture : str
        The encoder's family in :data:`ARCHITECTURES` (``"lcd"``, ``"mets"``).
    width : float
        The encoder's width: a multiplier of the reference network's channels
        (VGG16 for LCD, ResNet-18 for METS).
    head : torch.nn.Module or None
        A projection after the encoder that the pretrainer's ``transform``
        applies (METS with ``output="joint"``: the ECG head, followed by L2
        normalisation), else None.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg import LCDPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> X = load_ptbxl_sample().X[:32, :2, :256]
    >>> lcd = LCDPretrainer(projector_dim=16, predictor_dim=16, max_epochs=1,
    ...                     batch_size=16, random_state=0, device="cpu").fit(X)
    >>> contract = lcd.encoder_contract_
    >>> contract.per_lead, contract.n_leads, contract.architecture
    (True, 2, 'lcd')
    >>> contract.embed(torch.as_tensor(X[:3])).shape
    torch.Size([3, 128])
    """

    encoder: torch.nn.Module
    per_lead: bool
    n_leads: int
    min_length: int
    standardize: object
    architecture: str
    width: object
    head: object = None
    # Embeds an array of records the way transform does (batched, in inference
    # mode, with the pretrainer's inference copy); None uses embed batch by batch.
    batch_embedder: Callable = field(default=None, repr=False, compare=False)
    # The encoder's settings by its architecture's param_names; None: width and standardize.
    settings: dict = None

    @property
    def length_reason(self):
        """Why records shorter than ``min_length`` are refused (the architecture's ``length_reason``)."""
        return ARCHITECTURES[self.architecture].length_reason

    @property
    def encoder_params(self):
        """The encoder's settings, keyed by its architecture's ``param_names``."""
        if self.settings is not None:
            return dict(self.settings)
        return {"width": self.width, "standardize": self.standardize}

    def embed(self, x):
        """Embed a batch of records: ``(B, n_leads, T)`` float on the encoder's device to ``(B, n_features_out)``.

        Differentiable (no ``inference_mode`` inside) and in the encoder's
        current mode (call ``encoder.eval()`` for inference): exactly what the
        pretrainer's ``transform`` returns for these records, up to float
        rounding.
        """
        x = _standardize(x, self.standardize)
        if self.per_lead:
            batch, n_leads, length = x.shape
            emb = self.encoder(x.reshape(batch * n_leads, 1, length))
            return emb.reshape(batch, n_leads * emb.shape[1])
        out = self.encoder(x)
        if self.head is not None:
            out = F.normalize(self.head(out).float(), dim=-1)
        return out

    @property
    def n_features_per_lead(self):
        """Features of one lead's embedding (per-lead encoders), else of the record's."""
        return int(self.encoder.out_features)

    def embed_records(self, X, batch_size=256):
        """Embed validated records ``(n, n_leads, T)`` (array or memmap) to float32 ``(n, n_features_out)``.

        Batch by batch, in inference mode: what the pretrainer's
        ``transform`` returns once it has checked its input.
        """
        if self.batch_embedder is not None:
            return self.batch_embedder(X)
        device = next(self.encoder.parameters()).device
        return embed_records(self, X, batch_size, device)

    def new_encoder(self, n_leads=None):
        """A freshly initialised encoder of the same architecture and width.

        ``n_leads`` (default: the contract's) matters only to encoders that
        read all leads together.
        """
        spec = ARCHITECTURES[self.architecture]
        return spec.build_encoder(self.encoder_params, self.n_leads if n_leads is None else n_leads)


def fitted_pretrainer(obj, *, name="pretrainer"):
    """The fitted pretrainer ``obj`` (plain, or inside a :class:`~sklearn.frozen.FrozenEstimator`).

    Parameters
    ----------
    obj : object
        What the user passed.
    name : str, default="pretrainer"
        The parameter's name, for error messages.

    Returns
    -------
    pretrainer : estimator
        The unwrapped pretrainer; its ``encoder_contract_`` is available.

    Raises
    ------
    TypeError
        ``obj`` is not a pretrainer offering an encoder contract.
    sklearn.exceptions.NotFittedError
        The pretrainer is not fitted (also a ``ValueError``).
    """
    est = obj.estimator if isinstance(obj, FrozenEstimator) else obj
    if not (isinstance(est, BaseEstimator) and hasattr(type(est), "encoder_contract_")):
        raise TypeError(
            f"{name} must be a fitted pretrainer of sklearn_ecg (LCDPretrainer, METSPretrainer, "
            "a foundation model's embedder from load_foundation_model, or a FrozenEstimator of "
            f"one); got {type(obj).__name__}."
        )
    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise NotFittedError(
            f"The {type(est).__name__} given as {name} is not fitted: pretrain it first "
            f"({type(est).__name__}(...).fit(X, ...)) or load a fitted one with "
            f"{type(est).__name__}.from_pretrained(...)."
        ) from exc
    return est


def embed_records(contract, X, batch_size, device):
    """Embed validated records ``(n, leads, T)`` (an array or memmap) with ``contract``, batch by batch.

    Runs the encoder in eval mode under ``torch.inference_mode`` and returns
    float32 embeddings ``(n, n_features_out)``.
    """
    module = contract.encoder
    was_training = module.training
    module.eval()
    if contract.head is not None:
        head_training = contract.head.training
        contract.head.eval()
    out = None
    try:
        with torch.inference_mode():
            for start in range(0, len(X), batch_size):
                chunk = np.array(X[start : start + batch_size], dtype=np.float32, order="C")
                emb = contract.embed(torch.from_numpy(chunk).to(device)).float().cpu().numpy()
                if out is None:
                    out = np.empty((len(X), emb.shape[1]), dtype=np.float32)
                out[start : start + len(emb)] = emb
    finally:
        module.train(was_training)
        if contract.head is not None:
            contract.head.train(head_training)
    return out
