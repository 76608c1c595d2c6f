"""The README's Python examples run and give the figures it prints; its zero-shot table holds."""

import contextlib
import io
import json
import re

import numpy as np
import pytest

from _code_blocks import ROOT, runnable

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)

# How far a figure may move between platforms: the shipped models' embeddings
# differ in their last bits from one CPU and BLAS to another, which can swap a
# few pairs of close scores among 147 test records (1e-4 of ROC-AUC each),
# and the README rounds to three decimals.
FIGURE_TOLERANCE = 0.002

NUMBER = r"\d+\.\d+"


def _figures_in_comments(code):
    """The figures that the block's print lines state in a trailing comment, in order."""
    return [float(m.group(1)) for m in re.finditer(rf"print\(.*#\s*({NUMBER})\s*$", code, flags=re.M)]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    code = BLOCKS[index]
    namespace = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(runnable(code, f"README.md block {index}"), namespace)
    for name in ("scores", "similarities"):
        if name in namespace:
            assert namespace[name].shape[0] > 0
    stated = _figures_in_comments(code)
    if not stated:
        return
    # Blocks that train are run with one epoch here: their figures are not those of the README.
    assert not re.search(r"max_epochs=|(LCDPretrainer|METSPretrainer)\(", code), (
        "a README block that trains states a figure; pin it where it is measured")
    printed = [float(re.findall(NUMBER, line)[-1]) for line in out.getvalue().splitlines()
               if re.search(NUMBER, line)]
    assert len(printed) == len(stated), (printed, stated)
    np.testing.assert_allclose(printed, stated, rtol=0, atol=FIGURE_TOLERANCE,
                               err_msg=f"README.md block {index} prints other figures than it states")


def _table_row(start):
    """The cells after the first of the README table row starting with ``start``."""
    line = next(line for line in README.splitlines() if line.startswith(f"| {start}"))
    return [cell.strip() for cell in line.strip().strip("|").split("|")][1:]


@pytest.mark.slow
def test_readme_zero_shot_superclass_row_holds_on_the_embedded_sample():
    # "5 superclasses, test folds 9-10, scoring='relative'": 12 leads, lead I
    # alone, lead II alone, with the shipped METS model. The test folds of the
    # embedded sample are those of the PTB-XL records it was measured on.
    pytest.importorskip("sentence_transformers", reason="the default text model needs the text extra")
    from sklearn.metrics import roc_auc_score

    from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
    from sklearn_ecg.datasets import load_ptbxl_sample
    from sklearn_ecg.preprocessing import SelectLeads

    stated = [float(cell) for cell in _table_row("5 superclasses")]
    assert len(stated) == 3
    test = load_ptbxl_sample(folds=[9, 10])
    assert len(test.X) == 147
    mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
    measured = []
    for leads in (None, ["I"], ["II"]):
        X = test.X if leads is None else SelectLeads(leads).fit_transform(test.X)
        clf = ZeroShotECGClassifier(mets, lead_names=leads, scoring="relative").fit(X[:1], test.y[:1])
        measured.append(roc_auc_score(test.y, clf.decision_function(X)))
    np.testing.assert_allclose(measured, stated, rtol=0, atol=FIGURE_TOLERANCE)


def test_readme_statement_row_is_the_recorded_recipe_mean():
    # "12 single statements, folds 7-8, the recipe pretrained on folds 1-6
    # (mean of 5 seeds)": five 20-epoch pretrainings on the full PTB-XL, too
    # long for a test. The row must give the mean over seeds that
    # benchmarks/bench_mets_statements.py --seed-mean recorded for the recipe
    # of the shipped model (docs/benchmarks.rst).
    means = [json.loads(line) for line in
             (ROOT / "benchmarks/results/mets_recipes/seed_means.jsonl").read_text().splitlines()
             if line]
    mean = next(m for m in means if m["name"] == "align-leads-w0.25-mean-seeds0-4")
    assert mean["runs"] == [f"align-leads-w0.25-seed{s}.npz" for s in range(5)]
    recorded = [mean["intervals"][k] for k in ("12 leads", "I", "II")]
    cells = _table_row("12 single statements")
    assert len(cells) == 3
    for cell, figures in zip(cells, recorded):
        macro, afib = map(float, re.fullmatch(rf"({NUMBER}) \(AFIB ({NUMBER})\)", cell).groups())
        assert (macro, afib) == (round(figures["macro 12"][0], 3), round(figures["AFIB"][0], 3)), cell


def test_readme_gives_the_ci_test_command_and_links_to_existing_pages():
    text = (ROOT / "README.md").read_text()
    # .ci/run runs the command between these markers.
    command = re.search(r"<!-- test-command -->\n```bash\n(.+)\n```\n<!-- /test-command -->", text)
    assert command and "pytest" in command.group(1)
    for target in re.findall(r"\]\(((?:docs|examples|sklearn_ecg)/[^)#]*)", text):
        assert (ROOT / target).exists(), f"the README links to {target}, which does not exist"


def test_build_command_is_the_same_in_readme_install_page_and_ci():
    command = "bash docs/build_docs.sh"
    for path in ("README.md", "docs/install.rst", ".ci/run"):
        assert command in (ROOT / path).read_text(), path
