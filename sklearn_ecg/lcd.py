"""LCD: Lead Correlation and Decorrelation pretraining of a single-lead encoder."""

import copy
from numbers import Integral, Real

import torch
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import BasePretrainer
from ._encoder import ARCHITECTURES, STANDARDIZE_CONSTRAINTS
from ._reference import load_reference_checkpoint
from ._param_validation import FractionRange, StrictInterval
from ._validation import fitted_lead_names
from .nn.heads import mlp_head
from .nn.losses import lcd_loss
from .nn.scaling import standardize as _standardize
from .nn.vgg1d import VGG1d
from .nn.views import lcd_view



#: LCD's network settings, declared once: each one's default and constraints.
#: The estimator's constraints, the module it builds and the checks of a saved
#: module all read this table; the signatures of LCDModule and LCDPretrainer
#: repeat the defaults (torch and scikit-learn need them there) and a test keeps
#: them equal to it.
NETWORK_SETTINGS = {
    "width": (ARCHITECTURES["lcd"].default_width, ARCHITECTURES["lcd"].width_constraints),
    "projector_dim": (512, [StrictInterval(Integral, 1, None, closed="left")]),
    "predictor_dim": (512, [StrictInterval(Integral, 1, None, closed="left")]),
    "momentum": (0.996, [StrictInterval(Real, 0, 1, closed="both")]),
    "crop_scale": ((0.5, 1.0), [FractionRange(open_zero=True)]),
    "mask_ratio": ((0.0, 0.5), [FractionRange(open_zero=False)]),
    "gamma": (0.005, [StrictInterval(Real, 0, None, closed="left")]),
    "lambd": (0.0051, [StrictInterval(Real, 0, None, closed="left")]),
    "standardize": (None, STANDARDIZE_CONSTRAINTS),
}


