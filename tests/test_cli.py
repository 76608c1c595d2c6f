"""The sklearn-ecg command line, run on WFDB records written from the embedded sample."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from sklearn_ecg import LCDPretrainer, load_pretrained
from sklearn_ecg.cli import main
from sklearn_ecg.datasets import load_ptbxl_sample, load_wfdb

wfdb = pytest.importorskip("wfdb")

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--max-epochs", "1", "--batch-size", "8", "--random-state", "0", "--device", "cpu",
        "--param", "projector_dim=8", "--param", "predictor_dim=8", "-q"]


def _write(folder, X, fs, names, units="mV", prefix="r"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(X):
        wfdb.wrsamp(f"{prefix}{i}", fs=fs, units=[units] * len(names), sig_name=list(names),
                    p_signal=np.ascontiguousarray(x.T, dtype=np.float64), fmt=["16"] * len(names),
                    write_dir=str(folder))
    return folder


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


@pytest.fixture(scope="module")
def records500(sample, tmp_path_factory):
    """Six 12-lead records at 500 Hz, leads in another order than the model's."""
    X = signal.resample(sample.X[:6], 5000, axis=-1)
    order = [6, 0, 11, 1, 2, 3, 4, 5, 7, 8, 9, 10]
    return _write(tmp_path_factory.mktemp("rec500"), X[:, order], 500,
                  [sample.lead_names[i] for i in order])


def _api_embeddings(model, folder):
    data = load_wfdb(folder, verbose=0)
    prep = model.input_pipeline(fs=data.fs, lead_names=data.lead_names)
    return model.transform(prep.transform(data.X)), list(data.metadata["record"])


