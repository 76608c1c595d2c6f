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

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ._base import SharesFittedPretrainerMixin
from ._param_validation import StrictInterval
from . import _class_descriptions
from ._templates import render_class_prompt
from ._class_descriptions import as_list as _as_list
from ._class_descriptions import class_descriptions_from_statements
from .zero_shot import DEFAULT_TEMPLATES, PTBXL_SUPERCLASS_DESCRIPTIONS, ZeroShotECGClassifier

__all__ = [
    "PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS",
    "class_descriptions_from_statements",
    "FewLabelPromptSelector",
]

#: The PTB-XL diagnostic superclasses described by the English descriptions of
#: their SCP statements (``scp_statements.csv`` of PTB-XL v1.0.3, CC BY 4.0):
#: ``class_descriptions_from_statements(statements)`` computed at import from
#: the table shipped in ``sklearn_ecg/datasets/data``, and the default
#: descriptions of :class:`~sklearn_ecg.ZeroShotECGClassifier`, except that
#: NORM's "normal ECG" is prefixed by the rhythm statement SR's "sinus
#: rhythm" (a normal ECG is in sinus rhythm, and the reports say both). A
#: class's prompts are averaged, every statement weighing the same
#: (``weighting="statement"``).
PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS = _class_descriptions.PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS


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
            for c in PTBXL_SUPERCLASS_DESCRIPTIONS:
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
            prompts = [render_class_prompt(t, d) for d in descriptions for t in templates]
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

