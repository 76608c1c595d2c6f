"""Which leads and which moments of a record made a model say what it said.

:func:`explain_prediction` attributes a model's output for one class to
every sample of every lead, for the three kinds of model of the package:
a fitted :class:`~sklearn_ecg.ECGClassifier` (its predicted probabilities),
a :class:`~sklearn_ecg.ZeroShotECGClassifier` (its class scores), and a
scikit-learn :class:`~sklearn.pipeline.Pipeline` of a fitted pretrainer (or
a :class:`~sklearn.frozen.FrozenEstimator` of one, or a
:class:`~sklearn_ecg.LeadwiseEmbedder`), optionally a
:class:`~sklearn.preprocessing.StandardScaler`, and a linear classifier
(:class:`~sklearn.linear_model.LogisticRegression`,
:class:`~sklearn.linear_model.RidgeClassifier`,
:class:`~sklearn.svm.LinearSVC`, ..., or a
:class:`~sklearn.multiclass.OneVsRestClassifier` of one). Each model is
turned into one differentiable torch function from records to outputs (the
encoder, then ``(x - mean_) / scale_``, then ``x @ coef_.T + intercept_``
and the softmax or sigmoid of ``predict_proba``), checked against the
estimator's own outputs on the records explained, and handed to `captum
<https://captum.ai>`_ (``pip install "sklearn-ecg[explain]"``).

The attribution methods are integrated gradients (attributions that add up
to the change of the output between a baseline record and the record) and
occlusion (the drop of the output when a window of one lead is replaced by
the baseline). Baselines that mean something for an ECG: a flat zero
signal, or a smoothed copy of the record (its moving average, which keeps
the baseline wander and removes the waves, so the attributions point at
the waves).

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sklearn_ecg import LCDPretrainer
>>> from sklearn_ecg.datasets import load_ptbxl_sample
>>> from sklearn_ecg.inspection import explain_prediction
>>> data = load_ptbxl_sample(leads=["II", "V1"])
>>> X, y = data.X[:40, :, :256], data.y[:40, 1]  # MI or not
>>> lcd = LCDPretrainer(max_epochs=0, random_state=0).fit(X)
>>> model = make_pipeline(lcd, StandardScaler(), LogisticRegression()).fit(X, y)
>>> explanation = explain_prediction(model, X[:2], target=1, n_steps=16)
>>> explanation.attributions.shape  # (records, leads, samples)
(2, 2, 256)
>>> explanation.lead_importance.sum(axis=1).round(6)  # shares of the leads
array([1., 1.])
"""

import contextlib
import numbers

import numpy as np
import torch

from ._encoder import fitted_pretrainer
from ._runtime import flush_denormals
from .finetune import _MIN_LENGTH, ECGClassifier
from .lcd import LCDPretrainer
from .leadwise import LeadwiseEmbedder
from .mets import METSPretrainer
from .zero_shot import ZeroShotECGClassifier
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

__all__ = ["explain_prediction", "ATTRIBUTION_METHODS", "BASELINES"]

#: The attribution methods of :func:`explain_prediction`.
ATTRIBUTION_METHODS = ("integrated_gradients", "occlusion")
#: The named baselines of :func:`explain_prediction`.
BASELINES = ("zero", "smooth")
_OUTPUTS = ("auto", "proba", "decision")
# The model's outputs recomputed by the torch function must match the
# estimator's own to this tolerance, or the explanation is refused.
_CHECK_ATOL = 1e-3


def _captum_attr():
    try:
        import captum.attr
    except ImportError as exc:
        raise ImportError(
            "sklearn_ecg.inspection needs captum, which is not installed. Install it with "
            '`pip install "sklearn-ecg[explain]"` (or `pip install captum`).'
        ) from exc
    return captum.attr


# ---------------------------------------------------------------------------
# Adapter: the only place that reaches into the estimators' networks.
# ---------------------------------------------------------------------------


