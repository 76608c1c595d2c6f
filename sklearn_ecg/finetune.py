"""Supervised ECG classification by a deep encoder: fine-tuned after pretraining, or from scratch."""

import contextlib
import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import Callback
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_consistent_length, check_is_fitted
from torch import nn
from torch.nn import functional as F

from ._encoder import ARCHITECTURES, fitted_pretrainer, width_of_format_1
from ._persistence import NOT_SAVED, PretrainedMixin, bad_file, check_classes, to_json
from ._base import (NET_PARAMETER_CONSTRAINTS, FitPlan, NetEstimator, PretrainingNet, SharesFittedPretrainerMixin, batch_as_is,
                    RecordDataset, run_batches)
from ._param_validation import CustomConstraint, StrictInterval
from ._validation import POOLING_LENGTH_REASON, check_ecg_array, check_targets, fitted_lead_names
from .input_contract import InputContractMixin, check_input
from .nn.forward import ForwardModule, check_output, decision_from_logits, proba_from_logits
from .nn.scaling import standardize as _standardize

# The shortest records any encoder accepts; the architecture's own bound applies once known.
_MIN_LENGTH = min(ARCHITECTURES[name].min_length for name in ("lcd", "mets"))


class _Architecture(CustomConstraint):
    """``"auto"`` or a name of :data:`ARCHITECTURES`, read when checked (the foundation models add theirs)."""

    def is_satisfied_by(self, val):
        return isinstance(val, str) and (val == "auto" or val in ARCHITECTURES)

    def __str__(self):
        return f"a str among {sorted(['auto', *ARCHITECTURES])}"


class ECGClassifierModule(nn.Module):
    """Encoder(s) and a linear head, computing their own supervised loss.

    Parameters
    ----------
    encoders : torch.nn.ModuleList
        One encoder for all leads (METS's ResNet1d over all leads, or one
        single-lead encoder shared by every lead), or one single-lead
        encoder per lead (LCD's multi-branch network).
    n_leads : int
        Leads per record.
    n_outputs : int
        Logits: one per class.
    per_lead : bool
        Whether the encoders take one lead at a time (LCD) or the whole
        record (METS).
    multilabel : bool
        Binary cross-entropy per class (multi-label indicator targets) instead
        of the softmax cross-entropy over classes.
    standardize : {"record", "lead"} or None
        z-scoring of every record before the encoders, as in the pretrainer.
    class_weight : tensor or None
        Softmax: the weight of each class; multi-label: the weight of the
        positives of each class (``pos_weight``).
    """

    def __init__(self, encoders, n_leads, n_outputs, *, per_lead, multilabel, standardize=None,
                 class_weight=None):
        super().__init__()
        self.encoders = encoders
        self.per_lead = per_lead
        self.multilabel = multilabel
        self.standardize = standardize
        self.n_leads = n_leads
        width = encoders[0].out_features * (n_leads if per_lead else 1)
        self.head = nn.Linear(width, n_outputs)
        self.encoder_frozen = False
        # Not persistent: the weights are a setting of one fit, not of the model.
        self.register_buffer("class_weight", class_weight, persistent=False)

    def train(self, mode=True):
        super().train(mode)
        if self.encoder_frozen:
            # A frozen encoder also keeps its BatchNorm statistics.
            self.encoders.eval()
        return self

    def freeze_encoder(self, frozen):
        """Stop (True) or resume (False) training the encoders."""
        self.encoder_frozen = bool(frozen)
        for p in self.encoders.parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    def features(self, x):
        """Encoder features of records ``x`` (batch, leads, time)."""
        x = _standardize(x, self.standardize)
        if not self.per_lead:
            return self.encoders[0](x)
        batch, n_leads, length = x.shape
        if len(self.encoders) == 1:
            # One shared encoder: all leads in one batched pass.
            emb = self.encoders[0](x.reshape(batch * n_leads, 1, length))
            return emb.reshape(batch, -1)
        return torch.cat([enc(x[:, i : i + 1]) for i, enc in enumerate(self.encoders)], dim=1)

    def forward(self, x):
        """Logits of records ``x`` (batch, leads, time)."""
        return self.head(self.features(x))

    def training_loss(self, x, y, view_generator=None, pair_generator=None, group=None):
        """Cross-entropy of the logits of ``x``; nothing is drawn at random."""
        logits = self(x).float()
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=self.class_weight)
        else:
            loss = F.cross_entropy(logits, y, weight=self.class_weight)
        return loss, {}

    def after_optimizer_step(self):
        pass


class _FineTuningNet(PretrainingNet):
    """The pretrainers' net, plus the loss on the internal validation split."""

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            loss, _ = self.module_.training_loss(Xi.to(self.device), yi.to(self.device))
        return {"loss": loss.float(), "y_pred": None}


