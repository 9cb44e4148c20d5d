"""Issue 22's install and release defects: what the README promises about installing matches
the packaging, and the project is publishable under its own name.

The name: `complexity` on PyPI is an unrelated static-site generator (versions up to 0.9.1,
https://pypi.org/project/complexity/), so the distribution is `torch-complexity`; the command
and the import stay `complexity`.
"""

from __future__ import annotations

import re
from importlib.metadata import distribution

import pytest

from helpers import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

README = (REPO / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_readme_says_how_to_get_the_cpu_torch_and_which_installed_torch_is_kept() -> None:
    """A bare torch requirement pulls a CUDA build on a stock machine: the README names
    PyTorch's CPU index, and the oldest installed torch it keeps is the requirement's floor."""
    assert "--index-url https://download.pytorch.org/whl/cpu" in README
    kept = re.search(r"installed at (\d+(?:\.\d+)*) or later is fine", " ".join(README.split()))
    assert kept, "the README should say which installed torch is kept"
    floors = [
        match.group(1)
        for requirement in PYPROJECT["project"]["dependencies"]
        if (match := re.fullmatch(r"torch>=([\d.]+)", requirement.replace(" ", "")))
    ]
    assert floors == [kept.group(1)]


def test_the_readme_states_what_the_slow_suite_takes() -> None:
    flat = " ".join(README.split())
    assert re.search(r"slow suite[^.]*?\babout \d+ minutes", flat, re.I), (
        "the README should say how long `python -m pytest -m slow` takes"
    )


def test_the_distribution_is_torch_complexity_and_installs_the_complexity_command() -> None:
    assert PYPROJECT["project"]["name"] == "torch-complexity"
    assert PYPROJECT["project"]["scripts"] == {"complexity": "complexity.cli.entry:run"}
    installed = distribution("torch-complexity")  # this checkout, installed as the README says
    scripts = {e.name: e.value for e in installed.entry_points if e.group == "console_scripts"}
    assert scripts == {"complexity": "complexity.cli.entry:run"}
