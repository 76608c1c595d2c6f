"""Tests of METSPretrainer, its ResNet1d encoder and the CLIP loss."""

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg import METSPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample
from _text_encoders import BagOfWords
from _text_encoders import tiny_mets as tiny
from sklearn_ecg.nn.clip import LogitScale, clip_loss
from sklearn_ecg.nn.resnet1d import ResNet1d

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


bag_of_words = BagOfWords()
wide_bag_of_words = BagOfWords(dim=4096)


# What the recording encoder saw, per call; module-level so that clones
# (which deep-copy the encoder) all write here.
SEEN = []


def recording_encoder(texts):
    SEEN.append(list(texts))
    return bag_of_words(texts)


@pytest.fixture(scope="module")
def sample():
    data = load_ptbxl_sample()
    return data.X[:48, :, :128].copy(), np.asarray(data.report[:48], dtype=object), data


def test_resnet1d_is_resnet18():
    net = ResNet1d(in_channels=12)
    assert net.out_features == 512
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv1d) and m.kernel_size[0] > 1]
    assert len(convs) == 17  # the stem + 2 per block × 8 blocks (shortcuts are 1×1)
    assert net(torch.randn(3, 12, 1000)).shape == (3, 512)
    # Shorter than the 32-fold downsampling still gives an embedding.
    assert net(torch.randn(2, 12, 5)).shape == (2, 512)
    assert ResNet1d(in_channels=1, width=0.125)(torch.randn(2, 1, 64)).shape == (2, 64)


def test_clip_loss_plain_and_multi_positive():
    torch.manual_seed(0)
    ecg = torch.randn(6, 5, requires_grad=True)
    text = torch.randn(6, 5)
    scale = torch.tensor(10.0)
    loss = clip_loss(ecg, text, scale)
    e, t = torch.nn.functional.normalize(ecg, dim=1), torch.nn.functional.normalize(text, dim=1)
    logits = scale * e @ t.T
    by_hand = -0.5 * (logits.log_softmax(1).diagonal().mean() + logits.log_softmax(0).diagonal().mean())
    assert torch.allclose(loss, by_hand, atol=1e-6)
    # Rows 0-2 share one report: multi-positive targets give the same loss and gradient.
    text_dup = text.clone()
    text_dup[1] = text_dup[2] = text_dup[0]
    groups = torch.tensor([0, 0, 0, 1, 2, 3])
    grads = []
    for g in (None, groups):
        ecg.grad = None
        clip_loss(ecg, text_dup, scale, groups=g).backward()
        grads.append(ecg.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-5)
    assert torch.allclose(clip_loss(ecg, text_dup, scale, groups), clip_loss(ecg, text_dup, scale))
    # With distinct texts, grouping rows does change the targets.
    assert not torch.allclose(clip_loss(ecg, text, scale, groups), clip_loss(ecg, text, scale))


def test_logit_scale_clamped():
    scale = LogitScale(temperature=0.07, max_scale=20.0)
    assert scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert scale().item() == pytest.approx(20.0)
    scale.clamp_()
    assert scale.log_scale.item() == pytest.approx(np.log(20.0), rel=1e-6)


