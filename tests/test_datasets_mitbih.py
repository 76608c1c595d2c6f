"""load_mitbih on small synthetic records named like MIT-BIH ones."""

import numpy as np
import pytest
import wfdb

from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ecg.datasets import load_mitbih

N = 3600  # 10 s at 360 Hz
SAMPLES = np.array([50, 300, 700, 1000, 1500, 2000, 2400, 3500, 3590])
SYMBOLS = ["N", "+", "V", "A", "~", "F", "/", "N", "L"]
# Beats with a full (0.25 s, 0.45 s) window: 90 samples before, 162 after.
KEPT = [(700, "V", "V"), (1000, "A", "S"), (2000, "F", "F"), (2400, "/", "Q")]


@pytest.fixture(scope="module")
def mitdb(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mitdb")
    rng = np.random.default_rng(0)
    signals = {}
    for record in ["100", "201", "202", "102"]:
        signal = np.round(rng.normal(size=(N, 2)), 2)
        wfdb.wrsamp(record, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"],
                    p_signal=signal, fmt=["212", "212"], adc_gain=[200.0, 200.0],
                    baseline=[1024, 1024], write_dir=str(folder))
        wfdb.wrann(record, "atr", SAMPLES, symbol=SYMBOLS, write_dir=str(folder))
        signals[record] = wfdb.rdsamp(str(folder / record))[0].T
    return folder, signals


def test_beats(mitdb):
    folder, signals = mitdb
    data = load_mitbih(folder, verbose=0)
    meta = data.metadata
    assert data.X.shape == (12, 2, 252) and data.X.dtype == np.float32
    assert data.lead_names == ["MLII", "V1"] and data.fs == 360.0
    assert data.target_names == ["N", "S", "V", "F", "Q"]
    # Paced record 102 is left out; non-beat '+' and '~' and edge beats dropped.
    assert list(meta["record"].unique()) == ["100", "201", "202"]
    assert list(meta["sample"][:4]) == [s for s, _, _ in KEPT]
    assert list(meta["symbol"][:4]) == [s for _, s, _ in KEPT]
    assert list(data.y[:4]) == [a for _, _, a in KEPT]
    assert data.y_indicator[:4].argmax(axis=1).tolist() == [2, 1, 3, 4]
    assert (data.y_indicator.sum(axis=1) == 1).all()
    np.testing.assert_allclose(data.X[0], signals["100"][:, 700 - 90:700 + 162], atol=1e-6)
    assert meta.set_index("record")["split"].to_dict() == {"100": "DS2", "201": "DS1",
                                                          "202": "DS2"}
    assert set(meta.loc[meta["record"] == "202", "patient"]) == {"201"}
    assert set(meta.loc[meta["record"] == "100", "patient"]) == {"100"}


def test_window_in_samples_paced_records_and_resampling(mitdb):
    folder, _ = mitdb
    data = load_mitbih(folder, window=(10, 20), include_paced=True, records=["102", 100],
                       verbose=0)
    assert data.X.shape[2] == 30
    assert list(data.metadata["record"].unique()) == ["102", "100"]
    assert set(data.metadata.loc[data.metadata["record"] == "102", "split"]) == {"paced"}
    # With 10/20 samples the beats at 50 and 3500 fit, the one at 3590 does not.
    assert data.metadata["sample"][:6].tolist() == [50, 700, 1000, 2000, 2400, 3500]
    half = load_mitbih(folder, fs=180, records=["100"], verbose=0)
    assert half.fs == 180.0 and half.X.shape[2] == 45 + 81
    assert half.metadata["sample"].tolist() == [350, 500, 1000, 1200]


def test_fixed_windows(mitdb):
    folder, signals = mitdb
    data = load_mitbih(folder, segment="window", window_seconds=4.0, records=["100"],
                       leads=["V1"], verbose=0)
    # 10 s give two full 4 s windows; the last 2 s are dropped.
    assert data.X.shape == (2, 1, 1440)
    assert data.metadata["sample"].tolist() == [0, 1440]
    assert data.metadata["symbol"].tolist() == ["NVA", "F/"]
    # Window 1 has one S and one V beat: the tie goes to S; window 2 F and Q: F.
    assert data.y.tolist() == ["S", "F"]
    assert data.y_indicator.tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]]
    np.testing.assert_allclose(data.X[1, 0], signals["100"][1, 1440:2880], atol=1e-6)


def test_memmap_never_writes_over_the_annotations(mitdb):
    folder, _ = mitdb
    atr = folder / "100.atr"
    before = atr.read_bytes()
    with pytest.raises(ValueError, match=r"100\.atr, a file this load reads"):
        load_mitbih(folder, records=["100"], memmap_path=atr, overwrite_memmap=True, verbose=0)
    assert atr.read_bytes() == before
    out = folder.parent / "beats.npy"
    data = load_mitbih(folder, records=["100"], memmap_path=out, verbose=0)
    np.testing.assert_array_equal(np.load(out), load_mitbih(folder, records=["100"]).X)
    assert isinstance(data.X, np.memmap)
    with pytest.raises(FileExistsError, match="overwrite_memmap=True"):
        load_mitbih(folder, records=["100"], memmap_path=out, verbose=0)
    out.unlink()


def test_errors(mitdb, tmp_path):
    folder, _ = mitdb
    with pytest.raises(FileNotFoundError, match=r"record\(s\) \['999'\] not found"):
        load_mitbih(folder, records=["999"])
    with pytest.raises(InvalidParameterError, match="'segment' parameter of load_mitbih must be"):
        load_mitbih(folder, segment="rr")
    with pytest.raises(InvalidParameterError, match="'window' parameter of load_mitbih must be"):
        load_mitbih(folder, window=0.5)
    with pytest.raises(ValueError, match="window must be a pair"):
        load_mitbih(folder, window=(0.5, -1))
    with pytest.raises(ValueError, match=r"unknown lead name\(s\) \['V5'\]"):
        load_mitbih(folder, leads=["V5"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mitbih(tmp_path / "nowhere")
    wfdb.wrsamp("100", fs=360, units=["mV"], sig_name=["MLII"], p_signal=np.zeros((360, 1)),
                fmt=["212"], write_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"record '100': annotation file .*100\.atr"):
        load_mitbih(tmp_path)
