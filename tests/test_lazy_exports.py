"""complexity.analyzer and complexity.render export their names lazily (one shared helper,
complexity.analyzer.lazy_exports): the packages import without torch, every exported name
is its submodule's object, and an export named like a submodule keeps the export."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ("complexity.analyzer", "complexity.render")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_export_is_the_object_its_submodule_defines(name: str) -> None:
    package = importlib.import_module(name)
    sources = package._export_sources
    assert package.__all__ == sorted(sources) == dir(package)
    for export, submodule in sources.items():
        owner = importlib.import_module(f"{name}.{submodule}")
        assert getattr(package, export) is getattr(owner, export), export


def test_an_export_named_like_its_submodule_stays_the_export() -> None:
    """`roofline` is a function of the submodule `roofline`: importing the submodule (which
    sets it on its package) must not replace the function."""
    import complexity.analyzer

    module = importlib.import_module("complexity.analyzer.roofline")
    assert complexity.analyzer.roofline is module.roofline
    assert callable(complexity.analyzer.roofline)


@pytest.mark.parametrize("name", PACKAGES)
def test_an_unknown_name_is_an_attribute_error_naming_the_package(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'no_such'"):
        package.no_such  # noqa: B018


def test_the_packages_and_their_listing_import_no_torch() -> None:
    probe = (
        "import sys, complexity.analyzer as a, complexity.render as r\n"
        "import complexity.analyzer.datasheets, complexity.render.options\n"
        "dir(a), dir(r)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