class _TorchFunction:
    """A model as a torch function ``records (B, leads, T) -> outputs (B, n_outputs)``.

    ``modules`` are the networks run (put in eval mode while explaining);
    ``reference(X)`` is the estimator's own output for the same records, as
    the same ``(n, n_outputs)`` columns; ``classes`` names the columns.
    A pipeline also gives its two ``stages``: ``(embed, embed_reference,
    head, head_reference)``, the torch encoder and the encoder step's
    ``transform``, the torch head and the later steps' output on
    embeddings, each checked on its own: an encoder's float rounding,
    amplified by a scaler and large coefficients, is not a wrong model.
    """

    def __init__(self, forward, modules, classes, reference, n_leads, min_length, output, stages=None):
        self.forward = forward
        self.modules = [m for m in modules if m is not None]
        self.classes = np.asarray(classes)
        self.reference = reference
        self.n_leads = n_leads
        self.min_length = min_length
        self.output = output
        self.stages = stages

    def __call__(self, x):
        return self.forward(x)

    def mismatch(self, X, outputs, batch_size):
        """Why the torch function is not the estimator on ``X``, or None when it is."""
        what = "predict_proba" if self.output == "proba" else "decision_function"
        if self.stages is None:
            expected = self.reference(X)
            if expected.shape == outputs.shape and np.allclose(outputs, expected, rtol=1e-3, atol=_CHECK_ATOL):
                return None
            worst = np.abs(outputs - expected).max() if expected.shape == outputs.shape else expected.shape
            return f"its {what} (largest difference {worst})"
        embed, embed_reference, head, head_reference = self.stages
        Z = np.asarray(embed_reference(X), dtype=np.float64)
        Z_torch = _outputs(embed, X, batch_size, self.device)
        if Z.shape != Z_torch.shape or not np.allclose(Z_torch, Z, rtol=1e-3, atol=1e-3 * np.abs(Z).max()):
            return "the encoder step's transform"
        # In float64 on both sides: the structure is checked, not float32 rounding.
        expected = head_reference(Z)
        with torch.no_grad():
            got = head(torch.from_numpy(Z)).cpu().numpy()
        if expected.shape == got.shape and np.allclose(got, expected, rtol=1e-3, atol=_CHECK_ATOL):
            return None
        return f"the {what} of the steps after the encoder"

    @property
    def device(self):
        for module in self.modules:
            for tensor in module.parameters():
                return tensor.device
        return torch.device("cpu")

    @contextlib.contextmanager
    def eval_mode(self):
        """Eval mode (BatchNorm statistics, no dropout) while explaining, then as before."""
        states = [[(m, m.training) for m in module.modules()] for module in self.modules]
        try:
            for module in self.modules:
                module.eval()
            yield
        finally:
            for pairs in states:
                for m, training in pairs:
                    m.training = training


def _unwrap_frozen(estimator):
    try:
        return fitted_pretrainer(estimator)
    except (TypeError, ValueError, NotFittedError, AttributeError):
        pass
    if type(estimator).__name__ == "FrozenEstimator":
        return estimator.estimator
    return estimator


def _check_fitted(estimator, attribute, what):
    try:
        check_is_fitted(estimator, attribute)
    except NotFittedError as exc:
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted; {what} Fit it before explaining its "
            "predictions."
        ) from exc


def _pretrainer_embedding(step):
    """``(embed, modules, n_leads, min_length)`` of a fitted encoder step of a pipeline."""

    indices = None
    if type(step).__name__ == "FrozenEstimator" and isinstance(step.estimator, LeadwiseEmbedder):
        step = step.estimator
    if isinstance(step, LeadwiseEmbedder):
        _check_fitted(step, "pretrainer_", "a LeadwiseEmbedder learns its leads in fit.")
        pretrainer, indices, n_leads = step.pretrainer_, step.indices_, step.n_leads_
    else:
        pretrainer = _unwrap_frozen(step)
        if not isinstance(pretrainer, (LCDPretrainer, METSPretrainer)):
            return None
        _check_fitted(pretrainer, "net_", "its encoder is what is explained.")
        n_leads = pretrainer.n_leads_
    contract = getattr(pretrainer, "encoder_contract_", None)
    if contract is not None:
        embed, modules, min_length = contract.embed, [contract.encoder], contract.min_length
    else:
        module = pretrainer.net_.module_
        modules, min_length = [module], pretrainer._min_length

        def embed(x):
            return pretrainer._embed_batch(module, x)

    if indices is not None and not np.array_equal(indices, np.arange(n_leads)):
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        whole = embed

        def embed(x):
            return whole(x.index_select(1, index.to(x.device)))

    return embed, modules, n_leads, min_length


