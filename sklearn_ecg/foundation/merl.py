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
from importlib.resources import files

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._checkpoints import CheckpointError, check_state_dict, load_state_dict_once, read_torch_checkpoint
from .._validation import check_ecg_array
from ..input_contract import check_input
from ..nn.merl import MERLNet
from ..text import TextEncoder
from ._estimators import FoundationEmbedder
from ._forward import FoundationNetwork
from ._loading import _matching_entries, _state_dict
from ._table import entry, table

__all__ = ["MERL_PROMPTS", "MERLEmbedder", "MERLTextEncoder"]

#: The Hugging Face model whose tokenizer and configuration MERL's text side uses.
MEDCPT_QUERY_ENCODER = "ncbi/MedCPT-Query-Encoder"

#: Temperature of MERL's contrastive training (its loss's ``temperature=0.07``).
MERL_TEMPERATURE = 0.07


def _read_prompts():
    path = files("sklearn_ecg.foundation") / "data" / "merl_ckepe_prompts.json"
    with path.open(encoding="utf-8") as f:
        return json.load(f)


#: MERL's clinical-knowledge-enhanced prompts (``zeroshot/CKEPE_prompt.json``
#: of the authors' repository, MIT licence, package data
#: ``foundation/data/merl_ckepe_prompts.json``): one description per label of PTB-XL
#: (its statements and superclasses), CPSC 2018 and Chapman-Shaoxing-Ningbo,
#: 131 entries. Pass them as ``class_descriptions`` with ``template="{}"``
#: to :class:`~sklearn_ecg.ZeroShotECGClassifier` for MERL's own zero-shot
#: procedure.
MERL_PROMPTS = _read_prompts()


# MERLNet's method for each ``output``.
_OUTPUT_METHODS = {"encoder": "features", "projected": "project", "joint": "joint"}


def _require_text(what, has_text, checkpoint_path):
    """Refuse ``what`` for a bare encoder checkpoint (no projection heads, no text model)."""
    if not has_text:
        raise ValueError(
            f"{what} needs MERL's projection heads and text model, which the bare encoder "
            f"checkpoint {checkpoint_path} lacks: load the *_ckpt.pth file, or use "
            "output='encoder'.")


def _merl_names():
    return {n for n, spec in table().items()
            if spec.get("estimator") == "sklearn_ecg.foundation.merl:MERLEmbedder"}


def _lm_tensors(path, name):
    """The ``lm_model.*`` tensors of MERL checkpoint ``path``, without the prefix."""
    spec = entry(name)
    spec["checkpoint"]["ignore_prefixes"] = []
    state = _state_dict(read_torch_checkpoint(path, what=f"a checkpoint of {name!r}"), spec,
                        os.fspath(path), name)
    return {k[len("lm_model."):]: v for k, v in state.items() if k.startswith("lm_model.")}


def _make_index_buffers(bert):
    """Give a BERT built on the meta device its buffers that no state dict holds.

    They are index tensors: the positions 0, 1, … and the token types 0.
    """
    for name, buf in list(bert.named_buffers()):
        if not buf.is_meta:
            continue
        owner, _, attr = name.rpartition(".")
        if attr == "position_ids":
            value = torch.arange(buf.shape[-1], dtype=buf.dtype).expand(buf.shape)
        elif attr == "token_type_ids":
            value = torch.zeros(buf.shape, dtype=buf.dtype)
        else:
            raise RuntimeError(f"The text model's buffer {name} is not in its state dict and "
                               "cannot be rebuilt; this transformers release is not supported.")
        bert.get_submodule(owner).register_buffer(attr, value, persistent=False)


