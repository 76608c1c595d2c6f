"""The README's Python examples run (with one epoch, and the shared PTB-XL copy as the local copy)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PTBXL = ROOT.parent / "shared" / "data" / "ptbxl500"
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def _quick(code):
    # One epoch everywhere: the point is that the code runs, not how well.
    code = re.sub(r"max_epochs=\d+", "max_epochs=1", code)
    return re.sub(r"(LCDPretrainer|METSPretrainer)\((?!max_epochs)", r"\1(max_epochs=1, ", code)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    code = BLOCKS[index]
    if "path/to/ptb-xl" in code:
        if not PTBXL.is_dir():
            pytest.skip("needs a local copy of PTB-XL in its official layout")
        code = code.replace("path/to/ptb-xl", str(PTBXL))
    if "METSPretrainer" in code:
        pytest.importorskip("sentence_transformers", reason="the default text model needs the text extra")
    namespace = {}
    exec(compile(_quick(code), f"README.md block {index}", "exec"), namespace)
    for name in ("scores", "similarities"):
        if name in namespace:
            assert namespace[name].shape[0] > 0