def _classifier_function(clf, output):
    """An ECGClassifier: its network's logits, softmax or sigmoid as ``predict_proba``."""
    _check_fitted(clf, "net_", "its network is trained in fit.")
    module = clf.net_.module_
    multilabel, n_classes = bool(clf.multilabel_), len(clf.classes_)

    def forward(x):
        logits = module(x).double()
        if output == "proba":
            return torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)
        if not multilabel and n_classes == 2:
            return _two_columns(logits[:, 1] - logits[:, 0])
        return logits

    reference = _reference(clf, output)

    return _TorchFunction(forward, [module], clf.classes_, reference, clf.n_leads_, _MIN_LENGTH, output)


def _zero_shot_function(clf, output):
    """A ZeroShotECGClassifier: cosine similarities to the class embeddings, scaled as it does."""
    _check_fitted(clf, "class_embeddings_", "it embeds its class prompts in fit.")
    pretrainer = _unwrap_frozen(clf.pretrainer)
    module = pretrainer.net_.module_
    classes = torch.as_tensor(np.asarray(clf.class_embeddings_, dtype=np.float64))
    scale, multilabel, n_classes = float(clf.logit_scale_), bool(clf.multilabel_), len(clf.classes_)

    def forward(x):
        # The joint space, whatever the pretrainer's transform outputs.
        sims = module.embed_ecg(x).double() @ classes.to(x.device).T
        if output == "proba":
            logits = scale * sims
            if multilabel:
                return torch.sigmoid(logits - logits.mean(dim=1, keepdim=True))
            return torch.softmax(logits, dim=1)
        if not multilabel and n_classes == 2:
            return _two_columns(sims[:, 1] - sims[:, 0])
        return sims

    return _TorchFunction(forward, [module], clf.classes_, _reference(clf, output), pretrainer.n_leads_,
                          pretrainer._min_length, output)


def _linear_parts(final):
    """``(coef (C, F), intercept (C,), kind)`` of a fitted linear classifier.

    ``kind`` says how ``predict_proba`` follows from the decision ``d``:
    ``"binary"`` (sigmoid of one column), ``"softmax"``, ``"ovr"`` (sigmoids
    normalised to sum to 1), ``"multilabel"`` (sigmoids), or None (no
    ``predict_proba``).
    """
    estimators = getattr(final, "estimators_", None)
    if type(final).__name__ == "OneVsRestClassifier" and estimators is not None:
        parts = [_linear_parts(e) for e in estimators]
        coef = np.concatenate([p[0] for p in parts])
        intercept = np.concatenate([p[1] for p in parts])
        if coef.shape[0] != len(estimators):
            raise TypeError("The OneVsRestClassifier's estimators must be binary linear classifiers.")
        if not hasattr(final, "predict_proba"):
            return coef, intercept, None
        if getattr(final, "multilabel_", False):
            return coef, intercept, "multilabel"
        return coef, intercept, "binary" if len(estimators) == 1 else "ovr"
    coef = getattr(final, "coef_", None)
    if coef is None or not hasattr(final, "intercept_") or not hasattr(final, "decision_function"):
        raise TypeError(
            f"The last step of the pipeline is a {type(final).__name__}, which is not a linear "
            "classifier (coef_, intercept_ and decision_function): attributions can be computed "
            "through LogisticRegression, RidgeClassifier, LinearSVC, SGDClassifier and other "
            "linear classifiers (or a OneVsRestClassifier of one). For another model, fine-tune an "
            "ECGClassifier instead."
        )
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(final.intercept_, dtype=np.float64), (coef.shape[0],)).copy()
    if not hasattr(final, "predict_proba"):
        return coef, intercept, None
    if coef.shape[0] == 1:
        return coef, intercept, "binary"
    # LogisticRegression's one-vs-rest fits (liblinear) normalise sigmoids instead of a softmax.
    ovr = getattr(final, "solver", None) == "liblinear" or getattr(final, "multi_class", None) == "ovr"
    return coef, intercept, "ovr" if ovr else "softmax"


