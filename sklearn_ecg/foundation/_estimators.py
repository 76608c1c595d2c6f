"""Foundation models as scikit-learn estimators: an embedder and a statement classifier."""

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._base import run_batches
from .._lead_names import canonical_lead, lead_key
from .._param_validation import TorchDevice
from .._runtime import resolve_device
from .._validation import check_ecg_array
from ..input_contract import InputContractMixin, check_input
from ..preprocessing import STANDARD_LEADS
from ._forward import ForwardModule, torch_preprocessing
from ._loading import load_network, resolve_checkpoint
from ._steps import RESAMPLERS
from ._table import classes_of, entry, estimator_class, input_contract, preprocessing_pipeline

__all__ = ["FoundationClassifier", "FoundationEmbedder", "load_foundation_model"]


class _FoundationModel(InputContractMixin, BaseEstimator):
    """What the embedder and the classifier share: loading in ``fit``, the contract, batches."""

    _parameter_constraints: dict = {
        "name": [str],
        "checkpoint": [str, os.PathLike, None],
        "lead_names": ["array-like", str, None],
        "preprocess": ["boolean"],
        "device": [TorchDevice()],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, name="ecgfounder-12lead", checkpoint=None, *, lead_names=None,
                 preprocess=True, device="cpu", batch_size=32):
        self.name = name
        self.checkpoint = checkpoint
        self.lead_names = lead_names
        self.preprocess = preprocess
        self.device = device
        self.batch_size = batch_size

    # -- fit: loading -----------------------------------------------------

    def _model_leads(self, spec):
        """The leads the model reads, in its order, from the table and ``lead_names``."""
        inp = spec["input"]
        leads = tuple(inp["lead_names"])
        if self.lead_names is None:
            return leads
        given = [self.lead_names] if isinstance(self.lead_names, str) else list(self.lead_names)
        if not all(isinstance(n, str) for n in given):
            raise ValueError(f"lead_names must be lead names (strings); got {self.lead_names!r}.")
        if inp.get("any_single_lead"):
            known = {lead_key(n) for n in STANDARD_LEADS}
            keys = [lead_key(n) for n in given]
            if not given or not set(keys) <= known or len(set(keys)) != len(keys):
                raise ValueError(
                    f"{self.name!r} reads one lead at a time: pass lead_names as one or more "
                    f"distinct leads of {', '.join(STANDARD_LEADS)}; got {self.lead_names!r}.")
            if len(given) > 1 and self._single_lead_only:
                raise ValueError(
                    f"{type(self).__name__} of {self.name!r} classifies one lead: pass one lead "
                    f"name; got {self.lead_names!r}.")
            return tuple(canonical_lead(n) for n in given)
        if [lead_key(n) for n in given] != [lead_key(n) for n in leads]:
            raise ValueError(
                f"{self.name!r} reads the leads {', '.join(leads)} in this order; lead_names "
                f"{given!r} are not these. Leave lead_names=None and bring records of other "
                "leads or order to the model with model.input_pipeline(fs=..., lead_names=...).")
        return leads

    def fit(self, X=None, y=None):
        """Load the checkpoint (no training) and record the model's input contract.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints), default=None
            Optional: only checked (its lead count against the model's).
        y : ignored

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        spec = entry(self.name)
        leads = self._model_leads(spec)
        device = resolve_device(self.device)
        seen = None
        if X is not None:
            X, seen = check_ecg_array(self, X, reset=True, min_records=1, cast_lazily=True)
            self._check_leads(X, len(leads))
        path = resolve_checkpoint(self.checkpoint, self.name, spec)
        module = self._load_network(path).to(device)
        self.module_ = module
        self.checkpoint_path_ = os.fspath(path)
        self.input_contract_ = input_contract(spec, leads)
        self.preprocessing_ = preprocessing_pipeline(spec)
        self.n_leads_ = len(leads)
        self.per_lead_ = bool(spec["input"].get("any_single_lead")) and len(leads) > 1
        self.embedding_dim_ = int(spec["embedding"]["dim"])
        self.embedding_method_ = spec["embedding"].get("method", "features")
        self.device_ = device
        for attr in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(attr, None)
        if seen is not None:  # as scikit-learn: only a fit that saw X records its width
            seen.assign(self)
        self._set_head(spec)
        return self

    def _load_network(self, path):
        """The network with the weights of the local file ``path``."""
        return load_network(self.name, path)

    # Whether lead_names may name several leads of a single-lead model.
    _single_lead_only = False

    def _set_head(self, spec):
        pass

    def input_pipeline(self, *, fs, lead_names=None, units="mV", crop="start"):
        """Steps that bring records of another rate, lead order, unit or length to this model.

        Parameters and result as :func:`sklearn_ecg.input_contract.input_pipeline`.
        For a model whose authors resample otherwise (the table's
        ``input.resample``: ``"fft"``, ``scipy.signal.resample``; ``"linear"``,
        linear interpolation), the resampling step is theirs instead of the
        package's polyphase :class:`~sklearn_ecg.preprocessing.Resample`.
        """
        pipeline = super().input_pipeline(fs=fs, lead_names=lead_names, units=units, crop=crop)
        resampler = RESAMPLERS.get(entry(self.name)["input"].get("resample"))
        if resampler is not None:
            target = self.input_contract_.fs
            pipeline.steps = [(n, resampler(fs=fs, target_fs=target) if n == "resample" else s)
                              for n, s in pipeline.steps]
        return pipeline

    # -- running ----------------------------------------------------------

    def _check_leads(self, X, n_leads):
        have = 1 if X.ndim == 2 else X.shape[1]
        if have != n_leads:
            raise ValueError(
                f"X has {have} lead(s) but {self.name!r} reads {n_leads}; bring the records to the "
                "model with model.input_pipeline(fs=..., lead_names=...) (it selects and orders "
                "the leads by name).")

    def _records(self, X):
        if hasattr(self, "n_features_in_"):
            X = check_ecg_array(self, X, reset=False, min_records=1, cast_lazily=True)
        else:
            X, _ = check_ecg_array(self, X, reset=True, min_records=1, cast_lazily=True)
        self._check_leads(X, self.n_leads_)
        if X.ndim == 2:
            X = X[:, np.newaxis, :]
        check_input(self, X)
        return X

    def _run(self, X, method):
        """``method(module, batch)`` over records X after the model's preprocessing, batched.

        A single-lead network given several leads reads each lead as a
        record of its own; their outputs are concatenated, lead after lead.
        """
        steps = [step for _, step in self.preprocessing_.steps if step != "passthrough"]
        device = self.device_
        per_lead = self.per_lead_

        def batch_fn(module, x):
            n_records = len(x)
            if per_lead:
                x = x.reshape(n_records * x.shape[1], 1, x.shape[2])
            if self.preprocess:
                x = x.cpu().numpy()
                for step in steps:
                    x = step.transform(x)
                x = torch.from_numpy(x).to(device)
            return method(module, x).reshape(n_records, -1)

        return run_batches(self.module_, X, self.batch_size, device, batch_fn)

    _outputs = ("transform",)

    def differentiable_forward(self, output=None):
        """The model as one torch function of the records, with gradients (for attributions).

        Parameters
        ----------
        output : str or None, default=None
            ``"transform"`` (embedder: the embedding), ``"decision"`` or
            ``"proba"`` (classifier: logits or probabilities); None: the
            first of these the estimator has.

        Returns
        -------
        forward : torch.nn.Module
            Maps float32 records ``(B, n_leads_, T)`` in the model's leads,
            rate and mV, on the model's device, to the output: the model's
            own preprocessing (``preprocessing_``, as torch operations,
            unless ``preprocess=False``), then its network. The network is
            the fitted one (``module_``), in eval mode.
        """
        check_is_fitted(self, "module_")
        output = self._outputs[0] if output is None else output
        if output not in self._outputs:
            raise ValueError(f"output must be one of {', '.join(self._outputs)}; got {output!r}.")
        preprocessing = (torch_preprocessing(self.preprocessing_) if self.preprocess
                         else torch.nn.Identity())
        method = self.embedding_method_ if output == "transform" else "forward"
        return ForwardModule(
            self.module_.eval(), preprocessing, method=method, output=output,
            n_leads=self.n_leads_, per_lead=self.per_lead_ and output == "transform",
            classes=getattr(self, "classes_", None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags


_PARAMETERS_DOC = """\
    name : str, default="ecgfounder-12lead"
        The model, a name of :func:`foundation_models`.
    checkpoint : str or path-like, default=None
        The model's weights: a local file, or a Hugging Face Hub repository
        id (``"owner/repo"``, the file named in the table; or
        ``"owner/repo/file"``), downloaded in ``fit`` with ``huggingface_hub``.
        Required.
    lead_names : str, list of str or None, default=None
        For a single-lead model, the lead it reads (any standard lead; None:
        the lead it was trained on); the embedder also takes several leads,
        each read by the same network, their embeddings concatenated lead
        after lead. For a multi-lead model, None or its own leads in its
        order.
    preprocess : bool, default=True
        Apply the model's own preprocessing (``preprocessing_``) to every
        record before the network; False: the records are already
        preprocessed that way.
    device : str or torch.device, default="cpu"
        Where the network runs (``"auto"``: CUDA when available).
    batch_size : int, default=32
        Records per batch."""

_ATTRIBUTES_DOC = """\
    module_ : torch.nn.Module
        The network with the checkpoint's weights, in eval mode.
    checkpoint_path_ : str
        The file the weights were read from.
    input_contract_ : InputContract
        Rate, length, leads (in the model's order) and units of the records
        the model reads; ``input_pipeline(fs=..., lead_names=...)`` brings
        other records to it.
    preprocessing_ : sklearn.pipeline.Pipeline
        The model's own preprocessing (stateless steps of
        :mod:`sklearn_ecg.preprocessing`), applied in ``transform``.
    n_leads_ : int
        Leads the model reads.
    per_lead_ : bool
        Whether a single-lead network reads several leads one by one.
    embedding_dim_ : int
        Features of the embedding.
    embedding_method_ : str
        The network's method that gives the embedding (``"features"``).
    n_features_in_ : int
        Only when ``fit`` was given X: its lead count (its record length for
        2-D single-lead records), which ``transform`` then checks."""


class FoundationEmbedder(TransformerMixin, _FoundationModel):
    __doc__ = f"""Embed ECG records with a published foundation model loaded from its checkpoint.

    ``fit`` loads the weights (nothing is trained) and records the model's
    input contract, so a fitted embedder can be cloned and refitted, and
    the model name and checkpoint searched over like any parameter;
    ``transform`` applies the model's own preprocessing and returns its
    embedding, batch by batch under :func:`torch.inference_mode`.

    Parameters
    ----------
{_PARAMETERS_DOC}

    Attributes
    ----------
{_ATTRIBUTES_DOC}

    See Also
    --------
    FoundationClassifier : The model's own classification head.
    load_foundation_model : One-line loading.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.foundation import FoundationEmbedder
    >>> emb = FoundationEmbedder("ecgfounder-12lead", "12_lead_ECGFounder.pth")  # doctest: +SKIP
    >>> emb.fit().transform(records_500hz_in_mV).shape  # doctest: +SKIP
    (n_records, 1024)
    """

    def transform(self, X):
        """Embed the records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records in the model's leads and order, at its rate, in mV.

        Returns
        -------
        X_new : ndarray of shape (n_records, n_features_out)
            ``embedding_dim_`` features, times ``n_leads_`` when ``per_lead_``.
            The embeddings, float32.
        """
        check_is_fitted(self, "module_")
        method = self.embedding_method_
        return self._run(self._records(X), lambda module, x: getattr(module, method)(x))

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding features, ``"<model>_<k>"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "module_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = self.name.replace("-", "_")
        if self.per_lead_:
            return np.asarray([f"{prefix}_{lead}_{k}" for lead in self.input_contract_.lead_names
                               for k in range(self.embedding_dim_)], dtype=object)
        return np.asarray([f"{prefix}_{k}" for k in range(self.embedding_dim_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class FoundationClassifier(ClassifierMixin, _FoundationModel):
    __doc__ = f"""A foundation model's own multi-label classification head.

    ``fit`` loads the weights (nothing is trained); ``predict_proba`` gives
    one probability per statement (a sigmoid per output: the statements are
    not exclusive), ``classes_`` the statement names in the head's order.

    Parameters
    ----------
{_PARAMETERS_DOC}
    threshold : float, default=0.5
        Probability at and above which ``predict`` reports a statement.

    Attributes
    ----------
{_ATTRIBUTES_DOC}
    classes_ : ndarray of str
        The statement names, in the order of the head's outputs.

    Examples
    --------
    >>> from sklearn_ecg.foundation import FoundationClassifier
    >>> clf = FoundationClassifier("ecgfounder-12lead", "12_lead_ECGFounder.pth")  # doctest: +SKIP
    >>> clf.fit().predict_proba(records_500hz_in_mV).shape  # doctest: +SKIP
    (n_records, 150)
    """

    _parameter_constraints: dict = {
        **_FoundationModel._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="both")],
    }
    _single_lead_only = True
    _outputs = ("proba", "decision")

    def __init__(self, name="ecgfounder-12lead", checkpoint=None, *, lead_names=None,
                 preprocess=True, device="cpu", batch_size=32, threshold=0.5):
        super().__init__(name, checkpoint, lead_names=lead_names, preprocess=preprocess,
                         device=device, batch_size=batch_size)
        self.threshold = threshold

    def _set_head(self, spec):
        classes = classes_of(spec)
        if classes is None:
            raise ValueError(
                f"{self.name!r} has no classification head; use FoundationEmbedder and train a "
                "classifier on its embeddings.")
        self.classes_ = np.asarray(classes, dtype=object)

    def decision_function(self, X):
        """The head's logits, one per statement.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records in the model's leads and order, at its rate, in mV.

        Returns
        -------
        logits : ndarray of shape (n_records, n_classes)
        """
        check_is_fitted(self, "module_")
        return self._run(self._records(X), lambda module, x: module(x))

    def predict_proba(self, X):
        """Probability of each statement (sigmoid of its logit; they need not sum to 1).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
        """
        logits = self.decision_function(X)
        return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)

    def predict(self, X):
        """The statements at or above ``threshold``, as an indicator matrix.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        y : ndarray of int of shape (n_records, n_classes)
        """
        return (self.predict_proba(X) >= self.threshold).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags


def load_foundation_model(name, checkpoint, *, kind="embedder", **params):
    """A fitted estimator of a published foundation model, from its checkpoint.

    Parameters
    ----------
    name : str
        The model, a name of :func:`foundation_models` (e.g.
        ``"ecgfounder-12lead"``, ``"ecgfounder-1lead"``).
    checkpoint : str or path-like
        A local file, or a Hugging Face Hub repository id (``"owner/repo"``
        or ``"owner/repo/file"``, downloaded with ``huggingface_hub``).
    kind : {"embedder", "classifier"}, default="embedder"
        :class:`FoundationEmbedder` (``transform`` gives embeddings) or
        :class:`FoundationClassifier` (the model's own head).
    **params
        Further parameters of the estimator (``lead_names``, ``device``,
        ``batch_size``, ...).

    Returns
    -------
    estimator : FoundationEmbedder or FoundationClassifier
        Fitted.
    """
    classes = {"embedder": FoundationEmbedder, "classifier": FoundationClassifier}
    if kind not in classes:
        raise ValueError(f"kind must be 'embedder' or 'classifier'; got {kind!r}.")
    spec = entry(name)
    if "estimator" in spec:
        # A model with an estimator of its own (MERL: joint space and text side).
        if kind != "embedder":
            raise ValueError(f"{name!r} has no classification head; use kind='embedder'.")
        return estimator_class(spec)(name, checkpoint, **params).fit()
    return classes[kind](name, checkpoint, **params).fit()