class LCDModule(nn.Module):
    """The LCD networks: online encoder, projector and predictor, EMA target.

    Parameters
    ----------
    width : float, default=0.125
        Width multiplier of the VGG16 encoder (0.125 → 64-d embeddings).
    projector_dim : int, default=512
        Hidden and output size of the projector.
    predictor_dim : int, default=512
        Hidden size of the predictor.
    momentum : float, default=0.996
        EMA momentum of the target network.
    crop_scale, mask_ratio : tuple of float
        Ranges of the random resized crop and of the zeroed span, as fractions
        of the record length.
    gamma, lambd : float
        Weight of the decorrelation term and of its off-diagonal part.
    standardize : {"record", "lead"} or None, default=None
        z-scoring applied to every record before the encoder, in training and
        in embedding alike.
    """

    def __init__(
        self,
        width=0.125,
        projector_dim=512,
        predictor_dim=512,
        momentum=0.996,
        crop_scale=(0.5, 1.0),
        mask_ratio=(0.0, 0.5),
        gamma=0.005,
        lambd=0.0051,
        standardize=None,
    ):
        super().__init__()
        self.encoder = VGG1d(in_channels=1, width=width)
        self.projector = mlp_head(self.encoder.out_features, projector_dim, projector_dim)
        self.predictor = mlp_head(projector_dim, predictor_dim, projector_dim)
        self.target_encoder = copy.deepcopy(self.encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for p in self._target_parameters():
            p.requires_grad_(False)
        self.momentum = momentum
        self.crop_scale = tuple(crop_scale)
        self.mask_ratio = tuple(mask_ratio)
        self.gamma = gamma
        self.lambd = lambd
        self.standardize = standardize

    def _target_parameters(self):
        return list(self.target_encoder.parameters()) + list(self.target_projector.parameters())

    def _online_parameters(self):
        return list(self.encoder.parameters()) + list(self.projector.parameters())

    def forward(self, x):
        """Per-lead embeddings of ``x`` (batch, leads, time), concatenated lead after lead."""
        batch, n_leads, length = x.shape
        x = _standardize(x, self.standardize)
        emb = self.encoder(x.reshape(batch * n_leads, 1, length))
        return emb.reshape(batch, n_leads * emb.shape[1])

    def _view(self, x, lead, generator=None):
        # Views of one lead only: every lead of a view shares its crop and
        # mask, so cropping the lead alone gives the same values at 1/n_leads
        # of the cost.
        return lcd_view(x[:, lead : lead + 1], self.crop_scale, self.mask_ratio, generator)

    def training_loss(self, x, y=None, view_generator=None, pair_generator=None, group=None):
        """LCD loss of one batch of records ``x`` (batch, leads, time).

        ``view_generator`` (on the device of ``x``) draws the views and
        ``pair_generator`` (on the CPU) the pair of leads; None uses torch's
        global generators. ``group`` is the process group of a data-parallel
        fit (the decorrelation then sees the global batch), or None.
        """
        x = _standardize(x, self.standardize)
        n_leads = x.shape[1]
        if n_leads > 1:
            # One random pair of distinct leads for the whole batch.
            pair = torch.randperm(n_leads, generator=pair_generator)[:2].tolist()
            lead_a, lead_b = pair
        else:
            lead_a = lead_b = 0
        h1 = self.projector(self.encoder(self._view(x, lead_a, view_generator)))
        q1 = self.predictor(h1)
        with torch.no_grad():
            z3 = self.target_projector(self.target_encoder(self._view(x, lead_a, view_generator)))
        if n_leads > 1:
            h2 = self.projector(self.encoder(self._view(x, lead_b, view_generator)))
            q2 = self.predictor(h2)
            loss, terms = lcd_loss(
                q1.float(), z3.float(), h1.float(), q2.float(), h2.float(), self.gamma, self.lambd,
                group=group,
            )
        else:
            # A single lead has no inter-lead pair: the intra-lead terms only.
            loss, terms = lcd_loss(q1.float(), z3.float(), h1.float(), gamma=self.gamma, lambd=self.lambd,
                                   group=group)
        return loss, terms

    @torch.no_grad()
    def after_optimizer_step(self):
        """EMA update of the target's parameters (not its BatchNorm buffers)."""
        torch._foreach_lerp_(self._target_parameters(), self._online_parameters(), 1.0 - self.momentum)


class LCDPretrainer(BasePretrainer):
    """Self-supervised ECG embeddings by Lead Correlation and Decorrelation (LCD).

    One generic single-lead 1-D VGG16 encoder (width 0.125, 64-d output) is
    pretrained on unlabelled multi-lead ECGs with BYOL-style objectives that
    tie views of one lead together (intra-lead correlation), let another lead
    of the same beat predict it (inter-lead correlation) and decorrelate the
    projected features within and between leads (Liu et al., Applied Soft
    Computing 2025). :meth:`transform` embeds every lead with the pretrained
    encoder and concatenates the per-lead embeddings, ready for any
    scikit-learn estimator.

    Each training step draws three views of every record (random resized
    crop of 50–100 % of the length stretched back, then a zeroed span of
    0–50 %; the same crop and mask on every lead of a view), computed in
    batched torch on the training device, and one random pair of distinct
    leads ``a ≠ b`` for the batch; the loss is
    ``byol(q1[a], z3[a]) + byol(q2[b], z3[a]) + gamma·decorrelation``. The
    decorrelation matrix is divided by the actual number of records in the
    batch (the reference implementation divides a last, partial batch by the
    configured batch size, inflating its loss). Single-lead input (2-D ``X``)
    trains with the intra-lead terms only.

    Parameters
    ----------
    width : float, default=0.125
        Width multiplier of VGG16; the embedding of one lead has
        ``512 * width`` features (64 by default).
    projector_dim : int, default=512
        Hidden and output size of the projector.
    predictor_dim : int, default=512
        Hidden size of the predictor.
    momentum : float, default=0.996
        EMA momentum of the target network.
    crop_scale : tuple of (float, float), default=(0.5, 1.0)
        Range of the kept fraction of the record in the random resized crop.
    mask_ratio : tuple of (float, float), default=(0.0, 0.5)
        Range of the zeroed fraction of the record.
    gamma : float, default=0.005
        Weight of the decorrelation term.
    lambd : float, default=0.0051
        Weight of the off-diagonal part of the decorrelation term.
    standardize : {"record", "lead"} or None, default=None
        z-score each record over all its leads, each lead separately, or
        not at all, before the encoder (in ``fit`` and ``transform``). The
        reference z-scores each record; by default the records stay in
        millivolts, because absolute amplitude is diagnostic (voltage
        criteria of hypertrophy, low voltage) and the encoder's BatchNorm
        absorbs the overall scale (see the benchmarks page of the
        documentation for the comparison).
    max_epochs : int, default=100
        Number of passes over the records.
    batch_size : int, default=256
        Records per training step (and per batch in ``transform``).
    lr : float, default=1e-3
        Learning rate.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer of the online networks.
    weight_decay : float, default=0.0
        Weight decay passed to the optimizer.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available, else the CPU.
    amp : bool, default=True
        Mixed precision (autocast and gradient scaling) when training on
        CUDA; ignored on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the batches, the views and the lead pairs
        through generators owned by the fit: the same seed on the same device
        gives the same embeddings on the CPU, also for fits running at the
        same time in several threads, and the caller's global torch random
        state is neither used nor changed.
    verbose : int, default=0
        0 is silent, 1 shows a progress bar over epochs, 2 also prints
        skorch's per-epoch table. Ctrl+C stops ``fit`` with
        ``KeyboardInterrupt`` and leaves the estimator as it was before the
        call; to keep the progress of a long fit, pass
        ``skorch.callbacks.Checkpoint`` in ``callbacks``.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks, e.g. ``skorch.callbacks.Checkpoint`` or
        ``skorch.callbacks.EarlyStopping``. Pretraining holds out no
        validation data: a callback that monitors a validation score
        (``monitor="valid_loss"``, skorch's default) is given a copy that
        monitors the training loss instead. A callback that raises
        ``KeyboardInterrupt`` ends the training there (skorch's way to stop
        early): ``fit`` keeps the model trained so far and warns, unless the
        callback is an early stop whose patience is spent.
    warm_start : bool, default=False
        Continue training the fitted networks on a new call to ``fit``
        instead of starting from scratch.
    net_params : dict or None, default=None
        Further settings of the skorch net that trains the networks, with
        skorch's names, e.g. ``{"iterator_train__num_workers": 2,
        "optimizer__betas": (0.9, 0.99)}``; a learning-rate schedule is a
        callback (``skorch.callbacks.LRScheduler``). Settings that the
        pretrainer has a parameter for are refused here.
    fs : float or None, default=None
        Sampling rate of X in Hz (1 to 100000), recorded in ``input_contract_``
        (with the loaders: ``fs=data.fs``). Not used for training; it lets
        ``input_pipeline`` bring records of another rate to the model.
    lead_names : sequence of str or None, default=None
        Names of X's leads in the order of axis 1 (with the loaders:
        ``lead_names=data.lead_names``), one per lead, recorded in
        ``input_contract_``; errors and ``input_pipeline`` then name leads.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is an :class:`LCDModule`.
    history_ : skorch.History
        Per-epoch training loss and its terms (``intra_loss``,
        ``inter_loss``, ``decorrelation_loss``).
    input_contract_ : InputContract
        What the model was trained on: sampling rate, record length, lead
        names, units, z-scoring and typical amplitude (see
        :mod:`sklearn_ecg.input_contract`); None where unknown.
    n_leads_ : int
        Leads per record seen in ``fit``.
    n_timepoints_ : int
        Samples per record seen in ``fit``.
    n_features_in_ : int
        As scikit-learn defines it for X: the lead count for 3-D ``X``, the
        record length for 2-D (single-lead) ``X``.

    See Also
    --------
    METSPretrainer : ECG–text contrastive pretraining with zero-shot use.

    Notes
    -----
    The encoder ends in global average pooling; its five max-poolings need
    records of at least 32 samples (its receptive field is 212 samples).
    Shorter multi-lead records are refused with an error; 2-D (single-lead)
    input keeps scikit-learn's convention that any number of columns is
    accepted, with a warning below 32 (the time axis then stops halving at
    one step). Records must be ``(n_records, n_leads, n_timepoints)`` with
    more samples than leads; an array with more leads than samples is
    refused as probably transposed.

    References
    ----------
    W. Liu, S. Pan, S. Chang, Q. Huang, N. Jiang, "Self-supervised learning
    for Electrocardiogram classification using Lead Correlation and
    Decorrelation", Applied Soft Computing 172 (2025) 112871.

    Examples
    --------
    >>> from sklearn_ecg import LCDPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> X = data.X[:64, :, :500]
    >>> lcd = LCDPretrainer(max_epochs=2, batch_size=32, random_state=0)
    >>> embeddings = lcd.fit_transform(X)
    >>> embeddings.shape
    (64, 768)
    >>> lcd.get_feature_names_out()[:2]
    array(['lcdpretrainer_lead0_0', 'lcdpretrainer_lead0_1'], dtype=object)
    """

    _module_class = LCDModule

    _loss_terms = ("intra", "inter", "decorrelation")
    _architecture = "lcd"
    _optimizer_kwargs = ("weight_decay",)

    def __init__(
        self,
        width=0.125,
        projector_dim=512,
        predictor_dim=512,
        momentum=0.996,
        crop_scale=(0.5, 1.0),
        mask_ratio=(0.0, 0.5),
        gamma=0.005,
        lambd=0.0051,
        standardize=None,
        max_epochs=100,
        batch_size=256,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        device="auto",
        amp=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        net_params=None,
        fs=None,
        lead_names=None,
    ):
        self.width = width
        self.projector_dim = projector_dim
        self.predictor_dim = predictor_dim
        self.momentum = momentum
        self.crop_scale = crop_scale
        self.mask_ratio = mask_ratio
        self.gamma = gamma
        self.lambd = lambd
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.device = device
        self.amp = amp
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.net_params = net_params
        self.fs = fs
        self.lead_names = lead_names

    _parameter_constraints = {
        **BasePretrainer._parameter_constraints,
        **{name: constraints for name, (_, constraints) in NETWORK_SETTINGS.items()},
    }

    def _check_params(self):
        super()._check_params()
        ARCHITECTURES["lcd"].check_width(self.width, owner=type(self).__name__)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the encoder on unlabelled ECG records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            ECG records in mV (2-D: single-lead records). A ``numpy.memmap``
            is read a batch at a time.
        y : None
            Ignored; accepted for pipeline compatibility. Labels are never used.

        Returns
        -------
        self : LCDPretrainer
            The fitted pretrainer.
        """
        return self._fit_net(X)

    def _module_spec(self, n_leads, n_timepoints):
        # One network for any lead count: the encoder reads one lead at a time.
        return LCDModule, {
            name: tuple(getattr(self, name)) if isinstance(default, tuple) else getattr(self, name)
            for name, (default, _) in NETWORK_SETTINGS.items()
        }

    def _embed_batch(self, module, x):
        return module(x)

    def _feature_names_out(self):
        prefix = type(self).__name__.lower()
        dim = self.net_.module_.encoder.out_features
        names = fitted_lead_names(self) or [f"lead{lead}" for lead in range(self.n_leads_)]
        return [f"{prefix}_{lead}_{k}" for lead in names for k in range(dim)]

    @property
    def encoder_(self):
        """The pretrained single-lead encoder (a :class:`torch.nn.Module`)."""
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    @classmethod
    def from_reference_checkpoint(cls, path, *, n_leads=8, n_timepoints=None, standardize=None,
                                  predictor_dim=512, device="auto", random_state=0):
        """Import a checkpoint of the LCD authors' code as a fitted pretrainer.

        Reads the ``model.pth`` that the reference implementation
        (github.com/Aiwiscal/ECG_SSL_LCD, ``run_pt.py``) saves with
        ``torch.save``: a dict with ``online_network_state_dict``,
        ``target_network_state_dict`` and ``optimizer_state_dict`` (a bare
        state dict of their ``EncoderNet`` is accepted too). It is read with
        ``torch.load(..., weights_only=True)``: tensors only, nothing else
        is unpickled.

        The online network's VGG16 and projection head become
        ``encoder`` and ``projector``, the target network ``target_encoder``
        and ``target_projector`` (a copy of the online one if absent); their
        layers are the same, so every weight and BatchNorm statistic maps one
        to one and :meth:`transform` gives the reference encoder's
        embeddings. Dropped: the optimizer's state and the predictor, which
        the reference does not save (it is freshly initialised from
        ``random_state``; it matters only to continue training with
        ``warm_start``).

        The reference z-scores every record before saving it for training
        and evaluation ("Z-score normalizes each ECG"; the code that does it
        is not published). To feed the imported encoder the same input,
        z-score each record over all its leads, with the population standard
        deviation (``numpy.std``'s default, ``ddof=0``):
        ``sklearn_ecg.preprocessing.Standardize(per="record")`` computes
        exactly ``(x - x.mean()) / x.std()`` per record (in float64; a flat
        record becomes zeros instead of NaN), or pass
        ``standardize="record"`` here, which does the same inside the
        network in float32 and adds ``1e-6`` to the deviation (differences
        around ``1e-5`` in the z-scored values).

        Parameters
        ----------
        path : str or path
            The checkpoint file.
        n_leads : int, default=8
            Leads per record that :meth:`transform` embeds (the reference
            uses II, III, V1–V6); sets ``n_leads_`` and ``n_features_in_``.
            For other lead sets without re-importing, see
            :class:`~sklearn_ecg.LeadwiseEmbedder`.
        n_timepoints : int or None, default=None
            Recorded as ``n_timepoints_`` (the encoder takes any length of
            at least 32 samples).
        standardize : {"record", "lead"} or None, default=None
            z-scoring inside the network (see above).
        predictor_dim : int, default=512
            Hidden size of the freshly initialised predictor.
        device : str, default="auto"
            Where the networks are loaded.
        random_state : int, default=0
            Seeds the predictor's initialisation.

        Returns
        -------
        lcd : LCDPretrainer
            Fitted, with an empty ``history_``.
        """
        return load_reference_checkpoint(
            cls, path, n_leads=n_leads, n_timepoints=n_timepoints, standardize=standardize,
            predictor_dim=predictor_dim, device=device, random_state=random_state,
        )
