"""Self-supervised ECG representation learning as scikit-learn transformers."""

from .lcd import LCDPretrainer
from .mets import METSPretrainer
from .zero_shot import ZeroShotECGClassifier

__version__ = "0.1.0"

__all__ = ["LCDPretrainer", "METSPretrainer", "ZeroShotECGClassifier", "__version__"]
