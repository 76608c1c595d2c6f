"""Self-supervised ECG representation learning as scikit-learn transformers."""

__version__ = "0.1.0"
