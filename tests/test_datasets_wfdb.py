"""load_wfdb and load_cinc: real challenge records and small synthetic ones."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from sklearn_ecg.datasets import load_cinc, load_wfdb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CINC = DATA / "cinc2021-sample"
needs_cinc = pytest.mark.skipif(
    not CINC.is_dir(), reason="the shared CinC sample (../shared/data/cinc2021-sample) is not available"
)
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def write_record(folder, name, fs=500, n=1000, leads=("I", "II"), units="mV", fmt="16",
                 comments=None, signal=None, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    if signal is None:
        signal = np.round(np.random.default_rng(seed).normal(size=(n, len(leads))), 3)
    wfdb.wrsamp(name, fs=fs, units=[units] * len(leads), sig_name=list(leads),
                p_signal=signal, fmt=[fmt] * len(leads),
                adc_gain=[200.0 if fmt == "212" else 1000.0] * len(leads),
                baseline=[0] * len(leads), comments=comments or [], write_dir=str(folder))
    return signal


def write_cinc(folder, name, fs=500, n=1000, leads=LEADS, dx="426783006", age="60",
               sex="Male", seed=0):
    """A challenge record: int16 ``val`` in a v4 .mat plus its header."""
    folder.mkdir(parents=True, exist_ok=True)
    val = np.random.default_rng(seed).integers(-2000, 2000, size=(len(leads), n), dtype=np.int16)
    scipy.io.savemat(folder / f"{name}.mat", {"val": val}, format="4")
    lines = [f"{name} {len(leads)} {fs} {n}"]
    lines += [f"{name}.mat 16+24 1000/mV 16 0 {v[0]} 0 0 {lead}" for v, lead in zip(val, leads)]
    lines += [f"# Age: {age}", f"# Sex: {sex}", f"# Dx: {dx}", "# Rx: Unknown"]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return val / 1000.0


# --- CinC -----------------------------------------------------------------

@needs_cinc
def test_cinc_sample_matches_wfdb_and_loadmat():
    data = load_cinc(CINC, verbose=0)
    assert data.X.shape == (50, 12, 5000)
    assert data.lead_names == LEADS and data.fs == 500.0
    for i in (0, 20, 49):
        record = data.metadata["record"][i]
        signal, _ = wfdb.rdsamp(str(CINC / record))
        np.testing.assert_allclose(data.X[i], signal.T, atol=1e-6)
        val = scipy.io.loadmat(str(CINC / f"{record}.mat"))["val"]
        np.testing.assert_allclose(data.X[i], val / 1000.0, atol=1e-6)
    first = data.metadata.iloc[0]
    assert first["record"] == "E07500" and first["source"] == "E"
    assert first["age"] == 78 and first["sex"] == "Male"
    assert first["dx"] == ["67741000119109", "426177001"]
    assert set(data.metadata["source"]) == {"E", "HR", "JS"}
    # y is the indicator of each record's Dx codes over the sorted codes.
    for i, codes in enumerate(data.metadata["dx"]):
        assert sorted(np.array(data.target_names)[data.y[i] == 1]) == sorted(codes)
    assert [int(c) for c in data.target_names] == sorted(int(c) for c in data.target_names)
    given = load_cinc(CINC, classes=["426177001", 164934002], verbose=0)
    assert given.target_names == ["426177001", "164934002"]
    assert given.y[0].tolist() == [1, 0]


def test_cinc_nested_mixed_rates_and_lengths(tmp_path):
    a = write_cinc(tmp_path / "georgia" / "g1", "E00001", fs=500, n=1000, dx="1,2")
    write_cinc(tmp_path / "incart", "I0001", fs=250, n=600, age="NaN", sex="Female", dx="2")
    with pytest.raises(ValueError, match=r"different sampling rates.*pass fs="):
        load_cinc(tmp_path)
    with pytest.raises(ValueError, match=r"different lengths.*'I0001'.*pass length="):
        load_cinc(tmp_path, fs=500)
    data = load_cinc(tmp_path, fs=500, length=1000)
    assert data.X.shape == (2, 12, 1000)
    meta = data.metadata.set_index("record")
    assert list(meta.index) == ["georgia/g1/E00001", "incart/I0001"]
    assert list(meta["source"]) == ["georgia", "incart"]
    assert np.isnan(meta.loc["incart/I0001", "age"])
    assert list(meta["fs_original"]) == [500.0, 250.0]
    assert list(meta["n_samples_original"]) == [1000, 600]
    np.testing.assert_allclose(data.X[0], a, atol=1e-6)
    # 600 samples at 250 Hz are 1200 at 500 Hz, cropped to the first 1000.
    assert np.abs(data.X[1]).sum() > 0
    assert data.target_names == ["1", "2"] and data.y.tolist() == [[1, 1], [0, 1]]


def test_cinc_reorders_leads_to_standard_order(tmp_path):
    shuffled = LEADS[::-1]
    val = write_cinc(tmp_path, "A0001", leads=[lead.upper() for lead in shuffled])
    data = load_cinc(tmp_path)
    assert data.lead_names == LEADS
    np.testing.assert_allclose(data.X[0], val[::-1], atol=1e-6)


def test_cinc_corrupt_mat_is_named(tmp_path):
    write_cinc(tmp_path, "A0001")
    write_cinc(tmp_path, "A0002")
    (tmp_path / "A0002.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match=r"corrupt signal file .*A0002\.mat"):
        load_cinc(tmp_path)


# --- load_wfdb ------------------------------------------------------------

def test_wfdb_folder_resample_length_and_leads(tmp_path):
    t = np.arange(500) / 250
    sine = np.column_stack([np.sin(2 * np.pi * 2 * t), np.cos(2 * np.pi * 2 * t)])
    write_record(tmp_path / "a", "r1", fs=250, n=500, leads=("II", "V1"), signal=sine,
                 comments=["Age: 50"])
    write_record(tmp_path / "b" / "c", "r2", fs=500, n=1000, leads=("V1", "ii"))
    data = load_wfdb(tmp_path, fs=500, leads=["II", "V1"])
    assert data.X.shape == (2, 2, 1000) and data.lead_names == ["II", "V1"]
    assert list(data.metadata["record"]) == ["a/r1", "b/c/r2"]
    assert data.metadata["comments"][0] == "Age: 50"
    # Upsampling a 2 Hz sine from 250 to 500 Hz keeps it a sine.
    t2 = np.arange(1000) / 500
    np.testing.assert_allclose(data.X[0, 0, 100:900], np.sin(2 * np.pi * 2 * t2)[100:900],
                               atol=1e-2)
    r2, _ = wfdb.rdsamp(str(tmp_path / "b" / "c" / "r2"))
    np.testing.assert_allclose(data.X[1], r2.T[::-1], atol=1e-6)
    listed = load_wfdb([tmp_path / "b" / "c" / "r2"], leads=["V1"], length=300, crop="center")
    np.testing.assert_allclose(listed.X[0, 0], r2[350:650, 0], atol=1e-6)
    padded = load_wfdb([tmp_path / "b" / "c" / "r2"], length=1200)
    assert (padded.X[0, :, 1000:] == 0).all()
    edge = load_wfdb([tmp_path / "b" / "c" / "r2"], length=1200, pad_mode="edge")
    np.testing.assert_allclose(edge.X[0, :, -1], r2[-1], atol=1e-6)


def test_wfdb_formats_and_units(tmp_path):
    signal = write_record(tmp_path, "fmt212", fs=360, n=720, fmt="212", leads=("MLII", "V5"))
    data = load_wfdb(tmp_path / "fmt212")
    np.testing.assert_allclose(data.X[0], signal.T, atol=3e-3)
    write_record(tmp_path / "uv", "micro", n=100, units="uV", leads=("I",),
                 signal=np.full((100, 1), 15.0))
    micro = load_wfdb(tmp_path / "uv")
    np.testing.assert_allclose(micro.X, 0.015, rtol=1e-6)
    write_record(tmp_path / "press", "bp", n=100, units="mmHg", leads=("ABP",))
    with pytest.raises(ValueError, match=r"bp\.hea: lead 'ABP' is in unit 'mmHg'"):
        load_wfdb(tmp_path / "press")


def test_wfdb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor a WFDB record"):
        load_wfdb(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"no WFDB records \(.hea files\) found"):
        load_wfdb(tmp_path)
    write_record(tmp_path, "r1", leads=("I", "II"))
    write_record(tmp_path, "r2", leads=("I", "V1"))
    with pytest.raises(ValueError, match="do not all have the same leads.*pass leads="):
        load_wfdb(tmp_path)
    with pytest.raises(ValueError, match=r"unknown lead name\(s\) \['II'\].*\['I'\]"):
        load_wfdb(tmp_path, leads=["II"])
    assert load_wfdb(tmp_path, leads=["i"]).X.shape == (2, 1, 1000)
    with pytest.raises(FileNotFoundError, match=r"header file .*r9\.hea not found"):
        load_wfdb([tmp_path / "r1", tmp_path / "r9"])
    (tmp_path / "r2.dat").unlink()
    with pytest.raises(FileNotFoundError, match=r"record 'r2': signal file .*r2\.dat not found"):
        load_wfdb(tmp_path, leads=["I"])
    with pytest.raises(ValueError, match=r"'fs' parameter of load_wfdb must be a float in .*-1"):
        load_wfdb(tmp_path, fs=-1)
    with pytest.raises(ValueError, match=r"'length' parameter of load_wfdb must be an int in"):
        load_wfdb(tmp_path, length=2.5)
    with pytest.raises(ValueError, match=r"'crop' parameter of load_wfdb must be a str among"):
        load_wfdb(tmp_path, crop="end")


def test_wfdb_nan_policy(tmp_path):
    signal = np.tile(np.arange(10.0), (2, 1)).T
    signal[3:5, 0] = np.nan
    signal[:, 1] = np.nan
    write_record(tmp_path, "gap", n=10, signal=signal)
    with pytest.warns(UserWarning, match=r"2 lead\(s\): gap/I, gap/II"):
        data = load_wfdb(tmp_path)
    np.testing.assert_allclose(data.X[0, 0], np.arange(10.0), atol=1e-6)
    assert (data.X[0, 1] == 0).all()  # an all-NaN lead becomes zeros
    with pytest.raises(ValueError, match="nan_policy='interpolate'"):
        load_wfdb(tmp_path, nan_policy="raise")


def test_wfdb_memmap(tmp_path):
    for k in range(3):
        write_record(tmp_path / "recs", f"r{k}", seed=k)
    out = tmp_path / "X.npy"
    mem = load_wfdb(tmp_path / "recs")
    mapped = load_wfdb(tmp_path / "recs", memmap_path=out)
    np.testing.assert_array_equal(np.asarray(mapped.X), mem.X)
    np.testing.assert_array_equal(np.load(out), mem.X)
    with open(tmp_path / "recs" / "r2.dat", "r+b") as f:
        f.truncate(100)
    out.unlink()
    del mapped
    with pytest.raises(ValueError, match=r"r2\.dat is truncated"):
        load_wfdb(tmp_path / "recs", memmap_path=out)
    assert not out.exists() and not list(tmp_path.glob("X.npy*"))


def test_no_progress_bar_for_small_loads(tmp_path, capsys):
    write_record(tmp_path, "r1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_wfdb(tmp_path, verbose=1)
    assert "record" not in capsys.readouterr().err
