"""The README's Python examples run (with one epoch, and the shared PTB-XL copy as the local copy)."""

import re

import pytest

from _code_blocks import ROOT, runnable

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)



@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    namespace = {}
    exec(runnable(BLOCKS[index], f"README.md block {index}"), namespace)
    for name in ("scores", "similarities"):
        if name in namespace:
            assert namespace[name].shape[0] > 0