class MERLTextEncoder(TextEncoder):
    """The BERT of a MERL checkpoint (``lm_model.*``), frozen: its pooled output of MERL's tokens.

    MERL's text side before its projection, behind the package's text-encoder
    interface (:class:`~sklearn_ecg.text.TextEncoder`): texts are
    lowercased, tokenised to 256 tokens (truncated and padded), and embedded
    by the BERT's ``pooler_output``. The weights are those of the
    checkpoint; the configuration and tokenizer are read from
    ``text_model``. The model loads on the first ``encode`` and is cached per
    process; pickling keeps the specification only.

    Parameters
    ----------
    checkpoint : str or path-like
        A MERL ``*_ckpt.pth``.
    name : {"merl-resnet18", "merl-vit-tiny"}, default="merl-resnet18"
        The model the checkpoint is of.
    text_model : str or path-like, default="ncbi/MedCPT-Query-Encoder"
        Folder or Hugging Face name of the BERT's configuration and tokenizer.
    local_files_only : bool, default=True
        Read ``text_model`` from disk or the Hugging Face cache only.
    device : str or None, default=None
        Torch device; None: the caller's, else the CPU.
    """

    _parameter_constraints = {
        "checkpoint": [str, os.PathLike],
        "name": [str],
        "text_model": [str, os.PathLike],
        "local_files_only": ["boolean"],
        "device": [str, None],
    }

    def __init__(self, checkpoint, name="merl-resnet18", text_model=MEDCPT_QUERY_ENCODER,
                 local_files_only=True, device=None):
        self.checkpoint = checkpoint
        self.name = name
        self.text_model = text_model
        self.local_files_only = local_files_only
        self.device = device

    def _cache_key(self):
        # A checkpoint rewritten at the same path is another model.
        try:
            stat = os.stat(self.checkpoint)
            version = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            version = None
        return super()._cache_key() + (version,)

    def _load(self, device):
        try:
            import transformers
        except ImportError as exc:
            raise ImportError(
                "MERL's text side needs the package 'transformers': "
                'pip install "sklearn-ecg[text]".') from exc
        source = os.fspath(self.text_model)
        local_only = os.path.isdir(source) or bool(self.local_files_only)
        try:
            config = transformers.AutoConfig.from_pretrained(source, local_files_only=local_only)
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        except Exception as exc:
            hint = (" It is neither a local folder nor in the Hugging Face cache: download its "
                    f"configuration and tokenizer once (`hf download {source}`), or pass "
                    "local_files_only=False to let transformers download them."
                    if local_only and not os.path.isdir(source) else "")
            raise OSError(f"Could not read the text model's configuration and tokenizer from "
                          f"{source!r} ({type(exc).__name__}: {exc}).{hint}") from exc
        # Built without storage: the checkpoint's tensors become its weights.
        with torch.device("meta"):
            bert = transformers.BertModel(config, add_pooling_layer=True)
        path = os.fspath(self.checkpoint)
        state = _lm_tensors(path, self.name)
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
                    f"{path}: lm_model.{key} is not the range 0 to "
                    f"{config.max_position_embeddings - 1} that {source!r}'s configuration gives.")
            if key not in expected:
                del state[key]
        elif key in expected:
            state[key] = torch.arange(config.max_position_embeddings).expand(expected[key].shape)
        check_state_dict({k: tuple(v.shape) for k, v in expected.items()}, state, path,
                         f"the BERT configured by {source!r} (lm_model.*)")
        bert.load_state_dict(state, strict=True, assign=True)
        _make_index_buffers(bert)
        return tokenizer, bert.to(device).eval()

    def _encode_batch(self, model, texts):
        tokenizer, bert = model
        enc = tokenizer([t.lower() for t in texts], add_special_tokens=True, truncation=True,
                        max_length=256, padding="max_length", return_tensors="pt")
        return bert(input_ids=enc["input_ids"].to(bert.device),
                    attention_mask=enc["attention_mask"].to(bert.device)).pooler_output

    @property
    def dim(self):
        """Width of the BERT (loads the model if needed)."""
        if getattr(self, "_dim", None) is None:
            self._dim = int(self._get_model()[1].config.hidden_size)
        return self._dim


