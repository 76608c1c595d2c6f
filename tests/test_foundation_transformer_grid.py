"""The transformer foundation models in a scikit-learn search, pickled, and on the command line."""

import pathlib
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.foundation import FoundationEmbedder
from sklearn_ecg.foundation._steps import FFTResample
from _foundation import register_reduced

pytest.importorskip("transformers")

DATA = pathlib.Path(__file__).parent / "data" / "foundation"
REDUCED = {
    "ecgfounder-reduced": ("ecgfounder-12lead", DATA / "ecgfounder-12lead-reduced.pth", None, None),
    "hubert-ecg-reduced": ("hubert-ecg-base", DATA / "hubert_ecg" / "hubert_ecg_reduced.pt",
                           dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, conv_dim=[32] * 5), 32),
    "ecg-fm-reduced": ("ecg-fm", DATA / "ecg_fm" / "ecg_fm_reduced_finetuned.pt",
                       dict(conv_layers=[[32, 2, 2]] * 4, embed_dim=64, layers=2, heads=4,
                            ffn_dim=128, conv_pos=16, conv_pos_groups=4), 64),
}


@pytest.fixture(autouse=True)
def reduced_models(monkeypatch):
    for name, (released, _, config, dim) in REDUCED.items():
        register_reduced(monkeypatch, released, name, config, dim)


def test_grid_search_over_encoders():
    data = load_ptbxl_sample(ecg_ids=list(range(1, 21)))
    X = FFTResample(fs=100, target_fs=500).transform(data.X).astype(np.float32)  # 10 s, 500 Hz
    y = data.y[:, 0]  # NORM
    pipe = make_pipeline(FoundationEmbedder(), LogisticRegression(max_iter=500))
    grid = [{"foundationembedder__name": [name], "foundationembedder__checkpoint": [path]}
            for name, (_, path, _, _) in REDUCED.items()]
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert [p["foundationembedder__name"] for p in search.cv_results_["params"]] == list(REDUCED)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(X).shape == (20,)


@pytest.mark.parametrize("name", list(REDUCED))
def test_fitted_embedder_pickles_and_clones(name):
    """The weight-norm position convolutions do not stop pickling (joblib, copies)."""
    emb = FoundationEmbedder(name, REDUCED[name][1]).fit()
    x = np.random.default_rng(0).normal(scale=0.3, size=(2, 12, 5000)).astype(np.float32)
    out = emb.transform(x)
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(restored.transform(x), out)
    np.testing.assert_array_equal(clone(emb).fit().transform(x), out)
    assert not restored.module_.training


@pytest.mark.parametrize("name", list(REDUCED))
def test_command_line_embeds_like_the_api(name, tmp_path):
    """``sklearn-ecg embed`` with --checkpoint: WFDB records at 250 Hz in µV, leads reordered."""
    import pandas as pd
    import wfdb

    from sklearn_ecg.cli import main
    from sklearn_ecg.datasets import load_wfdb

    sample = load_ptbxl_sample(ecg_ids=[1, 2])
    X = FFTResample(fs=100, target_fs=250).transform(sample.X.astype(np.float64)) * 1000
    order = [6, 0, 11, 1, 2, 3, 4, 5, 7, 8, 9, 10]
    names = [sample.lead_names[i] for i in order]
    for i, x in enumerate(X[:, order]):
        wfdb.wrsamp(f"r{i}", fs=250, units=["uV"] * 12, sig_name=names,
                    p_signal=np.ascontiguousarray(x.T), fmt=["32"] * 12, write_dir=str(tmp_path))
    out = tmp_path / "emb.csv"
    checkpoint = str(REDUCED[name][1])
    assert main(["embed", name, str(tmp_path), "--checkpoint", checkpoint, "--out", str(out),
                 "--units", "uV", "-q", "--device", "cpu"]) == 0
    data = load_wfdb(tmp_path, verbose=0)
    model = FoundationEmbedder(name, checkpoint).fit()
    expected = model.transform(model.input_pipeline(fs=data.fs, lead_names=data.lead_names,
                                                    units="uV").fit_transform(data.X))
    np.testing.assert_allclose(pd.read_csv(out).iloc[:, 1:].to_numpy(), expected,
                               rtol=1e-5, atol=1e-6)
