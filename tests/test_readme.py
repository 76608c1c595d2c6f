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
