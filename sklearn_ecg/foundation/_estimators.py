"""Foundation models as scikit-learn estimators: an embedder and a statement classifier."""

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._base import FitPlan, LoadOnlyNet, NetEstimator, run_batches
from .._encoder import ARCHITECTURES, EncoderContract
from .._persistence import PretrainedMixin, bad_file, to_json
from .._lead_names import canonical_lead, lead_key
from .._param_validation import TorchDevice
from .._runtime import resolve_device
from .._validation import SeenInput, check_ecg_array
from ..input_contract import InputContractMixin, check_input
from ..nn.forward import ForwardModule
from ..preprocessing import STANDARD_LEADS
from ._architectures import encoder_settings
from ._forward import FoundationEncoder, FoundationNetwork, torch_preprocessing
from ._loading import load_network, resolve_checkpoint
from ._steps import RESAMPLERS
from ._table import classes_of, entry, estimator_class, input_contract, preprocessing_pipeline, table

__all__ = ["FoundationClassifier", "FoundationEmbedder", "load_foundation_model"]


class _FoundationModel(NetEstimator, InputContractMixin, PretrainedMixin, BaseEstimator):
    """What the embedder and the classifier share: loading through the fit template, the contract, batches.

    ``fit`` is the package's one fit template (``NetEstimator._fit_net``)
    for a model that comes trained: ``_module_spec`` reads the checkpoint
    into the network, and no epoch runs. The module the net keeps is a
    :class:`FoundationNetwork` (the table's name and the network's
    settings), which is what ``save_pretrained`` describes.
    """

    _parameter_constraints: dict = {
        "name": [str],
        "checkpoint": [str, os.PathLike, None],
        "lead_names": ["array-like", str, None],
        "preprocess": ["boolean"],
        "device": [TorchDevice()],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }
    _trains_in_fit = False
    _net_class = LoadOnlyNet
    # The net's training settings, which the shared machinery reads: a model that only
    # loads is never trained by its own fit, and its construction draws no random number.
    optimizer, lr, max_epochs, amp, verbose, random_state = torch.optim.Adam, 0.0, 0, False, 0, 0

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
        return self._fit_net(X, y)

    # -- the hooks of the fit template (NetEstimator._fit_net) -------------

    def _check_params(self):
        self._validate_params()
        self._model_leads(entry(self.name))

    def _validate_for_fit(self, X, continuing):
        if X is None:
            return None, SeenInput(None)
        X, seen = check_ecg_array(self, X, reset=True, min_records=1, cast_lazily=True)
        self._check_leads(X, len(self._model_leads(entry(self.name))))
        return X, seen

    def _fit_plan(self, X, y=None, *, continuing):
        spec = entry(self.name)
        leads = self._model_leads(spec)
        path = resolve_checkpoint(self.checkpoint, self.name, spec)
        return FitPlan(X, shape=(len(leads), spec["input"]["n_timepoints"]),
                       context={"path": os.fspath(path)}, fitted={"checkpoint_path_": os.fspath(path)})

    def _fit_contract(self, plan):
        spec = entry(self.name)
        return input_contract(spec, self._model_leads(spec))

    def _fit_datasets(self, plan, seeds):
        return None, None

    def _callbacks(self, has_validation):
        return []

    def _module_spec(self, n_leads, n_timepoints, *, path):
        network, config = self._load_network(path)
        return FoundationNetwork(self.name, config, network), None

    def _module_config(self):
        module = self.net_.module_
        return {"class": type(module).__name__, "kwargs": to_json({"name": module.name, "config": module.config})}

    def _fitted_attributes(self, net, plan):
        return {**plan.fitted, **self._model_attributes(net.module_, plan.fitted["checkpoint_path_"])}

    def _model_attributes(self, module, checkpoint_path):
        """What the table and the parameters say of the model loaded from ``checkpoint_path``."""
        spec = entry(self.name)
        leads = self._model_leads(spec)
        return {
            "module_": module.network.eval(),
            "preprocessing_": preprocessing_pipeline(spec),
            "per_lead_": bool(spec["input"].get("any_single_lead")) and len(leads) > 1,
            "embedding_dim_": int(spec["embedding"]["dim"]),
            "embedding_method_": spec["embedding"].get("method", "features"),
            "device_": next(module.parameters()).device,
            **self._head_attributes(spec),
        }

    def _load_network(self, path):
        """The network with the weights of the local file ``path``, and its settings."""
        return load_network(self.name, path), dict(entry(self.name)["config"])

    # Whether lead_names may name several leads of a single-lead model.
    _single_lead_only = False

    def _head_attributes(self, spec):
        return {}

    # -- saved folders ------------------------------------------------------

    _public_module = "sklearn_ecg.foundation"

    def _saved_param(self, key, value):
        if key == "checkpoint" and isinstance(value, os.PathLike):
            return os.fspath(value)
        return super()._saved_param(key, value)

    def _get_fitted_state(self):
        sections, module = super()._get_fitted_state()
        sections["fitted"]["checkpoint_path_"] = self.checkpoint_path_
        # Written even when fit saw no records, so that the folder says so.
        sections["fitted"].setdefault("n_features_in_", None)
        return sections, module

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        source = config.get("fitted", {}).get("checkpoint_path_")
        if not isinstance(source, str):
            raise bad_file(path, "has no fitted attribute 'checkpoint_path_' (a string).")
        name = config["params"].get("name")
        kwargs = config["module"]["kwargs"]
        if name not in table() or kwargs.get("name") != name or not isinstance(kwargs.get("config"), dict):
            raise bad_file(path, f"describes the network {kwargs!r}, not one of the foundation model "
                                 f"{name!r} of this release.")
        return {**fitted, "checkpoint_path_": source}

    def _net_from_spec(self, module, module_kwargs, device, n_records):
        return self._build_net(module(**module_kwargs), None, device=device, n_records=n_records,
                               callbacks=[])

    def _set_fitted_state(self, fitted, net):
        spec = entry(self.name)
        if fitted.get("n_features_in_") is None:
            fitted = {k: v for k, v in fitted.items() if k != "n_features_in_"}
        self._set_fitted(net, input_contract_=input_contract(spec, self._model_leads(spec)), **fitted,
                         **self._model_attributes(net.module_, fitted["checkpoint_path_"]))

    def _model_card_notes(self):
        spec = entry(self.name)
        return [f"- model: {self.name} ({spec['reference']})",
                f"- weights from: {spec['weights']}",
                f"- licence of the code: {spec['licence']['code']}",
                f"- licence of the weights: {spec['licence']['weights']}"]

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

    def _run(self, X, method, per_lead=None):
        """``method(module, batch)`` over records X after the model's preprocessing, batched.

        A single-lead network given several leads (``per_lead``, default
        ``per_lead_``) reads each lead as a record of its own; their
        outputs are concatenated, lead after lead.
        """
        steps = [step for _, step in self.preprocessing_.steps if step != "passthrough"]
        device = self.device_
        per_lead = self.per_lead_ if per_lead is None else per_lead

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
        forward : ForwardModule
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
        if output == "transform":
            encoder = self._encoder(self.embedding_method_, self.embedding_dim_)
        else:
            encoder = self._encoder("forward", len(self.classes_))
        per_lead = self.per_lead_ and output == "transform"

        def function(x):
            n_records = x.shape[0]
            if per_lead:  # each lead a record of its own, their outputs side by side
                x = x.reshape(n_records * x.shape[1], 1, x.shape[2])
            out = encoder(x).reshape(n_records, -1)
            return torch.sigmoid(out) if output == "proba" else out

        return ForwardModule(function, [encoder], n_leads=self.n_leads_, min_length=1,
                             classes=getattr(self, "classes_", None), output=output)

    def _encoder(self, method, out_features):
        """The model's preprocessing in torch (none with ``preprocess=False``), then ``module_``'s ``method``.

        Raises ``ValueError`` for a preprocessing step without a torch counterpart.
        """
        preprocessing = (torch_preprocessing(self.preprocessing_) if self.preprocess
                         else torch.nn.Identity())
        return FoundationEncoder(self.module_.eval(), preprocessing, method, out_features)

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
    n_timepoints_ : int or None
        Samples per record the model reads (None: any length).
    net_ : skorch.NeuralNet
        The net around the network (``net_.module_.network`` is ``module_``),
        the same as for the package's own models; it trains nothing.
    history_ : skorch.History
        Empty: loading trains no epoch.
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

    _module_class = FoundationNetwork

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

    @property
    def encoder_contract_(self):
        """The loaded network and how to feed it (an ``EncoderContract``), for fine-tuning.

        What :class:`~sklearn_ecg.ECGClassifier` (fine-tuning a copy of the
        network) and :class:`~sklearn_ecg.LeadwiseEmbedder` (a single-lead
        model) read. The encoder is the model's preprocessing in torch
        followed by its network, so that it takes records in mV.
        """
        check_is_fitted(self, "module_")
        if not self.preprocess:
            raise ValueError(
                f"{type(self).__name__}(preprocess=False) reads records already preprocessed, but a "
                "model built on it reads records in mV and applies the model's preprocessing "
                "itself: use preprocess=True.")
        method = self.embedding_method_
        try:
            encoder = self._encoder(method, self.embedding_dim_)
        except ValueError as exc:
            raise ValueError(
                f"{self.name!r} cannot be fine-tuned yet: {exc} Train any scikit-learn "
                "classifier on its embeddings (transform) instead.") from None
        arch = ARCHITECTURES[self.name]
        settings = encoder_settings(self.name, to_json(self.net_.module_.config), method, self.embedding_dim_)
        return EncoderContract(
            encoder=encoder,
            per_lead=arch.per_lead, n_leads=int(self.n_leads_), min_length=arch.min_length,
            standardize=None, architecture=self.name, width=None, head=None,
            batch_embedder=lambda X: self._run(X, lambda module, x: getattr(module, method)(x),
                                               per_lead=arch.per_lead),
            settings=settings)

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

    _module_class = FoundationNetwork
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

    def _head_attributes(self, spec):
        classes = classes_of(spec)
        if classes is None:
            raise ValueError(
                f"{self.name!r} has no classification head; use FoundationEmbedder and train a "
                "classifier on its embeddings.")
        return {"classes_": np.asarray(classes, dtype=object)}

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        fitted = super()._check_fitted_state(config, fitted, path)
        if classes_of(entry(config["params"]["name"])) is None:
            raise bad_file(path, f"describes a {cls.__name__} of {config['params']['name']!r}, "
                                 "a model without a classification head.")
        return fitted

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

