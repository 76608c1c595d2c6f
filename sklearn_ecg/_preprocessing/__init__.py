"""Implementation of :mod:`sklearn_ecg.preprocessing`; import from there."""
