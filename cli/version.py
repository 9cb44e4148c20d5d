"""The version, for the command line: the library's one source (`complexity.analyzer.version`)."""

from __future__ import annotations

from complexity.analyzer.version import DISTRIBUTION, tool_version

__all__ = ["DISTRIBUTION", "tool_version"]
