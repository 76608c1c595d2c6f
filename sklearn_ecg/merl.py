"""MERL (Liu et al., ICML 2024) loaded from its released checkpoints, as a scikit-learn transformer.

MERL pretrained a 12-lead ECG encoder (ResNet1d-18 or ViT-tiny) against the
free-text reports of about 800,000 MIMIC-IV-ECG records, aligned with the
MedCPT query encoder, a BERT. Its authors released the weights as
``state_dict``s of their ``ECGCLIP`` module: ``*_ckpt.pth`` (ECG encoder,
ECG and text projections and the BERT) and ``*_encoder.pth`` (the ECG
encoder alone). :class:`MERLEmbedder` loads either with
``torch.load(weights_only=True)`` into this package's own networks
(:mod:`sklearn_ecg.nn.merl`), refusing a checkpoint whose tensors do not
match by name and shape, and gives:

- ``transform``: the encoder's embedding (``output="encoder"``; ResNet: the
  time-mean of its last feature map, 512-d, MERL's linear-probe features;
  ViT: 192-d) or the ECG embedding in the joint ECG–text space
  (``"projected"``, 256-d; ``"joint"``: the same, L2-normalised);
- ``encode_ecg`` and ``encode_text``: L2-normalised joint-space embeddings,
  the interface :class:`~sklearn_ecg.ZeroShotECGClassifier` reads, so that
  zero-shot classification follows MERL's procedure (prompts lowercased,
  256 tokens, ``proj_t`` of BERT's pooled output, raw cosine).

The text side needs the MedCPT tokenizer and configuration
(``ncbi/MedCPT-Query-Encoder``), read from a local folder or the Hugging Face
cache; the Hub is asked only with ``local_files_only=False``. The BERT's
weights are those of the checkpoint (MERL trained part of it).
:data:`MERL_PROMPTS` is MERL's knowledge-enhanced prompt table (CKEPE).
"""

import json
import os
import pickle
import zipfile
from functools import lru_cache
from importlib.resources import files
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._param_validation import StrictInterval
from ._validation import check_ecg_array
from .input_contract import InputContract, check_input, input_pipeline, lead_statistics
from .nn.merl import N_TIMEPOINTS, MERLNet, minmax_scale
from .text import _check_texts, _import_or_raise, _quiet_loading

__all__ = ["MERL_MODELS", "MERL_PROMPTS", "MERL_LEAD_NAMES", "MERLEmbedder", "load_merl",
           "CheckpointError"]

#: The MERL models by name: the encoder of each.
MERL_MODELS = {"merl-resnet18": "resnet18", "merl-vit-tiny": "vit_tiny"}

#: The lead order MERL was pretrained in (MIMIC-IV-ECG's): aVF before aVL,
#: unlike PTB-XL's. ``input_pipeline(lead_names=...)`` reorders records by name.
MERL_LEAD_NAMES = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")

#: The Hugging Face model whose tokenizer and configuration MERL's text side uses.
MEDCPT_QUERY_ENCODER = "ncbi/MedCPT-Query-Encoder"

#: Temperature of MERL's contrastive training (its loss's ``temperature=0.07``).
MERL_TEMPERATURE = 0.07


def _read_prompts():
    path = files("sklearn_ecg") / "data" / "merl_ckepe_prompts.json"
    with path.open(encoding="utf-8") as f:
        return json.load(f)


#: MERL's clinical-knowledge-enhanced prompts (``zeroshot/CKEPE_prompt.json``
#: of the authors' repository, MIT licence, package data
#: ``data/merl_ckepe_prompts.json``): one description per label of PTB-XL
#: (statements), CPSC 2018 and Chapman-Shaoxing-Ningbo, 131 entries. Use them
#: as ``class_descriptions`` with ``template="{}"`` for MERL's zero-shot
#: procedure.
MERL_PROMPTS = _read_prompts()


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded: unreadable, or its tensors are not the model's."""


