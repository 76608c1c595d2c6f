"""HuBERT-ECG's encoder: ``transformers``' HubertModel with the time-averaged embedding.

HuBERT-ECG (Coppola et al., 2024) is a HuBERT (a convolutional feature
encoder, then a post-LayerNorm transformer with a convolutional position
embedding) trained on 12-lead ECGs concatenated lead after lead into one
6,000-sample sequence at 100 Hz. Its authors' network subclasses
``transformers.HubertModel`` and only adds pretraining heads, so the encoder
here is ``HubertModel`` itself (``transformers`` comes with the ``text``
extra); its tensor names are those of the authors' checkpoints under a
``hubert.`` prefix.
"""

from torch import nn

from ._pickling import PicklesByStateDict

__all__ = ["HuBERTECGEncoder", "hubert_config"]

#: The 100 Hz feature encoder of the released models (finetune.py, downsampling_factor=5).
FEATURE_ENCODER = dict(conv_kernel=(10, 3, 3, 2, 2), conv_stride=(4, 2, 2, 2, 2), conv_dim=(512,) * 5)


def _transformers():
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "HuBERT-ECG runs on transformers' HubertModel, and transformers is not installed. "
            'Install the text extra with `pip install "sklearn-ecg[text]"` (or '
            "`pip install transformers`).") from exc
    return transformers


def hubert_config(**config):
    """A ``transformers.HubertConfig`` for inference: no masking, no dropout, no layer drop."""
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return _transformers().HubertConfig(
        **config, mask_time_prob=0.0, mask_feature_prob=0.0, layerdrop=0.0, hidden_dropout=0.0,
        activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0, final_dropout=0.0)


class HuBERTECGEncoder(PicklesByStateDict, nn.Module):
    """HuBERT-ECG without its pretraining heads.

    Parameters
    ----------
    **config
        Fields of ``transformers.HubertConfig`` (``hidden_size``,
        ``num_hidden_layers``, ``num_attention_heads``, ``intermediate_size``,
        ``conv_kernel``, ``conv_stride``, ``conv_dim``, ...). Masking, dropout
        and layer drop are off.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.hubert_ecg import FEATURE_ENCODER, HuBERTECGEncoder
    >>> enc = HuBERTECGEncoder(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
    ...                        intermediate_size=64, **{**FEATURE_ENCODER, "conv_dim": (16,) * 5})
    >>> tuple(enc.features(torch.zeros(2, 6000)).shape)
    (2, 32)
    """

    def __init__(self, **config):
        super().__init__()
        self._init_kwargs = dict(config)
        self.hubert = _transformers().HubertModel(hubert_config(**config))
        self.embedding_dim = self.hubert.config.hidden_size

    def forward(self, x):
        """``last_hidden_state`` ``(B, frames, hidden_size)`` of inputs ``(B, n_samples)``."""
        return self.hubert(x).last_hidden_state

    def features(self, x):
        """The embedding: ``last_hidden_state`` averaged over time (the authors' pooling)."""
        return self(x).mean(dim=1)
