"""The reduced ECGFounder configuration of the fixtures, registered as a table entry in tests."""

import copy
import json
from pathlib import Path

from sklearn_ecg._encoder import ARCHITECTURES
from sklearn_ecg.foundation import _table
from sklearn_ecg.foundation._architectures import architecture_of

DATA = Path(__file__).resolve().parent / "data" / "foundation"
CONFIG = json.loads((DATA / "ecgfounder-fixtures.json").read_text())
# Net1D's keyword arguments of the reduced configuration (the authors' use_do has no effect).
REDUCED = {k: v for k, v in CONFIG["reduced"].items() if k != "use_do"}


def register_reduced(monkeypatch, base, name, config=None, dim=None):
    """Add table entry ``name``: entry ``base`` with a reduced network (undone after the test).

    ``config`` updates the network's configuration and ``dim`` is its
    embedding size; by default the reduced ECGFounder of the fixtures.
    """
    spec = copy.deepcopy(_table.table()[base])
    spec["config"].update(REDUCED if config is None else config)
    spec["embedding"]["dim"] = REDUCED["filter_list"][-1] if dim is None else dim
    monkeypatch.setitem(_table.table(), name, spec)
    # As an encoder architecture too: fine-tuning and saved classifiers know it.
    monkeypatch.setitem(ARCHITECTURES, name, architecture_of(name, spec))
    return spec