def _pipeline_function(pipeline, output):
    """A pipeline: encoder, optional StandardScaler, linear classifier."""
    from sklearn.preprocessing import StandardScaler

    steps = [(name, step) for name, step in pipeline.steps if step not in (None, "passthrough")]
    if len(steps) < 2:
        raise TypeError("The pipeline needs an encoder step and a linear classifier to be explained.")
    (first_name, first), (final_name, final) = steps[0], steps[-1]
    encoder = _pretrainer_embedding(first)
    if encoder is None:
        later = [name for name, step in steps[1:-1] if _pretrainer_embedding_or_none(step)]
        hint = (
            f" Its step {later[0]!r} is: explain pipeline[{[n for n, _ in pipeline.steps].index(later[0])}:] "
            f"on the records that the steps before it output."
            if later else ""
        )
        raise TypeError(
            f"The pipeline's first step {first_name!r} ({type(first).__name__}) is not a fitted "
            "pretrainer (LCDPretrainer, METSPretrainer, a FrozenEstimator of one) or a "
            f"LeadwiseEmbedder, so the records cannot be differentiated through it.{hint}"
        )
    embed, modules, n_leads, min_length = encoder
    scalers = []
    for name, step in steps[1:-1]:
        if not isinstance(step, StandardScaler):
            raise TypeError(
                f"The pipeline's step {name!r} ({type(step).__name__}) sits between the encoder and "
                "the classifier; only a StandardScaler can be differentiated through there. Fit the "
                "pipeline without it (or with a StandardScaler) to explain it."
            )
        _check_fitted(step, "scale_" if step.with_std else "n_features_in_", "it learns its scaling in fit.")
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None
        scalers.append((mean, scale))
    try:
        check_is_fitted(final)
    except NotFittedError as exc:
        raise NotFittedError(
            f"The pipeline's last step {final_name!r} ({type(final).__name__}) is not fitted; fit the "
            "pipeline before explaining its predictions."
        ) from exc
    if not hasattr(final, "classes_"):
        raise TypeError(
            f"The pipeline's last step {final_name!r} ({type(final).__name__}) is not a classifier; "
            "explanations are of class scores."
        )
    coef, intercept, kind = _linear_parts(final)
    if output == "proba" and kind is None:
        raise ValueError(
            f"The pipeline's {type(final).__name__} has no predict_proba; explain its "
            "decision_function with output='decision'."
        )
    tensors = {}

    def on(device):
        """The scalers' and the classifier's arrays as float64 tensors on ``device`` (made once)."""
        if device not in tensors:
            def as_t(a):
                return None if a is None else torch.as_tensor(np.asarray(a, dtype=np.float64), device=device)

            tensors[device] = ([(as_t(m), as_t(s)) for m, s in scalers], as_t(coef), as_t(intercept))
        return tensors[device]

    n_classes = len(final.classes_)

    def head(z):
        z = z.double()
        scale_steps, w, b = on(z.device)
        for mean, scale in scale_steps:
            if mean is not None:
                z = z - mean
            if scale is not None:
                z = z / scale
        d = z @ w.T + b
        if output == "proba":
            if kind == "binary":
                return _two_columns(torch.sigmoid(d[:, 0]), proba=True)
            if kind == "softmax":
                return torch.softmax(d, dim=1)
            s = torch.sigmoid(d)
            return s if kind == "multilabel" else s / s.sum(dim=1, keepdim=True)
        if d.shape[1] == 1 and n_classes == 2:
            return _two_columns(d[:, 0])
        return d

    def forward(x):
        return head(embed(x))

    position = next(i for i, (_, step) in enumerate(pipeline.steps) if step is first)
    stages = (embed, pipeline[: position + 1].transform, head, _reference(pipeline[position + 1 :], output))
    return _TorchFunction(forward, modules, final.classes_, _reference(pipeline, output), n_leads, min_length,
                          output, stages=stages)


def _pretrainer_embedding_or_none(step):
    try:
        return _pretrainer_embedding(step) is not None
    except NotFittedError:
        return True


