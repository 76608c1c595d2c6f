"""The gallery examples: sphinx-gallery's format, a fast mode, and (on request) a run as scripts."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def _docs_module(name):
    """A helper module of docs/ (not a package), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    trains = re.search(r"(?<!ZeroShot)(Pretrainer|ECGClassifier)\((?!max_epochs=0)", code.split('"""', 2)[-1])
    if trains:
        assert "SKLEARN_ECG_DOCS_FAST" in source, "every example that trains has a reduced mode"


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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_notebook_text_cells_are_markdown(path, tmp_path):
    notebook = pytest.importorskip("sphinx_gallery.notebook", reason="needs the docs extra")
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _docs_module("_notebook_markdown").install()  # what docs/conf.py does
    _, blocks = split_code_and_text_blocks(str(path))[:2]
    gallery_conf = {"first_notebook_cell": None, "last_notebook_cell": None,
                    "notebook_images": False, "pypandoc": False, "promote_jupyter_magic": False,
                    "notebook_extensions": {".ipynb"}}
    nb = notebook.jupyter_notebook(blocks, gallery_conf, str(tmp_path))
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    leftovers = re.findall(r":\w+:`[^`]*`|^\.\. \w[\w-]*::.*$", text, flags=re.M)
    assert not leftovers, f"reST left in the notebook's text cells: {leftovers}"


def test_roles_become_code_spans():
    convert = _docs_module("_notebook_markdown").roles_to_markdown
    assert convert("a :class:`~sklearn_ecg.LCDPretrainer` b") == "a `LCDPretrainer` b"
    assert convert(":func:`sklearn_ecg.datasets.load_ptbxl`") == "`sklearn_ecg.datasets.load_ptbxl`"
    assert convert(":doc:`the API <api>`") == "`the API`"
    assert convert("no roles ``here``") == "no roles ``here``"


# What the built gallery pages conclude is checked against their own run.
def test_conclusion_check_fails_when_the_figures_contradict_the_text(tmp_path, monkeypatch):
    check = _docs_module("check_examples")
    monkeypatch.setenv("SKLEARN_ECG_DOCS_FIGURES", str(tmp_path))
    check.record_figures("plot_a", size="reduced", shipped_macro=0.792, untrained_macro=0.797)
    size, figures = check.read_figures(tmp_path / "plot_a.json")
    assert size == "reduced"
    assert figures == {"shipped_macro": 0.792, "untrained_macro": 0.797}
    failures = check.check_claims(["shipped_macro > untrained_macro"], figures)
    assert failures and "does not hold" in failures[0]
    assert check.check_claims(["untrained_macro > 0.5", "shipped_macro >= 0.792"], figures) == []
    assert "recorded no figure" in check.check_claims(["finetuned_macro >= shipped_macro"], figures)[0]
    # A claim made for the full size only is not checked on a reduced page.
    assert check.check_claims(["full: untrained_macro > shipped_macro"], figures, "reduced") == []
    assert check.check_claims(["full: untrained_macro > shipped_macro"], figures, "full") == []
    assert check.check_claims(["full: shipped_macro > untrained_macro"], figures, "full") != []
    with pytest.raises(ValueError, match="size must be"):
        check.record_figures("plot_a", size="small")


def test_examples_record_nothing_outside_the_documentation_build(tmp_path, monkeypatch):
    check = _docs_module("check_examples")
    monkeypatch.delenv("SKLEARN_ECG_DOCS_FIGURES", raising=False)
    monkeypatch.chdir(tmp_path)
    check.record_figures("plot_a", size="full", x=1.0)
    assert list(tmp_path.iterdir()) == []


