"""The gallery examples: sphinx-gallery's format, a fast mode, and (on request) a run as scripts."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_gallery_example(path):
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, "a gallery example starts with a docstring"
    title, underline = docstring.splitlines()[:2]
    assert underline and set(underline) == {"="} and len(underline) >= len(title)
    assert "\n# %%\n" in source, "cells are separated by # %%"
    if "Pretrainer(" in source:
        assert "SKLEARN_ECG_DOCS_FAST" in source, "every example that trains has a fast mode"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_converts_to_a_notebook(path, tmp_path):
    notebook = pytest.importorskip("sphinx_gallery.notebook", reason="needs the docs extra")
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(path))[:2]
    gallery_conf = {"first_notebook_cell": None, "last_notebook_cell": None,
                    "notebook_images": False, "pypandoc": False, "promote_jupyter_magic": False,
                    "notebook_extensions": {".ipynb"}}
    nb = notebook.jupyter_notebook(blocks, gallery_conf, str(tmp_path))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    compile(code, f"{path.name} as a notebook", "exec")
    assert sum(c["cell_type"] == "code" for c in nb["cells"]) >= 3


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SKLEARN_ECG_RUN_EXAMPLES") != "1",
                    reason="set SKLEARN_ECG_RUN_EXAMPLES=1 to run the gallery examples (minutes)")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_as_a_script(path, tmp_path):
    pytest.importorskip("matplotlib", reason="the examples plot")
    if "METSPretrainer" in path.read_text():
        pytest.importorskip("sentence_transformers", reason="METS needs the text extra")
    env = dict(os.environ, SKLEARN_ECG_DOCS_FAST="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, check=True, timeout=1800)