def read_checkpoint(path):
    """The tensors of a PyTorch checkpoint, read with ``weights_only=True`` (no code runs).

    A ``{"state_dict": ...}`` or ``{"model_state_dict": ...}`` wrapper and a
    ``module.`` prefix on every key (``DataParallel``) are removed.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path!r}.")
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            # Files of the legacy (non-zip) format cannot be memory-mapped.
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} was refused: it holds Python objects other than tensors, and unpickling "
            f"them could run code ({str(exc).splitlines()[0]}). Load only checkpoints you trust, "
            "and re-save them as a plain state_dict of tensors."
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated, or another format): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    for key in ("state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of names to tensors).")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def check_state_dict(expected, found, what):
    """Raise :class:`CheckpointError` naming the missing, unexpected and mis-shaped tensors.

    ``expected`` and ``found`` map names to tensors (or shapes).
    """
    def shape(v):
        return tuple(v.shape) if hasattr(v, "shape") else tuple(v)

    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    misshaped = [f"{k} {list(shape(found[k]))} (expected {list(shape(expected[k]))})"
                 for k in expected if k in found and shape(found[k]) != shape(expected[k])]
    if not (missing or unexpected or misshaped):
        return

    def listed(names):
        return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing tensor(s): {listed(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensor(s): {listed(unexpected)}")
    if misshaped:
        parts.append(f"{len(misshaped)} tensor(s) of another shape: {listed(misshaped)}")
    raise CheckpointError(f"{what}: {'; '.join(parts)}.")


@lru_cache(maxsize=1)
def _reference_lead_statistics():
    """Amplitude (mV) and per-lead polarity of 12-lead records in MERL's lead order.

    MIMIC-IV-ECG's own statistics are not published with the weights; those
    of the PTB-XL sample shipped with the package (same leads, mV, reordered)
    stand in, for the lead-order check of the input.
    """
    from .datasets import load_ptbxl_sample

    data = load_ptbxl_sample()
    order = [list(data.lead_names).index(name) for name in MERL_LEAD_NAMES]
    amp, polarity = lead_statistics(data.X[:, order])
    return float(np.median(amp)), tuple(float(v) for v in np.median(polarity, axis=0))


def _text_tokens(tokenizer, texts, device):
    """MERL's tokenisation: lowercased, [CLS] … [SEP], truncated and padded to 256 tokens."""
    enc = tokenizer([t.lower() for t in texts], add_special_tokens=True, truncation=True,
                    max_length=256, padding="max_length", return_tensors="pt")
    return enc["input_ids"].to(device), enc["attention_mask"].to(device)


