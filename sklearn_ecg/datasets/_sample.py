"""The PTB-XL sample shipped inside the package (records 1-500 at 100 Hz)."""

from pathlib import Path

import numpy as np
import pandas as pd
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import validate_params

from ..preprocessing._leads import STANDARD_LEADS
from ._common import constraints, resolve_leads
from ._ptbxl import (
    DESCR_PTBXL,
    SELECTION_CONSTRAINTS,
    _make_bunch,
    _parse_database,
    _select,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
_SIGNALS = "ptbxl_sample_signals.npz"
_DATABASE = "ptbxl_sample_database.csv"
_STATEMENTS = "scp_statements.csv"
# The signals are PTB-XL's digital units, 1000 per mV with baseline 0
# (tools/make_ptbxl_sample.py checks every header says so).
_GAIN = 1000.0

DESCR_SAMPLE = (
    "PTB-XL sample: records ecg_id 1-500 at 100 Hz (10 s, 12 leads), shipped "
    "with sklearn_ecg.\n\n" + DESCR_PTBXL
)


@validate_params(
    constraints("leads", **SELECTION_CONSTRAINTS), prefer_skip_nested_validation=True
)
def load_ptbxl_sample(*, label_set="superclass", min_likelihood=0.0, folds=None,
                      ecg_ids=None, leads=None):
    """Load the PTB-XL records 1-500 at 100 Hz shipped with the package.

    The same data, labels and layout as ``load_ptbxl(path, 100, ecg_ids=range(1,
    501))`` on a copy of PTB-XL, read from a compact lossless copy inside the
    package: no download, loads in a fraction of a second.

    Parameters
    ----------
    label_set : {"superclass", "subclass", "form", "rhythm", "scp"}, \
            default="superclass"
        Labels in ``y``; see :func:`load_ptbxl`.
    min_likelihood : float, default=0.0
        Keep an SCP statement only when its likelihood is at least this; see
        :func:`load_ptbxl`. The default keeps every statement.
    folds : int, list of int or None, default=None
        Keep only the records in these ``strat_fold`` (1-10).
    ecg_ids : int, list of int or None, default=None
        Keep only these records (ecg_id 1-500).
    leads : list of str or None, default=None
        Lead names to return, in this order. None gives the standard order
        I, II, III, aVR, aVL, aVF, V1-V6.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X`` float32 ``(500, 12, 1000)`` in mV; ``y`` the multi-label
        indicator (by default the superclasses NORM, MI, STTC, CD, HYP);
        ``target_names``; ``metadata``; ``lead_names``; ``fs`` (100.0);
        ``DESCR``; and ``ecg_id``, ``scp_codes``, ``report``, ``strat_fold``,
        ``patient_id``, ``age``, ``sex`` aligned with ``X``.

    Notes
    -----
    PTB-XL is released under CC BY 4.0 by Wagner et al. (2020), Scientific
    Data 7, 154, through PhysioNet (Goldberger et al., 2000); see ``DESCR``.

    Examples
    --------
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> data.X.shape, data.fs
    ((500, 12, 1000), 100.0)
    >>> data.target_names
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> data.y.sum(axis=0)
    array([297,  73,  96,  78,  40])
    >>> test = load_ptbxl_sample(folds=[9, 10])
    >>> test.X.shape
    (147, 12, 1000)
    """
    statements = pd.read_csv(DATA_DIR / _STATEMENTS, index_col=0)
    db = _parse_database(pd.read_csv(DATA_DIR / _DATABASE), DATA_DIR / _DATABASE)
    db["_row"] = np.arange(len(db))
    db = _select(db, folds, ecg_ids)
    if leads is None:
        lead_names, rows = list(STANDARD_LEADS), slice(None)
    else:
        lead_names, (rows,) = resolve_leads([_SampleLeads()], leads)
    with np.load(DATA_DIR / _SIGNALS) as npz:
        signals = npz["signals"]
    # Divide in float64 like the WFDB reader does, so that both give the same
    # float32 values to the last bit.
    X = (signals[db["_row"].to_numpy()][:, rows] / _GAIN).astype(np.float32)
    return _make_bunch(X, db, statements, label_set=label_set, min_likelihood=min_likelihood,
                       lead_names=lead_names, fs=100.0, descr=DESCR_SAMPLE)


class _SampleLeads:
    """Stands in for a header so that lead selection shares its checks."""

    name = "ptbxl_sample"
    sig_name = STANDARD_LEADS
