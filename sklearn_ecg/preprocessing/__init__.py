"""Stateless scikit-learn transformers for ECG records.

Every transformer takes records ``(n_records, n_leads, n_timepoints)`` (or
single-lead records ``(n_records, n_timepoints)``, returned 2-D), of any
numeric dtype, and returns float32. Nothing is learned in ``fit``, which only
checks the input and records its layout, so they can sit in a
:class:`~sklearn.pipeline.Pipeline` before a pretrainer. Records are processed
in chunks, so a :class:`numpy.memmap` is never loaded whole, and NaN or
infinite values raise an error that names the records.

Filters need the sampling rate ``fs``, which has no default: a wrong guess
would silently filter the wrong band. In a pipeline, a step after
:class:`Resample` sees ``target_fs``, not the original ``fs``.

For 2-D (single-lead) input, ``get_feature_names_out`` and
``set_output(transform="pandas")`` work; 3-D output has no columns, so pandas
output is refused for it with a clear error.

Examples
--------
>>> import numpy as np
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn_ecg.preprocessing import (
...     BandpassFilter, PadOrCrop, Resample, SelectLeads, Standardize)
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(3, 12, 5000)).astype(np.float32)  # 10 s at 500 Hz
>>> prep = make_pipeline(
...     SelectLeads(),  # the 8 independent leads
...     BandpassFilter(low=0.5, high=40, fs=500),
...     Resample(fs=500, target_fs=100),
...     PadOrCrop(length=1000),
...     Standardize(),
... )
>>> prep.fit_transform(X).shape
(3, 8, 1000)
"""

from ._filters import BandpassFilter, BaselineWanderRemoval, NotchFilter
from ._lead_layout import LeadLayout
from ._leads import STANDARD_LEADS, SelectLeads
from ._length import PadOrCrop, Resample
from ._scaling import ConvertUnits, MinMaxScale, Standardize

__all__ = [
    "STANDARD_LEADS",
    "BandpassFilter",
    "BaselineWanderRemoval",
    "ConvertUnits",
    "LeadLayout",
    "MinMaxScale",
    "NotchFilter",
    "PadOrCrop",
    "Resample",
    "SelectLeads",
    "Standardize",
]
