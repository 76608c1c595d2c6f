"""Sphinx configuration: API pages from the numpydoc docstrings, a gallery from examples/.

Build (offline, warnings as errors) from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery examples run as written (full size, the CI build and the site
users read); ``SKLEARN_ECG_DOCS_FAST=1`` runs them at a reduced size for
quick local work, and every page of such a build says so in a banner.
``SKLEARN_ECG_DOCS_INTERSPHINX=1`` links to the Python, NumPy,
scikit-learn, PyTorch and skorch docs, which needs the network.
"""

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Document (and run the examples against) this checkout, installed or not.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# Progress bars of the text models would clutter the examples' output.
os.environ.setdefault("TQDM_DISABLE", "1")
# The examples record their size and the figures their text concludes from
# here, for docs/check_examples.py (a block hidden from their pages).
os.environ.setdefault("SKLEARN_ECG_DOCS_FIGURES", str(Path(__file__).resolve().parent / "auto_examples" / "_figures"))
FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"

import sklearn_ecg  # noqa: E402
from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _notebook_markdown  # noqa: E402

# The notebooks' text cells are Markdown: no Sphinx roles left in them.
_notebook_markdown.install()

project = "sklearn_ecg"
author = "sklearn_ecg developers"
copyright = "sklearn_ecg developers"
release = sklearn_ecg.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
default_role = "obj"

# No network unless asked for: the build must work offline.
if os.environ.get("SKLEARN_ECG_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }
else:
    # Without intersphinx, cross-references to other projects cannot resolve;
    # they render as plain code instead of failing the build.
    nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"[\\/]plot_",
    # The command-line scripts stay scripts (the README runs them).
    "ignore_pattern": r"^(__init__|quickstart|zero_shot)\.py$",
    "within_subsection_order": ExplicitOrder([
        "plot_load_and_preprocess.py",
        "plot_lcd_pretraining.py",
        "plot_embedding_space.py",
        "plot_zero_shot.py",
        "plot_grid_search.py",
        "plot_metadata_routing.py",
        "plot_pretrained_and_finetune.py",
        "*",
    ]),
    "doc_module": ("sklearn_ecg",),
    "backreferences_dir": "generated/backreferences",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    # Figures also at twice the resolution, for high-density screens and for
    # the full-size view (a click on a figure opens it): the 1 mm grid of a
    # clinical sheet needs it.
    "image_srcset": ["2x"],
}

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_ecg {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    # The first entries of the index's toctree (install, user guide,
    # examples, API, benchmarks) stay in the top bar; the rest go under "More".
    "header_links_before_dropdown": 5,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
if FAST:
    # A reduced build is for local work only: no page of it may pass for the site.
    html_theme_options["announcement"] = (
        "Reduced build for local work (SKLEARN_ECG_DOCS_FAST=1): the examples ran with fewer "
        "records and epochs, so their figures are not those of the documentation. Build the "
        "site with <code>bash docs/build_docs.sh</code>."
    )
# Single pages have no section to navigate: without the empty left sidebar,
# their code blocks get the width of the page.
html_sidebars = {page: [] for page in ("index", "install", "user_guide", "benchmarks",
                                       "distributed", "changelog", "citing", "cli",
                                       "architecture")}
# The examples' figures (the clinical sheets above all) get the page's width.
html_sidebars["auto_examples/*"] = []
html_static_path = ["_static"]
html_css_files = ["sklearn_ecg.css"]
html_js_files = ["full_size_figures.js"]

# Messages of libraries that the examples import, not of this documentation.
warnings.filterwarnings("ignore", message=".*FigureCanvasAgg is non-interactive.*")


def _skip_request_methods(app, what, name, obj, skip, options):
    # scikit-learn's generated set_*_request docstrings link into its own
    # glossary, which only resolves through intersphinx; offline they would
    # fail the build. The user guide explains set_fit_request(reports=True).
    if os.environ.get("SKLEARN_ECG_DOCS_INTERSPHINX") != "1" and name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_request_methods)
