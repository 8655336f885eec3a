"""Sphinx configuration of the skunlearn documentation.

Build (warnings are errors, the gallery examples are executed)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

Set ``SKUNLEARN_DOC_PLOT_GALLERY=0`` to skip running the examples while editing prose.
No step needs the network: there is no intersphinx inventory to download.
"""

import os
import re
import warnings
from datetime import date

import skunlearn

# -- project ---------------------------------------------------------------------------------
project = "skunlearn"
author = "The skunlearn developers"
copyright = f"{date.today().year}, {author}"
release = skunlearn.__version__
version = ".".join(release.split(".")[:2])

# -- general ---------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
root_doc = "index"
default_role = "literal"  # `x` in prose is code, not a dangling reference

# The API pages are generated from doc/_templates/autosummary/; docstring examples run as
# doctests under pytest, here they are only rendered.
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types

# numpydoc renders the docstrings; the members list comes from the autosummary templates.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set = set()
numpydoc_xref_param_type = False

# The drop-in estimators inherit scikit-learn's docstrings, which use scikit-learn's glossary
# (:term:`fit`, :term:`random_state`, ...). Those terms are rendered as plain text here rather
# than failing the build; every other dangling reference is still an error.
suppress_warnings = ["ref.term"]

# No sphinx.ext.intersphinx: its inventories would be downloaded, and CI has no network.


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the members skunlearn defines, inherited ones included.

    The drop-in estimators subclass scikit-learn's and inherit most of their methods (and
    scikit-learn adds ``set_{method}_request`` to every estimator for metadata routing, which
    unlearning does not use). Those are documented by scikit-learn, and their docstrings point
    into scikit-learn's own user guide; here a class page lists what skunlearn adds or changes,
    ``unlearn`` and ``estimate_unlearn_cost`` among them.
    """
    if what != "class":
        return None
    target = getattr(obj, "fget", obj)  # a property's getter knows its module
    module = getattr(target, "__module__", None) or ""
    if not module.startswith("skunlearn"):
        return True
    return None


_SHAPE = re.compile(r"of shape \(([^()]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*?)_(?=[,)\s]|$)")


def _escape_shapes(app, what, name, obj, options, lines):
    """Escape fitted-attribute names in shapes, as in ``of shape (n_features_in_,)``.

    In reStructuredText a word ending in an underscore is a link to a target of that name, so
    such a shape would fail the build; written ``n_features_in\\_`` it shows as typed.
    """

    def escape(match):
        return "of shape (" + _TRAILING_UNDERSCORE.sub(r"\1\\_", match.group(1)) + ")"

    lines[:] = [_SHAPE.sub(escape, line) for line in lines]


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    # After numpydoc (priority 500) has turned the docstring into reStructuredText.
    app.connect("autodoc-process-docstring", _escape_shapes, priority=600)


# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skunlearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list = []
html_show_sourcelink = False

# -- sphinx-gallery ----------------------------------------------------------------------------
# Every examples/plot_*.py is executed during the build; other files are shown, not run.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "plot_gallery": os.environ.get("SKUNLEARN_DOC_PLOT_GALLERY", "True"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "doc_module": ("skunlearn",),
    "reference_url": {"skunlearn": None},
    "backreferences_dir": "generated/backreferences",
    "matplotlib_animations": False,
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# Examples run with a non-interactive backend; matplotlib's notice about plt.show() is noise.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="FigureCanvasAgg is non-interactive, and thus cannot be shown",
)