class _LabelledRecords(RecordDataset):
    """Records with targets of any dtype (class indices, or float indicators)."""

    def __getitems__(self, indices):
        indices = np.asarray(indices)
        Xb, _ = super().__getitems__(indices)
        return Xb, torch.from_numpy(np.ascontiguousarray(self.targets[indices]))


class _FreezeEncoder(Callback):
    """Keep the encoders frozen for the first ``epochs`` epochs, then train them."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_train_begin(self, net, **kwargs):
        # A warm start continues the history: count this fit's epochs only.
        self.start_ = len(net.history)

    def on_epoch_begin(self, net, **kwargs):
        # The net's own on_epoch_begin has already opened this epoch's row.
        net.module_.freeze_encoder(len(net.history) - self.start_ <= self.epochs)

    def on_train_end(self, net, **kwargs):
        net.module_.freeze_encoder(False)


class _KeepBestValidLoss(Callback):
    """Keep the weights of the epoch with the lowest validation loss; stop after ``patience`` worse ones.

    Unlike a checkpoint file, the copy lives in memory and is dropped once
    restored, so the fitted net carries one set of weights.
    """

    def __init__(self, patience=None):
        self.patience = patience

    def on_train_begin(self, net, **kwargs):
        self.best_loss_, self.best_epoch_, self.best_state_, self.misses_ = np.inf, None, None, 0

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "valid_loss"]
        if loss < self.best_loss_:
            self.best_loss_, self.best_epoch_, self.misses_ = loss, len(net.history), 0
            self.best_state_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        else:
            self.misses_ += 1
            if self.patience is not None and self.misses_ >= self.patience:
                raise KeyboardInterrupt  # skorch's way to end training early

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None


def _check_encoder_params(arch, params):
    """Check an encoder's settings with the declarations of its architecture."""
    ARCHITECTURES[arch].check_params(params, owner="encoder_params")


def _check_class_weight_keys(class_weight, classes, multilabel):
    known = set(range(len(classes))) if multilabel else set(classes.tolist())
    unknown = [k for k in class_weight if k not in known]
    if unknown:
        what = "column indices of the multi-label y" if multilabel else "classes of y"
        raise ValueError(
            f"class_weight has key(s) {unknown!r} that are not {what}: {sorted(known, key=str)!r}."
        )


def _encode_targets(y, kind):
    """``(targets, classes, multilabel)``: class indices (or float indicators) and the labels."""
    if kind == "multilabel-indicator":
        return y.astype(np.float32), np.arange(y.shape[1]), True
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"y has a single class ({encoder.classes_[0]!r}); a classifier needs records of "
            "at least 2 classes."
        )
    return encoder.transform(y).astype(np.int64), encoder.classes_, False