def test_fit_transform_outputs(sample):
    X, reports, _ = sample
    mets = tiny().fit(X, reports=reports)
    Z = mets.transform(X)
    assert Z.shape == (48, 32) and Z.dtype == np.float32
    assert np.isfinite(mets.history_[:, "train_loss"]).all()
    assert mets.get_feature_names_out()[0] == "metspretrainer0"
    joint = mets.set_params(output="joint").transform(X)
    assert joint.shape == (48, 8)
    np.testing.assert_allclose(np.linalg.norm(joint, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(joint, mets.encode_ecg(X), rtol=1e-5, atol=1e-6)
    assert mets.get_feature_names_out()[-1] == "metspretrainer_joint7"
    df = mets.set_output(transform="pandas").transform(X)
    assert list(df.columns) == list(mets.get_feature_names_out())
    text = mets.encode_text(["normal ecg", "atrial fibrillation"])
    assert text.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, rtol=1e-5)
    assert 0 < mets.logit_scale_ <= 100


def test_training_aligns_records_with_their_reports(sample):
    X, reports, _ = sample
    mets = tiny(max_epochs=10, batch_size=16, lr=3e-3).fit(X, reports=reports)
    losses = mets.history_[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]
    # A record is closer to its own report than to the others', on average.
    sims = mets.encode_ecg(X) @ mets.encode_text(
        [mets.report_template.format(report=r) for r in reports]).T
    own = np.diag(sims).mean()
    assert own > sims.mean() + 0.05


def test_each_distinct_report_embedded_once_per_fit(sample):
    X, reports, _ = sample
    SEEN.clear()
    mets = tiny(max_epochs=3, text_encoder=recording_encoder).fit(X, reports=reports)
    texts = [t for call in SEEN for t in call]
    assert len(texts) == len(set(texts)) == len(set(reports)) == mets.n_reports_
    assert all(t.startswith("The report of the ECG is that ") for t in texts)
    # The frozen model's weights are not part of the trained module.
    names = [n for n, _ in mets.net_.module_.named_parameters()]
    assert any(n.startswith("text_head") for n in names)
    assert not any("bert" in n.lower() for n in names)


def test_pickle_small_and_still_embeds_prompts(sample, tmp_path):
    X, reports, _ = sample
    few = np.where(np.arange(48) % 2 == 0, "normal ecg", "abnormal ecg").astype(object)
    many = np.array([f"report number {i}" for i in range(48)], dtype=object)
    sizes = []
    for texts in (few, many):
        mets = tiny(text_encoder=wide_bag_of_words).fit(X, reports=texts)
        assert mets.net_.module_.report_table is None
        sizes.append(len(pickle.dumps(mets)))
    # 46 more distinct reports of 4096 floats would add ~750 kB if the table were kept.
    assert abs(sizes[1] - sizes[0]) < 10_000
    path = tmp_path / "mets.joblib"
    joblib.dump(mets, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.transform(X), mets.transform(X))
    np.testing.assert_array_equal(loaded.encode_text(["new prompt"]), mets.encode_text(["new prompt"]))


def test_mlp_text_head(sample, tmp_path):
    X, reports, _ = sample
    linear = tiny().fit(X, reports=reports)
    mlp = tiny(text_head="mlp").fit(X, reports=reports)
    head = mlp.net_.module_.text_head
    assert isinstance(head, torch.nn.Sequential)
    assert [type(m) for m in head] == [torch.nn.Linear, torch.nn.GELU, torch.nn.Linear]
    assert head[0].in_features == head[0].out_features == bag_of_words.dim
    assert head[2].out_features == 8
    prompts = ["normal ecg", "atrial fibrillation"]
    t = mlp.encode_text(prompts)
    assert t.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(t, linear.encode_text(prompts))
    path = tmp_path / "mlp.joblib"
    joblib.dump(mlp, path)
    np.testing.assert_array_equal(joblib.load(path).encode_text(prompts), t)


def test_same_seed_same_embeddings_and_caller_rng_untouched(sample):
    X, reports, _ = sample
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = tiny(random_state=3).fit(X, reports=reports).transform(X)
    after = torch.rand(1)
    b = tiny(random_state=3).fit(X, reports=reports).transform(X)
    c = tiny(random_state=4).fit(X, reports=reports).transform(X)
    assert torch.equal(after, expected)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_clone_and_warm_start(sample):
    X, reports, _ = sample
    mets = tiny(warm_start=True).fit(X, reports=reports)
    assert not hasattr(clone(mets), "net_")
    assert clone(mets).get_params()["width"] == 0.0625
    mets.fit(X, reports=reports)
    assert len(mets.history_) == 2


def test_pipeline_routes_each_fold_its_reports(sample):
    X, _, data = sample
    reports = np.array([f"report {i}" for i in range(len(X))], dtype=object)
    y = data.y[:48, 0]
    SEEN.clear()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            tiny(text_encoder=recording_encoder).set_fit_request(reports=True),
            LogisticRegression(max_iter=200),
        )
        cv = KFold(3)
        scores = cross_val_score(pipe, X, y, cv=cv, params={"reports": reports})
    assert scores.shape == (3,)
    prefix = "The report of the ECG is that "
    for call, (train, _) in zip(SEEN, cv.split(X)):
        assert sorted(t[len(prefix):] for t in call) == sorted(reports[train])


def test_missing_reports_say_how_to_pass_them(sample):
    X, _, _ = sample
    with pytest.raises(ValueError, match="set_fit_request"):
        tiny().fit(X)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(tiny().set_fit_request(reports=True))
        with pytest.raises(ValueError, match="reports"):
            pipe.fit(X)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (["a"] * 10, ValueError, "10 entries but X has 48 records"),
        ("one string", TypeError, "single string"),
        ([1.5] + ["x"] * 47, TypeError, r"reports\[0\] is float"),
        ([b"bytes"] * 48, TypeError, "bytes"),
        ([None] * 47 + ["only one"], ValueError, "at least 2 records"),
    ],
)
def test_bad_reports(sample, bad, error, match):
    X, _, _ = sample
    with pytest.raises(error, match=match):
        tiny().fit(X, reports=bad)


