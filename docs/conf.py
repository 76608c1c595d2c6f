"""Sphinx configuration: the API pages are generated from the numpydoc docstrings."""

import sklearn_ecg

project = "sklearn_ecg"
author = "sklearn_ecg developers"
release = sklearn_ecg.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
autodoc_default_options = {"members": True, "inherited-members": False}
templates_path = []
exclude_patterns = ["_build", "generated/*.examples"]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
}
html_theme = "alabaster"
