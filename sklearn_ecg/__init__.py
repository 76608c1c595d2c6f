"""Self-supervised ECG representation learning as scikit-learn transformers."""

from ._persistence import PretrainedModelError, load_pretrained
from ._version import __version__
from .finetune import ECGClassifier
from .foundation import load_foundation_model
from .lcd import LCDPretrainer
from .leadwise import LeadwiseEmbedder
from .mets import METSPretrainer
from .zero_shot import ZeroShotECGClassifier


__all__ = [
    "ECGClassifier",
    "LCDPretrainer",
    "LeadwiseEmbedder",
    "METSPretrainer",
    "PretrainedModelError",
    "ZeroShotECGClassifier",
    "__version__",
    "load_foundation_model",
    "load_pretrained",
]
