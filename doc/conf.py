"""Sphinx configuration of the skunlearn documentation.

Build (warnings are errors, the gallery examples are executed)::

    python -m sphinx -W -n --keep-going -b html doc doc/_build/html

Set ``SKUNLEARN_DOC_PLOT_GALLERY=0`` to skip running the examples while editing prose.
No step needs the network: the intersphinx inventories are read from doc/_intersphinx/ and
MathJax is served from the built pages (sphinx-mathjax-offline).
"""

import os
import re
import sys
import warnings
from datetime import date
from pathlib import Path

import skunlearn

sys.path.insert(0, str(Path(__file__).resolve().parent / "sphinxext"))

from doc_style import RC_PARAMS

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
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 copied into the built pages, so that maths renders without a CDN (offline).
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "matplotlib.sphinxext.figmpl_directive",  # the plot directive's figures with a srcset
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
# Types in Parameters / Attributes sections link to their documentation: the words below and
# numpydoc's own aliases (int, float, bool, str, None, ndarray, RandomState, ...) are linked,
# every other word of a type ("of shape", "default", "or", ...) is left as text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    "array-like": ":term:`array-like <array-like>`",
    "array_like": ":term:`array-like <array-like>`",
    "sparse matrix": ":term:`sparse matrix <sparse matrix>`",
    "estimator": ":term:`estimator`",
    "estimator object": ":term:`estimator`",
    "estimator instance": ":term:`estimator`",
    "dtype": "numpy.dtype",
    "Generator": "numpy.random.Generator",
    "Pipeline": "skunlearn.pipeline.Pipeline",
    "Bunch": "sklearn.utils.Bunch",
}

# scikit-learn, NumPy, SciPy, joblib and Python are linked with intersphinx. CI has no network,
# so the inventories are not downloaded: doc/_intersphinx/make_inventories.py writes them from
# the installed packages and they are committed (regenerate them after an upgrade).
_INV = "_intersphinx/{}.inv"
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable/", _INV.format("sklearn")),
    "numpy": ("https://numpy.org/doc/stable/", _INV.format("numpy")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", _INV.format("scipy")),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", _INV.format("joblib")),
    "python": ("https://docs.python.org/3/", _INV.format("python")),
}
# Under -n every reference must resolve, the drop-ins' scikit-learn glossary terms included
# (through the scikit-learn inventory).
nitpicky = True


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the members skunlearn defines, inherited ones included.

    The drop-in estimators subclass scikit-learn's and inherit most of their methods (and
    scikit-learn adds ``set_{method}_request`` to every estimator for metadata routing, which
    unlearning does not use). Those are documented by scikit-learn, and their docstrings point
    into scikit-learn's own user guide; here a class page lists what skunlearn adds or changes,
    ``unlearn`` and ``estimate_unlearn_cost`` among them.

    Inherited properties stay: numpydoc links the fitted attributes listed in a class's
    Attributes section (``classes_``, ``named_steps``, ...) to their entries on the page when
    they are properties, so those entries must exist.
    """
    if what != "class":
        return None
    if isinstance(obj, property):
        return None
    module = getattr(obj, "__module__", None) or ""
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


def _public_path(cls):
    """The public name of a class: ``sklearn.preprocessing.StandardScaler``, not ``._data``."""
    parts = [p for p in cls.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, cls.__qualname__])


def _inherited_member_reference(app, env, node, contnode):
    """Link ``:meth:`fit``` in a drop-in's docstring to the scikit-learn method it inherits.

    The class pages list only what skunlearn defines (see ``_skip_foreign_members``), so a
    drop-in's docstring naming an inherited method (``transform`` of a scaler) has no target
    on the page: the reference goes to the scikit-learn class that defines the method.
    """
    from sphinx.ext.intersphinx import missing_reference

    target = node.get("reftarget", "")
    cls_name, mod_name = node.get("py:class"), node.get("py:module")
    if target.count(".") == 1:  # ``ColumnTransformer.get_feature_names_out`` in its module
        cls_name, target = target.split(".")
    if node.get("refdomain") != "py" or not cls_name or not mod_name or "." in target:
        return None
    try:
        cls = getattr(__import__(mod_name, fromlist=[cls_name]), cls_name)
    except (ImportError, AttributeError):
        return None
    for base in getattr(cls, "__mro__", ())[1:]:
        if base.__module__.startswith("sklearn") and target in vars(base):
            new = node.deepcopy()
            new["reftarget"] = f"{_public_path(base)}.{target}"
            return missing_reference(app, env, new, contnode)
    return None


def _reexported_reference(app, env, node, contnode):
    """Resolve ``skunlearn.base.UnlearnerMixin.unlearn`` to its documented public name.

    The API reference documents each object under the name users import it by
    (``skunlearn.UnlearnerMixin``); a docstring naming the module that defines it still links.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("skunlearn."):
        return None
    domain = env.get_domain("py")
    parts = target.split(".")
    for k in range(1, len(parts) - 1):  # drop one module component
        candidate = ".".join(parts[:k] + parts[k + 1 :])
        if candidate in domain.objects:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], candidate, node, contnode
            )
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("missing-reference", _inherited_member_reference)
    app.connect("missing-reference", _reexported_reference)
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
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # wider text column; long code and output lines wrap
html_show_sourcelink = False
# Pages with no sections to navigate get no (empty) left sidebar.
html_sidebars = {
    "install": [],
    "quick_start": [],
    "changelog": [],
    "citing": [],
    "faq": [],
    "developers": [],
}

# -- figures -----------------------------------------------------------------------------------
# The user guide's ``.. plot::`` figures are drawn at build time in the gallery's style
# (doc/sphinxext/doc_style.py), at 100 dpi with a 200-dpi copy for high-density screens.
plot_rcparams = RC_PARAMS
plot_apply_rcparams = True
plot_formats = [("png", 100)]
plot_srcset = ["2x"]
plot_html_show_formats = False
plot_html_show_source_link = False
plot_include_source = False

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
    # matplotlib's defaults, then the documentation's style (larger labels), before each
    # example; every figure is also saved at twice the dpi for high-density screens.
    "reset_modules": ("matplotlib", "doc_style.reset_matplotlib"),
    "image_srcset": ["2x"],
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