def test_empty_and_nan_reports_are_dropped_with_a_warning(sample):
    X, reports, _ = sample
    reports = reports.copy()
    reports[[0, 5, 9]] = [None, float("nan"), "   "]
    SEEN.clear()
    with pytest.warns(UserWarning, match="3 of 48 records have an empty or missing report"):
        mets = tiny(text_encoder=recording_encoder).fit(X, reports=reports)
    texts = [t for call in SEEN for t in call]
    assert not any(t.endswith(("nan", "None", "that ")) for t in texts)
    assert mets.transform(X).shape[0] == 48


@pytest.mark.slow
def test_text_encoder_that_cannot_load(sample, tmp_path):
    X, reports, _ = sample
    with pytest.raises(OSError, match="Could not load the text model"):
        tiny(text_encoder=str(tmp_path / "no-such-model")).fit(X, reports=reports)
    with pytest.raises(TypeError, match="'text_encoder' parameter of METSPretrainer must be"):
        tiny(text_encoder=42).fit(X, reports=reports)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(report_template="no placeholder"), r"\{report\}"),
        (dict(report_template="{report} and {other}"), r"\{other\}"),
        (dict(output="projection"), "'output' parameter of METSPretrainer must be a str among"),
        (dict(standardize="global"), "'standardize' parameter of METSPretrainer must be a str among"),
        (dict(width=0), r"\'width\' parameter .* range \(0.0, inf\)"),
        (dict(width=1 / 128), "without a channel"),
        (dict(temperature=-1.0), r"\'temperature\' parameter .* range \(0.0, inf\)"),
        (dict(max_logit_scale=5.0), "max_logit_scale"),
        (dict(text_head="transformer"), "'text_head' parameter of METSPretrainer must be a str among"),
    ],
)
def test_bad_params(sample, params, match):
    X, reports, _ = sample
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(X, reports=reports)


def test_x_errors_like_lcd(sample):
    X, reports, _ = sample
    with pytest.raises(ValueError, match="more leads"):
        tiny().fit(X.transpose(0, 2, 1)[:, :, :10], reports=reports)
    bad = X.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        tiny().fit(bad, reports=reports)
    mets = tiny().fit(X, reports=reports)
    with pytest.raises(ValueError, match=r"X has 6 lead\(s\), but METSPretrainer was fitted on 12"):
        mets.transform(X[:, :6])


def test_german_and_english_reports_land_close():
    pytest.importorskip("sentence_transformers", reason="the text extra is not installed")
    from sklearn_ecg.reports import translate_reports
    from sklearn_ecg.text import get_text_encoder

    try:
        encoder = get_text_encoder(None)
        german, english, other = encoder.encode(translate_reports(
            ["sinusrhythmus linksschenkelblock", "sinus rhythm left bundle branch block",
             "vorhofflimmern normales ekg"]))
    except (OSError, ImportError) as exc:
        pytest.skip(f"the default text model is not available: {exc}")

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cos(german, english) > 0.95
    assert cos(german, english) > cos(german, other) + 0.1


def test_default_text_model_end_to_end(sample):
    pytest.importorskip("sentence_transformers", reason="the text extra is not installed")
    X, reports, _ = sample
    mets = METSPretrainer(width=0.0625, embedding_dim=8, max_epochs=1, batch_size=16, random_state=0)
    try:
        mets.fit(X, reports=reports)
    except (OSError, ImportError) as exc:
        pytest.skip(f"the default text model is not available: {exc}")
    assert mets.net_.module_.text_head.in_features == 384
    restored = pickle.loads(pickle.dumps(mets))
    assert len(pickle.dumps(mets)) < 5_000_000
    np.testing.assert_allclose(restored.encode_text(["left bundle branch block"]),
                               mets.encode_text(["left bundle branch block"]), atol=1e-6)


class SyntheticReportsMETS(METSPretrainer):
    """METS that makes up reports when ``fit`` gets none, as in scikit-learn's common checks.

    The checks call ``fit(X, y)`` without the reports METS needs; with four
    made-up reports every check that fits the estimator runs for real.
    """

    def fit(self, X, y=None, *, reports=None):
        if reports is None:
            # sparse input has no len(); sklearn's _NotAnArray has no shape.
            n_records = X.shape[0] if hasattr(X, "shape") else len(np.asarray(X))
            reports = [f"finding {i % 4}" for i in range(n_records)]
        return super().fit(X, y, reports=reports)


def synthetic_tiny(**params):
    return SyntheticReportsMETS(**tiny(**params).get_params())


@parametrize_with_checks([synthetic_tiny()])
def test_sklearn_checks(estimator, check):
    check(estimator)
