"""PTB-XL loader (official PhysioNet layout)."""

import ast
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
# A private scikit-learn module (its parameter validation), tested with the
# scikit-learn range pinned in pyproject.toml.
from sklearn.utils._param_validation import Options, StrOptions, validate_params

from .._param_validation import StrictInterval
from ._common import constraints, load_signals
from ._io import check_signal_size, read_header

SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]
LABEL_SETS = ("superclass", "subclass", "form", "rhythm", "scp")
_DATABASE = "ptbxl_database.csv"
_STATEMENTS = "scp_statements.csv"
_PHYSIONET_URL = "https://physionet.org/content/ptb-xl/"

DESCR_PTBXL = """\
PTB-XL, a large publicly available electrocardiography dataset (v1.0.3).

21,799 clinical 12-lead ECGs of 10 s from 18,869 patients, at 100 Hz and
500 Hz, annotated with SCP-ECG statements (diagnostic, form, rhythm) with
likelihoods, aggregated into 5 diagnostic superclasses and 23 subclasses.
Use ``strat_fold`` (1-10, patient-safe; 9 and 10 are the recommended
validation and test folds) or ``patient_id`` to split.

Licence: CC BY 4.0. Cite: Wagner, P., Strodthoff, N., Bousseljot, R.-D.,
Kreiseler, D., Lunze, F.I., Samek, W., Schaeffter, T. (2020). PTB-XL, a large
publicly available electrocardiography dataset. Scientific Data 7, 154; and
Goldberger et al. (2000), PhysioBank, PhysioToolkit, and PhysioNet,
Circulation 101(23).
"""


# Constraints of the selection and label options, shared with load_ptbxl_sample.
SELECTION_CONSTRAINTS = {
    "label_set": [StrOptions(set(LABEL_SETS))],
    "min_likelihood": [StrictInterval(Real, 0, 100, closed="both")],
    "folds": [StrictInterval(Integral, 1, 10, closed="both"), "array-like", None],
    "ecg_ids": [StrictInterval(Integral, 1, None, closed="left"), "array-like", None],
}


