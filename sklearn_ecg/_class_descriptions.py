"""Class descriptions from a knowledge base of statements, and the PTB-XL default.

What :class:`~sklearn_ecg.ZeroShotECGClassifier` needs to describe a class
(its default descriptions), kept below it: the public names are those of
:mod:`sklearn_ecg.prompts`, which re-exports them.
"""

from importlib.resources import files

import numpy as np
import pandas as pd

__all__ = ["PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS", "class_descriptions_from_statements"]


def as_list(value):
    """A string as a list of one, any other sequence as a list."""
    return [value] if isinstance(value, str) else list(value)


def check_class_descriptions(table, owner="class_descriptions", *, allow_empty=False):
    """Refuse a ``class_descriptions`` mapping that cannot describe its classes; returns it.

    A dict whose keys are class labels (non-blank strings, or numbers) and
    whose values are a non-empty string, a non-empty list of them, or a
    non-empty list of such lists (groups). Empty only with ``allow_empty``
    (the API's ``{}``: every class described by its label; an empty file
    given to the command line is a mistake). Errors name the class and
    what to pass.
    """
    if not isinstance(table, dict):
        raise TypeError(
            f"{owner} must be a dict of class -> description(s); got {type(table).__name__}.")
    if not table and not allow_empty:
        raise ValueError(f"{owner} is empty; give at least one class and its description(s).")
    for label, value in table.items():
        if isinstance(label, bool) or not isinstance(label, (str, int, float, np.integer)) or (
                isinstance(label, str) and not label.strip()):
            raise ValueError(
                f"{owner} has the class {label!r}; classes are named by non-empty strings "
                "(or numbers).")

        def texts(v):
            return isinstance(v, (list, tuple)) and len(v) > 0 and all(
                isinstance(d, str) and d.strip() for d in v)

        ok = (isinstance(value, str) and value.strip()) or texts(value) or (
            isinstance(value, (list, tuple)) and len(value) > 0 and all(
                texts(g) or (isinstance(g, str) and g.strip()) for g in value))
        if not ok:
            raise ValueError(
                f"{owner}[{label!r}] is {value!r}; a class is described by non-empty strings: "
                "one, a non-empty list of them, or a list of such lists (groups).")
    return table


_PTBXL_SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
_WEIGHTINGS = ("statement", "subclass")


def _require_columns(statements, columns):
    missing = [c for c in columns if c not in statements.columns]
    if missing:
        raise ValueError(
            f"statements lacks the column(s) {missing}; it has {list(statements.columns)}. "
            "Name the columns with class_column=..., description_column=... (and "
            "subclass_column=... for weighting='subclass')."
        )


