"""Zero-shot ECG classification with a model of a joint ECG–text space (METS, MERL)."""

import logging
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._base import SharesFittedPretrainerMixin
from ._class_descriptions import PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
from ._class_descriptions import as_list as _as_list
from ._class_descriptions import check_class_descriptions
from ._encoder import fitted_pretrainer
from ._tables import read_lists
from ._templates import render_class_prompt
from ._validation import check_ecg_array, check_targets
from .input_contract import lead_subset_note, match_leads, takes_missing_leads
from .nn.forward import (
    ForwardModule,
    check_output,
    decision_from_logits,
    place_leads,
    proba_from_logits,
    row_mean,
)
from .preprocessing import LeadLayout

#: Hand-written descriptions of the PTB-XL diagnostic superclasses, several per class
#: (package data ``data/ptbxl_superclass_descriptions.tsv``; see sklearn_ecg.prompts for
#: the knowledge-base ones); the prompts of a class are averaged in the joint space.
PTBXL_SUPERCLASS_DESCRIPTIONS = read_lists(
    "ptbxl_superclass_descriptions.tsv", "class", "description"
)

#: The default prompt templates: the METS paper's class prompt and the
#: template of METS's training text, each filled with every description (the
#: two together score above either alone; see the benchmarks page).
DEFAULT_TEMPLATES = ("The ECG of {}, a type of diagnostic.", "The report of the ECG is that {}")

# The scores' maths is written once for arrays (the estimator's methods) and
# tensors (its differentiable forward): these pick the library's own function.

#: Says, once per ``fit`` with a lead subset, which leads the model sees and what that costs.
logger = logging.getLogger(__name__)


def _column_names(y):
    """The column names of a 2-D DataFrame ``y`` (None for other input or default integer names)."""
    columns = getattr(y, "columns", None)
    if columns is None or getattr(y, "ndim", 1) != 2 or len(columns) < 2:
        return None
    names = list(columns)
    if names == list(range(len(names))):
        return None
    return names