class ECGClassifier(SharesFittedPretrainerMixin, NetEstimator, InputContractMixin, PretrainedMixin, ClassifierMixin, BaseEstimator):
    """Deep ECG classifier: a pretrained encoder fine-tuned end to end, or the same network from scratch.

    ``fit`` copies the encoder of a fitted :class:`~sklearn_ecg.LCDPretrainer`
    or :class:`~sklearn_ecg.METSPretrainer` (the pretrainer itself is never
    modified), puts a linear layer on its features and trains both on the
    labels, keeping the weights of the epoch with the lowest loss on an
    internal validation split. Without a pretrainer, the same architecture
    starts from random weights: the supervised baseline against which
    pretraining is judged.

    - LCD (``architecture="lcd"``): LCD's multi-branch network. Every lead
      goes through its own copy of the pretrained single-lead encoder (or
      one shared copy, ``share_encoder=True``), the per-lead features are
      concatenated, lead after lead, into the linear head. Records are
      z-scored exactly as the pretrainer does (its ``standardize``).
    - METS (``architecture="mets"``): the ResNet1d encoder over all leads
      and a linear head on its pooled features.

    The loss is the softmax cross-entropy for class labels (binary or
    multiclass) and the binary cross-entropy of each class for a multi-label
    indicator ``y`` (e.g. PTB-XL's superclasses).

    Parameters
    ----------
    pretrainer : LCDPretrainer, METSPretrainer, FoundationEmbedder, FrozenEstimator of one, or None, default=None
        A *fitted* pretrainer whose encoder is the starting point: one of
        the package's pretrainers, or an imported foundation model's
        embedder (:func:`~sklearn_ecg.load_foundation_model`), whose
        preprocessing then runs inside the network. It is
        only read: :func:`~sklearn.base.clone` shares it between clones
        (e.g. in a :class:`~sklearn.model_selection.GridSearchCV`) rather
        than copying or unfitting it. None trains ``architecture`` from
        random weights.
    architecture : str, default="auto"
        The network: ``"lcd"``, ``"mets"`` or the name of a foundation
        model (:func:`~sklearn_ecg.foundation.foundation_models`; without a
        pretrainer, its network from random weights). ``"auto"`` follows
        the pretrainer, and is ``"lcd"`` without one.
    encoder_params : dict or None, default=None
        Only without a pretrainer: ``{"width": ..., "standardize": ...}`` of
        the randomly initialised encoder. None gives the pretrainers'
        defaults (LCD: width 0.125; METS: width 1.0; no z-scoring). ``width``
        multiplies the channels of the reference network (VGG16, ResNet-18).
        A foundation model's network has settings of its own (the
        ``encoder_params_`` of a classifier fine-tuned from it).
    share_encoder : bool, default=False
        LCD only: one copy of the encoder for all leads instead of one per
        lead (8 times fewer encoder weights for 8 leads).
    lr : float, default=1e-4
        Learning rate of the head, and of the encoder unless
        ``encoder_lr`` is given (1e-4 with Adam, as the LCD authors'
        fine-tuning).
    encoder_lr : float or None, default=None
        Learning rate of the encoder (a smaller one preserves more of the
        pretraining); None uses ``lr``.
    freeze_epochs : int, default=0
        Train only the head during the first ``freeze_epochs`` epochs (the
        encoder's weights and BatchNorm statistics fixed), then everything.
        ``freeze_epochs == max_epochs`` is a linear probe trained by
        gradient descent; more is refused.
    weight_decay : float, default=0.0
        Weight decay of the optimizer.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer of encoder and head.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the loss. ``"balanced"``: for class
        labels, ``n_records / (n_classes * count)`` per class, as in
        scikit-learn; for a multi-label indicator, the positives of each
        class weighted by ``n_negatives / n_positives`` (BCE's
        ``pos_weight``), counted on the training part. A dict maps class
        labels (or, multi-label, column indices) to weights.
    validation_fraction : float or None, default=0.1
        Share of the records held out to pick the best epoch (lowest
        validation loss). With ``groups`` passed to :meth:`fit` (e.g.
        patient ids) the split keeps every group on one side. None trains
        on everything and keeps the last epoch.
    patience : int or None, default=None
        Stop after this many epochs without a lower validation loss. None
        runs ``max_epochs`` epochs (the authors' protocol) and keeps the
        best.
    max_epochs : int, default=100
        Passes over the training records; 0 trains nothing (the network as
        initialised, a baseline).
    batch_size : int, default=128
        Records per step (and per batch when predicting); at least 2, as
        the networks' BatchNorm layers need.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available, else the CPU.
    amp : bool, default=True
        Mixed precision when training on CUDA; ignored on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the head (and a from-scratch encoder), the validation split
        and the batches. The caller's global torch random state is left
        untouched.
    verbose : int, default=0
        0 is silent, 1 shows a progress bar over epochs, 2 also prints
        skorch's per-epoch table.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks. A callback that raises ``KeyboardInterrupt``
        ends the training there (skorch's way to stop early): ``fit`` keeps
        the model trained so far and warns, unless the callback is an early
        stop whose patience is spent.
    warm_start : bool, default=False
        When fitted already, a new call to ``fit`` continues training the
        fitted network (encoder and head, the optimizer's state included)
        on the new records instead of starting anew, with this call's
        ``lr``, ``encoder_lr``, ``weight_decay``, ``batch_size``,
        ``max_epochs``, ``freeze_epochs``, ``class_weight``, callbacks and
        ``verbose``. ``y`` must have the classes seen before and ``X`` the
        same leads; ``pretrainer``, ``architecture``, ``encoder_params`` and
        ``share_encoder`` are those of the fitted network. A failed
        continued fit leaves the classifier as it was.
    fs : float or None, default=None
        Sampling rate of X in Hz (1 to 100000), recorded in ``input_contract_``
        (with the loaders: ``fs=data.fs``); None takes the pretrainer's. Not used for
        training; it lets ``input_pipeline`` bring records of another rate
        to the model.
    lead_names : sequence of str or None, default=None
        Names of X's leads in the order of axis 1 (with the loaders:
        ``lead_names=data.lead_names``), one per lead, recorded in
        ``input_contract_``; None takes the pretrainer's. Errors and
        ``input_pipeline`` then name leads.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is an :class:`ECGClassifierModule`.
    classes_ : ndarray
        Class labels; for a multi-label indicator, the column indices.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator.
    architecture_ : str
        The network trained (``"lcd"``, ``"mets"`` or a foundation model's name).
    encoder_params_ : dict
        The encoder's settings (from the pretrainer, or ``encoder_params``):
        width and z-scoring; for a foundation model, its network's
        configuration and embedding.
    history_ : skorch.History
        Per-epoch ``train_loss`` and ``valid_loss``.
    best_epoch_ : int
        The epoch whose weights were kept (1-based).
    input_contract_ : InputContract
        What the model was trained on: sampling rate, record length, lead
        names, units, z-scoring and typical amplitude (see
        :mod:`sklearn_ecg.input_contract`); None where unknown.
    n_leads_, n_timepoints_ : int
        Leads and samples per record seen in ``fit``.
    n_features_in_ : int
        The lead count for 3-D ``X``, the record length for 2-D ``X``.

    See Also
    --------
    LCDPretrainer, METSPretrainer : The pretrainers whose encoders start here.
    ZeroShotECGClassifier : Classification from class names, without training.

    Notes
    -----
    The LCD authors' fine-tuning code builds its eight branches from the
    *same* encoder modules, so their branches in fact share one set of
    weights; the paper describes one copy per lead. ``share_encoder``
    offers both.

    A linear probe on frozen embeddings
    (``make_pipeline(FrozenEstimator(pretrainer), LogisticRegression())``)
    is the other protocol the papers use; this class covers fine-tuning.

    Examples
    --------
    >>> from sklearn_ecg import ECGClassifier, LCDPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample(leads=["II", "V1"])
    >>> X, y = data.X[:48, :, :256], data.y[:48]
    >>> lcd = LCDPretrainer(max_epochs=1, batch_size=16, random_state=0).fit(X)
    >>> clf = ECGClassifier(lcd, max_epochs=2, batch_size=16, random_state=0)
    >>> clf.fit(X, y, groups=data.patient_id[:48]).predict_proba(X[:3]).shape
    (3, 5)
    >>> scratch = ECGClassifier(architecture="lcd", max_epochs=1, random_state=0).fit(X, y)
    >>> len(scratch.net_.module_.encoders)  # one encoder per lead
    2
    """

    _module_class = ECGClassifierModule
    _net_class = _FineTuningNet
    _optimizer_kwargs = ("weight_decay",)

    def __init__(
        self,
        pretrainer=None,
        architecture="auto",
        encoder_params=None,
        share_encoder=False,
        lr=1e-4,
        encoder_lr=None,
        freeze_epochs=0,
        weight_decay=0.0,
        optimizer=torch.optim.Adam,
        class_weight=None,
        validation_fraction=0.1,
        patience=None,
        max_epochs=100,
        batch_size=128,
        device="auto",
        amp=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        fs=None,
        lead_names=None,
    ):
        self.pretrainer = pretrainer
        self.architecture = architecture
        self.encoder_params = encoder_params
        self.share_encoder = share_encoder
        self.lr = lr
        self.encoder_lr = encoder_lr
        self.freeze_epochs = freeze_epochs
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.fs = fs
        self.lead_names = lead_names

    # -- checks -----------------------------------------------------------

    _parameter_constraints = {
        # Checked in fit, with a message that says what to pass.
        "pretrainer": "no_validation",
        "architecture": [_Architecture()],
        "encoder_params": [dict, None],
        "share_encoder": ["boolean"],
        "encoder_lr": [StrictInterval(Real, 0, None, closed="neither"), None],
        "freeze_epochs": [StrictInterval(Integral, 0, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "validation_fraction": [StrictInterval(Real, 0, 1, closed="neither"), None],
        "patience": [StrictInterval(Integral, 1, None, closed="left"), None],
        **NET_PARAMETER_CONSTRAINTS,
    }

    def _source(self):
        """The architecture, encoder settings, the pretrainer's encoder contract and the fitted pretrainer.

        Without a pretrainer, the contract and the pretrainer are None.
        """
        if self.pretrainer is None:
            arch = "lcd" if self.architecture == "auto" else self.architecture
            params = ARCHITECTURES[arch].default_params()
            given = self.encoder_params or {}
            unknown = sorted(set(given) - set(params))
            if unknown:
                raise ValueError(f"encoder_params accepts {sorted(params)}; got unknown key(s) {unknown}.")
            params.update(given)
            _check_encoder_params(arch, params)
            return arch, params, None, None
        pretrainer = fitted_pretrainer(self.pretrainer)
        name = type(pretrainer).__name__
        contract = pretrainer.encoder_contract_
        arch = contract.architecture
        if self.architecture not in ("auto", arch):
            raise ValueError(
                f"architecture={self.architecture!r} does not match the {name} given as pretrainer; "
                f"use architecture='auto' (or {arch!r})."
            )
        if self.encoder_params is not None:
            raise ValueError(
                "encoder_params sets up an encoder trained from scratch; with a pretrainer the "
                "encoder is the pretrainer's. Pass encoder_params=None."
            )
        return arch, contract.encoder_params, contract, pretrainer

    def _validate_X(self, X, *, reset, arch=None):
        """The records as ``(n, leads, T)``; in ``fit`` (``reset``), with the :class:`SeenInput`.

        ``arch`` (default: the fitted one) bounds the record length.
        """
        arch = getattr(self, "architecture_", None) if arch is None else arch
        spec = ARCHITECTURES.get(arch)
        min_length, reason = (_MIN_LENGTH, POOLING_LENGTH_REASON) if spec is None else (
            spec.min_length, spec.length_reason)
        checked = check_ecg_array(self, X, reset=reset, min_records=1 if not reset else 2, min_length=min_length,
                                  min_length_reason=reason)
        X = checked[0] if reset else checked
        X = X[:, None, :] if X.ndim == 2 else X
        if spec is not None and spec.n_timepoints is not None and X.shape[-1] != spec.n_timepoints:
            raise ValueError(
                f"X has records of {X.shape[-1]} samples but the {arch!r} encoder reads records of "
                f"exactly {spec.n_timepoints} (it has one position per patch of that length); bring "
                "the records to it with the pretrainer's input_pipeline(fs=..., lead_names=...)."
            )
        return (X, checked[1]) if reset else X

    def _check_params(self):
        """Checks between parameters, which the constraints cannot express."""
        if self.patience is not None and self.validation_fraction is None:
            raise ValueError(
                f"patience={self.patience} stops on the validation loss, but "
                "validation_fraction=None holds out no validation records; pass a "
                "validation_fraction (e.g. 0.1) or patience=None."
            )
        if self.freeze_epochs > self.max_epochs:
            raise ValueError(
                f"freeze_epochs={self.freeze_epochs} is more than max_epochs={self.max_epochs}; "
                "freeze_epochs=max_epochs already trains the head alone (a linear probe)."
            )
        if isinstance(self.class_weight, dict):
            for key, value in self.class_weight.items():
                ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
                if not ok:
                    raise ValueError(
                        f"class_weight[{key!r}]={value!r}: class weights must be finite numbers >= 0."
                    )

    def _class_weight_tensor(self, targets, classes, multilabel):
        cw = self.class_weight
        if cw is None:
            return None
        if multilabel:
            if cw == "balanced":
                pos = targets.sum(axis=0)
                neg = len(targets) - pos
                weight = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)
            else:
                _check_class_weight_keys(cw, classes, multilabel)
                weight = np.array([float(cw.get(k, 1.0)) for k in range(len(classes))])
        else:
            present = np.unique(targets)
            if cw == "balanced":
                weight = np.ones(len(classes))
                weight[present] = compute_class_weight("balanced", classes=present, y=targets)
            else:
                _check_class_weight_keys(cw, classes, multilabel)
                weight = np.array([float(cw.get(c, 1.0)) for c in classes])
                if not weight[present].any():
                    raise ValueError(
                        f"class_weight={cw!r} gives weight 0 to every class of y "
                        f"({', '.join(map(repr, classes[present].tolist()))}), so the loss would "
                        "be 0/0; give at least one class a positive weight."
                    )
        return torch.as_tensor(weight, dtype=torch.float32)

    # -- the network ------------------------------------------------------

    # -- the fitted state saved by save_pretrained --------------------------

    _saved_fitted_scalars = (*PretrainedMixin._saved_fitted_scalars, "best_epoch_")

    def _model_card_notes(self):
        notice = ARCHITECTURES[self.architecture_].notice
        return [f"- {notice}"] if notice else []

    def _saved_param(self, key, value):
        if key == "pretrainer" and value is not None:
            # The classifier's weights hold its fine-tuned copy of the encoder; the
            # pretrainer itself is another model, saved on its own if wanted.
            warnings.warn(
                "pretrainer is not saved (the fine-tuned copy of its encoder is, with the "
                "classifier's weights): the loaded classifier has pretrainer=None and "
                f"architecture={self.architecture_!r}, so refitting it trains that network from "
                "scratch; set pretrainer again to fine-tune a pretrained encoder anew.",
                UserWarning,
                stacklevel=5,
            )
            return NOT_SAVED
        if key == "architecture" and self.pretrainer is not None:
            return self.architecture_
        return super()._saved_param(key, value)

    def _get_fitted_state(self):
        sections, module = super()._get_fitted_state()
        classes = self.classes_
        sections["fitted"].update(
            classes_={"values": to_json(classes.tolist()),
                      "dtype": classes.dtype.str if classes.dtype.kind != "O" else "object"},
            multilabel_=bool(self.multilabel_),
            architecture_=self.architecture_,
            encoder_params_=to_json(self.encoder_params_),
        )
        return sections, module

    @classmethod
    def _upgrade_config(cls, config, path):
        if config["format_version"] >= 2:
            return config
        config = copy.deepcopy(config)
        arch = config["fitted"].get("architecture_")
        kwargs = config["module"].get("kwargs")
        for holder in (config["params"], config["fitted"], kwargs if isinstance(kwargs, dict) else {}):
            for key in ("encoder_params", "encoder_params_"):
                params = holder.get(key)
                if isinstance(params, dict) and "width" in params:
                    params["width"] = width_of_format_1(arch, params["width"])
        return config

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        if "classes_" not in fitted:
            raise bad_file(path, "lacks the fitted attribute 'classes_'; the file is damaged.")
        classes = check_classes(fitted["classes_"], path)
        if not isinstance(fitted.get("multilabel_"), bool):
            raise bad_file(path, "has an invalid fitted attribute 'multilabel_' (true or false).")
        if fitted.get("architecture_") not in ARCHITECTURES:
            raise bad_file(path, f"has an invalid fitted attribute architecture_={fitted.get('architecture_')!r} "
                                 f"(one of {sorted(ARCHITECTURES)}).")
        if not isinstance(fitted.get("encoder_params_"), dict):
            raise bad_file(path, "has an invalid fitted attribute 'encoder_params_' (a JSON object).")
        kwargs = config["module"]["kwargs"]
        for key, module_key in (("architecture_", "architecture"), ("encoder_params_", "encoder_params")):
            if fitted[key] != kwargs.get(module_key):
                raise bad_file(path, f"has the fitted attribute {key}={fitted[key]!r} but a network of "
                                     f"{module_key}={kwargs.get(module_key)!r}: they contradict each "
                                     "other; the file is damaged.")
        n_outputs = config["module"]["kwargs"].get("n_outputs")
        if fitted["multilabel_"]:
            agree = np.array_equal(classes, np.arange(len(classes))) and n_outputs == len(classes)
        else:
            agree = len(classes) >= 2 and n_outputs == len(classes)
        if not agree:
            raise bad_file(path, f"has {len(classes)} classes {classes.tolist()!r} but a head of {n_outputs!r} "
                                 "outputs: they contradict each other; the file is damaged.")
        fitted = super()._check_fitted_state(config, fitted, path)
        return {**fitted, "classes_": classes}

    def _module_config(self):
        """The network's description in a saved model's ``config.json`` (see ``save_pretrained``)."""
        module = self.net_.module_
        return {"class": type(module).__name__, "kwargs": {
            "architecture": self.architecture_, "encoder_params": dict(self.encoder_params_),
            "n_encoders": len(module.encoders), "n_leads": int(module.n_leads),
            "n_outputs": int(module.head.out_features), "multilabel": bool(module.multilabel)}}

    def _net_from_spec(self, module_cls, kwargs, device, n_records):
        """An uninitialised net around the network a saved ``config.json`` describes.

        ``module_cls`` is always ``ECGClassifierModule`` (``load_pretrained``
        checks the name), which ``_build_module`` builds.
        """
        expected = {"architecture", "encoder_params", "n_encoders", "n_leads", "n_outputs", "multilabel"}
        if set(kwargs) != expected:
            raise ValueError(f"the classifier network is described by {sorted(expected)}; got {sorted(kwargs)}")
        arch, params = kwargs["architecture"], kwargs["encoder_params"]
        n_leads, n_encoders, n_outputs = kwargs["n_leads"], kwargs["n_encoders"], kwargs["n_outputs"]
        if arch not in ARCHITECTURES or not isinstance(params, dict) or set(params) != set(
                ARCHITECTURES[arch].param_names):
            raise ValueError(f"architecture {arch!r} with encoder parameters {params!r} is not a network of "
                             "this release")
        counts = (n_leads, n_encoders, n_outputs)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in counts):
            raise ValueError(f"n_leads, n_encoders and n_outputs must be positive integers; got {counts}")
        if n_encoders not in ((1, n_leads) if ARCHITECTURES[arch].per_lead else (1,)):
            raise ValueError(f"{n_encoders} encoders do not fit {n_leads} leads of architecture {arch!r}")
        _check_encoder_params(arch, params)
        # The saved weights replace the random ones.
        module = self._build_module(arch, params, None, n_leads, n_outputs, bool(kwargs["multilabel"]),
                                    copies=n_encoders)
        return self._build_net(module, device=device, n_records=n_records,
                               callbacks=self._callbacks(False), seed=0)

    def _build_module(self, arch, params, contract, n_leads, n_outputs, multilabel, copies=None):
        """The network: copies of the contract's trained encoder, or a fresh one of ``arch``.

        Per-lead encoders get ``copies`` copies (default: one per lead, or one
        if shared); an encoder of all leads, one.
        """
        spec = ARCHITECTURES[arch]
        # deepcopy: the pretrainer's own encoder is never trained here.
        base = contract.encoder if contract is not None else spec.build_encoder(params, n_leads)
        if spec.per_lead:
            if copies is None:
                copies = 1 if self.share_encoder else n_leads
        else:
            copies = 1
        encoders = nn.ModuleList(copy.deepcopy(base) for _ in range(copies))
        for p in encoders.parameters():
            p.requires_grad_(True)
        return ECGClassifierModule(
            encoders.cpu(), n_leads, n_outputs, per_lead=spec.per_lead, multilabel=multilabel,
            standardize=params["standardize"],
        )

    def _callbacks(self, has_validation):
        callbacks = self._progress_callbacks()
        if self.freeze_epochs:
            callbacks.append(("freeze_encoder", _FreezeEncoder(self.freeze_epochs)))
        if has_validation:
            callbacks.append(("keep_best", _KeepBestValidLoss(self.patience)))
        callbacks.extend(self.callbacks or [])
        return callbacks

    def _split(self, n, groups, seed):
        """Indices of the training and validation parts (validation None without one)."""
        if self.validation_fraction is None:
            return np.arange(n), None
        if groups is not None:
            groups = np.asarray(groups)
            check_consistent_length(np.empty(n), groups)
            if len(np.unique(groups)) < 2:
                raise ValueError(
                    "groups holds a single group, so no validation split can keep groups apart; "
                    "pass validation_fraction=None or more groups."
                )
            splitter = GroupShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
        else:
            splitter = ShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
        try:
            train, valid = next(splitter.split(np.empty((n, 1)), groups=groups))
        except ValueError:  # sklearn's words: a split with an empty side
            train, valid = (), ()
        if len(train) < 2 or len(valid) < 1:
            raise ValueError(
                f"{n} records are too few for a validation split of {self.validation_fraction} "
                "(at least 2 records must stay for training and 1 for validation); pass a "
                "smaller validation_fraction (e.g. 0.1), validation_fraction=None, or more "
                "records."
            )
        return train, valid

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Train the encoder and the head on labelled records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            ECG records (2-D: single-lead records), with the pretrainer's
            leads, in its order.
        y : array-like of shape (n_records,) or (n_records, n_classes)
            Class labels (numbers or strings), or a multi-label indicator.
        groups : array-like of shape (n_records,) or None, default=None
            Group of each record (e.g. the patient): the internal validation
            split keeps each group on one side.

        Returns
        -------
        self : ECGClassifier
            The fitted classifier.
        """
        return self._fit_net(X, y, groups=groups)

    # -- the hooks of the fit template (NetEstimator._fit_net) ------------------

    _fit_seeds = ("split", "init", "train")

    def _validate_for_fit(self, X, continuing):
        arch = self.architecture_ if continuing else self._source()[0]
        return self._validate_X(X, reset=True, arch=arch)

    def _fit_plan(self, X, y, *, continuing, groups=None):
        y, kind = check_targets(y, type(self).__name__)
        check_consistent_length(X, y)
        multilabel = kind == "multilabel-indicator"
        if continuing:
            arch, params, contract = self.architecture_, self.encoder_params_, None
            pretrainer = None if self.pretrainer is None else fitted_pretrainer(self.pretrainer)
            if X.shape[1] != self.n_leads_:
                raise ValueError(
                    f"warm_start: X has {X.shape[1]} lead(s) but the fitted network takes "
                    f"{self.n_leads_}; continue training on records with the same leads, or set "
                    "warm_start=False to train a new network."
                )
            if multilabel != self.multilabel_:
                raise ValueError(
                    "warm_start: y is " + ("a multi-label indicator" if multilabel else "a vector of labels")
                    + " but the fitted network was trained on "
                    + ("a multi-label indicator" if self.multilabel_ else "a vector of labels")
                    + "; set warm_start=False to train a new network."
                )
            targets, classes, _ = _encode_targets(y, kind)
            if len(classes) != len(self.classes_) or not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"warm_start: y has the classes {classes.tolist()!r} but the fitted network predicts "
                    f"{self.classes_.tolist()!r}; continue training with records of the same classes, or "
                    "set warm_start=False to train a new network."
                )
            classes = self.classes_
        else:
            arch, params, contract, pretrainer = self._source()
            if contract is not None and X.shape[1] != contract.n_leads:
                names = fitted_lead_names(pretrainer)
                raise ValueError(
                    f"X has {X.shape[1]} lead(s) but the {type(pretrainer).__name__} was pretrained on "
                    f"{contract.n_leads}{' (' + ', '.join(names) + ')' if names else ''}; pass "
                    "records with the pretrainer's leads, in the same order "
                    "(pretrainer.input_pipeline(fs=..., lead_names=...) selects them)."
                )
            targets, classes, multilabel = _encode_targets(y, kind)
        return FitPlan(X, targets, standardize=params["standardize"], inherit=pretrainer, groups=groups,
                       context={"arch": arch, "params": params, "contract": contract, "classes": classes,
                                "multilabel": multilabel},
                       fitted={"classes_": classes, "multilabel_": multilabel, "architecture_": arch,
                               "encoder_params_": params})

    def _fit_datasets(self, plan, seeds):
        X, targets = plan.X, plan.targets
        train, valid = self._split(len(X), plan.groups, seeds["split"] % (2**32))
        plan.context["class_weight"] = self._class_weight_tensor(
            targets[train], plan.context["classes"], plan.context["multilabel"])
        valid = None if valid is None else _LabelledRecords(X[valid], targets[valid])
        return _LabelledRecords(X[train], targets[train]), valid

    def _module_spec(self, n_leads, n_timepoints, *, arch, params, contract, classes, multilabel,
                     class_weight=None):
        return self._build_module(arch, params, contract, n_leads, len(classes), multilabel), None

    @contextlib.contextmanager
    def _fit_context_for(self, module, *, class_weight=None, **context):
        # The class weights are a setting of one fit, not of the model.
        module.class_weight = None if class_weight is None else class_weight.to(next(module.parameters()).device)
        try:
            yield
        finally:
            module.class_weight = None

    def _fitted_attributes(self, net, plan):
        keep = dict(net.callbacks_).get("keep_best")
        best = keep.best_epoch_ if keep is not None and keep.best_epoch_ else len(net.history)
        return {**plan.fitted, "best_epoch_": best}

    def _net_settings(self):
        param_groups = []
        if self.encoder_lr is not None:
            param_groups.append(("encoders.*", {"lr": self.encoder_lr}))
        return {"optimizer__param_groups": param_groups, "iterator_valid__collate_fn": batch_as_is}

    # -- predicting -------------------------------------------------------

    def _logits(self, X):
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        check_input(self, X)
        return self._outputs(X, self.net_)

    _output_name = "logits"

    def _outputs(self, X, net):
        """Logits of validated records ``(n, leads, T)`` by ``net``, batch by batch."""
        return run_batches(net.module_, X, self.batch_size, net.device, lambda module, x: module(x))

    def decision_function(self, X):
        """Logits of the classes.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        scores : ndarray of shape (n_records, n_classes) or (n_records,)
            For two classes of labels, the logit of the second minus that of
            the first, shape (n_records,), as scikit-learn expects.
        """
        return self._decision_from_logits(self._logits(X))

    def _decision_from_logits(self, logits):
        """``decision_function`` from the logits (an array or a tensor)."""
        return decision_from_logits(logits, self.multilabel_, len(self.classes_))

    def _proba_from_logits(self, logits):
        """``predict_proba`` from float64 logits (a tensor)."""
        return proba_from_logits(logits, self.multilabel_)

    def differentiable_forward(self, output="proba"):
        """The network's class outputs as a differentiable torch module (see :mod:`sklearn_ecg.nn.forward`).

        Parameters
        ----------
        output : {"proba", "decision"}, default="proba"
            ``predict_proba`` or ``decision_function`` (a binary decision is
            one column): the network's logits in float64, then the same
            functions as those methods.

        Returns
        -------
        forward : ForwardModule
        """
        check_output(output, ("proba", "decision"), type(self).__name__)
        check_is_fitted(self, "net_")
        module = self.net_.module_
        convert = self._proba_from_logits if output == "proba" else self._decision_from_logits
        return ForwardModule(lambda x: convert(module(x).double()), [module], n_leads=self.n_leads_,
                             min_length=ARCHITECTURES[self.architecture_].min_length, classes=self.classes_,
                             output=output)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
            Softmax over the classes; for a multi-label indicator, the
            probability of each class on its own (sigmoid).
        """
        return self._proba_from_logits(torch.from_numpy(self._logits(X)).double()).numpy()

    def predict(self, X):
        """Most probable class, or for a multi-label indicator the classes of probability > 0.5.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        y_pred : ndarray of shape (n_records,) or (n_records, n_classes)
        """
        logits = self._logits(X)
        if self.multilabel_:
            return (logits > 0).astype(np.int64)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