def _is_blank(value):
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def class_descriptions_from_statements(statements, class_column="diagnostic_class",
                                       description_column="description", *, classes=None,
                                       weighting="statement",
                                       subclass_column="diagnostic_subclass", translate=None):
    """Describe each class by the descriptions of the statements that belong to it.

    Builds the ``class_descriptions`` of
    :class:`~sklearn_ecg.ZeroShotECGClassifier` from a knowledge base: a table
    with one row per statement (e.g. an SCP-ECG code), its description, and the
    class it belongs to, such as PTB-XL's ``scp_statements.csv``. No label of
    any record is read, so a classifier built on these descriptions is still
    zero-shot.

    Parameters
    ----------
    statements : pandas.DataFrame
        One row per statement. Rows whose class is missing (NaN, None or blank;
        in PTB-XL the form and rhythm statements) are left out.
    class_column : str, default="diagnostic_class"
        Column holding each statement's class.
    description_column : str, default="description"
        Column holding each statement's description, in the language of the
        text the model was trained on (English for the default METS model on
        translated PTB-XL reports). Rows without a description are left out.
    classes : list or None, default=None
        The classes to describe, in this order (the order of the keys, which
        :class:`~sklearn_ecg.ZeroShotECGClassifier` takes as the columns of a
        multi-label ``y`` when no ``class_names`` is given). None takes every
        class of the table: the five PTB-XL superclasses in
        :func:`~sklearn_ecg.datasets.load_ptbxl`'s order (NORM, MI, STTC, CD,
        HYP) when the table has exactly these, otherwise sorted (as
        ``load_ptbxl`` sorts subclasses). Pass ``classes`` explicitly for any
        other column order.
    weighting : {"statement", "subclass"}, default="statement"
        ``"statement"``: a flat list of descriptions per class, so every
        statement weighs the same in the class's average. ``"subclass"``: one
        list per subclass (``subclass_column``), so the classifier averages
        within each subclass first and every subclass weighs the same. On
        the validation fold 8 of the shared PTB-XL records, the plain mean
        scored higher (macro ROC-AUC 0.755 vs 0.746 with METS pretrained on
        folds 1-7).
    subclass_column : str, default="diagnostic_subclass"
        Column of the subclass, used when ``weighting="subclass"``. A row
        with a missing subclass forms a group of its own.
    translate : callable or None, default=None
        Applied to every description, e.g. to translate them into the language
        of the training reports.

    Returns
    -------
    class_descriptions : dict
        ``{class: [description, ...]}`` (``"statement"``) or
        ``{class: [[description, ...], ...]}`` (``"subclass"``), descriptions
        in the table's row order without repeats.

    See Also
    --------
    PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS : The result for the shipped PTB-XL table.
    FewLabelPromptSelector : Select descriptions on labelled records (not zero-shot).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ecg.prompts import class_descriptions_from_statements
    >>> table = pd.DataFrame({
    ...     "description": ["inferior myocardial infarction", "anterior myocardial infarction",
    ...                     "left bundle branch block", "sinus rhythm"],
    ...     "diagnostic_class": ["MI", "MI", "CD", None],
    ...     "diagnostic_subclass": ["IMI", "AMI", "CLBBB", None]})
    >>> class_descriptions_from_statements(table)
    {'CD': ['left bundle branch block'], 'MI': ['inferior myocardial infarction', \
'anterior myocardial infarction']}
    >>> class_descriptions_from_statements(table, weighting="subclass")["MI"]
    [['inferior myocardial infarction'], ['anterior myocardial infarction']]

    With PTB-XL's own table (shipped with the package):

    >>> from importlib.resources import files
    >>> path = files("sklearn_ecg.datasets") / "data" / "scp_statements.csv"
    >>> statements = pd.read_csv(path, index_col=0)
    >>> descriptions = class_descriptions_from_statements(statements)
    >>> list(descriptions)
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> descriptions["HYP"][:2]
    ['left ventricular hypertrophy', 'left atrial overload/enlargement']
    """
    if not (hasattr(statements, "columns") and hasattr(statements, "iterrows")):
        raise TypeError(
            "statements must be a pandas DataFrame with one row per statement (e.g. "
            f"pd.read_csv('scp_statements.csv', index_col=0)); got {type(statements).__name__}."
        )
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}; got {weighting!r}.")
    if translate is not None and not callable(translate):
        raise TypeError(f"translate must be a callable mapping a str to a str, or None; got {translate!r}.")
    columns = [class_column, description_column]
    if weighting == "subclass":
        columns.append(subclass_column)
    _require_columns(statements, columns)

    groups = {}  # class -> {subclass key -> [descriptions]}
    for i, (cls, description) in enumerate(zip(statements[class_column], statements[description_column])):
        if _is_blank(cls) or _is_blank(description):
            continue
        if not isinstance(description, str):
            raise TypeError(
                f"statements[{description_column!r}] must hold strings; row {i} holds "
                f"{type(description).__name__} ({description!r})."
            )
        if translate is not None:
            description = translate(description)
            if not isinstance(description, str) or not description.strip():
                raise ValueError(
                    f"translate must return a non-empty string; it returned {description!r} for "
                    f"row {i}."
                )
        description = description.strip()
        if weighting == "subclass":
            sub = statements[subclass_column].iloc[i]
            key = ("row", i) if _is_blank(sub) else ("sub", sub)
        else:
            key = None
        bucket = groups.setdefault(cls, {}).setdefault(key, [])
        if description not in bucket:
            bucket.append(description)
    if not groups:
        raise ValueError(
            f"statements has no row with both a class ({class_column!r}) and a description "
            f"({description_column!r}); {len(statements)} row(s) were read."
        )
    if classes is None:
        found = list(groups)
        classes = (list(_PTBXL_SUPERCLASSES) if set(found) == set(_PTBXL_SUPERCLASSES)
                   else sorted(found, key=str))
    else:
        classes = as_list(classes)
        unknown = [c for c in classes if c not in groups]
        if unknown:
            raise ValueError(
                f"No statement of class(es) {unknown} in statements[{class_column!r}]; its "
                f"classes are {sorted(groups, key=str)}."
            )
    if weighting == "statement":
        return {c: groups[c][None] for c in classes}
    return {c: list(groups[c].values()) for c in classes}


def _shipped_statement_descriptions():
    # Derived from the shipped table rather than written out, so the two cannot drift.
    path = files("sklearn_ecg") / "datasets" / "data" / "scp_statements.csv"
    with path.open(encoding="utf-8") as f:
        statements = pd.read_csv(f, index_col=0)
    descriptions = class_descriptions_from_statements(statements)
    # PTB-XL's normal ECG is in sinus rhythm (its rhythm statement SR, "sinus
    # rhythm"), and the machine reports METS learns from write the two together;
    # "normal ECG" alone also matches the many abnormal reports that call some
    # finding normal. On validation folds 7-8 the pair ranks NORM at 0.849
    # ROC-AUC against 0.505 (docs/benchmarks.rst).
    descriptions["NORM"] = [f"{statements.loc['SR', 'description']}, {d}"
                            for d in descriptions["NORM"]]
    return descriptions


# The default descriptions of ZeroShotECGClassifier (documented in sklearn_ecg.prompts).
PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS = _shipped_statement_descriptions()
