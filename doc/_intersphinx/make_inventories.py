"""Write the intersphinx inventories the documentation links against, without the network.

CI builds the documentation with no network access but the package index, so intersphinx
cannot download ``objects.inv`` from scikit-learn, NumPy, SciPy, joblib or Python. This script
writes those inventories from the installed packages instead: it walks each package's public
API (the names in ``__all__`` of its public modules) and maps every name to the address its
project's documentation gives it, following that project's URL scheme. The generated files
are committed beside this script, and ``doc/conf.py`` points ``intersphinx_mapping`` at them.

Run it again after upgrading a package, or when the documentation starts referring to a name
the inventories miss (the ``-n`` build then reports it)::

    python doc/_intersphinx/make_inventories.py

The addresses are predicted from each project's URL scheme, not read from the project's own
inventory, so a name that the project documents elsewhere can give a link that misses its
anchor (it still lands on the right page or site).
"""

import builtins
import importlib
import inspect
import pkgutil
import sys
import warnings
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_inventory(path, project, version, entries):
    """Write ``entries`` (name, domain:role, uri) in Sphinx's inventory format, version 2."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = []
    for name, role, uri in sorted(set(entries)):
        priority = "-1" if role == "std:term" else "1"
        # An address ending in the object's own name is written with "$" (as Sphinx does).
        if uri.endswith("#" + name):
            uri = uri[: -len(name)] + "$"
        lines.append(f"{name} {role} {priority} {uri} -\n")
    body = zlib.compress("".join(lines).encode("utf-8"), 9)
    path.write_bytes(header.encode("utf-8") + body)
    print(f"{path.name}: {len(lines)} entries")


def public_modules(package):
    """Yield the package and every submodule whose dotted name has no private part."""
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in ("tests", "conftest", "externals") for p in parts):
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception:  # optional dependencies, deprecated modules
            continue


def public_names(module):
    """``__all__``, or else the public names the module defines itself."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(module).items()
            if getattr(obj, "__module__", None) == module.__name__
        ]
    return [n for n in names if not n.startswith("_")]


def members(cls):
    """Public methods and properties a class defines or inherits."""
    for name, value in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        if isinstance(inspect.getattr_static(cls, name, None), property):
            yield name, "py:property"
        elif inspect.isroutine(value):
            yield name, "py:method"


def api_entries(package, page_of, module_page):
    """Entries for the classes and functions of a package's public modules.

    ``page_of(full_name)`` gives the page documenting a class or function, and
    ``module_page(module_name)`` the page that documents a module.
    """
    entries = []
    for module in public_modules(package):
        mod = module.__name__
        entries.append((mod, "py:module", f"{module_page(mod)}#module-{mod}"))
        for name in public_names(module):
            obj = getattr(module, name, None)
            full = f"{mod}.{name}"
            if inspect.isclass(obj):
                page = page_of(full)
                role = "py:exception" if issubclass(obj, BaseException) else "py:class"
                entries.append((full, role, f"{page}#{full}"))
                if name[0].islower():  # make_column_selector: a class used as a function
                    entries.append((full, "py:function", f"{page}#{full}"))
                for member, member_role in members(obj):
                    entries.append((f"{full}.{member}", member_role, f"{page}#{full}.{member}"))
            elif callable(obj):
                entries.append((full, "py:function", f"{page_of(full)}#{full}"))
            elif inspect.ismodule(obj):
                continue
    return entries


# scikit-learn's glossary (doc/glossary.rst); the terms skunlearn's docstrings use and the
# common ones around them.
SKLEARN_TERMS = """
array-like attribute attributes callable categorical feature clone cloned common tests
cross-validation cross validation data leakage deprecation docstring dtype duck typing
early stopping estimator instance evaluation metric examples feature features feature vector
fitting fitted function hyperparameter hyper-parameter impute imputation indexable joblib
label indicator matrix multilabel indicator matrix leakage memmapping memory map memory mapping
missing values n_features n_outputs n_samples n_targets online learning out-of-core outputs
parameter parameters param params partition precomputed sample samples sample property
semi-supervised sparse matrix sparse graph supervised target targets unlabeled unsupervised
warm start classifier classifiers clusterer clusterers cv splitter cross-validation splitter
scorer density estimator estimator estimators feature extractor meta-estimator
meta-estimators metaestimator outlier detector predictor predictors regressor regressors
transformer transformers binary continuous multiclass multilabel multioutput
decision_function fit fit_predict fit_transform get_feature_names_out inverse_transform
partial_fit predict predict_log_proba predict_proba score score_samples set_params split
transform class_weight cv kernel max_iter memory metric n_components n_jobs pos_label
random_state scoring verbose warm_start classes_ coef_ components_ n_iter_
feature_importances_ labels_ groups sample_weight metadata metadata routing
"""
MULTIWORD_TERMS = [
    "categorical feature",
    "common tests",
    "cross validation",
    "data leakage",
    "duck typing",
    "early stopping",
    "estimator instance",
    "evaluation metric",
    "feature vector",
    "label indicator matrix",
    "multilabel indicator matrix",
    "memory map",
    "memory mapping",
    "missing values",
    "online learning",
    "sample property",
    "sparse matrix",
    "sparse graph",
    "warm start",
    "cv splitter",
    "cross-validation splitter",
    "density estimator",
    "feature extractor",
    "outlier detector",
    "metadata routing",
]


