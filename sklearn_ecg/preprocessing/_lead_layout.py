"""Placing records with some of the leads into a model's full lead layout."""

import numpy as np

from ._base import _ECGTransformer, _invalid_parameter
from ._leads import STANDARD_LEADS, _as_names, lead_key, repeated_leads


def _check_unique(owner, param, names):
    dupes = repeated_leads(names)
    if dupes:
        raise ValueError(
            f"{owner} parameter {param} names a lead more than once ({', '.join(dupes)}); "
            "each lead needs its own name."
        )
    return [lead_key(n) for n in names]


class LeadLayout(_ECGTransformer):
    """Place the named leads of X at their places in a fixed lead layout, zeros elsewhere.

    A model pretrained on 12-lead records expects 12 leads in a fixed order.
    Records with fewer leads (lead I of a smartwatch, lead II of a monitor)
    become 12-lead records whose missing leads are zero, which is what a
    model pretrained with lead masking (``METSPretrainer(lead_masking=...)``)
    saw during training. Put it before the pretrainer's ``transform`` or
    before :class:`~sklearn_ecg.ZeroShotECGClassifier` in a pipeline; the
    model is not refitted.

    Parameters
    ----------
    leads : str or sequence of str, default="I"
        Names of the leads of X, in the order of axis 1 (2-D input is one
        lead, so one name). Matched case-insensitively, with the spellings
        :class:`SelectLeads` understands (``"DII"`` and ``"lead II"`` are II).
        Every name must be in ``layout``.
    layout : sequence of str or None, default=None
        The leads of the output, in order: the layout the model was trained
        on. None is the standard 12 leads I, II, III, aVR, aVL, aVF, V1–V6.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``.
    n_leads_, n_timepoints_ : int
        Leads and record length seen in ``fit`` (3-D input only).
    positions_ : ndarray of int
        The place in ``layout`` of every lead of X.

    See Also
    --------
    SelectLeads : Keep and reorder leads by name.

    Notes
    -----
    The output is 3-D ``(n_records, len(layout), n_timepoints)``, except for
    a one-lead layout and 2-D input, which stays 2-D. A lead of another name
    (``"MLII"`` of a Holter) must be renamed to the layout's lead it stands
    for (``leads=["II"]``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import LeadLayout
    >>> X = np.ones((2, 1000), dtype=np.float32)  # lead II only
    >>> out = LeadLayout(leads="II").fit_transform(X)
    >>> out.shape, out[0, :, 0]
    ((2, 12, 1000), array([0., 1., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.], dtype=float32))
    >>> LeadLayout(leads=["v1", "MLII"], layout=["MLII", "V1"]).fit_transform(
    ...     np.stack([np.zeros((3, 50)), np.ones((3, 50))], axis=1))[0, :, 0]
    array([1., 0.], dtype=float32)
    """

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "leads": [str, "array-like"],
        "layout": ["array-like", None],
    }

    def __init__(self, leads="I", layout=None):
        self.leads = leads
        self.layout = layout

    def _resolve_params(self):
        name = type(self).__name__
        if self.layout is None:
            layout = list(STANDARD_LEADS)
        elif isinstance(self.layout, str):
            raise _invalid_parameter(name, "layout", "a sequence of lead names", self.layout)
        else:
            layout = _as_names(name, "layout", self.layout)
        layout_keys = _check_unique(name, "layout", layout)
        leads = _as_names(name, "leads", self.leads)
        keys = _check_unique(name, "leads", leads)
        unknown = [n for n, k in zip(leads, keys) if k not in layout_keys]
        if unknown:
            raise ValueError(
                f"{name}: lead(s) {', '.join(map(repr, unknown))} are not in the layout "
                f"{', '.join(layout)}; name each lead of X after the layout's lead it "
                "stands for (e.g. 'II' for a monitor's MLII), or pass layout=..."
            )
        positions = np.asarray([layout_keys.index(k) for k in keys], dtype=np.intp)
        return layout, positions

    def _output_shape(self, n_leads, n_timepoints, params):
        layout, positions = params
        if n_leads != len(positions):
            raise ValueError(
                f"{type(self).__name__}: X has {n_leads} lead(s) but leads names "
                f"{len(positions)} ({', '.join(np.asarray(layout)[positions])}); pass one "
                "name per lead of X, in order."
            )
        return len(layout), n_timepoints

    def _fit(self, X, *, check_finite):
        super()._fit(X, check_finite=check_finite)
        self.positions_ = self._resolve_params()[1]
        return self

    def _transform_chunk(self, chunk, params):
        layout, positions = params
        out = np.zeros((chunk.shape[0], len(layout), chunk.shape[2]), dtype=np.float32)
        out[:, positions, :] = chunk
        return out
