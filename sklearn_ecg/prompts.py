"""Class descriptions for zero-shot classification, from a knowledge base of statements.

A zero-shot classifier recognises a class by how close a record lies to the
*words* describing it. A class's name alone ("MI", "CD") says little to a
language model; the statements that define the class say much more. PTB-XL
ships such a knowledge base, ``scp_statements.csv``: every SCP-ECG statement
with its English description, its diagnostic superclass
(``diagnostic_class``) and subclass (``diagnostic_subclass``).
:func:`class_descriptions_from_statements` turns a table of that kind into the
``class_descriptions`` of :class:`~sklearn_ecg.ZeroShotECGClassifier`: each
class is described by the descriptions of all its statements, and its prompts
are averaged. No label of any record is used, so the classifier stays
zero-shot.

:class:`FewLabelPromptSelector` is the separate, *not* zero-shot variant for
users who have some labelled records: it keeps, for each class, the candidate
descriptions that rank the labelled records best.
"""

from importlib.resources import files
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ._base import SharesFittedPretrainerMixin
from ._param_validation import StrictInterval
from .zero_shot import (
    DEFAULT_TEMPLATES,
    PTBXL_SUPERCLASS_DESCRIPTIONS,
    ZeroShotECGClassifier,
    _as_list,
    _render,
)

__all__ = [
    "PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS",
    "class_descriptions_from_statements",
    "FewLabelPromptSelector",
]

_PTBXL_SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
_WEIGHTINGS = ("statement", "subclass")

def _require_columns(statements, columns):
    missing = [c for c in columns if c not in statements.columns]
    if missing:
        raise ValueError(
            f"statements lacks the column(s) {missing}; it has {list(statements.columns)}. "
            "Name the columns with class_column=..., description_column=... (and "
            "subclass_column=... for weighting='subclass')."
        )


