"""The API reference (doc/api.rst) documents every public name, and the docs build offline."""

import importlib
import re
from pathlib import Path

import pytest

import skunlearn

DOC = Path(__file__).resolve().parents[1] / "doc"


def _documented_names(text):
    """Fully qualified names documented by doc/api.rst (autosummary entries, data)."""
    names, module = set(), None
    for line in text.splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif match := re.match(r"\.\. (?:data|autodata|autofunction|autoclass):: (\S+)", line):
            names.add(f"{module}.{match.group(1)}")
        elif module and (match := re.fullmatch(r" {3}([A-Za-z_][\w.]*)", line)):
            names.add(f"{module}.{match.group(1)}")
    return names


def _public_names():
    """Every name in the ``__all__`` of skunlearn and of its public subpackages."""
    names = {f"skunlearn.{n}" for n in skunlearn.__all__ if not n.startswith("__")}
    modules = [f"skunlearn.{n}" for n in skunlearn._SUBMODULES] + [
        "skunlearn.utils.estimator_checks"
    ]
    names -= set(modules)
    for name in modules:
        module = importlib.import_module(name)
        names |= {f"{name}.{n}" for n in module.__all__}
    return names


@pytest.fixture(scope="module")
def api_text():
    if not (DOC / "api.rst").exists():
        pytest.skip("the documentation is not part of this checkout")
    return (DOC / "api.rst").read_text(encoding="utf-8")


def test_every_public_name_is_in_the_api_reference(api_text):
    missing = sorted(_public_names() - _documented_names(api_text))
    assert not missing, f"public names missing from doc/api.rst: {missing}"


def test_api_reference_names_exist(api_text):
    for qualified in _documented_names(api_text):
        module, _, name = qualified.partition(".")
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)  # AttributeError names a stale entry


def test_intersphinx_inventories_are_local():
    """CI has no network: every intersphinx inventory is a file kept in doc/_intersphinx."""
    conf = (DOC / "conf.py").read_text(encoding="utf-8") if (DOC / "conf.py").exists() else None
    if conf is None:
        pytest.skip("the documentation is not part of this checkout")
    projects = re.findall(r'"(\w+)": \("https://[^"]+", _INV\.format\("(\w+)"\)\)', conf)
    assert {p for p, _ in projects} >= {"sklearn", "numpy", "scipy", "joblib", "python"}
    for _, name in projects:
        inventory = DOC / "_intersphinx" / f"{name}.inv"
        assert inventory.is_file(), f"{inventory} is missing"
        assert inventory.read_bytes().startswith(b"# Sphinx inventory version 2")
