"""Damaged or unusual input files give errors that name the file and what to do."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_ecg.datasets import load_cinc, load_mitbih, load_ptbxl, load_wfdb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PTBXL500 = DATA / "ptbxl500"
CINC = DATA / "cinc2021-sample"
needs_ptbxl = pytest.mark.skipif(
    not PTBXL500.is_dir(), reason="the development copy of PTB-XL records 1-500 is not available (a clone does not include it)"
)
needs_cinc = pytest.mark.skipif(
    not CINC.is_dir(), reason="the development copy of the CinC 2021 sample is not available (a clone does not include it)"
)


@pytest.fixture
def ptbxl(tmp_path):
    """A PTB-XL folder with the first 5 records at 100 Hz, free to damage."""
    if not PTBXL500.is_dir():
        pytest.skip("the development copy of PTB-XL records 1-500 is not available (a clone does not include it)")
    db = pd.read_csv(PTBXL500 / "ptbxl_database.csv").head(5)
    db.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    shutil.copy(PTBXL500 / "scp_statements.csv", tmp_path)
    (tmp_path / "records100" / "00000").mkdir(parents=True)
    for f in db["filename_lr"]:
        for ext in (".hea", ".dat"):
            shutil.copy(PTBXL500 / (f + ext), tmp_path / (f + ext))
    return tmp_path


def _edit_database(folder, row, column, value):
    db = pd.read_csv(folder / "ptbxl_database.csv", dtype=str, keep_default_na=False)
    db.loc[row, column] = value
    db.to_csv(folder / "ptbxl_database.csv", index=False)


def test_ptbxl_empty_strat_fold_names_file_row_and_column(ptbxl):
    _edit_database(ptbxl, 2, "strat_fold", "")
    with pytest.raises(ValueError, match=r"ptbxl_database\.csv, line 4 \(ecg_id 3\): column "
                       r"'strat_fold' is empty"):
        load_ptbxl(ptbxl)


def test_ptbxl_non_numeric_ecg_id_names_file_row_and_column(ptbxl):
    _edit_database(ptbxl, 1, "ecg_id", "two")
    with pytest.raises(ValueError, match=r"ptbxl_database\.csv, line 3: column 'ecg_id' holds "
                       r"'two', not an integer"):
        load_ptbxl(ptbxl)


def test_ptbxl_statements_without_diagnostic_class(ptbxl):
    statements = pd.read_csv(ptbxl / "scp_statements.csv", index_col=0)
    statements.drop(columns="diagnostic_class").to_csv(ptbxl / "scp_statements.csv")
    with pytest.raises(ValueError, match=r"scp_statements\.csv lacks the column.*diagnostic_class"):
        load_ptbxl(ptbxl)
    # The label sets that do not need the column still load.
    assert load_ptbxl(ptbxl, label_set="form").X.shape == (5, 12, 1000)


def test_header_declaring_more_samples_than_the_file_holds(ptbxl):
    hea = ptbxl / "records100" / "00000" / "00002_lr.hea"
    lines = hea.read_text().splitlines()
    first = lines[0].split()
    first[3] = "2000"
    hea.write_text("\n".join([" ".join(first)] + lines[1:]) + "\n")
    message = r"00002_lr\.hea declares 2000 samples.*00002_lr\.dat holds 1000"
    # Found while the headers are read: before any signal and before the check that
    # all records have one length, which would blame the length instead.
    with pytest.raises(ValueError, match=message):
        load_ptbxl(ptbxl)
    with pytest.raises(ValueError, match=message):
        load_wfdb(ptbxl / "records100")


@pytest.mark.parametrize("fmt", ["16", "212", "80"])
def test_wfdb_header_declaring_more_samples_any_format(tmp_path, fmt):
    import wfdb

    signal = np.random.default_rng(0).normal(size=(500, 2))
    wfdb.wrsamp("rec", fs=250, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal,
                fmt=[fmt, fmt], write_dir=str(tmp_path))
    hea = tmp_path / "rec.hea"
    lines = hea.read_text().splitlines()
    first = lines[0].split()
    first[3] = "900"
    hea.write_text("\n".join([" ".join(first)] + lines[1:]) + "\n")
    with pytest.raises(ValueError, match=r"rec\.hea declares 900 samples.*rec\.dat holds 500 "
                       r"samples.*truncated or its header is wrong"):
        load_wfdb(tmp_path)


# ------------------------------------------------------------------------- MIT-BIH
def _mitbih_record(folder, name, n_seconds=20, beats=True):
    import wfdb

    fs = 360
    t = np.arange(n_seconds * fs) / fs
    signal = np.column_stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)])
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=signal,
                fmt=["212", "212"], write_dir=str(folder))
    if beats:
        samples = np.arange(fs, len(t) - fs, fs)
        wfdb.wrann(name, "atr", samples, symbol=["N"] * len(samples), write_dir=str(folder))
    else:
        (folder / f"{name}.atr").write_bytes(b"")


def test_mitbih_empty_annotation_file_is_named(tmp_path):
    _mitbih_record(tmp_path, "100")
    _mitbih_record(tmp_path, "101", beats=False)
    with pytest.raises(ValueError, match=r"record '101'.*101\.atr.*no annotation"):
        load_mitbih(tmp_path, verbose=0)
    data = load_mitbih(tmp_path, records=["100"], verbose=0)
    assert len(data.y) == 18


def test_mitbih_record_without_beats_warns(tmp_path):
    import wfdb

    _mitbih_record(tmp_path, "100")
    _mitbih_record(tmp_path, "101", beats=False)
    # Annotations, but none of them a beat: a rhythm change and a noise mark.
    wfdb.wrann("101", "atr", np.array([10, 20]), symbol=["+", "~"],
               aux_note=["(N", ""], write_dir=str(tmp_path))
    with pytest.warns(UserWarning, match=r"record\(s\) '101'.*no beat annotation"):
        data = load_mitbih(tmp_path, verbose=0)
    assert set(data.metadata["record"]) == {"100"}


def test_mitbih_window_longer_than_the_records(tmp_path):
    _mitbih_record(tmp_path, "100")
    with pytest.raises(ValueError, match=r"window_seconds=10000.*longer than record\(s\) "
                       r"'100' \(20 s\)"):
        load_mitbih(tmp_path, segment="window", window_seconds=10000, verbose=0)
    assert load_mitbih(tmp_path, segment="window", window_seconds=5, verbose=0).X.shape[0] == 4


# --------------------------------------------------------------------------- CinC
def _cinc_copy(folder, records, drop_dx=()):
    for name in records:
        shutil.copy(CINC / f"{name}.mat", folder)
        lines = (CINC / f"{name}.hea").read_text().splitlines()
        if name in drop_dx:
            lines = [ln for ln in lines if not ln.startswith("# Dx")]
        (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")


@needs_cinc
def test_cinc_records_without_dx_warn_and_name_the_records(tmp_path):
    _cinc_copy(tmp_path, ["E07500", "E07501", "E07502"], drop_dx=["E07501"])
    with pytest.warns(UserWarning, match=r"1 record\(s\) have no diagnosis.*'E07501'"):
        data = load_cinc(tmp_path, verbose=0)
    assert data.y.shape[0] == 3 and data.y.shape[1] > 0
    assert data.y[1].sum() == 0 and data.metadata["dx"][1] == []


@needs_cinc
def test_cinc_without_any_dx_says_y_has_no_class(tmp_path):
    names = ["E07500", "E07501"]
    _cinc_copy(tmp_path, names, drop_dx=names)
    with pytest.warns(UserWarning, match=r"none of the 2 records has a diagnosis.*y has no "
                      r"column"):
        data = load_cinc(tmp_path, verbose=0)
    assert data.y.shape == (2, 0) and data.target_names == []
    # With classes given, y has those columns, all zero, and the same warning.
    with pytest.warns(UserWarning, match="none of the 2 records has a diagnosis"):
        data = load_cinc(tmp_path, classes=["426177001"], verbose=0)
    assert data.y.shape == (2, 1) and data.y.sum() == 0


# ------------------------------------------------------------------ SNOMED-CT names
@needs_cinc
def test_cinc_class_names_come_from_the_snomed_table():
    data = load_cinc(CINC, verbose=0)
    assert len(data.class_names) == len(data.target_names) == data.y.shape[1] == 25
    named = dict(zip(data.target_names, data.class_names))
    assert named["426177001"] == "sinus bradycardia"
    assert named["67741000119109"] == "left atrial enlargement"
    assert named["426783006"] == "sinus rhythm"
    abbreviations = dict(zip(data.target_names, data.class_abbreviations))
    assert abbreviations["426177001"] == "SB" and abbreviations["59118001"] == "RBBB"
    # Every code of the sample is in the table: no code is left as its own name.
    assert not set(data.class_names) & set(data.target_names)


@needs_cinc
def test_cinc_as_frame_names_the_columns(tmp_path):
    _cinc_copy(tmp_path, ["E07500", "JS20000"])
    data = load_cinc(tmp_path, as_frame=True, verbose=0)
    assert list(data.y.columns) == data.class_names
    assert list(data.y.index) == ["E07500", "JS20000"]
    # E07500: "# Dx: 67741000119109,426177001".
    assert data.y.loc["E07500", "sinus bradycardia"] == 1
    assert data.y.loc["E07500", "left atrial enlargement"] == 1
    assert data.y.loc["E07500"].sum() == 2


@needs_cinc
def test_unknown_snomed_codes_keep_the_code_with_a_warning(tmp_path):
    _cinc_copy(tmp_path, ["E07500"])
    hea = tmp_path / "E07500.hea"
    hea.write_text(hea.read_text().replace("# Dx: 67741000119109,426177001",
                                           "# Dx: 999999999,426177001"))
    with pytest.warns(UserWarning, match=r"SNOMED-CT code\(s\) 999999999 are not in the table"):
        data = load_cinc(tmp_path, verbose=0)
    assert dict(zip(data.target_names, data.class_names)) == {
        "426177001": "sinus bradycardia", "999999999": "999999999"}
    with pytest.warns(UserWarning, match="999999999"):
        meta = load_wfdb(tmp_path, verbose=0).metadata
    assert meta["dx_names"][0] == ["999999999", "sinus bradycardia"]


@needs_cinc
def test_wfdb_loader_names_the_dx_codes_of_challenge_headers():
    meta = load_wfdb(CINC, verbose=0).metadata
    first = meta.index[meta["record"] == "E07500"][0]
    assert meta["dx"][first] == ["67741000119109", "426177001"]
    assert meta["dx_names"][first] == ["left atrial enlargement", "sinus bradycardia"]


def test_wfdb_loader_without_dx_has_no_dx_columns(tmp_path):
    import wfdb

    wfdb.wrsamp("rec", fs=250, units=["mV"], sig_name=["II"],
                p_signal=np.zeros((500, 1)), fmt=["16"], write_dir=str(tmp_path))
    meta = load_wfdb(tmp_path, verbose=0).metadata
    assert "dx" not in meta and "dx_names" not in meta


def test_snomed_table_is_complete_and_unambiguous():
    from sklearn_ecg._tables import read_table

    rows = read_table("snomed_ct_codes.tsv", "datasets/data")
    assert len(rows) == 133 and sum(r["scored"] == "1" for r in rows) == 30
    for column in ("code", "name", "abbreviation"):
        values = [r[column] for r in rows]
        assert len(set(values)) == len(values), column
    assert all(r["code"].isdigit() for r in rows)
