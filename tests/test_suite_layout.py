"""The suite's own layout: shared helpers come from tests/helpers/ only.

Importing conftest.py by name or another test module makes pytest collect code twice under
two module names and ties one file's tests to another's internals; both are refused here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

TESTS = REPO / "tests"


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_conftest_or_another_test_module() -> None:
    sources = sorted({*TESTS.glob("*.py"), *TESTS.glob("helpers/*.py")})
    test_modules = {path.stem for path in TESTS.glob("test_*.py")}
    assert len(test_modules) > 30 and (TESTS / "helpers" / "__init__.py") in sources
    offenders = {
        path.relative_to(TESTS).as_posix(): sorted(bad)
        for path in sources
        if (bad := imported_modules(path) & (test_modules | {"conftest"}))
    }
    assert not offenders, f"import these from helpers instead: {offenders}"
