"""Published ECG foundation models, loaded from their authors' checkpoints, as estimators.

The package re-implements each network so that the authors' released
checkpoint loads into it tensor for tensor (refusing anything missing,
unexpected or of another shape), and wraps it as a scikit-learn estimator
that carries the model's input contract: rate, length, leads in its order
and its own preprocessing. Weights are never shipped nor downloaded unless
asked for: ``checkpoint`` is a local file, or a Hugging Face Hub repository
id read with ``huggingface_hub``.

The models the package knows are listed in a table (package data, see
:func:`foundation_models`).

Examples
--------
>>> from sklearn_ecg.foundation import foundation_models
>>> sorted(foundation_models())[:3]
['ecg-fm', 'ecgfounder-12lead', 'ecgfounder-1lead']
>>> foundation_models()["ecgfounder-12lead"]["input"]["fs"]
500.0
"""

import copy

from .._checkpoints import CheckpointError
from ._architectures import register_architectures
from ._estimators import FoundationClassifier, FoundationEmbedder, load_foundation_model
from ._table import table as _models_table
from .merl import MERL_PROMPTS, MERLEmbedder, MERLTextEncoder

# Fine-tuning and saved classifiers know each model of the table as an encoder architecture.
register_architectures()

__all__ = ["CheckpointError", "FoundationClassifier", "FoundationEmbedder", "MERL_PROMPTS", "MERLEmbedder",
           "MERLTextEncoder", "foundation_models"]


def foundation_models():
    """The models :func:`load_foundation_model` knows, by name, with their table entries.

    Returns
    -------
    models : dict
        ``{name: entry}``; an entry gives the network (``module``,
        ``config``), its checkpoint format and where to get the weights
        (``checkpoint``, ``weights``), its input (``input``: rate, length,
        leads in order, units), its own ``preprocessing``, its ``embedding``
        size, its ``head`` (class names), the ``licence`` of code and
        weights, ``source`` and ``reference``.
    """
    return copy.deepcopy(dict(_models_table()))
