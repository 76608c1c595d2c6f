"""Check that the built gallery's pages say what their own output shows.

Each gallery example ends with a block hidden from its page (between
``# sphinx_gallery_start_ignore`` and ``# sphinx_gallery_end_ignore``) that,
in the documentation build only, calls :func:`record_figures`: it writes the
size the example ran at (full or reduced) and the figures its text draws
conclusions from to ``<SKLEARN_ECG_DOCS_FIGURES>/<example>.json``
(``docs/conf.py`` points it to ``docs/auto_examples/_figures``). After the
build, this script checks the conclusions below against those figures. A
page whose conclusion does not hold in its own run fails the build, at any
size; so does a page whose output shows a Python warning, and, in a
full-size build (``SKLEARN_ECG_DOCS_FAST=0``), a page that ran at reduced
size.

Run from anywhere, after the build::

    python docs/check_examples.py
"""

import json
import operator
import os
import re
import sys
from pathlib import Path

GALLERY = Path(__file__).resolve().parent / "auto_examples"
#: Where the examples record their figures during the build (``record_figures``).
FIGURES = GALLERY / "_figures"

#: What each example's text concludes from its output, as comparisons of the
#: names of the figures it records (or numbers). A claim that starts with
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
        "class_codes_NORM < 0.5",
        "one_description_NORM < 0.5",
        "one_description_CD < 0.5",
        "zero_shot_NORM == best_NORM",
        "no_template_gap < 0.03",
    ],
    "plot_explain": [
        "full: mi_auc > 0.5",
        "full: af_auc > 0.5",
        "full: mi_record_ecg_id == 483",
        "full: mi_share_V1_V3 > 0.5",
        "full: mi_share_II_III < 0.2",
        "full: af_record_ecg_id == 17",
        "first_af_ecg_id == 17",
        "completeness_gap < 0.05",
        "full: randomised_rho < 0.8",
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


def record_figures(example, size, **figures):
    """Write an example's size and figures for this check (the documentation build only).

    Does nothing unless ``SKLEARN_ECG_DOCS_FIGURES`` names a folder, so that an
    example run as a script or a notebook writes nothing.

    Parameters
    ----------
    example : str
        The example's file name without ``.py``, e.g. ``"plot_zero_shot"``.
    size : {"full", "reduced"}
        The size it ran at.
    **figures : float
        The figures its text draws conclusions from, by name.
    """
    folder = os.environ.get("SKLEARN_ECG_DOCS_FIGURES")
    if not folder:
        return
    if size not in ("full", "reduced"):
        raise ValueError(f"size must be 'full' or 'reduced'; got {size!r}.")
    Path(folder).mkdir(parents=True, exist_ok=True)
    values = {name: float(value) for name, value in figures.items()}
    (Path(folder) / f"{example}.json").write_text(json.dumps({"size": size, "figures": values}, indent=1))


def read_figures(path):
    """The ``size`` and the figures an example recorded, or ``(None, {})`` without a record."""
    path = Path(path)
    if not path.is_file():
        return None, {}
    record = json.loads(path.read_text(encoding="utf-8"))
    return record.get("size"), dict(record.get("figures", {}))


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
                    failures.append(f"{claim}: the example recorded no figure {side!r}")
                    break
                sides.append(figures[side])
        else:
            if not _OPERATORS[match.group(2)](*sides):
                values = ", ".join(f"{s}={figures[s]}" for s in (match.group(1), match.group(3)) if s in figures)
                failures.append(f"{claim} does not hold ({values})")
    return failures


def check_gallery(gallery=GALLERY, claims=CLAIMS, full=None, figures_dir=None):
    """Every failure of the built gallery: a page without its size, or a conclusion that does not hold.

    ``full`` (default: ``SKLEARN_ECG_DOCS_FAST`` is ``0`` or unset, and the
    gallery's ``.docs_fast`` stamp, written by ``build_docs.sh``, does not say
    ``1``) also fails a page that ran at reduced size. ``figures_dir`` (default:
    ``gallery/_figures``) holds what the examples recorded.
    """
    if full is None:
        # The size of this build: the environment, else what build_docs.sh wrote.
        stamp = Path(gallery) / ".docs_fast"
        fast = os.environ.get("SKLEARN_ECG_DOCS_FAST")
        if fast is None:
            fast = stamp.read_text().strip() if stamp.is_file() else "0"
        full = fast == "0"
    figures_dir = Path(gallery) / "_figures" if figures_dir is None else Path(figures_dir)
    pages = sorted(p for p in Path(gallery).glob("plot_*.rst"))
    if not pages:
        return [f"no built example page in {gallery}: build the documentation first"]
    failures = []
    for page in pages:
        size, figures = read_figures(figures_dir / f"{page.stem}.json")
        if size is None:
            failures.append(f"{page.stem}: the example recorded no figures (record_figures) in "
                            f"{figures_dir}; build the documentation from scratch")
        elif full and size != "full":
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
    print("every example recorded its size, and its conclusions hold in its output")
