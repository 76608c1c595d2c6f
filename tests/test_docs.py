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


def _code_lines(text):
    """The lines of a page's code blocks (``.. code-block::`` and ``::`` literal blocks)."""
    lines, out, indent = text.split("\n"), [], None
    for number, line in enumerate(lines, start=1):
        if indent is not None:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                indent = None
            elif line.strip():
                out.append((number, line[indent + 4:]))
                continue
            else:
                continue
        directive = re.match(r"(\s*)(\.\. (code-block|code)::.*|.*::)\s*$", line)
        if directive and not re.match(r"\s*\.\. (?!code)", line):
            indent = len(directive.group(1))
    return out


#: Characters of code that fit the theme's text column at 1280 px without
#: scrolling (the column holds about 105 at that width; the pages with a
#: navigation sidebar, fewer).
CODE_WIDTH = 88


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.rst")), ids=lambda p: p.name)
def test_code_blocks_fit_the_page(page):
    long = [f"line {n} ({len(code)} characters)" for n, code in _code_lines(page.read_text())
            if len(code) > CODE_WIDTH]
    assert not long, f"{page.name}: wrap these code lines to {CODE_WIDTH} characters: {long}"


def test_code_lines_are_found():
    text = "Text::\n\n    a = 1\n    b = 2\n\nAfter.\n\n.. code-block:: bash\n\n    run x\n"
    assert [c for _, c in _code_lines(text)] == ["a = 1", "b = 2", "run x"]
    assert _code_lines(".. list-table::\n\n   * - x\n") == []


def test_gallery_code_fits_the_page():
    # The examples' pages have no sidebar: their code column holds about 105 characters.
    for path in sorted((ROOT / "examples").glob("plot_*.py")):
        long = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if len(line) > 100]
        assert not long, f"{path.name}: wrap lines {long} to 100 characters"