class ZeroShotECGClassifier(SharesFittedPretrainerMixin, ClassifierMixin, BaseEstimator):
    """Classify ECG records from the names of the classes alone, with a fitted METS or MERL model.

    Each class is described in words; the prompts ``template.format(description)``
    are embedded into the joint ECG–text space by the pretrainer's frozen
    language model and trained text head, and a record is scored by the
    cosine similarity of its joint-space embedding to each class. Nothing is
    trained: ``fit`` only learns the classes, so labels serve to name
    classes, never to tune.

    Parameters
    ----------
    pretrainer : METSPretrainer, MERLEmbedder or FrozenEstimator of one
        A *fitted* :class:`~sklearn_ecg.METSPretrainer`, or a MERL model
        loaded from its ``*_ckpt.pth``
        (:class:`~sklearn_ecg.foundation.MERLEmbedder`): a model whose
        ``encode_ecg`` and ``encode_text`` give L2-normalised embeddings of
        one space. It is never refitted or modified, and
        :func:`sklearn.base.clone` shares it between the clones instead of
        copying (or unfitting) it. With MERL, ``template="{}"`` and
        ``class_descriptions`` from :data:`sklearn_ecg.foundation.MERL_PROMPTS`
        follow MERL's own zero-shot procedure.
    template : str or sequence of str, default=DEFAULT_TEMPLATES
        Prompt(s); ``{}`` (or ``{name}``) is replaced by a class description.
        Any other placeholder is an error. The default is the pair
        ``("The ECG of {}, a type of diagnostic.", "The report of the ECG is that {}")``:
        the paper's class prompt and METS's training-text template.
    class_descriptions : dict or None, default=None
        Maps a class label to a description or a list of descriptions. A
        class without an entry is described by its label as a string. None
        uses :data:`sklearn_ecg.prompts.PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS`:
        the PTB-XL superclasses (NORM, MI, STTC, CD, HYP) described by
        their statements in PTB-XL's knowledge base, without labels; the
        hand-written ``PTBXL_SUPERCLASS_DESCRIPTIONS`` (a few synonyms per
        class) remain available. Every description × template pair is one
        prompt; a class's prompts are averaged (mean of the normalised
        embeddings, normalised again). A class may instead map to a list of
        *groups* (lists of descriptions, e.g. one per subclass): each group
        is averaged first, then the groups, so every group weighs the same;
        :func:`sklearn_ecg.prompts.class_descriptions_from_statements` builds
        such groups from a table of statements, without labels.
    class_names : list of str or None, default=None
        Names of the columns of a multi-label indicator ``y``. None takes the
        keys of ``class_descriptions`` (of the default descriptions: NORM,
        MI, STTC, CD, HYP, the order of ``load_ptbxl``'s superclasses) when
        their number matches the columns.
    lead_names : str, sequence of str or None, default=None
        Names of the leads of X, in the order of its axis 1, when the records
        have only some of the leads the pretrainer was trained on (lead I of
        a smartwatch: ``["I"]``; lead II and V1 of a monitor: ``["II",
        "V1"]``). Each is placed at its place in the pretrainer's lead
        layout and the missing leads are zero
        (:class:`~sklearn_ecg.preprocessing.LeadLayout`), which is how a
        METS model pretrained with ``lead_masking > 0`` saw records with
        missing leads; the pretrainer is not refitted. None: X has the
        pretrainer's leads, in its order. With fewer leads than the
        pretrainer's, ``fit`` says once, through the ``sklearn_ecg.zero_shot``
        logger (shown on stderr unless logging is configured otherwise),
        which leads the model sees and what that subset costs where it was
        measured for the shipped model.
    scoring : {"similarity", "relative"}, default="similarity"
        What :meth:`decision_function` returns, the score records are ranked
        by for a class: the cosine similarity of each record to the class
        (the paper), or ``"relative"``, that similarity minus the record's
        mean similarity over the classes, the rule ``predict`` and
        ``predict_proba`` of a multi-label ``y`` follow. The relative score
        suits classes defined by the absence of the others, such as "normal
        ECG", and lowers single findings such as atrial fibrillation, whose
        similarity already stands out (figures on the benchmarks page).
        ``predict`` and ``predict_proba`` do not depend on it.
    crops : int, default=1
        Test-time averaging: each record's embedding is the mean of the
        embeddings of ``crops`` windows of ``crop_length`` of its length,
        evenly spread from its start to its end, so that its scores are the
        mean of the windows' scores (the similarities are linear in the
        embedding). 1: the whole record, as the paper.
    crop_length : float in (0, 1], default=0.8
        The windows' length, a share of the records' length (rounded to a
        sample); only used with ``crops > 1``. Windows must stay long
        enough for the encoder (``encode_ecg`` warns otherwise).

    Attributes
    ----------
    classes_ : ndarray
        Class labels (single-label) or class names (multi-label).
    class_embeddings_ : ndarray of shape (n_classes, embedding_dim)
        Normalised joint-space embedding of each class.
    prompts_ : list of list of str
        The prompts of each class.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator.
    logit_scale_ : float
        The pretrainer's learnt ``1/τ``, the scale of the similarities in
        ``predict_proba``.
    n_features_in_ : int
        Leads of X (for 3-D input), as seen in ``fit``.
    lead_layout_ : LeadLayout or None
        The fitted :class:`~sklearn_ecg.preprocessing.LeadLayout` that
        places X's leads into the pretrainer's layout (``lead_names`` given),
        else None.

    Notes
    -----
    ``decision_function`` is the raw cosine similarity, the score to rank
    records by (e.g. per-class ROC-AUC). ``predict_proba`` is, for
    single-label ``y``, the softmax over classes of the similarities scaled
    by ``1/τ`` (the paper's zero-shot rule); for a multi-label indicator, the
    sigmoid of ``(similarity − mean similarity over the classes) / τ`` per
    class, so that ``predict`` marks the classes a record is closer to than
    to the average class. No threshold is learnt from labels.

    Examples
    --------
    >>> from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> X, reports = data.X[:64, :, :500], data.report[:64]
    >>> mets = METSPretrainer(width=0.125, max_epochs=1, random_state=0).fit(X, reports=reports)
    >>> clf = ZeroShotECGClassifier(mets).fit(X, data.y[:64])
    >>> list(clf.classes_)
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> clf.decision_function(X[:2]).shape
    (2, 5)
    """

    def __init__(self, pretrainer, template=DEFAULT_TEMPLATES,
                 class_descriptions=None, class_names=None, lead_names=None,
                 scoring="similarity", crops=1, crop_length=0.8):
        self.pretrainer = pretrainer
        self.template = template
        self.class_descriptions = class_descriptions
        self.class_names = class_names
        self.lead_names = lead_names
        self.scoring = scoring
        self.crops = crops
        self.crop_length = crop_length

    def _pretrainer(self):
        """The fitted METS pretrainer (unwrapped from a FrozenEstimator)."""
        try:
            pretrainer = fitted_pretrainer(self.pretrainer)
        except NotFittedError as exc:
            raise NotFittedError(
                "pretrainer must already be fitted: call METSPretrainer(...).fit(X, reports=...) "
                "first; ZeroShotECGClassifier never trains it."
            ) from exc
        except TypeError:
            pretrainer = self.pretrainer
        if not (hasattr(pretrainer, "encode_text") and hasattr(pretrainer, "encode_ecg")):
            raise TypeError(
                "pretrainer must be a fitted METSPretrainer or MERL model (or a FrozenEstimator of "
                "one), whose encoder shares a space with text (encode_ecg and encode_text); got "
                f"{type(pretrainer).__name__}."
            )
        return pretrainer

    def _table(self):
        if self.class_descriptions is None:
            return PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
        return check_class_descriptions(self.class_descriptions, allow_empty=True)

    def _descriptions(self, label):
        table = self._table()
        for key in (label, str(label)):
            if key in table:
                descriptions = _as_list(table[key])
                break
        else:
            descriptions = [str(label)]
        if not descriptions or not all(isinstance(d, str) and d.strip() for d in descriptions):
            raise ValueError(f"The descriptions of class {label!r} must be non-empty strings; got {descriptions!r}.")
        return descriptions

    def _description_groups(self, label):
        """The descriptions of a class as groups: one group unless they are nested lists."""
        table = self._table()
        if isinstance(table, dict):
            for key in (label, str(label)):
                if key in table and not isinstance(table[key], str):
                    items = list(table[key])
                    if items and all(not isinstance(i, str) for i in items):
                        groups = [_as_list(i) for i in items]
                        if not all(g and all(isinstance(d, str) and d.strip() for d in g) for g in groups):
                            raise ValueError(
                                f"The description groups of class {label!r} must be non-empty lists "
                                f"of non-empty strings; got {items!r}."
                            )
                        return groups
                    break
        return [self._descriptions(label)]

    _parameter_constraints = {
        # Checked in fit, with a message that says what to pass.
        "pretrainer": "no_validation",
        "template": [str, list, tuple],
        "class_descriptions": [dict, None],
        "class_names": ["array-like", None],
        "lead_names": [str, "array-like", None],
        "scoring": [StrOptions({"similarity", "relative"})],
        "crops": [Interval(Integral, 1, None, closed="left")],
        "crop_length": [Interval(Real, 0, 1, closed="right")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the classes; nothing is trained.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records; only checked against the pretrainer.
        y : array-like of shape (n_records,) or (n_records, n_classes)
            Class labels (str or int), or a multi-label indicator whose
            columns are named by ``class_names`` or the keys of
            ``class_descriptions``.

        Returns
        -------
        self : ZeroShotECGClassifier
        """
        pretrainer = self._pretrainer()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "y names the classes (labels, or a multi-label indicator)."
            )
        X, seen = check_ecg_array(self, X, reset=True, min_records=1)
        n_leads = X.shape[1] if X.ndim == 3 else 1
        layout = None
        if self.lead_names is not None:
            layout = self._lead_layout(pretrainer, X, n_leads)
        elif n_leads != pretrainer.n_leads_:
            raise ValueError(
                f"X has {n_leads} lead(s) per record but the pretrainer was fitted on "
                f"{pretrainer.n_leads_}; it can only embed records with the leads it was trained "
                "on. Select the same leads, in the same order (e.g. with "
                "sklearn_ecg.preprocessing.SelectLeads), or name the leads X has with "
                "lead_names=[...] to place them into the pretrainer's lead layout."
            )
        columns = _column_names(y)
        y, kind = check_targets(y, type(self).__name__)
        check_consistent_length(X, y)
        if kind == "multilabel-indicator":
            names = self.class_names
            if names is None:
                # The columns of a DataFrame name its classes, in their order.
                names = columns if columns is not None else list(self._table())
            names = list(names)
            if len(names) != y.shape[1]:
                raise ValueError(
                    f"y is a multi-label indicator with {y.shape[1]} columns but {len(names)} "
                    "class names are known; pass class_names=[...] (one per column, in order) "
                    "or class_descriptions with one key per column."
                )
            if columns is not None and [str(n) for n in names] != [str(c) for c in columns]:
                raise ValueError(
                    f"class_names={names!r} do not match the columns of y {columns!r}: the "
                    "columns would be scored against the wrong classes. Pass the names in the "
                    "order of the columns, or class_names=None to take the columns' names."
                )
            dupes = sorted({str(n) for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(
                    f"class_names names class(es) {', '.join(map(repr, dupes))} more than once; "
                    "each column of y needs a class of its own.")
            classes = np.asarray(names, dtype=object)
            multilabel = True
        else:
            classes = np.unique(y)
            multilabel = False
        templates = _as_list(self.template)
        if not templates:
            raise ValueError("template must be a string or a non-empty list of strings.")
        groups = [
            [[render_class_prompt(t, d) for d in group for t in templates] for group in self._description_groups(label)]
            for label in classes
        ]
        prompts = [[p for group in class_groups for p in group] for class_groups in groups]
        flat = [p for class_prompts in prompts for p in class_prompts]
        emb = pretrainer.encode_text(flat)
        out, start = [], 0
        for class_groups in groups:
            # Each group (e.g. a subclass) is averaged first, then the groups, so
            # every group weighs the same whatever its number of prompts.
            means = []
            for group in class_groups:
                mean = emb[start : start + len(group)].mean(axis=0)
                means.append(mean / max(np.linalg.norm(mean), 1e-12))
                start += len(group)
            mean = np.mean(means, axis=0) if len(means) > 1 else means[0]
            out.append(mean / max(np.linalg.norm(mean), 1e-12))
        logit_scale = pretrainer.logit_scale_
        # Fitted only once everything above succeeded.
        self.classes_ = classes
        self.multilabel_ = multilabel
        self.prompts_ = prompts
        self.class_embeddings_ = np.asarray(out, dtype=np.float32)
        self.logit_scale_ = logit_scale
        self.lead_layout_ = layout
        seen.assign(self)
        return self

    def _lead_layout(self, pretrainer, X, n_leads):
        """The fitted LeadLayout that places X's leads (``lead_names``) into the pretrainer's."""
        names = [self.lead_names] if isinstance(self.lead_names, str) else list(self.lead_names)
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise ValueError(f"lead_names must be a non-empty list of lead names; got {self.lead_names!r}.")
        if len(names) != n_leads:
            raise ValueError(
                f"lead_names names {len(names)} lead(s) ({', '.join(names)}) but X has {n_leads} "
                "per record; give one name per lead of X, in order."
            )
        contract = getattr(pretrainer, "input_contract_", None)
        model_leads = getattr(contract, "lead_names", None)
        if model_leads is None:
            raise ValueError(
                "lead_names needs a pretrainer that knows the names of the leads it was trained "
                "on; this one was fitted without them. Fit it with lead_names=[...] (e.g. "
                "METSPretrainer(lead_names=data.lead_names))."
            )
        # MLI/MLII/MLIII of a monitor or Holter stand in for I/II/III.
        names, _ = match_leads(model_leads, names, type(pretrainer).__name__, allow_missing=True)
        layout = LeadLayout(leads=names, layout=list(model_leads))
        try:
            layout.fit(X)
        except ValueError as exc:
            raise ValueError(f"lead_names={names!r} do not fit the pretrainer's leads: {exc}") from exc
        note = lead_subset_note(pretrainer, names, type(self).__name__)
        if note is not None:
            logger.warning(note)
        if len(names) < len(model_leads) and not takes_missing_leads(pretrainer):
            warnings.warn(
                f"The pretrainer was trained on all its {len(model_leads)} leads, always "
                f"(lead_masking=0); records with only {', '.join(names)} are unlike anything it "
                "saw, and its scores on them may be near chance. Pretrain with lead_masking > 0 "
                "for records with missing leads.",
                UserWarning,
                stacklevel=3,
            )
        return layout

    def _windows(self, n_timepoints):
        """``(start, length)`` of the windows averaged at test time (one: the whole record)."""
        if self.crops == 1:
            return [(0, n_timepoints)]
        length = max(1, int(round(self.crop_length * n_timepoints)))
        starts = np.linspace(0, n_timepoints - length, self.crops).round().astype(int)
        return [(int(start), length) for start in starts]

    def _encode(self, X):
        """Joint-space embeddings of X, its leads first placed into the pretrainer's layout.

        With ``crops > 1``, the mean of the embeddings of the windows.
        """
        layout = getattr(self, "lead_layout_", None)  # absent from pickles of older releases
        if layout is not None:
            X = layout.transform(X)
        windows = self._windows(X.shape[-1])
        if len(windows) == 1:
            return self._pretrainer().encode_ecg(X)
        return np.mean([self._pretrainer().encode_ecg(np.ascontiguousarray(X[..., s:s + n]))
                        for s, n in windows], axis=0)

    def decision_function(self, X):
        """Similarity of every record to every class (``scoring``).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        scores : ndarray of shape (n_records, n_classes)
            The cosine similarities, in [-1, 1], or with
            ``scoring="relative"`` each minus the record's mean over the
            classes. For two single-label classes, the similarity to the
            second class minus that to the first, shape (n_records,), as
            scikit-learn expects of a binary classifier (the same for both
            ``scoring``).
        """
        return self._decision_from_similarities(self._similarities(X))

    def _decision_from_similarities(self, scores):
        """``decision_function`` from the similarities (an array or a tensor)."""
        binary = not self.multilabel_ and len(self.classes_) == 2
        if self.scoring == "relative" and not binary:
            scores = scores - row_mean(scores)
        return decision_from_logits(scores, self.multilabel_, len(self.classes_))

    def _proba_from_similarities(self, scores):
        """``predict_proba`` from float64 similarities (an array or a tensor)."""
        logits = self.logit_scale_ * scores
        if self.multilabel_:
            logits = logits - row_mean(logits)
        return proba_from_logits(logits, self.multilabel_)

    def differentiable_forward(self, output="proba"):
        """``predict_proba`` or ``decision_function`` as a differentiable torch module.

        The forward contract (:mod:`sklearn_ecg.nn.forward`): the METS
        pretrainer's joint-space embeddings (its own forward), the
        similarities to the class embeddings in float64, then the same
        functions as the methods.

        Parameters
        ----------
        output : {"proba", "decision"}, default="proba"
            What the module outputs.

        Returns
        -------
        forward : ForwardModule
            Records ``(B, n_leads, T)`` (the leads of ``X`` in ``fit``) to
            ``(B, n_classes)`` (a binary decision: ``(B,)``), with gradients.
        """
        check_output(output, ("proba", "decision"), type(self).__name__)
        check_is_fitted(self, "class_embeddings_")
        embed = self._embedding_forward()
        classes = torch.as_tensor(np.asarray(self.class_embeddings_, dtype=np.float64))
        convert = self._proba_from_similarities if output == "proba" else self._decision_from_similarities
        return ForwardModule(lambda x: convert(embed(x) @ classes.to(x.device).T), [embed],
                             n_leads=embed.n_leads, min_length=embed.min_length, classes=self.classes_,
                             output=output)

    def _embedding_forward(self):
        """``_encode`` as a differentiable module: the records' leads placed, then joint embeddings in float64."""
        joint = self._pretrainer().differentiable_forward("joint")
        layout = getattr(self, "lead_layout_", None)
        n_leads = joint.n_leads if layout is None else len(layout.positions_)

        def function(x):
            if layout is not None:
                x = place_leads(x, list(layout.positions_), joint.n_leads)
            windows = self._windows(x.shape[-1])
            return torch.stack([joint(x[..., s:s + n]).double() for s, n in windows]).mean(0)

        min_length = joint.min_length
        if self.crops > 1 and min_length:
            min_length = int(np.ceil(min_length / self.crop_length))
        return ForwardModule(function, [joint], n_leads=n_leads, min_length=min_length,
                             output="joint")

    def _similarities(self, X):
        check_is_fitted(self, "class_embeddings_")
        X = check_ecg_array(self, X, reset=False, min_records=1)
        return self._encode(X) @ self.class_embeddings_.T

    def predict_proba(self, X):
        """Class probabilities (single-label) or per-class scores (multi-label).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
            Softmax over classes of the similarities scaled by ``1/τ``; for a
            multi-label ``y``, ``sigmoid((s − mean_c s) / τ)`` per class.
        """
        check_is_fitted(self, "class_embeddings_")
        return self._proba_from_similarities(self._similarities(X).astype(np.float64))

    def predict(self, X):
        """The most similar class, or for multi-label ``y`` the indicator of ``predict_proba > 0.5``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        y_pred : ndarray of shape (n_records,) or (n_records, n_classes)
        """
        sims = self._similarities(X)
        if self.multilabel_:
            return (sims > sims.mean(axis=1, keepdims=True)).astype(int)
        return self.classes_[np.argmax(sims, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.classifier_tags.multi_label = True
        return tags
