"""The benchmarks' dependencies are an extra, and the scripts name it when one is missing."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_bench_extra_declares_what_the_comparisons_import():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {req.split(">")[0].split("=")[0].split("[")[0].strip() for req in extras["bench"]}
    assert {"aeon", "matplotlib"} <= names


def _run_without_aeon(script, *args):
    # A None entry in sys.modules makes "import aeon" raise ImportError.
    code = (
        "import runpy, sys; sys.modules['aeon'] = None; "
        f"sys.argv = [{str(script)!r}, *{list(args)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_minirocket_baseline_names_the_extra_without_aeon():
    out = _run_without_aeon(ROOT / "benchmarks" / "minirocket_baseline.py")
    assert out.returncode != 0
    assert 'pip install "sklearn-ecg[bench]"' in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_label_efficiency_names_the_extra_without_aeon(tmp_path):
    out = _run_without_aeon(ROOT / "benchmarks" / "bench_label_efficiency.py", "--smallest",
                            "--methods", "minirocket", "--out-dir", str(tmp_path))
    assert out.returncode != 0
    assert 'minirocket needs aeon' in out.stderr
    assert 'pip install "sklearn-ecg[bench]"' in out.stderr
    assert "Traceback" not in out.stderr
