"""A stand-in for mmcv's compiled ops (`mmcv._ext`) while OpenMMLab packages import.

mmcv-lite has no compiled ops, and a failed mmcv build leaves them out: `import mmyolo.models`
then stops at `No module named 'mmcv._ext'`, although a detector's tensor-mode forward calls
none of them. While mmdet/mmyolo (and the config's custom_imports) import and the model is
built, a placeholder module stands in: mmcv's op wrappers look their functions up at import
and keep them; each is a function that raises one line naming the op. A working mmcv is never
touched, and the placeholder leaves `sys.modules` when the block ends.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

EXT = "mmcv._ext"
PLACEHOLDER_NOTE = (
    "mmcv's compiled ops (mmcv._ext) are not installed: a placeholder stood in while "
    "mmdet/mmyolo imported; a model that calls one stops with its name"
)


class CompiledOpMissing(RuntimeError):
    """The model called one of mmcv's compiled ops, which this mmcv does not have."""


def _missing_op(name: str) -> Any:
    def op(*args: Any, **kwargs: Any) -> Any:
        raise CompiledOpMissing(
            f"this model calls mmcv's compiled op {name!r}; install mmcv with its ops "
            "(mmcv-lite and a failed mmcv build have none)"
        )

    op.__name__ = op.__qualname__ = name
    return op


def _placeholder() -> types.ModuleType:
    module = types.ModuleType(EXT, "Placeholder for mmcv's compiled ops (complexity.targets)")
    module.__spec__ = importlib.machinery.ModuleSpec(EXT, loader=None)

    def __getattr__(name: str) -> Any:  # every op mmcv looks up exists, and raises when called
        if name.startswith("__"):
            raise AttributeError(name)
        return _missing_op(name)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def compiled_ops_missing() -> bool:
    """mmcv is installed but `mmcv._ext` does not import (mmcv-lite, or a build without ops)."""
    if EXT in sys.modules:
        return False  # imported already: the real one, or our placeholder's work is done
    if importlib.util.find_spec("mmcv") is None:
        return False
    try:
        importlib.import_module(EXT)
    except ImportError:
        return True
    return False


@contextlib.contextmanager
def compiled_ops_placeholder() -> Iterator[bool]:
    """Inside the block `import mmcv._ext` gives the placeholder when mmcv's own is missing.

    Yields whether the placeholder was put in place (the caller notes it in the output).
    """
    if not compiled_ops_missing():
        yield False
        return
    placeholder = _placeholder()
    sys.modules[EXT] = placeholder
    try:
        yield True
    finally:
        # mmcv's op modules keep the functions they looked up; nothing needs the entry now.
        if sys.modules.get(EXT) is placeholder:
            del sys.modules[EXT]
        mmcv = sys.modules.get("mmcv")
        if getattr(mmcv, "_ext", None) is placeholder:
            delattr(mmcv, "_ext")
