"""Every figure on the benchmarks page, the README and the model cards comes from a recorded output.

A figure is a number written with three decimals (a ROC-AUC, a silhouette:
``0.861``). The section of the page that gives it names the outputs it
comes from, committed under ``benchmarks/results/`` (printed text in
``outputs/*.txt``, each starting with the command that printed it; the JSON
lines a benchmark script wrote; the tables made from them), and the figure
must appear in one of them. A figure that no output named beside it
contains was typed in by hand, or comes from a run that was not kept:
rerun its command, commit the output and name it, or take the figure off
the page.
"""

import json
import re

import pytest

from _code_blocks import ROOT

RESULTS = ROOT / "benchmarks" / "results"
PAGES = [
    ROOT / "README.md",
    ROOT / "docs" / "benchmarks.rst",
    *sorted((ROOT / "sklearn_ecg" / "pretrained").glob("*/README.md")),
    ROOT / "sklearn_ecg" / "data" / "lead_subset_costs.tsv",
]
# Three decimals, not part of a longer number, a version or a path.
FIGURE = re.compile(r"(?<![\w.])\d+\.\d{3}(?![\w.]*\d)")
# An output named on a page: a file or a folder under benchmarks/results/.
CITED = re.compile(r"benchmarks/results/[\w./-]*[\w/]")
# A section starts at a Markdown heading or at an reST title (a line underlined).
HEADING = re.compile(r"^(?:#+ .*|.+\n[=\-~^]{3,})$", flags=re.M)


def figures_in_text(text):
    """The three-decimal figures of a text, as written."""
    return set(FIGURE.findall(text))


def _json_numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_numbers(item)


def sections(text):
    """The sections of a page: the text from one heading to the next."""
    starts = [0, *(m.start() for m in HEADING.finditer(text)), len(text)]
    return [text[a:b] for a, b in zip(starts, starts[1:]) if text[a:b].strip()]


def recorded_figures(*paths):
    """Every three-decimal figure of the outputs at ``paths`` (files or folders; JSON numbers rounded)."""
    found = set()
    files = []
    for path in paths:
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        found |= figures_in_text(text)
        if path.suffix in (".json", ".jsonl"):
            lines = text.splitlines() if path.suffix == ".jsonl" else [text]
            for line in filter(str.strip, lines):
                # As in text, a figure is read without its sign (a difference of -0.070: "0.070").
                found |= {f"{abs(x):.3f}" for x in _json_numbers(json.loads(line))}
    return found


def test_figures_are_read_as_written():
    text = "macro 0.861, seconds 4,095 s, v1.0.3, 0.5, 12.345 and 1e-3; (0.802) 0.662/0.722"
    assert figures_in_text(text) == {"0.861", "12.345", "0.802", "0.662", "0.722"}


def test_recorded_figures_read_text_and_json(tmp_path):
    (tmp_path / "a.txt").write_text("$ python x.py\nmacro 0.905\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"macro": 0.90715, "n": 3, "x": [0.1234, -0.0704]}) + "\n")
    assert recorded_figures(tmp_path) == {"0.905", "0.907", "3.000", "0.123", "0.070"}
    assert recorded_figures(tmp_path / "a.txt") == {"0.905"}


def test_a_page_is_read_section_by_section():
    rst = "Title\n=====\nintro 0.1\n\nPart\n----\ntext\n"
    assert [s.split("\n")[0] for s in sections(rst)] == ["Title", "Part"]
    md = "# A\nx\n## B\ny\n"
    assert sections(md) == ["# A\nx\n", "## B\ny\n"]


def untraced(page):
    """The figures of each section of ``page`` that no output named in that section contains."""
    problems = []
    for section in sections(page.read_text(encoding="utf-8")):
        figures = figures_in_text(section)
        if not figures:
            continue
        cited = [ROOT / c for c in CITED.findall(section)]
        absent = [str(c.relative_to(ROOT)) for c in cited if not c.exists()]
        assert not absent, f"{page.name} names outputs that do not exist: {absent}"
        missing = sorted(figures - recorded_figures(*cited))
        if missing:
            title = section.strip().splitlines()[0]
            problems.append(f"{title!r}: {', '.join(missing)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_on_the_page_is_in_an_output_named_beside_it(page):
    problems = untraced(page)
    assert not problems, (
        f"{page.relative_to(ROOT)} gives figures that no output named in their section "
        f"(benchmarks/results/...) contains; by section: {'; '.join(problems)}. Commit the "
        "output of the command that printed them and name it there, or take them off the page."
    )


def test_a_figure_without_its_output_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A\nmacro 0.905 (benchmarks/results/outputs/lcd-ptbxl-probe.txt)\n"
                    "# B\nmacro 0.905 and 0.123\n")
    problems = untraced(page)
    assert len(problems) == 1 and problems[0] == "'# B': 0.123, 0.905"


def test_every_recorded_output_says_which_command_printed_it():
    for path in sorted((RESULTS / "outputs").glob("*.txt")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("$ "), f"{path.name} starts with the command that printed it"
        assert "/work/" not in first and "../shared" not in first