def glossary_terms():
    text = " ".join(SKLEARN_TERMS.split())
    for term in MULTIWORD_TERMS:
        text = text.replace(term, "")
    return sorted(set(text.split()) | set(MULTIWORD_TERMS))


def term_anchor(term):
    return "term-" + "-".join(term.lower().split())


def sklearn_inventory():
    import sklearn

    entries = api_entries(
        sklearn,
        page_of=lambda full: f"modules/generated/{full}.html",
        # The API reference has one page per top-level module, its submodules included.
        module_page=lambda mod: f"api/{'.'.join(mod.split('.')[:2])}.html",
    )
    entries.append(("sklearn", "py:module", "api/index.html"))
    entries = [e for e in entries if e[0] != "sklearn" or e[2] == "api/index.html"]
    for term in glossary_terms():
        entries.append((term.lower(), "std:term", f"glossary.html#{term_anchor(term)}"))
    entries.append(("glossary", "std:label", "glossary.html#glossary"))
    entries.append(("user_guide", "std:label", "user_guide.html#user-guide"))
    return "scikit-learn", sklearn.__version__, entries


def numpy_inventory():
    import numpy

    entries = [("numpy", "py:module", "reference/index.html#module-numpy")]
    for name in public_names(numpy):
        obj = getattr(numpy, name, None)
        full = f"numpy.{name}"
        page = f"reference/generated/{full}.html"
        if inspect.isclass(obj):
            entries.append((full, "py:class", f"{page}#{full}"))
        elif callable(obj):
            entries.append((full, "py:function", f"{page}#{full}"))
    for name, value in inspect.getmembers(numpy.ndarray):
        if not name.startswith("_"):
            full = f"numpy.ndarray.{name}"
            role = "py:method" if inspect.isroutine(value) else "py:attribute"
            entries.append((full, role, f"reference/generated/{full}.html#{full}"))
    for name in public_names(numpy.linalg):
        full = f"numpy.linalg.{name}"
        if callable(getattr(numpy.linalg, name)):
            entries.append((full, "py:function", f"reference/generated/{full}.html#{full}"))
    entries += [
        ("numpy.linalg", "py:module", "reference/routines.linalg.html#module-numpy.linalg"),
        ("numpy.random", "py:module", "reference/random/index.html#module-numpy.random"),
        ("numpy.random.Generator", "py:class", "reference/random/generator.html#$"),
        ("numpy.random.RandomState", "py:class", "reference/random/legacy.html#$"),
        ("numpy.random.default_rng", "py:function", "reference/random/generator.html#$"),
        (
            "numpy.random.SeedSequence",
            "py:class",
            "reference/random/bit_generators/generated/numpy.random.SeedSequence.html#$",
        ),
        ("numpy.memmap", "py:class", "reference/generated/numpy.memmap.html#$"),
        ("arrays.dtypes", "std:label", "reference/arrays.dtypes.html#arrays-dtypes"),
        ("arrays.scalars", "std:label", "reference/arrays.scalars.html#arrays-scalars"),
        ("numpy.inf", "py:data", "reference/constants.html#$"),
        ("numpy.nan", "py:data", "reference/constants.html#$"),
        ("array_like", "std:term", "glossary.html#term-array_like"),
    ]
    entries = [(n, r, u.replace("$", n) if u.endswith("#$") else u) for n, r, u in entries]
    return "NumPy", numpy.__version__, entries


def scipy_inventory():
    import scipy

    entries = []
    for sub in ("sparse", "linalg", "stats", "optimize", "special", "spatial"):
        module = importlib.import_module(f"scipy.{sub}")
        mod = module.__name__
        entries.append((mod, "py:module", f"reference/{sub}.html#module-{mod}"))
        for name in public_names(module):
            obj = getattr(module, name, None)
            full = f"{mod}.{name}"
            page = f"reference/generated/{full}.html"
            if inspect.isclass(obj):
                entries.append((full, "py:class", f"{page}#{full}"))
            elif callable(obj):
                entries.append((full, "py:function", f"{page}#{full}"))
            elif sub == "stats" and hasattr(obj, "rvs"):  # distributions are instances
                entries.append((full, "py:data", f"{page}#{full}"))
    entries.append(("scipy", "py:module", "reference/index.html#module-scipy"))
    return "SciPy", scipy.__version__, entries


