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
    not CINC.is_dir(), reason="the development copy of the CinC 2021 sample is not available (a clone does not include it)"
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


# The codes 1 and 2 stand for diagnoses: their missing names are warned about.
@pytest.mark.filterwarnings("ignore:SNOMED-CT code")
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
    from sklearn_ecg.preprocessing import PadOrCrop, Resample

    b = load_cinc(tmp_path / "incart").X
    expected = PadOrCrop(length=1000, mode="start").fit_transform(
        Resample(fs=250, target_fs=500).fit_transform(b))
    np.testing.assert_allclose(data.X[1], expected[0], atol=1e-6)
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


# --- memmap_path never loses data ------------------------------------------

def _listing(folder):
    """Every file under ``folder``, hidden ones included."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


@pytest.fixture
def recs(tmp_path):
    for k in range(3):
        write_record(tmp_path / "recs", f"r{k}", seed=k)
    return tmp_path / "recs"


def test_memmap_refuses_an_existing_file_unless_overwrite(recs, tmp_path):
    out = tmp_path / "X.npy"
    out.write_bytes(b"precious")
    match = r"X\.npy already exists; pass overwrite_memmap=True"
    with pytest.raises(FileExistsError, match=match):
        load_wfdb(recs, memmap_path=out)
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy", "recs"]
    mapped = load_wfdb(recs, memmap_path=out, overwrite_memmap=True)
    np.testing.assert_array_equal(np.load(out), load_wfdb(recs).X)
    np.testing.assert_array_equal(np.asarray(mapped.X), load_wfdb(recs).X)


@pytest.mark.parametrize("name", ["r0.dat", "r0.hea"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_memmap_never_writes_over_an_input_file(recs, name, overwrite):
    before = {p.name: p.read_bytes() for p in recs.iterdir()}
    with pytest.raises(ValueError, match=rf"{name}, a file this load reads"):
        load_wfdb(recs, memmap_path=recs / name, overwrite_memmap=overwrite)
    assert {p.name: p.read_bytes() for p in recs.iterdir()} == before
    # The same file reached through a link is recognised too.
    link = recs.parent / "link.npy"
    link.symlink_to(recs / name)
    with pytest.raises(ValueError, match="a file this load reads"):
        load_wfdb(recs, memmap_path=link, overwrite_memmap=True)
    assert {p.name: p.read_bytes() for p in recs.iterdir()} == before


def test_memmap_into_a_folder_is_refused_and_leaves_nothing(recs, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    before = _listing(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(IsADirectoryError, match=r"is a folder; pass the path of the \.npy"):
            load_wfdb(recs, memmap_path=target, overwrite_memmap=overwrite)
    assert _listing(tmp_path) == before


def test_failed_loads_leave_no_file(recs, tmp_path, monkeypatch):
    out = tmp_path / "X.npy"
    before = _listing(tmp_path)
    # A record that fails half-way through the load...
    with open(recs / "r2.dat", "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=r"r2\.dat is truncated"):
        load_wfdb(recs, memmap_path=out)
    assert _listing(tmp_path) == before
    # ...and a rename that fails at the very end.
    (recs / "r2.dat").unlink()
    (recs / "r2.hea").unlink()
    before = _listing(tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr("os.link", broken)
    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError, match="disk gone"):
        load_wfdb(recs, memmap_path=out)
    assert _listing(tmp_path) == before


def test_concurrent_loads_to_one_path_never_mix(tmp_path, monkeypatch):
    import threading

    from sklearn_ecg.datasets import _common

    write_record(tmp_path / "a", "ra", seed=1)
    write_record(tmp_path / "b", "rb", seed=2)
    out = tmp_path / "X.npy"
    started, release = threading.Event(), threading.Event()
    read = _common.read_signal

    def slow_read(header):
        if header.name == "ra":  # load A pauses inside its load
            started.set()
            release.wait(10)
        return read(header)

    monkeypatch.setattr(_common, "read_signal", slow_read)
    errors = []

    def load_a():
        try:
            load_wfdb(tmp_path / "a", memmap_path=out)
        except Exception as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    thread = threading.Thread(target=load_a)
    thread.start()
    assert started.wait(10)
    b = load_wfdb(tmp_path / "b", memmap_path=out)  # B runs whole while A waits
    release.set()
    thread.join(10)
    # B's file is intact; A refuses to replace what appeared during its load.
    np.testing.assert_array_equal(np.load(out), load_wfdb(tmp_path / "b").X)
    np.testing.assert_array_equal(np.asarray(b.X), np.load(out))
    assert len(errors) == 1 and isinstance(errors[0], FileExistsError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy", "a", "b"]


# --- one owner for resampling, cropping and lead names ---------------------

@pytest.mark.parametrize("crop", ["start", "center"])
@pytest.mark.parametrize("pad_mode", ["constant", "edge"])
@pytest.mark.parametrize("length", [150, 260])
def test_loader_resamples_and_crops_as_the_transformers(tmp_path, crop, pad_mode, length):
    from sklearn_ecg.preprocessing import PadOrCrop, Resample

    t = np.arange(1001) / 500
    signal = np.column_stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 7 * t) + 0.5])
    write_record(tmp_path, "odd", fs=500, n=1001, signal=np.round(signal, 3))
    raw = load_wfdb(tmp_path)
    assert raw.X.shape == (1, 2, 1001)
    resampled = load_wfdb(tmp_path, fs=100)
    # 1,001 samples at 500 Hz last 2.002 s: 200 samples at 100 Hz, as Resample says.
    expected = Resample(fs=500, target_fs=100).fit_transform(raw.X)
    assert resampled.X.shape == expected.shape == (1, 2, 200)
    np.testing.assert_allclose(resampled.X, expected, rtol=0, atol=1e-6)
    both = load_wfdb(tmp_path, fs=100, length=length, crop=crop, pad_mode=pad_mode)
    expected = PadOrCrop(length=length, mode=crop, pad_mode=pad_mode).fit_transform(expected)
    np.testing.assert_allclose(both.X, expected, rtol=0, atol=1e-6)


def test_loader_and_select_leads_share_one_lead_table(tmp_path):
    from sklearn_ecg.preprocessing import SelectLeads
    from sklearn_ecg.preprocessing._leads import canonical_lead

    assert canonical_lead("DII") == "II" and canonical_lead("lead  III") == "III"
    signal = write_record(tmp_path, "euro", leads=("DI", "DII", "MLII"))
    data = load_wfdb(tmp_path)
    assert data.lead_names == ["I", "II", "MLII"]
    picked = load_wfdb(tmp_path, leads=["lead II", "mlii", "d1"])
    assert picked.lead_names == ["II", "MLII", "I"]
    np.testing.assert_allclose(picked.X[0], signal.T[[1, 2, 0]], atol=1e-6)
    selected = SelectLeads(leads=["lead II", "mlii", "d1"], lead_names=data.lead_names)
    np.testing.assert_array_equal(selected.fit_transform(data.X), picked.X)


# --- parameters checked by scikit-learn's machinery -------------------------

def _loader_cases():
    from sklearn_ecg.datasets import load_mitbih, load_ptbxl, load_ptbxl_sample

    return [load_wfdb, load_cinc, load_mitbih, load_ptbxl, load_ptbxl_sample]


@pytest.mark.parametrize("loader", _loader_cases(), ids=lambda f: f.__name__)
def test_loader_parameters_are_validated(loader, tmp_path):
    import inspect

    from sklearn.utils._param_validation import (
        InvalidParameterError, generate_invalid_param_val, make_constraint,
    )

    constraints = loader._skl_parameter_constraints
    params = inspect.signature(loader).parameters
    assert set(constraints) == set(params)
    required = {name: tmp_path for name, p in params.items() if p.default is p.empty}
    bad_type = type("BadType", (), {})()
    for name in params:
        match = rf"The '{name}' parameter of {loader.__name__} must be .* Got .* instead"
        with pytest.raises(InvalidParameterError, match=match):
            loader(**{**required, name: bad_type})
        for constraint in map(make_constraint, constraints[name]):
            try:
                bad = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            if any(c.is_satisfied_by(bad) for c in map(make_constraint, constraints[name])):
                continue
            with pytest.raises(InvalidParameterError, match=match):
                loader(**{**required, name: bad})
