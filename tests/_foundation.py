"""The reduced ECGFounder configuration of the fixtures, registered as a table entry in tests."""

import copy
import json
from pathlib import Path

from sklearn_ecg.foundation import _table

DATA = Path(__file__).resolve().parent / "data" / "foundation"
CONFIG = json.loads((DATA / "ecgfounder-fixtures.json").read_text())
# Net1D's keyword arguments of the reduced configuration (the authors' use_do has no effect).
REDUCED = {k: v for k, v in CONFIG["reduced"].items() if k != "use_do"}


def register_reduced(monkeypatch, base, name):
    """Add table entry ``name``: entry ``base`` with the reduced network (undone after the test)."""
    spec = copy.deepcopy(_table.table()[base])
    spec["config"].update(REDUCED)
    spec["embedding"]["dim"] = REDUCED["filter_list"][-1]
    monkeypatch.setitem(_table.table(), name, spec)
    return spec
