"""Few-shot ECG classification: the zero-shot text weights, moved as far as a few labels justify."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import SharesFittedPretrainerMixin
from ._validation import check_ecg_array, check_targets
from .nn.forward import ForwardModule, check_output, decision_from_logits, proba_from_logits
from .zero_shot import DEFAULT_TEMPLATES, ZeroShotECGClassifier


def _objective(theta, Z, offset, Y, multilabel, C, ridge_intercept):
    """Penalised log-loss of ``offset + Z @ V.T + b`` and its gradient (V, b packed in theta)."""
    n_classes, dim = offset.shape[1], Z.shape[1]
    V = theta[: n_classes * dim].reshape(n_classes, dim)
    b = theta[n_classes * dim :]
    logits = offset + Z @ V.T + b
    if multilabel:
        loss = np.sum(np.logaddexp(0.0, logits) - Y * logits)
        residual = expit(logits) - Y
    else:
        loss = -np.sum(log_softmax(logits, axis=1) * Y)
        residual = softmax(logits, axis=1) - Y
    value = C * loss + 0.5 * np.sum(V * V) + 0.5 * ridge_intercept * np.sum(b * b)
    grad_V = C * residual.T @ Z + V
    grad_b = C * residual.sum(axis=0) + ridge_intercept * b
    return value, np.concatenate([grad_V.ravel(), grad_b])


class FewShotECGClassifier(SharesFittedPretrainerMixin, ClassifierMixin, BaseEstimator):
    """Classify ECG records from the classes' descriptions and a few labelled records.

    A logistic regression on the joint ECG–text embeddings of a fitted METS
    model (:meth:`~sklearn_ecg.METSPretrainer.encode_ecg`, L2-normalised)
    whose weights start from the zero-shot classifier's: each class's
    weight vector is ``prior_scale`` times the class's text embedding (the
    weights of :class:`ZeroShotECGClassifier` with the same prompts and
    ``scoring``) plus a deviation ``V`` that the labels pay for::

        minimise  C · Σ_records log-loss(y, z·(prior_scale·t + v) + b) + ½ ‖V‖²

    The data term is a sum over the labelled records, so the text prior
    weighs as much against one record as against a thousand: with a few
    labels the weights stay near the text (a zero-shot ranking, calibrated),
    with many they follow the labels and the classifier becomes a logistic
    regression probe of the embeddings. With ``C=0`` the labels are not used
    and the classifier *is* the zero-shot classifier: the same
    ``decision_function``, ``predict_proba`` and ``predict``.

    Multi-label indicators are fitted as one logistic regression per class
    (sigmoid), class labels as one multinomial regression (softmax).

    Parameters
    ----------
    pretrainer : METSPretrainer or FrozenEstimator of one
        A *fitted* model whose records and texts share a space (it offers
        ``encode_ecg``, ``encode_text`` and ``logit_scale_``, as
        :class:`~sklearn_ecg.METSPretrainer` does). It is never refitted or
        modified, and :func:`sklearn.base.clone` shares it between the clones.
    template : str or sequence of str, default=DEFAULT_TEMPLATES
        Prompt template(s), as in :class:`ZeroShotECGClassifier`.
    class_descriptions : dict or None, default=None
        The classes' descriptions, as in :class:`ZeroShotECGClassifier`
        (None: the PTB-XL superclasses described by their statements).
    class_names : list of str or None, default=None
        Names of the columns of a multi-label indicator ``y``, as in
        :class:`ZeroShotECGClassifier`.
    lead_names : str, sequence of str or None, default=None
        The leads of X when they are only some of the pretrainer's, as in
        :class:`ZeroShotECGClassifier`.
    scoring : {"similarity", "relative"}, default="similarity"
        The zero-shot score the weights start from: the similarity to the
        class, or that similarity minus the record's mean similarity over
        the classes (the class's text embedding minus the mean of the
        classes'). It sets the prior of a multi-label ``y``; a softmax over
        single-label classes is the same with either. With ``C=0`` it is
        also what :meth:`decision_function` returns, as in
        :class:`ZeroShotECGClassifier`.
    crops : int, default=1
        Test-time averaging, as in :class:`ZeroShotECGClassifier`: every
        record's embedding, in ``fit`` and after, is the mean over ``crops``
        windows of ``crop_length`` of its length. 1: the whole record.
    crop_length : float in (0, 1], default=0.8
        The windows' length, a share of the records' length.
    C : float, default=1.0
        Weight of the labels' log-loss against the pull towards the text
        weights (inverse regularisation strength, as in
        :class:`~sklearn.linear_model.LogisticRegression`). 0: zero-shot.
    prior_scale : float, default=3.0
        The logit per unit of cosine similarity of the text weights the
        deviation is measured from: the larger, the more the text's
        direction dominates the few-label solution.
    max_iter : int, default=500
        Iterations of the L-BFGS solver.
    tol : float, default=1e-6
        Its tolerance on the projected gradient.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (single-label) or class names (multi-label).
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator.
    zero_shot_ : ZeroShotECGClassifier
        The zero-shot classifier with the same prompts, fitted on the same
        classes: the text weights and, with ``C=0``, every prediction.
    text_weights_ : ndarray of shape (n_classes, embedding_dim)
        The zero-shot direction of each class the weights start from (the
        class embeddings, minus their mean with ``scoring="relative"``).
    coef_ : ndarray of shape (n_classes, embedding_dim)
        The fitted weights: ``prior_scale · text_weights_`` plus the
        deviation the labels bought.
    intercept_ : ndarray of shape (n_classes,)
        The fitted intercepts.
    n_iter_ : int
        Iterations the solver ran (0 with ``C=0``).
    n_features_in_ : int
        Leads of X (for 3-D input), as seen in ``fit``.

    See Also
    --------
    ZeroShotECGClassifier : The same classes without labels.

    Notes
    -----
    :meth:`decision_function` is the fitted logit (``z·coef_ + intercept_``;
    for two single-label classes, the second's minus the first's), and
    :meth:`predict_proba` its sigmoid (multi-label) or softmax: probabilities
    fitted on the labels seen, so they follow the class balance of those
    records. The weights are the maximum a posteriori of a logistic
    regression under a Gaussian prior centred on the text weights (the
    linear probe initialised from zero-shot weights of few-shot CLIP
    adaptation, with the text prior kept as a penalty). The figures against
    zero-shot and a linear probe of the same embeddings are on the
    benchmarks page.

    Examples
    --------
    >>> from sklearn_ecg import FewShotECGClassifier, METSPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> X, reports = data.X[:64, :, :500], data.report[:64]
    >>> mets = METSPretrainer(width=0.125, max_epochs=1, random_state=0).fit(X, reports=reports)
    >>> clf = FewShotECGClassifier(mets).fit(X[:16], data.y[:16])
    >>> list(clf.classes_)
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> clf.predict_proba(X[16:18]).shape
    (2, 5)
    """

    _parameter_constraints = {
        **ZeroShotECGClassifier._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="left")],
        "prior_scale": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, pretrainer, template=DEFAULT_TEMPLATES, class_descriptions=None,
                 class_names=None, lead_names=None, scoring="similarity", crops=1,
                 crop_length=0.8, C=1.0, prior_scale=3.0, max_iter=500, tol=1e-6):
        self.pretrainer = pretrainer
        self.template = template
        self.class_descriptions = class_descriptions
        self.class_names = class_names
        self.lead_names = lead_names
        self.scoring = scoring
        self.crops = crops
        self.crop_length = crop_length
        self.C = C
        self.prior_scale = prior_scale
        self.max_iter = max_iter
        self.tol = tol

    def _zero_shot(self):
        """The (unfitted) zero-shot classifier with this classifier's prompts."""
        return ZeroShotECGClassifier(
            self.pretrainer, template=self.template, class_descriptions=self.class_descriptions,
            class_names=self.class_names, lead_names=self.lead_names, scoring=self.scoring,
            crops=self.crops, crop_length=self.crop_length,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Embed the classes' descriptions and fit the weights to the labelled records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            The labelled records, with the pretrainer's leads (or ``lead_names``).
        y : array-like of shape (n_records,) or (n_records, n_classes)
            Class labels (str or int), or a multi-label indicator whose
            columns are named by ``class_names`` or the keys of
            ``class_descriptions``. A column of a single value (no positive,
            or no negative) is fitted too: its intercept follows the labels,
            its ranking stays near the text's.

        Returns
        -------
        self : FewShotECGClassifier
        """
        X, seen = check_ecg_array(self, X, reset=True, min_records=1)
        y, _ = check_targets(y, type(self).__name__)
        zero_shot = self._zero_shot().fit(X, y)
        classes = zero_shot.classes_
        if zero_shot.multilabel_:
            Y = np.asarray(y, dtype=np.float64)
        else:
            Y = (np.asarray(y).reshape(-1, 1) == classes.reshape(1, -1)).astype(np.float64)
        weights = zero_shot.class_embeddings_.astype(np.float64)
        if self.scoring == "relative":
            weights = weights - weights.mean(axis=0, keepdims=True)
        n_classes, dim = weights.shape
        V, b, n_iter = np.zeros((n_classes, dim)), np.zeros(n_classes), 0
        if self.C > 0:
            Z = zero_shot._encode(X).astype(np.float64)
            offset = self.prior_scale * Z @ weights.T
            result = minimize(
                _objective, np.zeros(n_classes * (dim + 1)),
                args=(Z, offset, Y, zero_shot.multilabel_, float(self.C), 1e-4),
                jac=True, method="L-BFGS-B",
                options={"maxiter": int(self.max_iter), "gtol": float(self.tol)},
            )
            V = result.x[: n_classes * dim].reshape(n_classes, dim)
            b, n_iter = result.x[n_classes * dim :], int(result.nit)
            if n_iter >= self.max_iter:
                warnings.warn(
                    f"The L-BFGS solver stopped after max_iter={self.max_iter} iterations "
                    "without converging; increase max_iter (or lower C).",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        self.zero_shot_ = zero_shot
        self.classes_ = classes
        self.multilabel_ = zero_shot.multilabel_
        self.text_weights_ = weights
        self.coef_ = self.prior_scale * weights + V
        self.intercept_ = b
        self.n_iter_ = n_iter
        seen.assign(self)
        return self

    def _as_zero_shot(self, method, X):
        """With ``C=0``: the zero-shot classifier's answer, X first checked against this one."""
        check_is_fitted(self, "coef_")
        check_ecg_array(self, X, reset=False, min_records=1)
        return getattr(self.zero_shot_, method)(X)

    def _logits(self, X):
        check_is_fitted(self, "coef_")
        X = check_ecg_array(self, X, reset=False, min_records=1)
        Z = self.zero_shot_._encode(X).astype(np.float64)
        return Z @ self.coef_.T + self.intercept_

    def decision_function(self, X):
        """The fitted logit of every class (with ``C=0``, the zero-shot scores).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        scores : ndarray of shape (n_records, n_classes) or (n_records,)
            Logits; for two single-label classes, the second class's logit
            minus the first's, shape (n_records,), as scikit-learn expects
            of a binary classifier. With ``C=0``,
            ``zero_shot_.decision_function(X)``.
        """
        if self.C == 0:
            return self._as_zero_shot("decision_function", X)
        return decision_from_logits(self._logits(X), self.multilabel_, len(self.classes_))

    def predict_proba(self, X):
        """Class probabilities (single-label) or per-class probabilities (multi-label).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
            The softmax of the logits over the classes, or for a multi-label
            ``y`` the sigmoid of each class's logit. With ``C=0``,
            ``zero_shot_.predict_proba(X)``.
        """
        if self.C == 0:
            return self._as_zero_shot("predict_proba", X)
        return proba_from_logits(self._logits(X), self.multilabel_)

    def differentiable_forward(self, output="proba"):
        """``predict_proba`` or ``decision_function`` as a differentiable torch module.

        The forward contract (:mod:`sklearn_ecg.nn.forward`): the records'
        joint-space embeddings as the zero-shot classifier computes them
        (its leads placed into the pretrainer's layout), in float64, the
        fitted logits ``z·coef_ + intercept_``, then the same functions as
        the methods; with ``C=0``, the zero-shot classifier's own forward.

        Parameters
        ----------
        output : {"proba", "decision"}, default="proba"
            Which method the module computes: ``predict_proba`` or
            ``decision_function``.

        Returns
        -------
        forward : ForwardModule
            The method's outputs for records ``(B, n_leads, T)`` with the
            leads of ``X`` in ``fit``, with gradients.
        """
        check_output(output, ("proba", "decision"), type(self).__name__)
        check_is_fitted(self, "coef_")
        if self.C == 0:
            return self.zero_shot_.differentiable_forward(output)
        embed = self.zero_shot_._embedding_forward()
        coef = torch.as_tensor(np.asarray(self.coef_, dtype=np.float64))
        intercept = torch.as_tensor(np.asarray(self.intercept_, dtype=np.float64))
        multilabel, n_classes = self.multilabel_, len(self.classes_)

        def function(x):
            logits = embed(x) @ coef.to(x.device).T + intercept.to(x.device)
            if output == "proba":
                return proba_from_logits(logits, multilabel)
            return decision_from_logits(logits, multilabel, n_classes)

        return ForwardModule(function, [embed], n_leads=embed.n_leads, min_length=embed.min_length,
                             classes=self.classes_, output=output)

    def predict(self, X):
        """The most probable class, or for multi-label ``y`` the indicator of ``predict_proba > 0.5``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)

        Returns
        -------
        y_pred : ndarray of shape (n_records,) or (n_records, n_classes)
            With ``C=0``, ``zero_shot_.predict(X)``.
        """
        if self.C == 0:
            return self._as_zero_shot("predict", X)
        logits = self._logits(X)
        if self.multilabel_:
            return (logits > 0).astype(int)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.classifier_tags.multi_label = True
        return tags