class MERLEmbedder(TransformerMixin, BaseEstimator):
    """Embeddings of a released MERL model (ResNet1d-18 or ViT-tiny), and its text side.

    ``fit`` loads the checkpoint; nothing is learned from X. A loaded model
    is fitted (``check_is_fitted`` passes, ``FrozenEstimator`` keeps it);
    :func:`sklearn.base.clone` gives an unfitted copy that loads the same
    file when fitted, so the model works inside ``Pipeline``,
    ``GridSearchCV`` and ``cross_val_score``.

    Records must be those of MERL's input: 12 leads in MERL's order
    (:data:`MERL_LEAD_NAMES`: aVF before aVL), 500 Hz, 5,000 samples
    (10 s). :meth:`input_pipeline` brings other records to it (reordering
    leads by name, resampling, keeping the first 10 s). Each record is then
    min-max scaled to [0, 1] over all its leads inside the model, as MERL
    does, so the unit of the records does not matter.

    Parameters
    ----------
    checkpoint : str or path-like
        A MERL checkpoint: ``*_ckpt.pth`` (the whole ``ECGCLIP`` model) or
        ``*_encoder.pth`` (the ECG encoder alone; only ``output="encoder"``
        then).
    model : {"merl-resnet18", "merl-vit-tiny"}, default="merl-resnet18"
        Which network the checkpoint holds.
    output : {"encoder", "projected", "joint"}, default="encoder"
        What ``transform`` returns: the encoder's embedding (ResNet 512-d,
        ViT 192-d), the ECG embedding in the joint ECG–text space (256-d:
        the ResNet's attention pooling or the ViT's ``proj_e``), or that
        embedding L2-normalised.
    text_model : str or path-like, default="ncbi/MedCPT-Query-Encoder"
        The folder or Hugging Face name of the BERT's configuration and
        tokenizer (its weights come from the checkpoint). Read only by
        ``encode_text``.
    local_files_only : bool, default=True
        Read ``text_model`` from disk or the Hugging Face cache only; False
        lets ``transformers`` download it.
    device : str, default="cpu"
        Torch device the model runs on.
    batch_size : int, default=64
        Records (or texts) per forward pass.
    architecture : dict or None, default=None
        Only for checkpoints of a configuration other than the released one:
        ``{"resnet_blocks": (b1, b2, b3, b4)}`` or ``{"vit": {"depth": ...,
        ...}}`` (see :class:`sklearn_ecg.nn.merl.MERLNet`).

    Attributes
    ----------
    net_ : MERLNet
        The loaded network (ECG side and text projection), in eval mode.
    has_text_ : bool
        Whether the checkpoint holds the projections and the BERT (a
        ``*_ckpt.pth``), so that ``encode_text`` and the joint outputs work.
    n_features_in_ : int
        12 (leads).
    n_leads_, n_timepoints_ : int
        12 and 5,000.
    input_contract_ : InputContract
        500 Hz, 5,000 samples, MERL's lead names, min-max scaling inside
        the model.
    logit_scale_ : float
        ``1/τ`` of MERL's training (τ = 0.07), the scale of
        :class:`~sklearn_ecg.ZeroShotECGClassifier`'s ``predict_proba``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_ecg.merl import MERLEmbedder
    >>> from sklearn_ecg.nn.merl import MERLNet
    >>> net = MERLNet("vit_tiny", vit={"depth": 1})  # a small random stand-in for a checkpoint
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "vit_tiny_encoder.pth")
    >>> torch.save(net.ecg_encoder.state_dict(), path)
    >>> merl = MERLEmbedder(path, model="merl-vit-tiny", architecture={"vit": {"depth": 1}}).fit()
    >>> X = np.random.default_rng(0).normal(size=(2, 12, 5000)).astype("float32")
    >>> merl.transform(X).shape
    (2, 192)
    """

    _parameter_constraints = {
        "checkpoint": [str, os.PathLike],
        "model": [StrOptions(set(MERL_MODELS))],
        "output": [StrOptions({"encoder", "projected", "joint"})],
        "text_model": [str, os.PathLike],
        "local_files_only": ["boolean"],
        "device": [str],
        "batch_size": [StrictInterval(Integral, 1, None, closed="left")],
        "architecture": [dict, None],
    }

    def __init__(self, checkpoint, model="merl-resnet18", output="encoder",
                 text_model=MEDCPT_QUERY_ENCODER, local_files_only=True, device="cpu",
                 batch_size=64, architecture=None):
        self.checkpoint = checkpoint
        self.model = model
        self.output = output
        self.text_model = text_model
        self.local_files_only = local_files_only
        self.device = device
        self.batch_size = batch_size
        self.architecture = architecture

    # -- loading ---------------------------------------------------------------

    def _build(self):
        arch = dict(self.architecture or {})
        unknown = sorted(set(arch) - {"resnet_blocks", "vit"})
        if unknown:
            raise ValueError(f"architecture may set 'resnet_blocks' or 'vit'; got {unknown}.")
        return MERLNet(MERL_MODELS[self.model], **arch)

    def _load(self):
        state = read_checkpoint(self.checkpoint)
        net = self._build()
        expected = {k: v for k, v in net.state_dict().items()}
        what = f"{os.fspath(self.checkpoint)} is not a {self.model} checkpoint"
        if not any(k.startswith("ecg_encoder.") for k in state):
            # A bare encoder (*_encoder.pth): ecg_encoder.state_dict().
            check_state_dict({k[len("ecg_encoder."):]: v for k, v in expected.items()
                              if k.startswith("ecg_encoder.")}, state, what)
            net.ecg_encoder.load_state_dict(state, strict=True, assign=True)
            return net, None
        lm_state = {k[len("lm_model."):]: v for k, v in state.items() if k.startswith("lm_model.")}
        if not lm_state:
            raise CheckpointError(
                f"{what}: it has the ECG encoder and heads but no lm_model.* tensors (the text "
                "model), unlike MERL's *_ckpt.pth files.")
        ecg_state = {k: v for k, v in state.items() if not k.startswith("lm_model.")}
        check_state_dict(expected, ecg_state, what)
        net.load_state_dict(ecg_state, strict=True, assign=True)
        return net, lm_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Load the checkpoint; X and y are ignored (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : MERLEmbedder
        """
        net, lm_state = self._load()
        if self.output != "encoder" and lm_state is None:
            raise ValueError(
                f"output={self.output!r} needs MERL's projection heads, which a bare encoder "
                f"checkpoint ({os.fspath(self.checkpoint)}) lacks: load the *_ckpt.pth file, or "
                "use output='encoder'.")
        amplitude, polarity = _reference_lead_statistics()
        self.net_ = net.to(self.device).eval()
        self._lm_state = lm_state
        self._text = None
        self.has_text_ = lm_state is not None
        self.n_features_in_ = self.n_leads_ = len(MERL_LEAD_NAMES)
        self.n_timepoints_ = N_TIMEPOINTS
        self.input_contract_ = InputContract(
            fs=500.0, n_timepoints=N_TIMEPOINTS, lead_names=MERL_LEAD_NAMES,
            n_leads=len(MERL_LEAD_NAMES), units="mV", standardize="minmax", amplitude=amplitude,
            lead_polarity=polarity)
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_text"] = None  # the BERT is rebuilt from _lm_state when needed
        return state

    # -- ECG -------------------------------------------------------------------

    def _records(self, X):
        X = check_ecg_array(self, X, reset=False, min_records=1, cast_lazily=True)
        if X.ndim != 3:
            raise ValueError(f"{type(self).__name__} takes 12-lead records (n, 12, 5000); got 2-D X.")
        if X.shape[2] != N_TIMEPOINTS:
            raise ValueError(
                f"X has records of {X.shape[2]} samples but MERL takes 10 s at 500 Hz, "
                f"{N_TIMEPOINTS} samples (its networks have one position per patch of that length). "
                "Bring records to it with model.input_pipeline(fs=..., lead_names=...), which "
                "resamples and keeps the first 10 s.")
        check_input(self, X)
        return X

    def _embed(self, X, output):
        device = next(self.net_.parameters()).device
        out = np.empty((len(X), 0), dtype=np.float32)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(X), self.batch_size):
                x = torch.from_numpy(np.array(X[start:start + self.batch_size], dtype=np.float32))
                x = minmax_scale(x.to(device))
                chunks.append(self.net_.embed(x, output).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else out

    def transform(self, X):
        """Embed records (``output`` says which embedding).

        Parameters
        ----------
        X : array-like of shape (n_records, 12, 5000)
            Records in MERL's lead order, 500 Hz.

        Returns
        -------
        embeddings : ndarray of shape (n_records, n_features)
        """
        check_is_fitted(self, "net_")
        return self._embed(self._records(X), self.output)

    def _require_text(self, what):
        if not self.has_text_:
            raise ValueError(
                f"{what} needs MERL's projection heads and text model, which the bare encoder "
                f"checkpoint {os.fspath(self.checkpoint)} lacks: load the *_ckpt.pth file.")

    def encode_ecg(self, X):
        """L2-normalised ECG embeddings in the joint ECG–text space (256-d).

        Parameters
        ----------
        X : array-like of shape (n_records, 12, 5000)

        Returns
        -------
        embeddings : ndarray of shape (n_records, 256), float32
        """
        check_is_fitted(self, "net_")
        self._require_text("encode_ecg")
        return self._embed(self._records(X), "joint")

    # -- text ------------------------------------------------------------------

    def _text_model(self):
        if self._text is not None:
            return self._text
        transformers = _import_or_raise("transformers", "MERL's text side")
        source = os.fspath(self.text_model)
        local_only = os.path.isdir(source) or bool(self.local_files_only)
        try:
            with _quiet_loading():
                config = transformers.AutoConfig.from_pretrained(source, local_files_only=local_only)
                tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        except Exception as exc:
            hint = (" It is neither a local folder nor in the Hugging Face cache: download its "
                    f"configuration and tokenizer once (`hf download {source}`), or pass "
                    "local_files_only=False to let transformers download them."
                    if local_only and not os.path.isdir(source) else "")
            raise OSError(f"Could not read the text model's configuration and tokenizer from "
                          f"{source!r} ({type(exc).__name__}: {exc}).{hint}") from exc
        bert = transformers.BertModel(config, add_pooling_layer=True)
        state = dict(self._lm_state)
        expected = bert.state_dict()
        # Before transformers 4.31 BertModel saved embeddings.position_ids
        # (0, 1, …, max_len - 1); later releases keep it out of state_dict.
        # Either way it must be that range.
        key = "embeddings.position_ids"
        if key in state:
            ids = state[key]
            if ids.shape[-1] != config.max_position_embeddings or not torch.equal(
                    ids.reshape(-1).long(), torch.arange(ids.shape[-1])):
                raise CheckpointError(
                    f"{os.fspath(self.checkpoint)}: lm_model.{key} is not the range 0..."
                    f"{config.max_position_embeddings - 1} of {source!r}'s configuration.")
            if key not in expected:
                del state[key]
        elif key in expected:
            state[key] = expected[key]
        check_state_dict(expected, state,
                         f"{os.fspath(self.checkpoint)}: its lm_model.* tensors do not fit the "
                         f"BERT configured by {source!r}")
        bert.load_state_dict(state, strict=True, assign=True)
        device = next(self.net_.parameters()).device
        self._text = (tokenizer, bert.to(device).eval())
        return self._text

    def encode_text(self, texts):
        """L2-normalised text embeddings in the joint ECG–text space, by MERL's procedure.

        Each text is lowercased, tokenised to 256 tokens (truncated and
        padded), embedded by the BERT (``pooler_output``) and projected by
        ``proj_t``.

        Parameters
        ----------
        texts : list of str

        Returns
        -------
        embeddings : ndarray of shape (n_texts, 256), float32
        """
        check_is_fitted(self, "net_")
        self._require_text("encode_text")
        texts = _check_texts(texts)
        tokenizer, bert = self._text_model()
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                ids, mask = _text_tokens(tokenizer, texts[start:start + self.batch_size], bert.device)
                pooled = bert(input_ids=ids, attention_mask=mask).pooler_output
                out = torch.nn.functional.normalize(self.net_.project_text(pooled), dim=-1)
                chunks.append(out.float().cpu().numpy())
        if not chunks:
            return np.empty((0, self.net_.projection_dim), dtype=np.float32)
        return np.concatenate(chunks)

    @property
    def logit_scale_(self):
        """``1/τ`` with MERL's training temperature τ = 0.07."""
        check_is_fitted(self, "net_")
        return 1.0 / MERL_TEMPERATURE

    # -- scikit-learn ------------------------------------------------------------

    def input_pipeline(self, *, fs, lead_names=None, units="mV", crop="start"):
        """Steps that bring records of another rate, lead order or length to MERL's input.

        See :func:`sklearn_ecg.input_contract.input_pipeline`; ``crop="start"``
        keeps the first 10 s, as MERL does.

        Parameters
        ----------
        fs : float
        lead_names : sequence of str or None, default=None
        units : {"V", "mV", "uV", "µV", "nV"}, default="mV"
        crop : {"start", "center", "end"} or None, default="start"

        Returns
        -------
        pipeline : sklearn.pipeline.Pipeline
        """
        return input_pipeline(self, fs=fs, lead_names=lead_names, units=units, crop=crop)

    def get_feature_names_out(self, input_features=None):
        """``merl0``, ``merl1``, … (``merl_joint0``, … for the joint-space outputs)."""
        check_is_fitted(self, "net_")
        n = self.net_.out_features if self.output == "encoder" else self.net_.projection_dim
        prefix = "merl" if self.output == "encoder" else "merl_joint"
        return np.asarray([f"{prefix}{k}" for k in range(n)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags


def load_merl(name, checkpoint, **params):
    """A fitted :class:`MERLEmbedder` of the released model ``name`` from ``checkpoint``.

    Parameters
    ----------
    name : {"merl-resnet18", "merl-vit-tiny"}
    checkpoint : str or path-like
        ``*_ckpt.pth`` or ``*_encoder.pth`` of that model.
    **params
        Other parameters of :class:`MERLEmbedder` (``output``,
        ``text_model``, ``device``, …).

    Returns
    -------
    model : MERLEmbedder
        Fitted.
    """
    if name not in MERL_MODELS:
        raise ValueError(f"Unknown MERL model {name!r}; the MERL models are {sorted(MERL_MODELS)}.")
    return MERLEmbedder(checkpoint, model=name, **params).fit()
