"""Self-supervised ECG representation learning as scikit-learn transformers."""

from .lcd import LCDPretrainer

__version__ = "0.1.0"

__all__ = ["LCDPretrainer", "__version__"]
