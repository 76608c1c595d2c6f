"""The script that builds the embedded PTB-XL sample reproduces the shipped files."""

import filecmp
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PTBXL = ROOT.parent / "shared" / "data" / "ptbxl500"
SHIPPED = ROOT / "sklearn_ecg" / "datasets" / "data"
SCRIPT = ROOT / "tools" / "make_ptbxl_sample.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_ptbxl_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(
    not (PTBXL / "ptbxl_database.csv").is_file(),
    reason="the development copy of PTB-XL records 1-500 is not available (a clone does not include it)",
)
def test_script_reproduces_the_shipped_sample(tmp_path):
    _script().main([str(PTBXL), "--dest", str(tmp_path)])
    built, shipped = np.load(tmp_path / "ptbxl_sample_signals.npz"), np.load(
        SHIPPED / "ptbxl_sample_signals.npz"
    )
    assert sorted(built.files) == sorted(shipped.files) == ["ecg_id", "signals"]
    for name in built.files:
        assert built[name].dtype == shipped[name].dtype
        np.testing.assert_array_equal(built[name], shipped[name])
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "ptbxl_sample_database.csv"),
        pd.read_csv(SHIPPED / "ptbxl_sample_database.csv"),
    )
    assert filecmp.cmp(tmp_path / "scp_statements.csv", SHIPPED / "scp_statements.csv",
                       shallow=False)


def test_runtime_package_keeps_only_the_loader():
    import sklearn_ecg.datasets._sample as sample

    assert not hasattr(sample, "_build_ptbxl_sample")
    assert "make_ptbxl_sample" in SCRIPT.read_text()
