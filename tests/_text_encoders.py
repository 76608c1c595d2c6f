"""A fast, deterministic text encoder for the METS tests, and a tiny METS built on it."""

import zlib

import numpy as np


class BagOfWords:
    """Hashed word counts.

    A class rather than a function so that its ``repr`` is stable: test ids
    built from an estimator's parameters must be the same in every pytest-xdist
    worker (a function's repr holds its memory address).
    """

    def __init__(self, dim=64):
        self.dim = dim

    def __call__(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(",", " ").replace(".", " ").split():
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        return out

    def __repr__(self):
        return f"BagOfWords(dim={self.dim})"


def tiny_mets(**params):
    """A METSPretrainer small enough for a test: 32 features, one epoch, bag-of-words text."""
    from sklearn_ecg import METSPretrainer

    base = dict(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16,
                text_encoder=BagOfWords(), translate_reports=False, random_state=0)
    return METSPretrainer(**{**base, **params})
