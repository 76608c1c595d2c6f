"""Self-supervised ECG representation learning as scikit-learn transformers."""

import torch as _torch

# Flush denormal floats to zero on the CPU, as TensorFlow does by default: late
# in training, decayed weights and optimizer state reach the denormal range and
# make x86 CPUs up to a hundred times slower. The flag is per thread and only
# reaches torch's worker threads created after it is set, hence at import.
_torch.set_flush_denormal(True)

from .finetune import ECGClassifier  # noqa: E402
from .lcd import LCDPretrainer  # noqa: E402
from .mets import METSPretrainer  # noqa: E402
from .zero_shot import ZeroShotECGClassifier  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ECGClassifier", "LCDPretrainer", "METSPretrainer", "ZeroShotECGClassifier", "__version__"]
