"""Lead names: the package's one table of them, and selecting leads by name.

The dataset loaders (:mod:`sklearn_ecg.datasets`) name and match leads with
:func:`canonical_lead` and :func:`lead_key` too, so a name that
:class:`SelectLeads` understands is understood by the loaders' ``leads=``.
"""

import numpy as np

from ._base import _ECGTransformer, _invalid_parameter

from .._lead_names import (  # noqa: F401  (re-exported: the table's public home)
    STANDARD_LEADS,
    canonical_lead,
    is_lead_name,
    lead_key,
    repeated_leads,
)


def _as_names(owner, param, value):
    names = [value] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(n, str) for n in names):
        raise _invalid_parameter(
            owner, param, "a lead name (str) or a non-empty sequence of them", value
        )
    return names


class SelectLeads(_ECGTransformer):
    """Select and reorder leads by name.

    Parameters
    ----------
    leads : str or sequence of str, default=("II", "III", "V1", "V2", "V3", \
"V4", "V5", "V6")
        Leads to keep, in the output order. The default is the 8 independent
        leads used by LCD (I, aVR, aVL and aVF are linear combinations of II
        and III). Names are matched case-insensitively (``"AVR"`` is
        ``"aVR"``), and ``"DI"``/``"DII"``/``"DIII"`` or ``"lead II"`` are
        understood as I, II, III.
    lead_names : sequence of str or None, default=None
        Names of the leads of X, in the order of axis 1. ``None`` means the
        standard 12-lead order I, II, III, aVR, aVL, aVF, V1–V6.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``: the lead count for 3-D input, the
        record length for 2-D input.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.
    n_leads_ : int
        Number of leads seen in ``fit`` (3-D input only).
    n_timepoints_ : int
        Record length seen in ``fit`` (3-D input only).
    indices_ : ndarray of int
        Positions in X's leads of the selected leads, set by ``fit``.

    Notes
    -----
    3-D input gives 3-D output ``(n_records, len(leads), n_timepoints)``,
    even for a single selected lead. 2-D input is one lead per record, so
    ``lead_names`` must name exactly one lead; the output stays 2-D when one
    lead is selected.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import SelectLeads
    >>> X = np.arange(12, dtype=np.float32).repeat(50).reshape(1, 12, 50)  # lead k holds k
    >>> SelectLeads(leads=["V1", "avr", "DII"]).fit_transform(X)[0, :, 0]
    array([6., 3., 1.], dtype=float32)
    >>> SelectLeads(leads="MLII", lead_names=["MLII", "V5"]).fit_transform(
    ...     np.ones((4, 2, 10))).shape
    (4, 1, 10)
    """

    _parameter_constraints: dict = {
        **_ECGTransformer._parameter_constraints,
        "leads": [str, "array-like"],
        "lead_names": [str, "array-like", None],
    }

    def __init__(
        self,
        leads=("II", "III", "V1", "V2", "V3", "V4", "V5", "V6"),
        *,
        lead_names=None,
    ):
        self.leads = leads
        self.lead_names = lead_names

    def _resolve_params(self):
        name = type(self).__name__
        available = (
            list(STANDARD_LEADS)
            if self.lead_names is None
            else _as_names(name, "lead_names", self.lead_names)
        )
        keys = [lead_key(n) for n in available]
        dupes = repeated_leads(available)
        if dupes:
            raise ValueError(
                f"{name} parameter lead_names names a lead more than once "
                f"({', '.join(dupes)}); each lead of X needs its own name."
            )
        wanted = _as_names(name, "leads", self.leads)
        unknown = [w for w in wanted if lead_key(w) not in keys]
        if unknown:
            raise ValueError(
                f"{name}: unknown lead(s) {', '.join(map(repr, unknown))}; the leads "
                f"of X are {', '.join(available)}. Pass lead_names=... if X has "
                "other leads or another order."
            )
        indices = np.asarray([keys.index(lead_key(w)) for w in wanted], dtype=np.intp)
        return available, indices

    def _output_shape(self, n_leads, n_timepoints, params):
        available, indices = params
        if n_leads != len(available):
            source = "the standard 12 leads" if self.lead_names is None else "lead_names"
            raise ValueError(
                f"{type(self).__name__}: X has {n_leads} lead(s) but {source} "
                f"list(s) {len(available)} ({', '.join(available)}); pass "
                "lead_names=... with one name per lead of X, in order."
            )
        return len(indices), n_timepoints

    def _fit(self, X, *, check_finite):
        super()._fit(X, check_finite=check_finite)
        self.indices_ = self._resolve_params()[1]
        return self

    def _transform_chunk(self, chunk, params):
        return chunk[:, params[1], :]