def joblib_inventory():
    import joblib

    entries = [("joblib", "py:module", "index.html#module-joblib")]
    for name in public_names(joblib):
        obj = getattr(joblib, name, None)
        full = f"joblib.{name}"
        page = f"generated/{full}.html"
        if inspect.isclass(obj):
            entries.append((full, "py:class", f"{page}#{full}"))
            if name[0].islower():  # parallel_config: a class used as a function
                entries.append((full, "py:function", f"{page}#{full}"))
            for member, role in members(obj):
                entries.append((f"{full}.{member}", role, f"{page}#{full}.{member}"))
        elif callable(obj):
            entries.append((full, "py:function", f"{page}#{full}"))
    return "joblib", joblib.__version__, entries


# Standard-library modules the documentation refers to (library/<name>.html#module-<name>).
PYTHON_MODULES = [
    "pickle",
    "threading",
    "concurrent.futures",
    "multiprocessing",
    "hashlib",
    "os",
    "pathlib",
    "tempfile",
    "shutil",
    "json",
    "warnings",
    "time",
    "copy",
    "functools",
    "itertools",
    "inspect",
    "contextlib",
    "dataclasses",
    "typing",
    "collections",
    "abc",
    "numbers",
    "math",
    "random",
    "logging",
    "argparse",
    "sys",
    "io",
    "weakref",
    "gc",
    "tracemalloc",
    "timeit",
]


# Built-in classes documented in library/stdtypes.html rather than library/functions.html.
STDTYPES_PAGE = {
    "dict",
    "list",
    "str",
    "tuple",
    "set",
    "frozenset",
    "bytes",
    "bytearray",
    "range",
    "memoryview",
}


def python_inventory():
    entries = []
    for name in dir(builtins):
        obj = getattr(builtins, name)
        if name.startswith("_"):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries.append((name, "py:exception", f"library/exceptions.html#{name}"))
        elif inspect.isclass(obj):
            page = "stdtypes" if name in STDTYPES_PAGE else "functions"
            entries.append((name, "py:class", f"library/{page}.html#{name}"))
        elif callable(obj):
            entries.append((name, "py:function", f"library/functions.html#{name}"))
    for name in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        entries.append((name, "py:data", f"library/constants.html#{name}"))
    for mod in PYTHON_MODULES:
        page = mod if mod != "concurrent.futures" else "concurrent.futures"
        entries.append((mod, "py:module", f"library/{page}.html#module-{mod}"))
    entries += [
        ("threading.Thread", "py:class", "library/threading.html#threading.Thread"),
        ("threading.Lock", "py:class", "library/threading.html#threading.Lock"),
        ("pickle.dump", "py:function", "library/pickle.html#pickle.dump"),
        ("pickle.load", "py:function", "library/pickle.html#pickle.load"),
        ("hashlib.blake2b", "py:function", "library/hashlib.html#hashlib.blake2b"),
        ("os.PathLike", "py:class", "library/os.html#os.PathLike"),
        ("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
        (
            "collections.abc.Mapping",
            "py:class",
            "library/collections.abc.html#collections.abc.Mapping",
        ),
        (
            "collections.abc.Sequence",
            "py:class",
            "library/collections.abc.html#collections.abc.Sequence",
        ),
        ("typing.Any", "py:data", "library/typing.html#typing.Any"),
        ("bltin-boolean-values", "std:label", "library/stdtypes.html#bltin-boolean-values"),
        ("contextlib.contextmanager", "py:function", "library/contextlib.html#$"),
        ("collections.namedtuple", "py:function", "library/collections.html#$"),
        ("generator", "std:term", "glossary.html#term-generator"),
        ("callable", "std:term", "glossary.html#term-callable"),
        ("generic type", "std:term", "glossary.html#term-generic-type"),
        ("iterable", "std:term", "glossary.html#term-iterable"),
        ("path-like object", "std:term", "glossary.html#term-path-like-object"),
        ("file object", "std:term", "glossary.html#term-file-object"),
        ("mapping", "std:term", "glossary.html#term-mapping"),
        ("sequence", "std:term", "glossary.html#term-sequence"),
    ]
    version = ".".join(map(str, sys.version_info[:2]))
    return "Python", version, entries


def main():
    warnings.simplefilter("ignore")  # importing every public module warns about a few
    for stem, make in [
        ("sklearn", sklearn_inventory),
        ("numpy", numpy_inventory),
        ("scipy", scipy_inventory),
        ("joblib", joblib_inventory),
        ("python", python_inventory),
    ]:
        project, version, entries = make()
        write_inventory(HERE / f"{stem}.inv", project, version, entries)


if __name__ == "__main__":
    main()
