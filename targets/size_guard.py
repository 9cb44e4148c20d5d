"""A guard on the model's size, before the long work: the module count while it is built.

An analysis costs about a millisecond and some kilobytes per module (benchmarks/
bench_many_layers.py measures it), so a config.json with a million layers, a
`deepen_factor=1e6` or a file that builds 100k modules would run for minutes with no
output. Modules are counted as they are registered (torch's global registration hook),
so the build itself stops at the limit; `--max-modules N` (`TargetSpec.max_modules`)
raises it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .spec import TargetError

# What one module costs a default analysis (meta trace, counts, memory walk):
# benchmarks/bench_many_layers.py measured 0.35-0.41 ms of CPU time (0.62 ms before the
# many-module walk changes) and about 15 KiB of peak memory per module on 5,000 Linear
# layers (README, Performance); kept on the safe side for loaded machines.
SECONDS_PER_MODULE = 0.0008
BYTES_PER_MODULE = 16_000
# From this many modules on, the CLI says what the analysis will take before it starts.
ANNOUNCE_FROM = 2_000


class _TooManyModules(BaseException):
    """Out of the user's build code: a BaseException, so that its own `except Exception`
    (a builder wrapping errors, a factory retrying) cannot swallow the stop."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def estimate(modules: int) -> str:
    seconds = modules * SECONDS_PER_MODULE
    gib = modules * BYTES_PER_MODULE / 2**30
    time = (
        f"{seconds / 60:.0f} min"
        if seconds >= 120
        else f"{seconds:.0f} s"
        if seconds >= 1
        else "under a second"
    )
    time = time if time == "under a second" else f"about {time}"
    return f"{time} and {gib:.1f} GiB" if gib >= 0.1 else time


def too_many(target: str, limit: int, count: int, exact: bool) -> TargetError:
    counted = f"has {count:,} modules" if exact else f"builds more than {limit:,} modules"
    return TargetError(
        f"{target} {counted}; analysing {'them' if exact else 'that many'} would take "
        f"{estimate(count if exact else limit)} or more; rerun with --max-modules N (N above "
        f"its module count{f', e.g. {count}' if exact else ''}) to analyse it anyway"
    )


@contextlib.contextmanager
def module_limit(
    target: str, limit: int | None, progress: Callable[[int], None] | None = None
) -> Iterator[None]:
    """Stop the build once more than `limit` modules were registered (None: no limit);
    `progress(count)` every 1,000 registrations."""
    if limit is None and progress is None:
        yield
        return
    from torch.nn.modules.module import register_module_module_registration_hook

    count = 0

    def registered(module: Any, name: str, submodule: Any) -> None:
        nonlocal count
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
        if limit is not None and count > limit:
            raise _TooManyModules(count)

    handle = register_module_module_registration_hook(registered)
    try:
        yield
    except _TooManyModules as stop:
        raise too_many(target, limit or 0, stop.count, exact=False) from None
    finally:
        handle.remove()


def check_module_count(target: str, model: Any, limit: int | None) -> int:
    """The model's module count (each once); over `limit` a TargetError. Catches what the
    registration hook did not see (a model built before, e.g. by an imported module)."""
    count = sum(1 for _ in model.modules())
    if limit is not None and count > limit:
        raise too_many(target, limit, count, exact=True)
    return count
