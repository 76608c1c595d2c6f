"""PTB-XL loader and the embedded sample, checked against the WFDB files."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_ecg.datasets import load_ptbxl, load_ptbxl_sample

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PTBXL500 = DATA / "ptbxl500"
MORE = DATA / "ptbxl-more"
needs_data = pytest.mark.skipif(
    not PTBXL500.is_dir() or not MORE.is_dir(),
    reason="the development copy of the PTB-XL records (folds 1-8 and records 1-500) is not available (a clone does not include it)",
)
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


@pytest.fixture
def small_copy(tmp_path):
    """A PTB-XL folder with the first 5 records at 100 Hz, free to damage."""
    db = pd.read_csv(PTBXL500 / "ptbxl_database.csv").head(5)
    db.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    shutil.copy(PTBXL500 / "scp_statements.csv", tmp_path)
    (tmp_path / "records100" / "00000").mkdir(parents=True)
    for f in db["filename_lr"]:
        for ext in (".hea", ".dat"):
            shutil.copy(PTBXL500 / (f + ext), tmp_path / (f + ext))
    return tmp_path


# --- the embedded sample --------------------------------------------------

def test_sample_shape_and_superclass_counts(sample):
    assert sample.X.shape == (500, 12, 1000)
    assert sample.X.dtype == np.float32
    assert sample.fs == 100.0
    assert sample.lead_names == LEADS
    assert sample.target_names == ["NORM", "MI", "STTC", "CD", "HYP"]
    counts = dict(zip(sample.target_names, sample.y.sum(axis=0)))
    assert counts == {"NORM": 297, "STTC": 96, "CD": 78, "MI": 73, "HYP": 40}
    assert (sample.y.sum(axis=1) == 0).sum() == 12


def test_sample_aligned_fields(sample):
    n = len(sample.X)
    assert list(sample.ecg_id) == list(range(1, 501))
    for key in ("scp_codes", "report", "strat_fold", "patient_id", "age", "sex"):
        assert len(sample[key]) == n, key
    assert len(sample.metadata) == n
    assert sample.scp_codes[0] == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    assert sample.patient_id.dtype.kind == "i"
    assert sample.patient_id[0] == 15709
    assert sorted(set(sample.strat_fold)) == list(range(1, 11))
    assert (sample.strat_fold >= 9).sum() == 147
    assert "CC BY 4.0" in sample.DESCR and "Wagner" in sample.DESCR


def test_sample_selection_options():
    test = load_ptbxl_sample(folds=[9, 10])
    assert len(test.X) == 147
    assert set(test.strat_fold) == {9, 10}
    two = load_ptbxl_sample(ecg_ids=[3, 1], leads=["V1", "avr"])
    assert list(two.ecg_id) == [1, 3]
    assert two.lead_names == ["V1", "aVR"]
    full = load_ptbxl_sample(ecg_ids=[1, 3])
    np.testing.assert_array_equal(two.X[:, 0], full.X[:, 6])
    np.testing.assert_array_equal(two.X[:, 1], full.X[:, 3])


def test_sample_reads_only_its_compact_copy(monkeypatch):
    # The sample never parses WFDB files: it decodes one int16 npz shipped in
    # the package (lossless, 7.5 MB for 12 MB of samples).
    from sklearn_ecg.datasets import _common, _ptbxl, _sample

    def forbidden(*args, **kwargs):
        raise AssertionError("load_ptbxl_sample must not read WFDB files")

    monkeypatch.setattr(_ptbxl, "read_header", forbidden)
    monkeypatch.setattr(_common, "read_signal", forbidden)
    opened = []
    load = np.load

    def spy(file, *args, **kwargs):
        opened.append(Path(file).name)
        return load(file, *args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    data = load_ptbxl_sample(ecg_ids=[1, 2])
    assert opened == ["ptbxl_sample_signals.npz"]
    assert data.X.shape == (2, 12, 1000)
    with np.load(_sample.DATA_DIR / "ptbxl_sample_signals.npz") as npz:
        assert npz["signals"].dtype == np.int16


@needs_data
def test_sample_matches_wfdb(sample):
    import wfdb

    for ecg_id in (1, 137, 500):
        signal, fields = wfdb.rdsamp(str(PTBXL500 / f"records100/00000/{ecg_id:05d}_lr"))
        np.testing.assert_allclose(sample.X[ecg_id - 1], signal.T, atol=1e-6)
    db = pd.read_csv(PTBXL500 / "ptbxl_database.csv", index_col="ecg_id")
    assert sample.report[136] == db.loc[137, "report"]
    assert sample.age[499] == db.loc[500, "age"]
    assert sample.strat_fold[499] == db.loc[500, "strat_fold"]


@needs_data
def test_sample_equals_load_ptbxl(sample):
    full = load_ptbxl(PTBXL500, verbose=0)
    np.testing.assert_array_equal(full.X, sample.X)
    np.testing.assert_array_equal(full.y, sample.y)
    pd.testing.assert_frame_equal(full.metadata, sample.metadata)


# --- label aggregation ----------------------------------------------------

def test_label_sets_follow_scp_statements(sample):
    statements = pd.read_csv(
        Path(__file__).resolve().parents[1] / "sklearn_ecg/datasets/data/scp_statements.csv",
        index_col=0,
    )
    # ecg_id 8 is {'IMI': 35.0, 'ABQRS': 0.0, 'SR': 0.0}: IMI is a diagnostic
    # statement of subclass IMI, ABQRS a form statement, SR a rhythm statement.
    assert sample.scp_codes[7] == {"IMI": 35.0, "ABQRS": 0.0, "SR": 0.0}
    assert statements.loc["IMI", "diagnostic_subclass"] == "IMI"
    sub = load_ptbxl_sample(label_set="subclass", ecg_ids=[8])
    assert len(sub.target_names) == 23
    assert [c for c, v in zip(sub.target_names, sub.y[0]) if v] == ["IMI"]
    form = load_ptbxl_sample(label_set="form", ecg_ids=[8])
    assert len(form.target_names) == int(statements["form"].sum()) == 19
    assert [c for c, v in zip(form.target_names, form.y[0]) if v] == ["ABQRS"]
    rhythm = load_ptbxl_sample(label_set="rhythm", ecg_ids=[8])
    assert len(rhythm.target_names) == 12
    assert [c for c, v in zip(rhythm.target_names, rhythm.y[0]) if v] == ["SR"]
    scp = load_ptbxl_sample(label_set="scp", ecg_ids=[8])
    assert len(scp.target_names) == 71
    assert sorted(c for c, v in zip(scp.target_names, scp.y[0]) if v) == ["ABQRS", "IMI", "SR"]


def test_min_likelihood(sample):
    # The default keeps likelihood-0 statements: nearly every record has a rhythm.
    rhythm = load_ptbxl_sample(label_set="rhythm")
    assert rhythm.y.any(axis=1).mean() > 0.9
    strict = load_ptbxl_sample(label_set="rhythm", min_likelihood=1)
    assert strict.y.sum() < rhythm.y.sum()
    sup = load_ptbxl_sample(min_likelihood=100)
    expected = np.zeros(len(sample.X), dtype=int)
    for i, codes in enumerate(sample.scp_codes):
        expected[i] = codes.get("NORM", 0) >= 100
    np.testing.assert_array_equal(sup.y[:, 0], expected)
    with pytest.raises(ValueError, match="min_likelihood"):
        load_ptbxl_sample(min_likelihood=150)
    with pytest.raises(ValueError, match="'label_set' parameter of load_ptbxl_sample must be"):
        load_ptbxl_sample(label_set="diagnostic")


# --- the loader on the shared folders -------------------------------------

@needs_data
@pytest.mark.parametrize("folder, rate, record", [
    (PTBXL500, 100, "records100/00000/00042_lr"),
    (PTBXL500, 500, "records500/00000/00042_hr"),
    (MORE, 100, None),
])
def test_values_match_wfdb(folder, rate, record):
    import wfdb

    db = pd.read_csv(folder / "ptbxl_database.csv")
    ecg_id = int(db["ecg_id"].iloc[-1]) if record is None else 42
    if record is None:
        record = db["filename_lr"].iloc[-1]
    data = load_ptbxl(folder, rate, ecg_ids=[ecg_id], verbose=0)
    signal, fields = wfdb.rdsamp(str(folder / record))
    assert data.X.shape == (1, 12, 10 * rate)
    assert data.fs == rate == fields["fs"]
    np.testing.assert_allclose(data.X[0], signal.T.astype(np.float32), rtol=0, atol=1e-6)


@pytest.mark.slow  # reads 2,331 records: about 2 s on a quiet machine
@needs_data
def test_list_of_folders_concatenates_in_order():
    both = load_ptbxl([PTBXL500, MORE], folds=range(1, 9), verbose=0)
    assert len(both.X) == 2331
    n_first = (pd.read_csv(PTBXL500 / "ptbxl_database.csv")["strat_fold"] <= 8).sum()
    assert both.ecg_id[n_first - 1] <= 500 < both.ecg_id[n_first]
    more = load_ptbxl(MORE, ecg_ids=[both.ecg_id[n_first]], verbose=0)
    np.testing.assert_array_equal(both.X[n_first], more.X[0])
    with pytest.raises(ValueError, match="more than one of the folders"):
        load_ptbxl([PTBXL500, PTBXL500], verbose=0)


@needs_data
def test_500hz_missing_in_ptbxl_more_is_clear():
    with pytest.raises(FileNotFoundError, match="only 100 Hz records, use sampling_rate=100"):
        load_ptbxl(MORE, 500, verbose=0)


@needs_data
def test_memmap_equals_memory_and_failed_load_leaves_no_file(small_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("mm") / "X.npy"
    mem = load_ptbxl(small_copy, verbose=0)
    mapped = load_ptbxl(small_copy, verbose=0, memmap_path=out)
    assert isinstance(mapped.X, np.memmap)
    np.testing.assert_array_equal(np.asarray(mapped.X), mem.X)
    np.testing.assert_array_equal(np.load(out), mem.X)
    # Truncate the last record's signal file: the whole load must fail and
    # leave no file that looks like a valid result.
    bad = out.with_name("bad.npy")
    dat = small_copy / "records100/00000/00005_lr.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"00005_lr\.dat is truncated"):
        load_ptbxl(small_copy, verbose=0, memmap_path=bad)
    assert sorted(p.name for p in bad.parent.iterdir()) == ["X.npy"]


@needs_data
@pytest.mark.parametrize("table", ["ptbxl_database.csv", "scp_statements.csv"])
def test_memmap_never_writes_over_the_tables(small_copy, table):
    before = (small_copy / table).read_bytes()
    with pytest.raises(ValueError, match=f"{table}, a file this load reads"):
        load_ptbxl(small_copy, verbose=0, memmap_path=small_copy / table, overwrite_memmap=True)
    assert (small_copy / table).read_bytes() == before


@needs_data
def test_errors_name_the_problem(small_copy, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ptbxl(small_copy / "nope")
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match="ptbxl_database.csv not found"):
        load_ptbxl(empty)
    with pytest.raises(ValueError, match=r"'sampling_rate' .* must be a int among \{"):
        load_ptbxl(small_copy, 250)
    with pytest.raises(ValueError, match=r"ecg_id\(s\) \[99\] not found"):
        load_ptbxl(small_copy, ecg_ids=[1, 99])
    with pytest.raises(ValueError, match="folds must be"):
        load_ptbxl(small_copy, folds=[11])
    with pytest.raises(ValueError, match=r"unknown lead name\(s\) \['V7'\].*'aVR'"):
        load_ptbxl(small_copy, leads=["I", "V7"])
    with pytest.raises(ValueError, match="nan_policy"):
        load_ptbxl(small_copy, nan_policy="drop")
    (small_copy / "records100/00000/00003_lr.hea").unlink()
    with pytest.raises(FileNotFoundError, match=r"ecg_id 3: .*00003_lr\.hea is missing"):
        load_ptbxl(small_copy)
    (small_copy / "records100/00000/00003_lr.hea").write_text("00003_lr 12 100\n")
    with pytest.raises(ValueError, match=r"corrupt or truncated header file .*00003_lr\.hea"):
        load_ptbxl(small_copy)


@needs_data
def test_nan_policy(small_copy):
    # Write WFDB's missing-value code into lead V2 of record 2.
    dat = small_copy / "records100/00000/00002_lr.dat"
    digital = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
    clean = digital[:, 7] / 1000
    digital[:10, 7] = -32768
    digital[500:505, 7] = -32768
    digital.tofile(dat)
    with pytest.warns(UserWarning, match="00002_lr/V2"):
        data = load_ptbxl(small_copy, verbose=0)
    lead = data.X[1, 7]
    assert not np.isnan(data.X).any()
    np.testing.assert_allclose(lead[:10], clean[10], atol=1e-6)  # nearest valid sample
    np.testing.assert_allclose(lead[500:505], np.linspace(clean[499], clean[505], 7)[1:-1],
                               atol=1e-6)
    with pytest.warns(UserWarning, match="set to zero"):
        zero = load_ptbxl(small_copy, verbose=0, nan_policy="zero")
    assert (zero.X[1, 7, :10] == 0).all()
    with pytest.raises(ValueError, match=r"record '00002_lr' has missing \(NaN\).*'V2'"):
        load_ptbxl(small_copy, verbose=0, nan_policy="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_ptbxl(small_copy, ecg_ids=[1], verbose=0)


def test_download_offline_fails_clearly(tmp_path, monkeypatch):
    import wfdb

    def offline(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(wfdb, "dl_files", offline)
    monkeypatch.setattr(wfdb, "dl_database", offline)
    with pytest.raises(OSError, match="could not download PTB-XL.*internet"):
        load_ptbxl(tmp_path / "ptbxl", download=True)


@needs_data
def test_progress_bar_only_for_long_loads(capsys):
    load_ptbxl(PTBXL500, ecg_ids=range(1, 201), verbose=1)
    assert "Loading PTB-XL" in capsys.readouterr().err
    load_ptbxl(PTBXL500, ecg_ids=range(1, 201), verbose=0)
    load_ptbxl(PTBXL500, ecg_ids=range(1, 20), verbose=1)
    assert "Loading PTB-XL" not in capsys.readouterr().err
