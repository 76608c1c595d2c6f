"""Run the Python examples of README.md as written, one after the other, and print their output.

The README quotes the figures these examples print; their output is kept in
``benchmarks/results/outputs/readme-examples.txt``, where
``tests/test_doc_figures.py`` finds them. Run from the repository's root::

    python tools/run_readme_examples.py > benchmarks/results/outputs/readme-examples.txt
"""

import contextlib
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def main():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    print("$ python tools/run_readme_examples.py")
    for index, code in enumerate(blocks):
        print(f"--- README.md, Python example {index + 1}")
        sys.stdout.flush()
        with contextlib.redirect_stderr(sys.stdout):
            exec(compile(code, f"README.md example {index + 1}", "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    main()