def test_conclusion_check_reads_what_the_examples_recorded(tmp_path):
    check = _docs_module("check_examples")
    figures = tmp_path / "_figures"
    figures.mkdir()
    (tmp_path / "plot_a.rst").write_text(".. code-block:: none\n\n    macro 0.9\n")
    (figures / "plot_a.json").write_text('{"size": "full", "figures": {"x": 0.9, "y": 0.8}}')
    (tmp_path / "plot_b.rst").write_text("no output\n")
    failures = check.check_gallery(tmp_path, {"plot_a": ["x > y", "y > x"]}, full=True)
    assert len(failures) == 2
    assert failures[0].startswith("plot_a: y > x does not hold")
    assert failures[1].startswith("plot_b: the example recorded no figures")
    assert check.check_gallery(tmp_path / "none", {}) != []
    (figures / "plot_b.json").write_text('{"size": "full", "figures": {}}')
    (tmp_path / "plot_b.rst").write_text("    /x/y/base.py:1403: UserWarning: 1 of 353 records\n")
    assert any("shows a warning" in f for f in check.check_gallery(tmp_path, {}, full=True))
    # A full-size build must not show the pages of a reduced run (sphinx-gallery's cache).
    (tmp_path / "plot_b.rst").write_text("no warning\n")
    (figures / "plot_b.json").write_text('{"size": "reduced", "figures": {}}')
    assert check.check_gallery(tmp_path, {}, full=False) == []
    assert any("full-size build shows" in f for f in check.check_gallery(tmp_path, {}, full=True))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_records_its_size_and_what_its_claims_name_in_a_hidden_block(path):
    check = _docs_module("check_examples")
    source = path.read_text()
    hidden = re.search(r"# sphinx_gallery_start_ignore\n(.*?)# sphinx_gallery_end_ignore", source, flags=re.S)
    assert hidden, "an example records its figures in a block hidden from its page"
    block = hidden.group(1)
    assert f'record_figures(\n        "{path.stem}"' in block or f'record_figures("{path.stem}"' in block
    assert "size=" in block
    # Nothing printed for the checker: the page shows what a user sees.
    assert "key figures" not in source and not re.search(r'print\(f?"size: ', source)
    for claim in check.CLAIMS.get(path.stem, []):
        claim = claim.removeprefix("full:").strip()
        for side in re.match(check._CLAIM.pattern, claim).group(1, 3):
            if not re.fullmatch(r"-?[\d.]+", side):
                # Recorded by name, or as "prefix_{...}" in a loop over classes.
                pattern = rf"\b{side}=|\"{side}\"|\b{side.rsplit('_', 1)[0]}_\{{"
                assert re.search(pattern, block), f"{path.name} records no figure {side!r}"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SKLEARN_ECG_RUN_EXAMPLES") != "1",
                    reason="set SKLEARN_ECG_RUN_EXAMPLES=1 to run the gallery examples (minutes)")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_as_a_script(path, tmp_path):
    pytest.importorskip("matplotlib", reason="the examples plot")
    if "METSPretrainer" in path.read_text():
        pytest.importorskip("sentence_transformers", reason="METS needs the text extra")
    env = dict(os.environ, SKLEARN_ECG_DOCS_FAST="1", MPLBACKEND="Agg",
               SKLEARN_ECG_DOCS_FIGURES=str(tmp_path / "figures"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "docs"), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, check=True, timeout=1800)
    size, _ = _docs_module("check_examples").read_figures(tmp_path / "figures" / f"{path.stem}.json")
    assert size == "reduced"


@pytest.mark.parametrize("fast", ["1", "0"])
def test_every_page_of_a_reduced_build_says_so(fast, monkeypatch):
    pytest.importorskip("sphinx_gallery", reason="needs the docs extra")
    monkeypatch.setenv("SKLEARN_ECG_DOCS_FAST", fast)
    # What conf.py sets in the environment is undone after the test.
    for name in ("SKLEARN_ECG_DOCS_FIGURES", "MPLBACKEND", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    conf = _docs_module("conf")
    banner = conf.html_theme_options.get("announcement", "")
    assert ("Reduced build" in banner) == (fast == "1")
    assert conf.os.environ["SKLEARN_ECG_DOCS_FIGURES"].endswith("_figures")
