"""Package exports that load on first use (PEP 562), for `complexity.analyzer` and
`complexity.render`: `import complexity.<pkg>.<module>` for a torch-free module (the command
line's option checks) must not import torch through its package's `__init__`.

Torch-free and import-free itself.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """Importing a submodule sets it as an attribute of its package; where an exported name
    is also a submodule's (`roofline`), the export keeps the name, as eager imports did."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__.get("_export_sources", ()) and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def install(package: str, sources: Mapping[str, str]) -> list[str]:
    """Make `package` (its `__name__`) load each exported name from its submodule on first
    use: `sources` maps name -> submodule (`{"analyze": "analysis"}`). Returns `__all__`."""
    module = sys.modules[package]
    exports = sorted(sources)

    def __getattr__(name: str) -> Any:
        submodule = sources.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{submodule}", package), name)
        module.__dict__[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return exports

    module.__dict__.update(__getattr__=__getattr__, __dir__=__dir__, _export_sources=dict(sources))
    module.__class__ = _LazyPackage
    return exports
