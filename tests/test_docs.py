"""The documentation's code blocks run, and the API page names every public name."""

import importlib
import re

import pytest

from _code_blocks import ROOT, runnable

DOCS = ROOT / "docs"


def _blocks():
    blocks = []
    for page in sorted(DOCS.glob("*.rst")):
        text = page.read_text()
        for match in re.finditer(r"\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", text):
            code = "\n".join(line[4:] for line in match.group(1).splitlines())
            line = text[: match.start()].count("\n") + 1
            blocks.append(pytest.param(code, id=f"{page.name}:{line}"))
    return blocks


BLOCKS = _blocks()


def test_api_reference_is_grouped():
    # A flat list of every name makes a sidebar nobody reads; each section is a page.
    index = (DOCS / "api.rst").read_text()
    assert "autosummary" not in index
    sections = re.findall(r"^   (api/\w+)$", index, flags=re.M)
    assert {"api/estimators", "api/datasets", "api/preprocessing", "api/plotting"} <= set(sections)
    for section in sections:
        assert (DOCS / f"{section}.rst").is_file(), section
        assert f":doc:`{section}`" in index, f"the index's table names {section}"


def test_docs_have_code_blocks():
    assert len(BLOCKS) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("code", BLOCKS)
def test_docs_code_block_runs(code, tmp_path, monkeypatch, capsys):
    if "matplotlib" in code:
        pytest.importorskip("matplotlib", reason="plots need the plot extra")
    compiled = runnable(code, "docs code block")
    monkeypatch.chdir(tmp_path)  # files a block writes land here
    exec(compiled, {"__name__": "__docs__"})
    # Every block shows its result.
    assert capsys.readouterr().out.strip()


def _public_names():
    names = {f"sklearn_ecg.{n}" for n in importlib.import_module("sklearn_ecg").__all__ if n != "__version__"}
    for module in ("datasets", "preprocessing", "reports", "text", "plotting", "prompts", "pretrained",
                   "foundation"):
        mod = importlib.import_module(f"sklearn_ecg.{module}")
        names |= {f"sklearn_ecg.{module}.{n}" for n in mod.__all__}
    names.add("sklearn_ecg.zero_shot.PTBXL_SUPERCLASS_DESCRIPTIONS")
    for module in ("vgg1d", "resnet1d", "heads", "losses", "clip", "views", "scaling", "ecgfounder", "merl"):
        mod = importlib.import_module(f"sklearn_ecg.nn.{module}")
        names |= {
            f"sklearn_ecg.nn.{module}.{n}"
            for n, obj in vars(mod).items()
            if not n.startswith("_") and getattr(obj, "__module__", None) == mod.__name__
        }
    return names


def _documented():
    """Fully qualified names the API pages document (autosummary entries and autodata)."""
    documented, current = set(), None
    pages = [DOCS / "api.rst", *sorted((DOCS / "api").glob("*.rst"))]
    for line in "\n".join(page.read_text() for page in pages).splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            current = m.group(1)
        elif m := re.match(r"\.\. autodata:: (\S+)", line):
            documented.add(m.group(1))
        elif m := re.match(r"   ([A-Za-z_][\w.]*)$", line):
            documented.add(f"{current}.{m.group(1)}")
    return documented


def test_api_page_documents_every_public_name():
    missing = sorted(_public_names() - _documented())
    assert not missing, f"Add these public names to a page of docs/api/: {missing}"


def test_api_page_names_exist():
    for name in sorted(_documented()):
        module, _, attr = name.rpartition(".")
        while module:
            try:
                obj = importlib.import_module(module)
                break
            except ModuleNotFoundError:
                module, _, head = module.rpartition(".")
                attr = f"{head}.{attr}"
        for part in attr.split("."):
            obj = getattr(obj, part)
        assert obj is not None, name