def _torch_function_for(estimator, output):
    """The model as one differentiable torch function, or a clear error."""
    from sklearn.pipeline import Pipeline


    if output == "auto":
        output = "proba" if hasattr(estimator, "predict_proba") else "decision"
    if isinstance(estimator, ECGClassifier):
        return _classifier_function(estimator, output)
    if isinstance(estimator, ZeroShotECGClassifier):
        return _zero_shot_function(estimator, output)
    if isinstance(estimator, Pipeline):
        return _pipeline_function(estimator, output)
    raise TypeError(
        f"Cannot explain a {type(estimator).__name__}: explain_prediction takes a fitted "
        "ECGClassifier, a fitted ZeroShotECGClassifier, or a fitted Pipeline of a pretrainer (or "
        "LeadwiseEmbedder), an optional StandardScaler and a linear classifier."
    )


# ---------------------------------------------------------------------------


def _two_columns(d, proba=False):
    """Two classes as two columns: (1 - p, p) for a probability, (-d, d) for a decision."""
    return torch.stack([1.0 - d if proba else -d, d], dim=1)


def _reference(estimator, output):
    def reference(X):
        if output == "proba":
            return np.asarray(estimator.predict_proba(X), dtype=np.float64)
        d = np.asarray(estimator.decision_function(X), dtype=np.float64)
        return np.stack([-d, d], axis=1) if d.ndim == 1 else d

    return reference


def _check_records(X, function):
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be a numeric array of records; got {type(X).__name__}.") from exc
    if X.ndim == 2:
        X = X[:, None, :]
    if X.ndim != 3 or X.shape[0] == 0:
        raise ValueError(
            "X must hold records of shape (n_records, n_leads, n_timepoints) (2-D: single-lead "
            f"records), at least one; got an array of shape {X.shape}. For one record pass X[i:i + 1]."
        )
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity; explain records without missing samples.")
    if X.shape[1] != function.n_leads:
        raise ValueError(
            f"X has {X.shape[1]} lead(s) per record but the model was fitted on {function.n_leads}; "
            "pass records with its leads, in the same order."
        )
    if function.min_length and X.shape[2] < function.min_length:
        raise ValueError(
            f"The records have {X.shape[2]} samples; the model's encoder needs at least "
            f"{function.min_length}."
        )
    return X


def _baselines(baseline, X, smooth_window):
    if isinstance(baseline, str):
        if baseline == "zero":
            return np.zeros_like(X)
        if baseline == "smooth":
            from scipy.ndimage import uniform_filter1d

            n_timepoints = X.shape[2]
            if smooth_window is None:
                smooth_window = max(3, n_timepoints // 20)
            elif isinstance(smooth_window, bool) or not isinstance(smooth_window, numbers.Integral) or not (
                    2 <= smooth_window <= n_timepoints):
                raise ValueError(
                    f"smooth_window must be a whole number of samples from 2 to the record length "
                    f"({n_timepoints}); got {smooth_window!r}."
                )
            return uniform_filter1d(X, size=int(smooth_window), axis=2, mode="nearest").astype(np.float32)
        raise ValueError(
            f"baseline must be one of {list(BASELINES)}, a number or an array of the records' shape; "
            f"got {baseline!r}."
        )
    try:
        values = np.asarray(baseline, dtype=np.float32)
        return np.ascontiguousarray(np.broadcast_to(values, X.shape))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"baseline must be one of {list(BASELINES)}, a number or an array that broadcasts to the "
            f"records' shape {X.shape}; got {type(baseline).__name__} "
            f"{getattr(baseline, 'shape', '')}."
        ) from exc


def _resolve_targets(target, classes, outputs):
    n = len(outputs)
    if target is None:
        return np.argmax(outputs, axis=1)
    values = [target] * n if np.ndim(target) == 0 else list(target)
    if len(values) != n:
        raise ValueError(f"target has {len(values)} entries for {n} records; pass one label, or one per record.")
    lookup = {}
    for i, c in enumerate(classes):
        lookup.setdefault(c.item() if isinstance(c, np.generic) else c, i)
    out = []
    for value in values:
        key = value.item() if isinstance(value, np.generic) else value
        if key not in lookup:
            raise ValueError(f"target {value!r} is not a class of the model; its classes are {classes.tolist()}.")
        out.append(lookup[key])
    return np.asarray(out, dtype=np.int64)


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    return int(value)


