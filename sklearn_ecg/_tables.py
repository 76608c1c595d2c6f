"""Reading the tables shipped as package data (``sklearn_ecg/data/*.tsv``).

Phrase tables and other hand-written lists live in tab-separated files, not in
code, so they can be read, diffed and edited as data. Each table is read once
per process and kept; callers get tuples of rows, which they cannot change by
accident. The reader uses the standard library's :mod:`csv` with every value a
string: a TSV reader that guesses types (pandas) would turn cells such as
``"na"`` or ``"null"`` into missing values.
"""

import csv
import functools
import io
from importlib import resources

__all__ = ["read_lists", "read_mapping", "read_table"]


@functools.cache
def read_table(name, folder="data"):
    """The rows of a shipped TSV table, each a dict of column → string.

    Parameters
    ----------
    name : str
        File name inside ``folder``, e.g. ``"report_phrases.tsv"``.
    folder : str, default="data"
        The folder inside the ``sklearn_ecg`` package that holds the table
        (``"datasets/data"`` for the loaders' tables).

    Returns
    -------
    rows : tuple of dict
        One dict per row, keyed by the header's column names, in file order.

    Raises
    ------
    ValueError
        If a row has more or fewer cells than the header, or a cell is empty:
        the message names the file and the line.

    Examples
    --------
    >>> from sklearn_ecg._tables import read_table
    >>> rows = read_table("report_adjective_stems.tsv")
    >>> rows[0]
    {'stem': 'hochlateral', 'english': 'high lateral'}
    """
    text = resources.files("sklearn_ecg").joinpath(folder, name).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    rows = []
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(header) or not all(cells):
            raise ValueError(
                f"sklearn_ecg/{folder}/{name}, line {line}: expected {len(header)} non-empty "
                f"tab-separated cells ({', '.join(header)}), got {cells!r}."
            )
        rows.append(dict(zip(header, cells)))
    return tuple(rows)


def read_mapping(name, key, value, folder="data"):
    """A two-column view of a shipped table as a new dict, refusing repeated keys.

    Examples
    --------
    >>> from sklearn_ecg._tables import read_mapping
    >>> read_mapping("report_adjective_stems.tsv", "stem", "english")["apikal"]
    'apical'
    """
    mapping = {}
    for row in read_table(name, folder):
        if row[key] in mapping:
            raise ValueError(f"sklearn_ecg/{folder}/{name}: {key} {row[key]!r} appears twice.")
        mapping[row[key]] = row[value]
    return mapping


def read_lists(name, key, value, folder="data"):
    """A two-column view of a shipped table as a new dict of lists, in file order.

    Examples
    --------
    >>> from sklearn_ecg._tables import read_lists
    >>> read_lists("ptbxl_superclass_descriptions.tsv", "class", "description")["NORM"]
    ['normal ECG', 'sinus rhythm, normal ECG', 'no abnormality']
    """
    lists = {}
    for row in read_table(name, folder):
        lists.setdefault(row[key], []).append(row[value])
    return lists
