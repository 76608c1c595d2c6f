"""Loaders for ECG databases and the embedded PTB-XL sample."""

from ._ptbxl import load_ptbxl

__all__ = ["load_ptbxl"]