def _outputs(function, X, batch_size, device):
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.from_numpy(X[start : start + batch_size]).to(device)
            out.append(function(xb).detach().cpu().numpy())
    return np.concatenate(out)


def explain_prediction(estimator, X, *, target=None, method="integrated_gradients", baseline="zero",
                       output="auto", n_steps=50, window=None, stride=None, smooth_window=None,
                       batch_size=64):
    """Attribute a model's class output to every lead and sample of the records.

    Parameters
    ----------
    estimator : fitted ECGClassifier, ZeroShotECGClassifier or Pipeline
        The model. A :class:`~sklearn.pipeline.Pipeline` must be a fitted
        pretrainer (:class:`~sklearn_ecg.LCDPretrainer`,
        :class:`~sklearn_ecg.METSPretrainer`, a
        :class:`~sklearn.frozen.FrozenEstimator` of one) or a
        :class:`~sklearn_ecg.LeadwiseEmbedder`, then optionally
        :class:`~sklearn.preprocessing.StandardScaler` steps, then a linear
        classifier (``coef_``, ``intercept_``) or a
        :class:`~sklearn.multiclass.OneVsRestClassifier` of one. Steps that
        preprocess the records before the encoder cannot be differentiated:
        explain ``pipeline[k:]`` on the records they output.
    X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
        The records to explain, as the model takes them.
    target : class label, array-like of labels or None, default=None
        The class whose output is explained: one label for every record or
        one per record. None takes each record's highest output (its
        predicted class).
    method : {"integrated_gradients", "occlusion"}, default="integrated_gradients"
        Integrated gradients (the attributions of a record add up to its
        output minus the baseline's, up to ``convergence_delta``), or
        occlusion (per sample, the mean drop of the output when a window of
        ``window`` samples of one lead containing it is replaced by the
        baseline).
    baseline : {"zero", "smooth"}, float or array-like, default="zero"
        The reference record: a flat zero signal; a moving average of each
        lead over ``smooth_window`` samples (the slow baseline kept, the
        P, QRS and T waves removed); a constant; or an array that
        broadcasts to ``X``.
    output : {"auto", "proba", "decision"}, default="auto"
        What is explained: ``predict_proba`` or ``decision_function`` (for
        two classes, column 0 is minus column 1). ``"auto"`` is
        ``"proba"`` where the model has ``predict_proba``.
    n_steps : int, default=50
        Integrated gradients: the points of the path from baseline to
        record.
    window : int or None, default=None
        Occlusion: samples per occluded window; None is a twentieth of the
        record (0.5 s of a 10 s record).
    stride : int or None, default=None
        Occlusion: step between windows; None is half a window.
    smooth_window : int or None, default=None
        ``baseline="smooth"``: samples of the moving average; None is a
        twentieth of the record (0.5 s of a 10 s record).
    batch_size : int, default=64
        Records (or integration points, or occluded copies) per pass
        through the network.

    Returns
    -------
    explanation : :class:`~sklearn.utils.Bunch`
        - ``attributions``: float32 array (n_records, n_leads, n_timepoints).
        - ``lead_attributions``: (n_records, n_leads), the attributions
          summed over time (signed).
        - ``lead_importance``: (n_records, n_leads), each lead's share of
          the absolute attributions (rows sum to 1).
        - ``target``: (n_records,) the explained column; ``target_names``
          its class label.
        - ``scores``: (n_records,) the explained output of each record;
          ``baseline_scores`` that of its baseline.
        - ``convergence_delta``: (n_records,) integrated gradients' error of
          completeness (attributions' sum minus the output's change); None
          for occlusion.
        - ``X``, ``baselines``: the records and baselines, float32.
        - ``method``, ``output``, ``classes``.

    Raises
    ------
    TypeError
        For a model that cannot be differentiated end to end (a non-linear
        last step, a transformer other than a StandardScaler after the
        encoder, a preprocessing step before it).
    NotFittedError
        For a model or a step that is not fitted.
    RuntimeError
        When the torch function does not reproduce the estimator's own
        outputs on ``X`` (the explanation would be of another model).

    Notes
    -----
    The networks run on their own device, in eval mode (restored
    afterwards), and no random number is drawn: the same call gives the
    same attributions (up to the non-determinism of GPU kernels).

    Examples
    --------
    >>> from sklearn_ecg import ECGClassifier
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.inspection import explain_prediction
    >>> data = load_ptbxl_sample(leads=["I", "II"])
    >>> X, y = data.X[:32, :, :200], data.y[:32, 0]  # NORM or not
    >>> clf = ECGClassifier(architecture="lcd", max_epochs=1, batch_size=16,
    ...                     validation_fraction=None, random_state=0).fit(X, y)
    >>> e = explain_prediction(clf, X[:3], n_steps=8)
    >>> e.attributions.shape, e.lead_importance.shape
    ((3, 2, 200), (3, 2))
    >>> bool(abs(e.attributions.sum(axis=(1, 2)) - (e.scores - e.baseline_scores)).max() < 0.05)
    True
    >>> occ = explain_prediction(clf, X[:1], method="occlusion", window=20)
    >>> occ.convergence_delta is None
    True
    """
    attr = _captum_attr()
    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"method must be one of {list(ATTRIBUTION_METHODS)}; got {method!r}.")
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {list(_OUTPUTS)}; got {output!r}.")
    n_steps = _check_int(n_steps, "n_steps", 2)
    batch_size = _check_int(batch_size, "batch_size", 1)
    function = _torch_function_for(estimator, output)
    X = _check_records(X, function)
    n_records, n_leads, n_timepoints = X.shape
    if window is None:
        window = max(1, n_timepoints // 20)
    window = _check_int(window, "window", 1)
    if window > n_timepoints:
        raise ValueError(f"window={window} is longer than the records ({n_timepoints} samples).")
    stride = max(1, window // 2) if stride is None else _check_int(stride, "stride", 1)
    baselines = _baselines(baseline, X, smooth_window)
    device = function.device


    with function.eval_mode(), flush_denormals():
        outputs = _outputs(function, X, batch_size, device)
        problem = function.mismatch(X, outputs, batch_size)
        if problem is not None:
            raise RuntimeError(
                f"The differentiable copy of this {type(estimator).__name__} does not reproduce "
                f"{problem}; its explanation would be of another model. Try output='decision', or "
                "explain a model of the supported kinds."
            )
        targets = _resolve_targets(target, function.classes, outputs)
        baseline_outputs = _outputs(function, baselines, batch_size, device)
        attributions = np.empty(X.shape, dtype=np.float32)
        deltas = np.empty(n_records) if method == "integrated_gradients" else None
        explainer = (attr.IntegratedGradients(function) if method == "integrated_gradients"
                     else attr.Occlusion(function))
        chunk = batch_size if method == "integrated_gradients" else max(1, batch_size // 8)
        for start in range(0, n_records, chunk):
            stop = min(start + chunk, n_records)
            xb = torch.from_numpy(X[start:stop]).to(device)
            bb = torch.from_numpy(baselines[start:stop]).to(device)
            tb = torch.from_numpy(targets[start:stop]).to(device)
            if method == "integrated_gradients":
                values, delta = explainer.attribute(
                    xb, baselines=bb, target=tb, n_steps=n_steps, internal_batch_size=batch_size,
                    return_convergence_delta=True,
                )
                deltas[start:stop] = delta.detach().double().cpu().numpy()
            else:
                values = explainer.attribute(
                    xb, sliding_window_shapes=(1, window), strides=(1, stride), baselines=bb,
                    target=tb, perturbations_per_eval=max(1, batch_size // (stop - start)),
                )
            attributions[start:stop] = values.detach().float().cpu().numpy()

    rows = np.arange(n_records)
    absolute = np.abs(attributions).sum(axis=2, dtype=np.float64)
    total = absolute.sum(axis=1, keepdims=True)
    importance = np.divide(absolute, total, out=np.full_like(absolute, 1.0 / n_leads), where=total > 0)
    return Bunch(
        attributions=attributions,
        lead_attributions=attributions.sum(axis=2, dtype=np.float64),
        lead_importance=importance,
        target=targets,
        target_names=function.classes[targets],
        scores=outputs[rows, targets],
        baseline_scores=baseline_outputs[rows, targets],
        convergence_delta=deltas,
        X=X,
        baselines=baselines,
        method=method,
        output=function.output,
        classes=function.classes,
    )
