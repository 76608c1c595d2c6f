"""Loaders for ECG databases and the embedded PTB-XL sample."""

from ._cinc import load_cinc
from ._mitbih import load_mitbih
from ._ptbxl import load_ptbxl
from ._sample import load_ptbxl_sample
from ._wfdb import load_wfdb

__all__ = ["load_cinc", "load_mitbih", "load_ptbxl", "load_ptbxl_sample", "load_wfdb"]
