"""Check that the built gallery's pages say what their own output shows.

Each gallery example prints a ``size: ...`` line (full or reduced size) and,
where its text draws a conclusion from its figures, a ``key figures:`` line
of ``name=value`` pairs. After the build, this script reads the output that
sphinx-gallery wrote into ``docs/auto_examples/<example>.rst`` and checks
the conclusions below against it. A page whose conclusion does not hold in
its own output fails the build, at any size, and so does a page whose
output shows a Python warning.

Run from anywhere, after the build::

    python docs/check_examples.py
"""

import operator
import os
import re
import sys
from pathlib import Path

GALLERY = Path(__file__).resolve().parent / "auto_examples"

#: What each example's text concludes from its output, as comparisons of the
#: names of its ``key figures:`` line (or numbers). A claim that starts with
#: ``full:`` is made (and checked) only for a page built at full size.
CLAIMS = {
    "plot_few_shot": [
        "few_shot_k1 > zero_shot_macro",
        "full: few_shot_k1 > probe_k1",
    ],
    "plot_lcd_pretraining": [
        "shipped_macro > untrained_macro",
    ],
    "plot_embedding_space": [
        "lcd_silhouette > untrained_silhouette",
        "mets_silhouette > untrained_silhouette",
    ],
    "plot_zero_shot": [
        *(f"zero_shot_{c} > 0.5" for c in ("NORM", "MI", "STTC", "CD", "HYP")),
        "zero_shot_macro > class_codes_macro",
    ],
    "plot_metadata_routing": [
        "plain_auc == routed_auc",
    ],
    "plot_own_records": [
        "embedding_difference < 0.02",
        "probe_auc > 0.5",
        "zero_shot_NORM > 0.5",
        "zero_shot_MI > 0.5",
    ],
    "plot_pretrained_and_finetune": [
        "probe_macro > untrained_probe_macro",
        "full: finetuned_macro >= probe_macro",
        "zero_shot_macro > 0.5",
        "curve_probe_smallest > curve_untrained_smallest",
    ],
}

_OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
              "==": operator.eq}
# A Python warning as printed: "path/to/file.py:123: UserWarning: ...".
_WARNING = re.compile(r"^\s*\S+\.py:\d+: \w*Warning: .*$", flags=re.M)
_CLAIM = re.compile(r"^\s*(\S+)\s*(>=|<=|==|>|<)\s*(\S+)\s*$")


def parse_output(text):
    """The ``size`` and the ``key figures`` of an example's printed output.

    Parameters
    ----------
    text : str
        The example's output (or the generated page that contains it).

    Returns
    -------
    size : str or None
        What follows ``size:`` on the first such line, None without one.
    figures : dict of str to float
        Every ``name=value`` pair of the ``key figures:`` lines.
    """
    size = re.search(r"^\s*size: (.+)$", text, flags=re.M)
    figures = {}
    for line in re.findall(r"^\s*key figures: (.+)$", text, flags=re.M):
        for name, value in re.findall(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)", line):
            figures[name] = float(value)
    return (size.group(1).strip() if size else None), figures


def check_claims(claims, figures, size="full"):
    """The claims that do not hold (or name a figure the output lacks), as messages."""
    failures = []
    for claim in claims:
        if claim.startswith("full:"):
            if not size.startswith("full"):
                continue
            claim = claim.removeprefix("full:").strip()
        match = _CLAIM.match(claim)
        if match is None:
            raise ValueError(f"Cannot read the claim {claim!r}; write it as 'name >= name_or_number'.")
        sides = []
        for side in (match.group(1), match.group(3)):
            try:
                sides.append(float(side))
            except ValueError:
                if side not in figures:
                    failures.append(f"{claim}: the output has no key figure {side!r}")
                    break
                sides.append(figures[side])
        else:
            if not _OPERATORS[match.group(2)](*sides):
                values = ", ".join(f"{s}={figures[s]}" for s in (match.group(1), match.group(3)) if s in figures)
                failures.append(f"{claim} does not hold ({values})")
    return failures


def check_gallery(gallery=GALLERY, claims=CLAIMS, full=None):
    """Every failure of the built gallery: a page without its size, or a conclusion that does not hold.

    ``full`` (default: ``SKLEARN_ECG_DOCS_FAST=0`` in the environment) also
    fails a page whose output is not full-size.
    """
    if full is None:
        full = os.environ.get("SKLEARN_ECG_DOCS_FAST", "1") == "0"
    pages = sorted(p for p in Path(gallery).glob("plot_*.rst"))
    if not pages:
        return [f"no built example page in {gallery}: build the documentation first"]
    failures = []
    for page in pages:
        size, figures = parse_output(page.read_text(encoding="utf-8"))
        if size is None:
            failures.append(f"{page.stem}: the output does not say at which size it ran (a 'size: ' line)")
        elif full and not size.startswith("full"):
            failures.append(f"{page.stem}: a full-size build shows the output of a {size} run")
        warning = _WARNING.search(page.read_text(encoding="utf-8"))
        if warning:
            failures.append(f"{page.stem}: the output shows a warning: {warning.group(0).strip()}")
        failures += [f"{page.stem}: {f}" for f in check_claims(claims.get(page.stem, []), figures, size or "")]
    return failures


if __name__ == "__main__":
    problems = check_gallery()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problem(s) in the example pages; see above.")
    print("every example page states its size, and its conclusions hold in its output")