class MERLEmbedder(FoundationEmbedder):
    """A released MERL model (ResNet1d-18 or ViT-tiny): ECG embeddings, joint space and text side.

    ``fit`` loads the checkpoint (nothing is trained) and records MERL's
    input contract; ``transform`` min-max scales each record over all its
    leads, as MERL does, and embeds it, batch by batch under
    :func:`torch.inference_mode`. A loaded model is fitted
    (``check_is_fitted`` passes, ``FrozenEstimator`` keeps it);
    :func:`sklearn.base.clone` gives an unfitted copy that loads the same
    file when fitted, so the model works inside ``Pipeline``,
    ``GridSearchCV`` and ``cross_val_score``.

    Records must be MERL's input: 12 leads in MERL's order (MIMIC-IV-ECG's:
    aVF before aVL, unlike PTB-XL), 500 Hz, 5,000 samples.
    :meth:`input_pipeline` brings other records to it (selecting and
    ordering the leads by name, resampling, keeping the first 10 s as MERL
    does).

    :meth:`encode_ecg` and :meth:`encode_text` give L2-normalised
    joint-space embeddings, the interface of
    :class:`~sklearn_ecg.ZeroShotECGClassifier`: with ``template="{}"`` and
    :data:`MERL_PROMPTS` as ``class_descriptions`` its
    ``decision_function`` is MERL's zero-shot score (prompt lowercased, 256
    tokens, ``proj_t`` of BERT's pooled output and the ECG projection, both
    L2-normalised, raw cosine).

    Parameters
    ----------
    name : {"merl-resnet18", "merl-vit-tiny"}, default="merl-resnet18"
        The model.
    checkpoint : str or path-like, default=None
        MERL's ``*_ckpt.pth`` (the whole model: encoder, projections and the
        BERT) or ``*_encoder.pth`` (the ECG encoder alone: only
        ``output="encoder"``, no text side), a local file or a Hugging Face
        Hub id (``"owner/repo/file"``). Required.
    output : {"encoder", "projected", "joint"}, default="encoder"
        What ``transform`` returns: the encoder's embedding (ResNet: its last
        feature map averaged over time, 512-d, MERL's linear-probe features;
        ViT: 192-d), the ECG embedding in the joint ECG–text space (256-d:
        the ResNet's attention pooling, the ViT's ``proj_e``), or that
        embedding L2-normalised.
    text_model : str or path-like, default="ncbi/MedCPT-Query-Encoder"
        Folder or Hugging Face name of the BERT's configuration and
        tokenizer; the weights are the checkpoint's ``lm_model.*`` (MERL
        trained part of the BERT). Read by ``encode_text`` only.
    local_files_only : bool, default=True
        Read ``text_model`` from disk or the Hugging Face cache only; False
        lets ``transformers`` download it.
    lead_names : list of str or None, default=None
        None or MERL's leads in its order.
    preprocess : bool, default=True
        Min-max scale each record in ``transform``; False: the records are
        already scaled.
    device : str or torch.device, default="cpu"
        Where the networks run (``"auto"``: CUDA when available).
    batch_size : int, default=32
        Records (or texts) per batch.
    architecture : dict or None, default=None
        Only for checkpoints of a configuration other than the released
        one, e.g. ``{"resnet_blocks": [1, 1, 1, 1]}`` or ``{"vit": {"depth":
        2}}`` (:class:`sklearn_ecg.nn.merl.MERLNet`'s settings).

    Attributes
    ----------
    module_ : MERLNet
        The loaded ECG side and text projection, in eval mode.
    has_text_ : bool
        Whether the checkpoint holds the projections and the BERT (a
        ``*_ckpt.pth``).
    text_encoder_ : MERLTextEncoder or None
        The checkpoint's BERT behind the package's text-encoder interface
        (loaded on the first ``encode_text``); None for a bare encoder.
    checkpoint_path_ : str
        The file the weights were read from.
    input_contract_ : InputContract
        500 Hz, 5,000 samples, MERL's leads in its order, min-max scaling
        inside the model.
    preprocessing_ : sklearn.pipeline.Pipeline
        :class:`~sklearn_ecg.preprocessing.MinMaxScale`.
    n_leads_ : int
        12.
    n_timepoints_ : int
        5000.
    net_ : skorch.NeuralNet
        The net around the network (``net_.module_.network`` is
        ``module_``); it trains nothing.
    history_ : skorch.History
        Empty: loading trains no epoch.
    embedding_dim_ : int
        Features of ``transform``'s output.
    n_features_in_ : int
        12.
    logit_scale_ : float
        ``1/τ`` of MERL's training (τ = 0.07), the scale of
        :class:`~sklearn_ecg.ZeroShotECGClassifier`'s ``predict_proba``.

    See Also
    --------
    sklearn_ecg.load_foundation_model : One-line loading.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch
    >>> from sklearn_ecg.foundation import MERLEmbedder
    >>> from sklearn_ecg.nn.merl import MERLNet
    >>> # A small random stand-in for MERL's ViT-tiny_encoder.pth (one block instead of 12).
    >>> net = MERLNet("vit_tiny", vit={"depth": 1}, heads=False)
    >>> path = os.path.join(tempfile.mkdtemp(), "vit_tiny_encoder.pth")
    >>> torch.save(net.ecg_encoder.state_dict(), path)
    >>> merl = MERLEmbedder("merl-vit-tiny", path, architecture={"vit": {"depth": 1}}).fit()
    >>> X = np.random.default_rng(0).normal(size=(2, 12, 5000)).astype("float32")
    >>> merl.transform(X).shape
    (2, 192)
    """

    _parameter_constraints: dict = {
        **FoundationEmbedder._parameter_constraints,
        "output": [StrOptions({"encoder", "projected", "joint"})],
        "text_model": [str, os.PathLike],
        "local_files_only": ["boolean"],
        "architecture": [dict, None],
    }

    def __init__(self, name="merl-resnet18", checkpoint=None, *, output="encoder",
                 text_model=MEDCPT_QUERY_ENCODER, local_files_only=True, lead_names=None,
                 preprocess=True, device="cpu", batch_size=32, architecture=None):
        super().__init__(name, checkpoint, lead_names=lead_names, preprocess=preprocess,
                         device=device, batch_size=batch_size)
        self.output = output
        self.text_model = text_model
        self.local_files_only = local_files_only
        self.architecture = architecture

    # -- loading ---------------------------------------------------------------

    def _config(self, spec, heads):
        arch = dict(self.architecture or {})
        unknown = sorted(set(arch) - {"resnet_blocks", "vit"})
        if unknown:
            raise ValueError(f"architecture may set 'resnet_blocks' or 'vit'; got {unknown}.")
        return {**spec["config"], **arch, "heads": heads}

    def _load_network(self, path):
        spec = entry(self.name)
        if self.name not in _merl_names():
            raise ValueError(
                f"{type(self).__name__} loads the MERL models ({', '.join(sorted(_merl_names()))}); "
                f"{self.name!r} is another model: use sklearn_ecg.load_foundation_model.")
        source = os.fspath(path)
        what = f"{self.name!r} (MERL)"
        # Mapped, not read: the text model's tensors (most of a *_ckpt.pth) are
        # read, and kept, only by encode_text; the ECG side's are copied.
        obj = read_torch_checkpoint(path, what=f"a checkpoint of {what}", mmap=True)
        spec["checkpoint"]["ignore_prefixes"] = []
        state = _state_dict(obj, spec, source, what)
        del obj
        has_text_model = any(k.startswith("lm_model.") for k in state)
        state = {k: v.clone() for k, v in state.items() if not k.startswith("lm_model.")}
        # MERL writes two formats: ECGCLIP.state_dict() (*_ckpt.pth) and
        # ecg_encoder.state_dict() (*_encoder.pth).
        heads = any(k.startswith("ecg_encoder.") for k in state)
        if not heads:
            state = {f"ecg_encoder.{k}": v for k, v in state.items()}
        config = self._config(spec, heads)
        try:
            module = load_state_dict_once(lambda: MERLNet(**config), state, source, what)
        except CheckpointError as exc:
            others = _matching_entries(self.name, state) if heads else []
            if others:
                raise CheckpointError(
                    f"{exc} It is a checkpoint of {' or '.join(repr(o) for o in others)}: pass "
                    f"name={others[0]!r}.") from None
            raise
        if heads and not has_text_model:
            raise CheckpointError(
                f"{source}: has MERL's ECG encoder and heads but no lm_model.* tensors (the text "
                "model), unlike MERL's *_ckpt.pth files.")
        return module.eval(), config

    _module_class = FoundationNetwork

    def _model_attributes(self, module, checkpoint_path):
        attributes = super()._model_attributes(module, checkpoint_path)
        network = attributes["module_"]
        has_text = bool(network.has_heads)
        if self.output != "encoder":
            _require_text(f"output={self.output!r}", has_text, checkpoint_path)
        return {
            **attributes,
            # The network's method that gives the output (transform, differentiable_forward).
            "embedding_method_": _OUTPUT_METHODS[self.output],
            "has_text_": has_text,
            "text_encoder_": (MERLTextEncoder(checkpoint_path, self.name, self.text_model, self.local_files_only)
                              if has_text else None),
            "embedding_dim_": int(network.projection_dim if self.output != "encoder"
                                  else network.out_features),
        }

    # -- ECG -------------------------------------------------------------------

    def _records(self, X):
        X, _ = check_ecg_array(self, X, reset=True, min_records=1, cast_lazily=True)
        self._check_leads(X, self.n_leads_)
        length = self.input_contract_.n_timepoints
        if X.shape[-1] != length:
            raise ValueError(
                f"X has records of {X.shape[-1]} samples but {self.name!r} reads {length} "
                f"({length / self.input_contract_.fs:g} s at {self.input_contract_.fs:g} Hz): its "
                "networks have one position per patch of that record. Bring the records to it "
                "with model.input_pipeline(fs=..., lead_names=...), which resamples them and keeps "
                "the first 10 s.")
        check_input(self, X)
        return X

    def transform(self, X):
        """Embed the records (``output`` says which embedding).

        Parameters
        ----------
        X : array-like of shape (n_records, 12, 5000)
            Records in MERL's leads and order, 500 Hz.

        Returns
        -------
        X_new : ndarray of shape (n_records, n_features_out)
            ``embedding_dim_`` features.
            The embeddings, float32.
        """
        check_is_fitted(self, "module_")
        method = self.embedding_method_
        return self._run(self._records(X), lambda module, x: getattr(module, method)(x))

    def _require_text(self, what):
        _require_text(what, self.has_text_, self.checkpoint_path_)

    def encode_ecg(self, X):
        """L2-normalised ECG embeddings in the joint ECG–text space (256-d).

        Parameters
        ----------
        X : array-like of shape (n_records, 12, 5000)

        Returns
        -------
        embeddings : ndarray of shape (n_records, 256), float32
        """
        check_is_fitted(self, "module_")
        self._require_text("encode_ecg")
        return self._run(self._records(X), lambda module, x: module.joint(x))

    # -- text ------------------------------------------------------------------

    def encode_text(self, texts):
        """L2-normalised text embeddings in the joint ECG–text space, by MERL's procedure.

        Each text is lowercased, tokenised to 256 tokens (truncated and
        padded), embedded by the checkpoint's BERT (``pooler_output``,
        :class:`MERLTextEncoder`) and projected by ``proj_t``.

        Parameters
        ----------
        texts : list of str

        Returns
        -------
        embeddings : ndarray of shape (n_texts, 256), float32
        """
        check_is_fitted(self, "module_")
        self._require_text("encode_text")
        device = next(self.module_.parameters()).device
        pooled = self.text_encoder_.encode(texts, batch_size=self.batch_size, device=str(device))
        with torch.inference_mode():
            out = self.module_.project_text(torch.from_numpy(pooled).to(device))
            return torch.nn.functional.normalize(out, dim=-1).float().cpu().numpy()

    @property
    def logit_scale_(self):
        """``1/τ`` with MERL's training temperature τ = 0.07."""
        check_is_fitted(self, "module_")
        return 1.0 / MERL_TEMPERATURE

    def get_feature_names_out(self, input_features=None):
        """``merl_resnet18_0``, … (``merl_resnet18_joint0``, … for the joint-space outputs).

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        names = super().get_feature_names_out(input_features)
        if self.output == "encoder":
            return names
        prefix = self.name.replace("-", "_")
        return np.asarray([f"{prefix}_joint{k}" for k in range(self.embedding_dim_)], dtype=object)


