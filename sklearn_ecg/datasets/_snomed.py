"""SNOMED-CT diagnosis codes of WFDB headers (``# Dx:``) and their names.

The names come from the table ``data/snomed_ct_codes.tsv`` shipped with the
package: the 133 diagnoses of the PhysioNet/CinC Challenge 2021 (see
``data/README.md`` for its source and licence).
"""

import warnings

from .._tables import read_table
from ._common import _list_str

_TABLE = "snomed_ct_codes.tsv"


def _codes():
    return {row["code"]: row for row in read_table(_TABLE, "datasets/data")}


def comment_value(comments, key):
    """The value of a ``key: value`` comment line of a header, or ``""``."""
    for line in comments:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == key:
            return value.strip()
    return ""


def header_dx(header):
    """The SNOMED-CT codes of a header's ``# Dx:`` line, in order (empty without one)."""
    return [c.strip() for c in comment_value(header.comments, "dx").split(",") if c.strip()]


def has_dx(header):
    """Whether a header has a ``# Dx:`` line at all (even an empty one)."""
    return any(line.partition(":")[0].strip().lower() == "dx" and ":" in line
               for line in header.comments)


def snomed_names(codes, *, field="name", warn=True, stacklevel=2):
    """Name (or ``field="abbreviation"``) of each SNOMED-CT code, in order.

    A code missing from the shipped table keeps the code itself as its name,
    with one ``UserWarning`` listing such codes (unless ``warn`` is false).
    """
    table = _codes()
    codes = [str(c) for c in codes]
    unknown = list(dict.fromkeys(c for c in codes if c not in table))
    if unknown and warn:
        warnings.warn(
            f"SNOMED-CT code(s) {_list_str(unknown, limit=10)} are not in the table of the "
            f"PhysioNet/CinC Challenge 2021 diagnoses shipped with sklearn_ecg; their class "
            f"names are the codes themselves.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return [table[c][field] if c in table else c for c in codes]