def _is_blank(value):
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def class_descriptions_from_statements(statements, class_column="diagnostic_class",
                                       description_column="description", *, classes=None,
                                       weighting="statement",
                                       subclass_column="diagnostic_subclass", translate=None):
    """Describe each class by the descriptions of the statements that belong to it.

    Builds the ``class_descriptions`` of
    :class:`~sklearn_ecg.ZeroShotECGClassifier` from a knowledge base: a table
    with one row per statement (e.g. an SCP-ECG code), its description, and the
    class it belongs to, such as PTB-XL's ``scp_statements.csv``. No label of
    any record is read, so a classifier built on these descriptions is still
    zero-shot.

    Parameters
    ----------
    statements : pandas.DataFrame
        One row per statement. Rows whose class is missing (NaN, None or blank;
        in PTB-XL the form and rhythm statements) are left out.
    class_column : str, default="diagnostic_class"
        Column holding each statement's class.
    description_column : str, default="description"
        Column holding each statement's description, in the language of the
        text the model was trained on (English for the default METS model on
        translated PTB-XL reports). Rows without a description are left out.
    classes : list or None, default=None
        The classes to describe, in this order (the order of the keys, which
        :class:`~sklearn_ecg.ZeroShotECGClassifier` takes as the columns of a
        multi-label ``y`` when no ``class_names`` is given). None takes every
        class of the table: the five PTB-XL superclasses in
        :func:`~sklearn_ecg.datasets.load_ptbxl`'s order (NORM, MI, STTC, CD,
        HYP) when the table has exactly these, otherwise sorted (as
        ``load_ptbxl`` sorts subclasses). Pass ``classes`` explicitly for any
        other column order.
    weighting : {"statement", "subclass"}, default="statement"
        ``"statement"``: a flat list of descriptions per class, so every
        statement weighs the same in the class's average. ``"subclass"``: one
        list per subclass (``subclass_column``), so the classifier averages
        within each subclass first and every subclass weighs the same. On
        the validation fold 8 of the shared PTB-XL records, the plain mean
        scored higher (macro ROC-AUC 0.755 vs 0.746 with METS pretrained on
        folds 1-7).
    subclass_column : str, default="diagnostic_subclass"
        Column of the subclass, used when ``weighting="subclass"``. A row
        with a missing subclass forms a group of its own.
    translate : callable or None, default=None
        Applied to every description, e.g. to translate them into the language
        of the training reports.

    Returns
    -------
    class_descriptions : dict
        ``{class: [description, ...]}`` (``"statement"``) or
        ``{class: [[description, ...], ...]}`` (``"subclass"``), descriptions
        in the table's row order without repeats.

    See Also
    --------
    PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS : The result for the shipped PTB-XL table.
    FewLabelPromptSelector : Select descriptions on labelled records (not zero-shot).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ecg.prompts import class_descriptions_from_statements
    >>> table = pd.DataFrame({
    ...     "description": ["inferior myocardial infarction", "anterior myocardial infarction",
    ...                     "left bundle branch block", "sinus rhythm"],
    ...     "diagnostic_class": ["MI", "MI", "CD", None],
    ...     "diagnostic_subclass": ["IMI", "AMI", "CLBBB", None]})
    >>> class_descriptions_from_statements(table)
    {'CD': ['left bundle branch block'], 'MI': ['inferior myocardial infarction', \
'anterior myocardial infarction']}
    >>> class_descriptions_from_statements(table, weighting="subclass")["MI"]
    [['inferior myocardial infarction'], ['anterior myocardial infarction']]

    With PTB-XL's own table (shipped with the package):

    >>> from importlib.resources import files
    >>> path = files("sklearn_ecg.datasets") / "data" / "scp_statements.csv"
    >>> statements = pd.read_csv(path, index_col=0)
    >>> descriptions = class_descriptions_from_statements(statements)
    >>> list(descriptions)
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> descriptions["HYP"][:2]
    ['left ventricular hypertrophy', 'left atrial overload/enlargement']
    """
    if not (hasattr(statements, "columns") and hasattr(statements, "iterrows")):
        raise TypeError(
            "statements must be a pandas DataFrame with one row per statement (e.g. "
            f"pd.read_csv('scp_statements.csv', index_col=0)); got {type(statements).__name__}."
        )
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}; got {weighting!r}.")
    if translate is not None and not callable(translate):
        raise TypeError(f"translate must be a callable mapping a str to a str, or None; got {translate!r}.")
    columns = [class_column, description_column]
    if weighting == "subclass":
        columns.append(subclass_column)
    _require_columns(statements, columns)

    groups = {}  # class -> {subclass key -> [descriptions]}
    for i, (cls, description) in enumerate(zip(statements[class_column], statements[description_column])):
        if _is_blank(cls) or _is_blank(description):
            continue
        if not isinstance(description, str):
            raise TypeError(
                f"statements[{description_column!r}] must hold strings; row {i} holds "
                f"{type(description).__name__} ({description!r})."
            )
        if translate is not None:
            description = translate(description)
            if not isinstance(description, str) or not description.strip():
                raise ValueError(
                    f"translate must return a non-empty string; it returned {description!r} for "
                    f"row {i}."
                )
        description = description.strip()
        if weighting == "subclass":
            sub = statements[subclass_column].iloc[i]
            key = ("row", i) if _is_blank(sub) else ("sub", sub)
        else:
            key = None
        bucket = groups.setdefault(cls, {}).setdefault(key, [])
        if description not in bucket:
            bucket.append(description)
    if not groups:
        raise ValueError(
            f"statements has no row with both a class ({class_column!r}) and a description "
            f"({description_column!r}); {len(statements)} row(s) were read."
        )
    if classes is None:
        found = list(groups)
        classes = (list(_PTBXL_SUPERCLASSES) if set(found) == set(_PTBXL_SUPERCLASSES)
                   else sorted(found, key=str))
    else:
        classes = _as_list(classes)
        unknown = [c for c in classes if c not in groups]
        if unknown:
            raise ValueError(
                f"No statement of class(es) {unknown} in statements[{class_column!r}]; its "
                f"classes are {sorted(groups, key=str)}."
            )
    if weighting == "statement":
        return {c: groups[c][None] for c in classes}
    return {c: list(groups[c].values()) for c in classes}