def _run(*args, cwd=ROOT):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sklearn_ecg.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_console_script_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts["sklearn-ecg"].split(":")
    assert (module, func) == ("sklearn_ecg.cli", "main")
    installed = shutil.which("sklearn-ecg")
    if installed:  # where the package was installed with this entry point
        result = subprocess.run([installed, "--help"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "embed" in result.stdout


def test_embed_in_a_subprocess_matches_the_api(records500, tmp_path):
    out = tmp_path / "emb.npy"
    result = _run("embed", "lcd-ptbxl", str(records500), "--out", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    model = load_pretrained("lcd-ptbxl", device="cpu")
    expected, records = _api_embeddings(model, records500)
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-5, atol=1e-6)
    assert (tmp_path / "emb.names.txt").read_text().split() == records
    # The records were written at 500 Hz from the 100 Hz sample: the embeddings
    # are close to those of the original records.
    data = load_ptbxl_sample(leads=list(model.input_contract_.lead_names))
    ref = model.transform(data.X[:6])
    assert (np.linalg.norm(np.load(out) - ref, axis=1) / np.linalg.norm(ref, axis=1)).max() < 0.01


def test_user_mistake_is_one_line_without_traceback(tmp_path):
    result = _run("embed", "lcd-ptbxl", str(tmp_path / "missing"), "--out", str(tmp_path / "e.npy"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"sklearn-ecg: error: {tmp_path / 'missing'}: no such folder"]


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("pretrain", "embed", "zero-shot", "info", "examples:"):
        assert command in out


@pytest.fixture(scope="module")
def tiny_single_lead(sample, tmp_path_factory):
    """A tiny LCD model of lead II at 100 Hz, saved."""
    X = sample.X[:32, 1:2, :1000]
    lcd = LCDPretrainer(fs=100, lead_names=["II"], projector_dim=8, predictor_dim=8,
                        max_epochs=1, batch_size=16, random_state=0, device="cpu").fit(X)
    return lcd.save_pretrained(tmp_path_factory.mktemp("models") / "lcd-ii")


def test_embed_single_lead_300_hz_csv(sample, tiny_single_lead, tmp_path, capsys):
    # Holter-style records: one lead named MLII, 300 Hz, in microvolts.
    X = signal.resample(sample.X[:4, 1:2], 3000, axis=-1) * 1000
    folder = _write(tmp_path / "holter", X, 300, ["MLII"], units="uV")
    out = tmp_path / "emb.csv"
    assert main(["embed", str(tiny_single_lead), str(folder), "--out", str(out), "-q",
                 "--device", "cpu"]) == 0
    table = pd.read_csv(out)
    model = load_pretrained(tiny_single_lead, device="cpu")
    assert list(table.columns[:2]) == ["record", "lcdpretrainer_II_0"]
    expected, records = _api_embeddings(model, folder)
    assert list(table["record"]) == records
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), expected, rtol=1e-4, atol=1e-5)
    assert "sklearn-ecg: warning" not in capsys.readouterr().err


def test_embed_two_leads_360_hz_with_named_leads(sample, tiny_single_lead, tmp_path):
    X = signal.resample(sample.X[:3, [6, 1]], 3600, axis=-1)
    folder = _write(tmp_path / "two", X, 360, ["ch0", "ch1"])
    out = tmp_path / "emb.npy"
    assert main(["embed", str(tiny_single_lead), str(folder), "--out", str(out), "-q",
                 "--leads", "V1", "II", "--device", "cpu"]) == 0
    model = load_pretrained(tiny_single_lead, device="cpu")
    expected = model.transform(sample.X[:3, 1:2])
    np.testing.assert_allclose(np.load(out), expected, rtol=0.02, atol=0.02)


def test_header_without_rate_is_not_guessed(sample, tiny_single_lead, tmp_path, capsys):
    # WFDB would assume 250 Hz.
    folder = _write(tmp_path / "norate", sample.X[:2, 1:2], 100, ["II"])
    for hea in folder.glob("*.hea"):
        lines = hea.read_text().splitlines()
        first = lines[0].split()
        lines[0] = " ".join(first[:2])  # record name and signal count only
        hea.write_text("\n".join(lines) + "\n")
    out = tmp_path / "e.npy"
    assert main(["embed", str(tiny_single_lead), str(folder), "--out", str(out), "-q"]) == 1
    assert "gives no sampling rate: pass --fs" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["embed", "no-such-model", "{folder}", "--out", "{tmp}/e.npy"], "unknown model 'no-such-model'"),
    (["embed", "lcd-ptbxl", "{empty}", "--out", "{tmp}/e.npy"], "no WFDB records"),
    (["embed", "lcd-ptbxl", "{folder}", "--out", "{tmp}/e.txt"], "use a .npy, .csv or .parquet"),
    (["embed", "lcd-ptbxl", "{single}", "--out", "{tmp}/e.npy"], "lack lead(s) III, V1, V2"),  # and suggests --leadwise
    (["embed", "lcd-ptbxl", "{folder}", "--out", "{tmp}/e.npy", "--leads", "I", "II"],
     "--leads names 2 lead(s) but the records have 12"),
    (["embed", "lcd-ptbxl", "{folder}", "--out", "{tmp}/e.npy", "--fs", "250"],
     "--fs is only for records whose headers give no rate"),
    (["zero-shot", "lcd-ptbxl", "{folder}", "--classes", "A", "--out", "{tmp}/z.csv"],
     "zero-shot needs a METS or MERL model"),
    (["info", "{tmp}"], "holds no config.json"),
])
def test_user_mistakes_exit_1_with_one_line(args, message, records500, sample, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    single = _write(tmp_path / "single", sample.X[:2, 1:2], 100, ["MLII"])
    args = [a.format(folder=records500, tmp=tmp_path, empty=empty, single=single) for a in args]
    assert main([*args, *(["-q"] if args[0] != "info" else [])]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sklearn-ecg: error: ") and message in err[0]


def test_amplitude_warning_is_one_line(records500, tmp_path, sample, capsys):
    X = signal.resample(sample.X[:2], 5000, axis=-1) * 1000  # uV written as mV
    folder = _write(tmp_path / "uv", X, 500, sample.lead_names)
    assert main(["embed", "lcd-ptbxl", str(folder), "--out", str(tmp_path / "e.npy"), "-q",
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "sklearn-ecg: warning: The records given to LCDPretrainer are " in err and "units='uV'" in err
    assert main(["embed", "lcd-ptbxl", str(folder), "--out", str(tmp_path / "e.npy"), "-q",
                 "--device", "cpu", "--units", "uV", "--overwrite"]) == 0
    assert "sklearn-ecg: warning" not in capsys.readouterr().err


def test_info(capsys):
    assert main(["info", "lcd-ptbxl"]) == 0
    out = capsys.readouterr().out
    assert "sampling rate: 100 Hz" in out and "leads: 8 (II, III, V1, V2, V3, V4, V5, V6, in this order)" in out
    assert "| this encoder | 0.905 |" in out  # the model card's figures


def test_pretrain_then_embed(sample, tmp_path):
    folder = _write(tmp_path / "train", signal.resample(sample.X[:16, :2], 2500, axis=-1), 250,
                    ["I", "II"])
    model_dir = tmp_path / "model"
    assert main(["pretrain", "lcd", str(folder), "--out", str(model_dir), *TINY]) == 0
    model = load_pretrained(model_dir, device="cpu")
    c = model.input_contract_
    assert (c.fs, c.n_timepoints, c.lead_names) == (250.0, 2500, ("I", "II"))
    assert model.get_params()["projector_dim"] == 8
    # Refuses to overwrite without --overwrite.
    assert main(["pretrain", "lcd", str(folder), "--out", str(model_dir), *TINY]) == 1


def test_pretrain_mets_needs_reports(sample, tmp_path, capsys):
    folder = _write(tmp_path / "train", sample.X[:4, :2], 100, ["I", "II"])
    assert main(["pretrain", "mets", str(folder), "--out", str(tmp_path / "m"), "-q"]) == 1
    assert "pass --reports CSV" in capsys.readouterr().err
    reports = tmp_path / "reports.csv"
    pd.DataFrame({"record": ["r0", "r1"], "report": ["a", "b"]}).to_csv(reports, index=False)
    assert main(["pretrain", "mets", str(folder), "--out", str(tmp_path / "m"), "-q",
                 "--reports", str(reports)]) == 1
    assert "no report for 2 record(s), e.g. 'r2'" in capsys.readouterr().err


def test_zero_shot_matches_the_api(records500, tmp_path):
    pytest.importorskip("sentence_transformers")
    from sklearn_ecg.cli import zero_shot_classifier

    out = tmp_path / "scores.csv"
    descriptions = tmp_path / "d.json"
    descriptions.write_text(json.dumps({"NORM": ["normal ECG", "sinus rhythm"],
                                        "AFIB": "atrial fibrillation"}))
    try:
        model = load_pretrained("mets-ptbxl", device="cpu")
        model.encode_text(["probe"])
    except (OSError, ImportError) as exc:
        pytest.skip(f"the METS text model is not available offline: {exc}")
    assert main(["zero-shot", "mets-ptbxl", str(records500), "--descriptions", str(descriptions),
                 "--out", str(out), "-q", "--device", "cpu"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["record", "NORM", "AFIB"]
    data = load_wfdb(records500, verbose=0)
    X = model.input_pipeline(fs=data.fs, lead_names=data.lead_names).transform(data.X)
    clf = zero_shot_classifier(model, ["NORM", "AFIB"], json.loads(descriptions.read_text()), X[:1])
    np.testing.assert_allclose(table[["NORM", "AFIB"]].to_numpy(), clf.decision_function(X),
                               rtol=1e-4, atol=1e-5)


def test_zero_shot_on_one_lead_of_a_wearable(sample, tmp_path, capsys):
    # Lead I alone at 250 Hz: the shipped METS model was pretrained with lead masking.
    pytest.importorskip("sentence_transformers")
    from sklearn_ecg.cli import zero_shot_classifier

    model = load_pretrained("mets-ptbxl", device="cpu")
    assert model.lead_masking > 0
    X = signal.resample(sample.X[:4, [0]], 2500, axis=-1)
    folder = _write(tmp_path / "watch", X, 250, ["I"])
    out = tmp_path / "scores.csv"
    assert main(["zero-shot", "mets-ptbxl", str(folder), "--classes", "atrial fibrillation",
                 "sinus rhythm", "normal ECG", "--relative", "--out", str(out), "-q",
                 "--device", "cpu"]) == 0
    # The zero-filled leads are said once, with what lead I alone costs this model.
    err = capsys.readouterr().err
    assert err.count("sklearn-ecg: the model sees lead I of its 12 leads") == 1
    assert "the other 11 are zero-filled" in err and "with lead I alone against" in err
    table = pd.read_csv(out)
    data = load_wfdb(folder, verbose=0)
    prep = model.input_pipeline(fs=250, lead_names=["I"])
    assert [name for name, _ in prep.steps][:2] == ["selectleads", "leadlayout"]
    Xp = prep.transform(data.X)
    classes = ["atrial fibrillation", "sinus rhythm", "normal ECG"]
    clf = zero_shot_classifier(model, classes, None, Xp[:1], scoring="relative")
    np.testing.assert_allclose(table[classes].to_numpy(), clf.decision_function(Xp),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(table[classes].to_numpy().sum(axis=1), 0, atol=1e-5)


def test_embed_leadwise_any_leads(sample, records500, tmp_path):
    # Two leads at 360 Hz that the shipped LCD model was not pretrained on as a set.
    X = signal.resample(sample.X[:3, [0, 4]], 3600, axis=-1)
    folder = _write(tmp_path / "two", X, 360, ["I", "aVL"])
    out = tmp_path / "emb.csv"
    assert main(["embed", "lcd-ptbxl", str(folder), "--out", str(out), "-q", "--leadwise",
                 "--device", "cpu"]) == 0
    table = pd.read_csv(out)
    assert table.columns[1] == "leadwiseembedder_I_0" and table.shape == (3, 1 + 2 * 64)
    from sklearn_ecg import LeadwiseEmbedder

    model = load_pretrained("lcd-ptbxl", device="cpu")
    expected = LeadwiseEmbedder(model, lead_names=["I", "aVL"]).fit_transform(sample.X[:3, [0, 4]])
    got = table.iloc[:, 1:].to_numpy()
    assert (np.linalg.norm(got - expected, axis=1) / np.linalg.norm(expected, axis=1)).max() < 0.01
    assert main(["embed", "mets-ptbxl", str(folder), "--out", str(out), "-q", "--leadwise"]) == 1


def test_pretrain_leads_selects_and_orders_the_leads(sample, tmp_path):
    # Twelve-lead WFDB records, leads in another order than the standard one;
    # the model is to learn from V1 and II, in that order.
    order = [6, 0, 11, 1, 2, 3, 4, 5, 7, 8, 9, 10]
    names = [sample.lead_names[i] for i in order]
    folder = _write(tmp_path / "twelve", sample.X[:20, order], 100, names)
    model_dir = tmp_path / "model"
    assert main(["pretrain", "lcd", str(folder), "--out", str(model_dir), "--leads", "V1", "II",
                 *TINY]) == 0
    model = load_pretrained(model_dir, device="cpu")
    c = model.input_contract_
    assert (c.fs, c.n_timepoints, c.lead_names, c.n_leads) == (100.0, 1000, ("V1", "II"), 2)
    assert model.history_[-1, "train_batch_count"] == 3  # 20 records, batches of 8
    # The contract's lead polarities are those of the sample's V1 and II (V1
    # points down, II up): the right leads, in the right order.
    source = sample.X[:20][:, [list(sample.lead_names).index(n) for n in ("V1", "II")]]
    p2, mid, p98 = np.percentile(source, [2, 50, 98], axis=-1)
    polarity = np.median(((p98 - mid) - (mid - p2)) / (p98 - p2), axis=0)
    assert abs(polarity[0] - polarity[1]) > 0.3
    np.testing.assert_allclose(c.lead_polarity, polarity, atol=0.01)
    # And the model is the one the API fits on these leads of the same records.
    data = load_wfdb(folder, verbose=0)
    X = data.X[:, [list(data.lead_names).index(n) for n in ("V1", "II")]]
    api = LCDPretrainer(fs=100, lead_names=["V1", "II"], projector_dim=8, predictor_dim=8,
                        max_epochs=1, batch_size=8, random_state=0, device="cpu",
                        verbose=0).fit(X)
    np.testing.assert_allclose(model.transform(X), api.transform(X), rtol=1e-4, atol=1e-5)


DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "ptbxl500").is_dir(),
                    reason="the development copy of PTB-XL records 1-500 is not available (a clone does not include it)")
def test_pretrain_on_the_ptbxl_layout_then_embed_it(tmp_path):
    model_dir = tmp_path / "model"
    assert main(["pretrain", "lcd", str(DATA / "ptbxl500"), "--out", str(model_dir), "--folds",
                 "10", "--leads", "II", "V1", *TINY]) == 0
    model = load_pretrained(model_dir, device="cpu")
    c = model.input_contract_
    assert (c.fs, c.n_timepoints, c.lead_names) == (100.0, 1000, ("II", "V1"))
    from sklearn_ecg.datasets import load_ptbxl

    data = load_ptbxl(DATA / "ptbxl500", folds=[10], leads=["II", "V1"], verbose=0)
    assert model.history_[-1, "train_batch_count"] == -(-len(data.X) // 8) - (len(data.X) % 8 == 1)


def test_pretrain_length_option(sample, tmp_path, capsys):
    folder = tmp_path / "mixed"
    _write(folder, sample.X[:8, :1, :600], 100, ["II"], prefix="a")
    _write(folder, sample.X[8:16, :1, :800], 100, ["II"], prefix="b")
    assert main(["pretrain", "lcd", str(folder), "--out", str(tmp_path / "m1"), *TINY]) == 1
    assert "sklearn-ecg: error:" in capsys.readouterr().err
    assert main(["pretrain", "lcd", str(folder), "--out", str(tmp_path / "m2"), "--length", "500",
                 *TINY]) == 0
    assert load_pretrained(tmp_path / "m2", device="cpu").input_contract_.n_timepoints == 500
