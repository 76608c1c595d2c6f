"""Which leads and which moments of a record made a model say what it said.

:func:`explain_prediction` attributes a model's output for one class to
every sample of every lead, for the kinds of model of the package:
a fitted :class:`~sklearn_ecg.ECGClassifier` (its predicted probabilities),
a :class:`~sklearn_ecg.ZeroShotECGClassifier` or
:class:`~sklearn_ecg.FewShotECGClassifier` (its class scores), and a
scikit-learn :class:`~sklearn.pipeline.Pipeline` of a fitted pretrainer (or
a :class:`~sklearn.frozen.FrozenEstimator` of one, or a
:class:`~sklearn_ecg.LeadwiseEmbedder`), optionally a
:class:`~sklearn.preprocessing.StandardScaler`, and a linear classifier
(:class:`~sklearn.linear_model.LogisticRegression`,
:class:`~sklearn.linear_model.RidgeClassifier`,
:class:`~sklearn.svm.LinearSVC`, ..., or a
:class:`~sklearn.multiclass.OneVsRestClassifier` of one). Each model is
turned into one differentiable torch function from records to outputs: the
model's own forward (``differentiable_forward``, see
:mod:`sklearn_ecg.nn.forward`), for a pipeline the encoder's, then
``(x - mean_) / scale_``, then ``x @ coef_.T + intercept_`` and the softmax
or sigmoid of ``predict_proba``; it is handed to `captum
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

from ._runtime import flush_denormals
from .nn.forward import ForwardModule
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

__all__ = ["explain_prediction", "ATTRIBUTION_METHODS", "BASELINES"]

#: The attribution methods of :func:`explain_prediction`.
ATTRIBUTION_METHODS = ("integrated_gradients", "occlusion")
#: The named baselines of :func:`explain_prediction`.
BASELINES = ("zero", "smooth")
_OUTPUTS = ("auto", "proba", "decision")


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
# Composition: each model hands out its own differentiable forward
# (``differentiable_forward``, the contract of sklearn_ecg.nn.forward); a
# pipeline's scaler and linear head are composed on top here.
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _eval_mode(function):
    """Eval mode (BatchNorm statistics, no dropout) while explaining, then as before."""
    states = [(m, m.training) for m in function.modules()]
    try:
        function.eval()
        yield
    finally:
        for m, training in states:
            m.training = training


def _check_fitted(estimator, attribute, what):
    try:
        check_is_fitted(estimator, attribute)
    except NotFittedError as exc:
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted; {what} Fit it before explaining its "
            "predictions."
        ) from exc


def _unwrap_frozen(step):
    from sklearn.frozen import FrozenEstimator

    return step.estimator if isinstance(step, FrozenEstimator) else step


def _forward_of(estimator, output):
    """``estimator.differentiable_forward(output)``, a not-fitted model named in the error."""
    try:
        return estimator.differentiable_forward(output)
    except NotFittedError as exc:
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted; fit it before explaining its predictions."
        ) from exc


def _two_columns(d, proba=False):
    """Two classes as two columns: (1 - p, p) for a probability, (-d, d) for a decision."""
    return torch.stack([1.0 - d if proba else -d, d], dim=1)


def _as_columns(forward, output):
    """A classifier's forward with a binary decision ``(B,)`` as the two columns ``(-d, d)``."""

    def function(x):
        out = forward(x)
        return _two_columns(out) if out.ndim == 1 else out

    return ForwardModule(function, [forward], n_leads=forward.n_leads, min_length=forward.min_length,
                         classes=np.asarray(forward.classes), output=output)


def _is_encoder(step):
    step = _unwrap_frozen(step)
    return hasattr(step, "differentiable_forward") and not is_classifier(step)


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
    if not _is_encoder(first):
        later = [name for name, step in steps[1:-1] if _is_encoder(step)]
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
    embed = _forward_of(_unwrap_frozen(first), "transform")
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

    return ForwardModule(lambda x: head(embed(x)), [embed], n_leads=embed.n_leads, min_length=embed.min_length,
                         classes=np.asarray(final.classes_), output=output)


def _torch_function_for(estimator, output):
    """The model as one differentiable torch module (a ``ForwardModule``), or a clear error."""
    from sklearn.pipeline import Pipeline

    if output == "auto":
        output = "proba" if hasattr(estimator, "predict_proba") else "decision"
    if isinstance(estimator, Pipeline):
        return _pipeline_function(estimator, output)
    if hasattr(estimator, "differentiable_forward") and is_classifier(estimator):
        return _as_columns(_forward_of(estimator, output), output)
    raise TypeError(
        f"Cannot explain a {type(estimator).__name__}: explain_prediction takes a fitted "
        "ECGClassifier, ZeroShotECGClassifier or FewShotECGClassifier, or a fitted Pipeline of a "
        "pretrainer (or LeadwiseEmbedder), an optional StandardScaler and a linear classifier."
    )


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
    estimator : fitted ECGClassifier, ZeroShotECGClassifier, FewShotECGClassifier or Pipeline
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


    with _eval_mode(function), flush_denormals():
        outputs = _outputs(function, X, batch_size, device)
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
