"""The tool's version: one source, the installed distribution's metadata (pyproject.toml's).

Torch-free, so the command line's `--version` and the builders' "built by" line share it.
"""

from __future__ import annotations

# The name on the package index; the command and the import stay `complexity`.
DISTRIBUTION = "torch-complexity"


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
