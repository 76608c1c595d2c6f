"""Running the code blocks of the README and the documentation as a test."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PTBXL = ROOT.parent / "shared" / "data" / "ptbxl500"


def runnable(code, name):
    """``code`` compiled to run quickly here, or a skip when it needs what is missing."""
    if "path/to/ptb-xl" in code:
        if not PTBXL.is_dir():
            pytest.skip("needs a local copy of PTB-XL in its official layout")
        code = code.replace("path/to/ptb-xl", str(PTBXL))
    if "METSPretrainer" in code:
        pytest.importorskip("sentence_transformers", reason="the default text model needs the text extra")
    # One epoch everywhere: the point is that the code runs, not how well.
    code = re.sub(r"max_epochs=\d+", "max_epochs=1", code)
    code = re.sub(r"(LCDPretrainer|METSPretrainer)\((?!max_epochs)", r"\1(max_epochs=1, ", code)
    return compile(code, name, "exec")