def _shipped_statement_descriptions():
    # Derived from the shipped table rather than written out, so the two cannot drift.
    path = files("sklearn_ecg") / "datasets" / "data" / "scp_statements.csv"
    with path.open(encoding="utf-8") as f:
        statements = pd.read_csv(f, index_col=0)
    return class_descriptions_from_statements(statements)


#: The PTB-XL diagnostic superclasses described by the English descriptions of
#: their SCP statements (``scp_statements.csv`` of PTB-XL v1.0.3, CC BY 4.0):
#: ``class_descriptions_from_statements(statements)`` computed at import from
#: the table shipped in ``sklearn_ecg/datasets/data``, and the default
#: descriptions of :class:`~sklearn_ecg.ZeroShotECGClassifier`. A class's
#: prompts are averaged, every statement weighing the same
#: (``weighting="statement"``).
PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS = _shipped_statement_descriptions()


class FewLabelPromptSelector(SharesFittedPretrainerMixin, ClassifierMixin, BaseEstimator):
    """Choose each class's descriptions on labelled records (a *few-label* method, not zero-shot).

    For users who have some labelled records: every candidate description of a
    class is turned into a prompt and scored by the ROC-AUC with which its
    cosine similarity ranks the labelled records of that class above the
    others (one-vs-rest); the ``n_descriptions`` best candidates of each class
    become the descriptions of a
    :class:`~sklearn_ecg.ZeroShotECGClassifier` (``classifier_``), which then
    predicts. The pretrainer is never trained. Since the labels choose the
    prompts, figures obtained with this selector are few-label figures: report
    them on records other than those passed to ``fit``.

    Parameters
    ----------
    pretrainer : METSPretrainer
        A *fitted* :class:`~sklearn_ecg.METSPretrainer`; never refitted.
    candidates : dict or None, default=None
        Maps a class label to its candidate descriptions (a list of str;
        nested lists are flattened). None takes, for the PTB-XL superclasses,
        the hand-written :data:`~sklearn_ecg.zero_shot.PTBXL_SUPERCLASS_DESCRIPTIONS`
        together with the statement descriptions
        :data:`PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS`. A class without an
        entry has its label as its only candidate.
    template : str or sequence of str, default=DEFAULT_TEMPLATES
        As for :class:`~sklearn_ecg.ZeroShotECGClassifier`; a description's
        score is that of its prompts averaged over the templates.
    n_descriptions : int, default=3
        Descriptions kept per class (all of them when a class has fewer).
    class_names : list of str or None, default=None
        Names of the columns of a multi-label indicator ``y``; None takes the
        keys of ``candidates`` (or NORM, MI, STTC, CD, HYP).

    Attributes
    ----------
    classes_ : ndarray
        Class labels (single-label) or class names (multi-label).
    candidate_scores_ : dict
        ``{class: {description: ROC-AUC on the labelled records}}``.
    selected_descriptions_ : dict
        ``{class: [description, ...]}``, best first.
    classifier_ : ZeroShotECGClassifier
        The classifier built on the selected descriptions.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator.
    n_features_in_ : int
        As for the pretrainer.

    See Also
    --------
    sklearn_ecg.prompts.class_descriptions_from_statements : Descriptions without labels (zero-shot).

    Examples
    --------
    >>> from sklearn_ecg import METSPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.prompts import FewLabelPromptSelector
    >>> data = load_ptbxl_sample()
    >>> X, reports = data.X[:64, :, :500], data.report[:64]
    >>> mets = METSPretrainer(width=0.125, max_epochs=1, random_state=0).fit(X, reports=reports)
    >>> selector = FewLabelPromptSelector(mets, n_descriptions=2).fit(X, data.y[:64])
    >>> [len(d) for d in selector.selected_descriptions_.values()]
    [2, 2, 2, 2, 2]
    >>> selector.decision_function(X[:3]).shape
    (3, 5)
    """

    def __init__(self, pretrainer, candidates=None, template=DEFAULT_TEMPLATES,
                 n_descriptions=3, class_names=None):
        self.pretrainer = pretrainer
        self.candidates = candidates
        self.template = template
        self.n_descriptions = n_descriptions
        self.class_names = class_names

    def _candidates(self):
        if self.candidates is None:
            table = {}
            for c in _PTBXL_SUPERCLASSES:
                merged = list(PTBXL_SUPERCLASS_DESCRIPTIONS[c])
                merged += PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS[c]
                table[c] = list(dict.fromkeys(merged))
            return table
        return self.candidates

    def _class_candidates(self, table, label):
        for key in (label, str(label)):
            if key in table:
                flat = []
                for item in _as_list(table[key]):
                    flat.extend(_as_list(item))
                break
        else:
            flat = [str(label)]
        if not flat or not all(isinstance(d, str) and d.strip() for d in flat):
            raise ValueError(f"The candidates of class {label!r} must be non-empty strings; got {flat!r}.")
        return list(dict.fromkeys(flat))

    _parameter_constraints = {
        # Checked in fit, with a message that says what to pass.
        "pretrainer": "no_validation",
        "candidates": [dict, None],
        "template": [str, list, tuple],
        "n_descriptions": [StrictInterval(Integral, 1, None, closed="left")],
        "class_names": ["array-like", None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Score the candidates on labelled records and keep the best of each class.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Labelled records.
        y : array-like of shape (n_records,) or (n_records, n_classes)
            Class labels, or a multi-label indicator. Every class needs
            records in and out of it.

        Returns
        -------
        self : FewLabelPromptSelector
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y: it selects descriptions on labelled records."
            )
        table = self._candidates()
        probe = ZeroShotECGClassifier(self.pretrainer, template=self.template,
                                      class_descriptions={}, class_names=self.class_names
                                      if self.class_names is not None else list(table))
        # Validates X, y and the pretrainer, and fixes the classes.
        probe.fit(X, y)
        pretrainer = probe._pretrainer()
        y = np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy()
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        multilabel = probe.multilabel_
        classes = probe.classes_
        templates = _as_list(self.template)
        ecg = pretrainer.encode_ecg(X)
        self.candidate_scores_, self.selected_descriptions_ = {}, {}
        for k, label in enumerate(classes):
            target = y[:, k] if multilabel else (y == label)
            target = np.asarray(target).astype(bool)
            if target.all() or not target.any():
                raise ValueError(
                    f"Class {label!r} needs labelled records both in and out of it to score its "
                    f"candidates; y has {int(target.sum())} of {len(target)} records in it."
                )
            descriptions = self._class_candidates(table, label)
            prompts = [_render(t, d) for d in descriptions for t in templates]
            emb = pretrainer.encode_text(prompts).reshape(len(descriptions), len(templates), -1)
            emb = emb.mean(axis=1)
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            sims = ecg @ emb.T
            scores = {d: float(roc_auc_score(target, sims[:, j])) for j, d in enumerate(descriptions)}
            self.candidate_scores_[label] = scores
            # Stable sort: ties keep the candidates' order.
            ranked = sorted(descriptions, key=lambda d: -scores[d])
            self.selected_descriptions_[label] = ranked[: self.n_descriptions]
        self.classifier_ = ZeroShotECGClassifier(
            self.pretrainer, template=self.template,
            class_descriptions=dict(self.selected_descriptions_),
            class_names=list(classes) if multilabel else None,
        ).fit(X, y)
        self.classes_ = self.classifier_.classes_
        self.multilabel_ = multilabel
        self.n_features_in_ = self.classifier_.n_features_in_
        return self

    def decision_function(self, X):
        """Cosine similarity of every record to every class (see ZeroShotECGClassifier)."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.decision_function(X)

    def predict_proba(self, X):
        """Class probabilities or per-class scores (see ZeroShotECGClassifier)."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(X)

    def predict(self, X):
        """The most similar class, or the multi-label indicator (see ZeroShotECGClassifier)."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.classifier_tags.multi_label = True
        return tags