def _read_tables(folder):
    """Read and parse one folder's ``ptbxl_database.csv`` and ``scp_statements.csv``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"PTB-XL folder {folder} does not exist; pass the folder that holds "
            f"{_DATABASE}, or download=True to fetch PTB-XL from PhysioNet"
        )
    for name in (_DATABASE, _STATEMENTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: {folder} is not a PTB-XL folder (it must hold "
                f"{_DATABASE}, {_STATEMENTS} and records100/ or records500/)"
            )
    try:
        db = pd.read_csv(folder / _DATABASE)
    except Exception as exc:
        raise ValueError(f"cannot read {folder / _DATABASE}: {exc}") from exc
    try:
        statements = pd.read_csv(folder / _STATEMENTS, index_col=0)
    except Exception as exc:
        raise ValueError(f"cannot read {folder / _STATEMENTS}: {exc}") from exc
    statements.attrs["source"] = str(folder / _STATEMENTS)
    return _parse_database(db, folder / _DATABASE), statements


def _integer_column(db, column, source):
    """``db[column]`` as int, or an error naming the file, line and value."""
    values = pd.to_numeric(db[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if not bad.any():
        return values.astype(np.int64)
    i = int(np.flatnonzero(bad.to_numpy())[0])
    # Line 1 of the file is the header.
    where = f"{source}, line {i + 2}"
    if column != "ecg_id":
        ecg_id = pd.to_numeric(db["ecg_id"].iloc[i:i + 1], errors="coerce").iloc[0]
        if not pd.isna(ecg_id):
            where += f" (ecg_id {int(ecg_id)})"
    value = db[column].iloc[i]
    what = "is empty" if pd.isna(value) else f"holds {value!r}, not an integer"
    raise ValueError(
        f"{where}: column {column!r} {what} ({int(bad.sum())} such row(s)). Every record "
        f"needs an integer {column}; restore the table from the official PTB-XL release or "
        f"remove the row(s)."
    )


def _parse_database(db, source):
    required = ["ecg_id", "patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr"]
    missing = [c for c in required if c not in db.columns]
    if missing:
        raise ValueError(f"{source} lacks the column(s) {missing}")
    db = db.copy()
    codes = []
    for ecg_id, text in zip(db["ecg_id"], db["scp_codes"]):
        try:
            value = ast.literal_eval(text) if isinstance(text, str) else {}
            if not isinstance(value, dict):
                raise ValueError("not a dict")
        except (ValueError, SyntaxError) as exc:
            raise ValueError(
                f"{source}: ecg_id {ecg_id} has an unreadable scp_codes entry {text!r} ({exc})"
            ) from exc
        codes.append({str(k): float(v) for k, v in value.items()})
    db["scp_codes"] = codes
    for column in ("ecg_id", "patient_id", "strat_fold"):
        db[column] = _integer_column(db, column, source)
    return db


# The columns of scp_statements.csv each label set reads.
_STATEMENT_COLUMNS = {
    "superclass": ["diagnostic", "diagnostic_class"],
    "subclass": ["diagnostic", "diagnostic_subclass"],
    "form": ["form"],
    "rhythm": ["rhythm"],
    "scp": [],
}


def _label_map(statements, label_set):
    """Map each SCP code to its label(s) in ``label_set``; return the map and the classes."""
    if label_set not in LABEL_SETS:
        raise ValueError(f"label_set must be one of {LABEL_SETS}, got {label_set!r}")
    needed = _STATEMENT_COLUMNS[label_set]
    missing = [c for c in needed if c not in statements.columns]
    if missing:
        source = statements.attrs.get("source", _STATEMENTS)
        raise ValueError(
            f"{source} lacks the column(s) {missing} that label_set={label_set!r} needs; it "
            f"has {list(statements.columns)}. Use the scp_statements.csv of the PTB-XL "
            f"release, or a label_set that needs only the columns present."
        )
    flags = statements.fillna({"diagnostic": 0, "form": 0, "rhythm": 0})
    if label_set == "superclass":
        rows = flags[flags["diagnostic"] == 1]
        return dict(zip(rows.index, rows["diagnostic_class"])), list(SUPERCLASSES)
    if label_set == "subclass":
        rows = flags[flags["diagnostic"] == 1]
        mapping = dict(zip(rows.index, rows["diagnostic_subclass"]))
        return mapping, sorted(set(mapping.values()))
    if label_set == "scp":
        rows = flags
    else:
        rows = flags[flags[label_set] == 1]
    return {code: code for code in rows.index}, sorted(rows.index)


def _labels(scp_codes, statements, label_set, min_likelihood):
    """Multi-label indicator ``(n, n_classes)`` and the class names."""
    if not isinstance(min_likelihood, (int, float, np.number)) or not 0 <= min_likelihood <= 100:
        raise ValueError(
            f"min_likelihood must be a number between 0 and 100 (PTB-XL's likelihoods "
            f"are percentages), got {min_likelihood!r}"
        )
    mapping, classes = _label_map(statements, label_set)
    column = {c: j for j, c in enumerate(classes)}
    y = np.zeros((len(scp_codes), len(classes)), dtype=np.int64)
    for i, codes in enumerate(scp_codes):
        for code, likelihood in codes.items():
            if likelihood >= min_likelihood and code in mapping:
                y[i, column[mapping[code]]] = 1
    return y, classes


def _select(db, folds, ecg_ids):
    if folds is not None:
        folds = [folds] if np.isscalar(folds) else list(folds)
        bad = [f for f in folds if f not in range(1, 11)]
        if bad:
            raise ValueError(f"folds must be strat_fold numbers between 1 and 10, got {bad}")
        db = db[db["strat_fold"].isin(folds)]
    if ecg_ids is not None:
        ecg_ids = [ecg_ids] if np.isscalar(ecg_ids) else [int(i) for i in ecg_ids]
        missing = sorted(set(ecg_ids) - set(db["ecg_id"]))
        if missing:
            where = " in the selected folds" if folds is not None else ""
            raise ValueError(f"ecg_id(s) {missing[:10]} not found{where}")
        db = db[db["ecg_id"].isin(ecg_ids)]
    if len(db) == 0:
        raise ValueError(f"no record matches folds={folds} and ecg_ids={ecg_ids}")
    return db.reset_index(drop=True)


def _make_bunch(X, db, statements, *, label_set, min_likelihood, lead_names, fs, descr):
    """The Bunch shared by :func:`load_ptbxl` and :func:`load_ptbxl_sample`."""
    y, classes = _labels(db["scp_codes"], statements, label_set, min_likelihood)
    metadata = db.drop(columns=[c for c in db.columns if c.startswith("_")])
    return Bunch(
        X=X, y=y, target_names=classes, metadata=metadata, lead_names=list(lead_names),
        fs=float(fs), DESCR=descr, ecg_id=metadata["ecg_id"].to_numpy(),
        scp_codes=list(metadata["scp_codes"]), report=metadata["report"].to_numpy(),
        strat_fold=metadata["strat_fold"].to_numpy(),
        patient_id=metadata["patient_id"].to_numpy(), age=metadata["age"].to_numpy(),
        sex=metadata["sex"].to_numpy(),
    )


def _download(folder, sampling_rate, folds, ecg_ids):
    import wfdb

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not all((folder / n).is_file() for n in (_DATABASE, _STATEMENTS)):
            wfdb.dl_files("ptb-xl", str(folder), [_DATABASE, _STATEMENTS])
        db, _ = _read_tables(folder)
        db = _select(db, folds, ecg_ids)
        column = "filename_lr" if sampling_rate == 100 else "filename_hr"
        todo = [f for f in db[column] if not (folder / (f + ".hea")).is_file()]
        if todo:
            wfdb.dl_database("ptb-xl", str(folder), records=todo)
    except Exception as exc:
        raise OSError(
            f"could not download PTB-XL from PhysioNet into {folder} ({exc}). Check the "
            f"internet connection, or download it by hand from {_PHYSIONET_URL} and "
            f"pass its folder as path with download=False"
        ) from exc


def _headers(db, sampling_rate):
    column = "filename_lr" if sampling_rate == 100 else "filename_hr"
    headers, missing = [], []
    for ecg_id, root, fname in zip(db["ecg_id"], db["_root"], db[column]):
        record = Path(root) / fname
        if not record.with_name(record.name + ".hea").is_file():
            missing.append((ecg_id, record))
            continue
        headers.append(read_header(record))
        check_signal_size(headers[-1])
    if missing:
        ecg_id, record = missing[0]
        hint = ""
        if sampling_rate == 500 and not (Path(record).parents[1]).is_dir():
            hint = (f"; {Path(record).parents[2]} has no records500/ folder: this copy has "
                    f"only 100 Hz records, use sampling_rate=100")
        raise FileNotFoundError(
            f"{len(missing)} PTB-XL record(s) not found, e.g. ecg_id {ecg_id}: "
            f"{record}.hea is missing{hint}"
        )
    for ecg_id, h in zip(db["ecg_id"], headers):
        if h.fs != sampling_rate:
            raise ValueError(
                f"ecg_id {ecg_id}: {h.hea} is at {h.fs:g} Hz, expected {sampling_rate} Hz"
            )
    return headers


@validate_params(
    constraints("leads", "verbose", "memmap_path", "overwrite_memmap", "nan_policy",
                path=[str, os.PathLike, "array-like"],
                sampling_rate=[Options(Integral, {100, 500})],
                download=["boolean"], **SELECTION_CONSTRAINTS),
    prefer_skip_nested_validation=True,
)
def load_ptbxl(path, sampling_rate=100, *, label_set="superclass", min_likelihood=0.0,
               folds=None, ecg_ids=None, leads=None, verbose=1, memmap_path=None,
               overwrite_memmap=False, nan_policy="interpolate", download=False):
    """Load PTB-XL from a folder in the official PhysioNet layout.

    Parameters
    ----------
    path : str, path-like or list of them
        Folder holding ``ptbxl_database.csv``, ``scp_statements.csv`` and
        ``records100/`` and/or ``records500/``, as released on PhysioNet (a
        subset of the rows and records in the same layout works too). A list
        of such folders loads all their records, concatenated in the order
        given; an ``ecg_id`` present in two folders is an error.
    sampling_rate : {100, 500}, default=100
        Which copy of the signals to read: 1,000 or 5,000 samples per record.
    label_set : {"superclass", "subclass", "form", "rhythm", "scp"}, \
            default="superclass"
        Labels in ``y``. ``"superclass"`` and ``"subclass"`` aggregate the
        diagnostic statements (``diagnostic == 1`` in ``scp_statements.csv``)
        into their ``diagnostic_class`` (NORM, MI, STTC, CD, HYP, in that
        order) or ``diagnostic_subclass`` (23 classes, sorted). ``"form"`` and
        ``"rhythm"`` are the statements flagged ``form == 1`` (19) or
        ``rhythm == 1`` (12), and ``"scp"`` all 71 statements; these classes
        are sorted. The classes come from the statements table, not from the
        records loaded, so ``y`` has the same columns for every selection (a
        column can be all zeros).
    min_likelihood : float, default=0.0
        Keep an SCP statement of a record only when its likelihood (0-100)
        is at least this. The default keeps every statement: PTB-XL gives
        likelihood 0 to most non-diagnostic statements (e.g. ``SR``, the
        sinus rhythm), so any positive threshold drops them.
    folds : int, list of int or None, default=None
        Keep only the records in these ``strat_fold`` (1-10).
    ecg_ids : int, list of int or None, default=None
        Keep only these records (in the order of the database).
    leads : list of str or None, default=None
        Lead names to load, in this order (case-insensitive: ``"AVR"`` is
        ``"aVR"``). None loads the standard order I, II, III, aVR, aVL, aVF,
        V1-V6.
    verbose : int, default=1
        Show a progress bar for loads of 200 records or more when positive.
    memmap_path : str, path-like or None, default=None
        When given, ``X`` is written to this ``.npy`` file and returned
        memory-mapped, for selections larger than memory. An existing file is
        refused unless ``overwrite_memmap=True``, and a file the load reads
        always is. The file is written under a temporary name in the same
        folder and renamed at the end, so a failed load leaves no file at all.
    overwrite_memmap : bool, default=False
        Replace an existing file at ``memmap_path``.
    nan_policy : {"interpolate", "zero", "raise"}, default="interpolate"
        What to do with missing (NaN) samples: linear interpolation per lead
        (runs at the edges take the nearest valid sample, a lead with no valid
        sample becomes zeros) with one ``UserWarning`` naming the records and
        leads, zeros with the same warning, or a ``ValueError``.
    download : bool, default=False
        When True, fetch the tables and the missing records of the selection
        from PhysioNet into ``path`` first (needs internet; about 3 GB for the
        whole database at 500 Hz).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X`` float32 ``(n_records, n_leads, n_timepoints)`` in mV; ``y`` int
        ``(n_records, n_classes)`` multi-label indicator; ``target_names``;
        ``metadata`` (the database rows, ``scp_codes`` as dicts, aligned with
        ``X``); ``lead_names``; ``fs``; ``DESCR``; and, aligned with ``X``,
        ``ecg_id``, ``scp_codes``, ``report``, ``strat_fold``, ``patient_id``,
        ``age`` and ``sex``.

    See Also
    --------
    load_ptbxl_sample : The first 500 records at 100 Hz, shipped in the package.

    Examples
    --------
    >>> from sklearn_ecg.datasets import load_ptbxl
    >>> data = load_ptbxl("ptb-xl/", folds=range(1, 9))  # doctest: +SKIP
    >>> data.X.shape, data.target_names  # doctest: +SKIP
    ((17418, 12, 1000), ['NORM', 'MI', 'STTC', 'CD', 'HYP'])
    """
    folders = [path] if isinstance(path, (str, Path)) else list(path)
    if not folders:
        raise ValueError("path is an empty list: pass at least one PTB-XL folder")
    if download:
        if len(folders) != 1:
            raise ValueError("download=True needs a single folder as path")
        _download(folders[0], sampling_rate, folds, ecg_ids)
    tables, statements = [], None
    for folder in folders:
        db, st = _read_tables(folder)
        within = db["ecg_id"][db["ecg_id"].duplicated()]
        if len(within):
            rows = [int(i) + 2 for i in db.index[db["ecg_id"].isin(within)][:10]]
            raise ValueError(
                f"{Path(folder) / _DATABASE}: ecg_id(s) {sorted(set(within))[:10]} appear more than "
                f"once (lines {rows}); each record needs its own ecg_id. Remove or renumber the "
                "repeated rows."
            )
        db["_root"] = str(folder)
        tables.append(db)
        statements = st if statements is None else statements
    db = pd.concat(tables, ignore_index=True)
    dup = db["ecg_id"][db["ecg_id"].duplicated()]
    if len(dup):
        raise ValueError(
            f"ecg_id(s) {sorted(dup)[:10]} appear in more than one of the folders "
            f"{[str(f) for f in folders]}; pass folders with distinct records"
        )
    db = _select(db, folds, ecg_ids)
    # Both checks run before anything is read, so bad options fail fast.
    _label_map(statements, label_set)
    _labels([], statements, label_set, min_likelihood)
    headers = _headers(db, sampling_rate)
    tables = [Path(f) / name for f in folders for name in (_DATABASE, _STATEMENTS)]
    X, lead_names, fs = load_signals(
        headers, leads=leads, nan_policy=nan_policy, memmap_path=memmap_path,
        overwrite_memmap=overwrite_memmap, extra_inputs=tables, verbose=verbose,
        desc="Loading PTB-XL",
    )
    return _make_bunch(X, db, statements, label_set=label_set, min_likelihood=min_likelihood,
                       lead_names=lead_names, fs=fs, descr=DESCR_PTBXL)
