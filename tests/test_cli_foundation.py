"""The command line with the foundation models: info without weights, embed with --checkpoint."""

import numpy as np
import pytest
import wfdb

from sklearn_ecg.cli import main
from sklearn_ecg.datasets import load_ptbxl_sample, load_wfdb
from sklearn_ecg.foundation import FoundationEmbedder
from _foundation import DATA, register_reduced

CKPT = DATA / "ecgfounder-12lead-reduced.pth"
NAME = "ecgfounder-12lead-reduced-cli"


@pytest.fixture(autouse=True)
def reduced_model(monkeypatch):
    register_reduced(monkeypatch, "ecgfounder-12lead", NAME)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Three 10 s records at 250 Hz, in µV, leads in another order than the model's."""
    sample = load_ptbxl_sample(ecg_ids=[1, 2, 3])
    from scipy.signal import resample_poly

    X = resample_poly(sample.X.astype(np.float64), 5, 2, axis=-1) * 1000
    order = [6, 0, 11, 1, 2, 3, 4, 5, 7, 8, 9, 10]
    folder = tmp_path_factory.mktemp("rec250")
    names = [sample.lead_names[i] for i in order]
    for i, x in enumerate(X[:, order]):
        wfdb.wrsamp(f"r{i}", fs=250, units=["uV"] * 12, sig_name=names,
                    p_signal=np.ascontiguousarray(x.T), fmt=["32"] * 12, write_dir=str(folder))
    return folder


def test_embed_with_a_checkpoint_matches_the_api(records, tmp_path):
    out = tmp_path / "emb.csv"
    assert main(["embed", NAME, str(records), "--checkpoint", str(CKPT), "--out", str(out),
                 "--units", "uV", "-q", "--device", "cpu"]) == 0
    import pandas as pd

    table = pd.read_csv(out)
    data = load_wfdb(records, verbose=0)
    model = FoundationEmbedder(NAME, CKPT).fit()
    prep = model.input_pipeline(fs=data.fs, lead_names=data.lead_names, units="uV")
    expected = model.transform(prep.fit_transform(data.X))
    assert list(table.columns[1:]) == list(model.get_feature_names_out())
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), expected, rtol=1e-5, atol=1e-6)


def test_foundation_model_without_checkpoint_is_one_line(records, tmp_path, capsys):
    assert main(["embed", NAME, str(records), "--out", str(tmp_path / "e.npy"), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pass --checkpoint FILE" in err[0]
    assert "huggingface.co/PKUDigitalHealth/ECGFounder" in err[0]
    assert main(["embed", "lcd-ptbxl", str(records), "--checkpoint", str(CKPT),
                 "--out", str(tmp_path / "e.npy"), "-q"]) == 1
    assert "--checkpoint is for the foundation models" in capsys.readouterr().err


def test_info_needs_no_weights(capsys):
    assert main(["info", "ecgfounder-1lead"]) == 0
    out = capsys.readouterr().out
    assert "sampling rate: 500 Hz" in out and "leads: 1 (I, in this order)" in out
    assert "any single lead" in out and "150 statements" in out
    assert "licence of the code: MIT" in out and "huggingface.co/PKUDigitalHealth/ECGFounder" in out


def test_saved_folder_embeds_without_the_checkpoint(records, tmp_path, capsys):
    """An imported model saved in the package's format: info shows its source, embed needs no --checkpoint."""
    model = FoundationEmbedder(NAME, CKPT).fit()
    folder = model.save_pretrained(tmp_path / "saved")
    card = (folder / "README.md").read_text()
    assert "from sklearn_ecg.foundation import FoundationEmbedder" in card
    assert "samples per record in fit: 5000" in card
    assert main(["info", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert "licence of the weights" in shown and "500 Hz" in shown
    out = tmp_path / "emb.npy"
    assert main(["embed", str(folder), str(records), "--out", str(out), "--units", "uV", "-q",
                 "--device", "cpu"]) == 0
    data = load_wfdb(records, verbose=0)
    prep = model.input_pipeline(fs=data.fs, lead_names=data.lead_names, units="uV")
    np.testing.assert_allclose(np.load(out), model.transform(prep.fit_transform(data.X)), rtol=1e-5, atol=1e-6)
