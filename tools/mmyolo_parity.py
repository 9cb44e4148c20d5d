"""Run MMYOLO's own get_flops.py and ours over every config under MMYOLO's configs/ and compare.

    python tools/mmyolo_parity.py [--configs DIR] [--builders zoo openmmlab] [--cache DIR]
        [--only SUBSTRING ...] [--markdown OUT.md] [--timeout S]

For each config (every ``.py`` under ``configs/`` outside ``_base_`` folders) it runs

* MMYOLO's ``tools/analysis_tools/get_flops.py`` (the copy in the installed mmyolo wheel,
  ``mmyolo/.mim/tools``), with mmcv's compiled ops replaced by a placeholder module that raises
  on use (mmcv-lite has none; a tensor-mode forward of a YOLO detector calls none), and
* our ``tools/analysis_tools/get_flops.py CONFIG --builder B`` for each builder B,

both with ``COLUMNS`` wide, and says per config whether MMYOLO's tool ran and whether ours
printed the same table rows (cells compared, not borders) and the same ``Input shape`` /
``Model Flops`` / ``Model Parameters`` lines. MMYOLO's outputs do not depend on this project, so
``--cache DIR`` keeps them between runs (one JSON file per config).

Needs mmyolo 0.6, mmdet 3.3 and mmcv-lite 2.0.1 installed (``pip install -e ".[openmmlab]"``).
Slow: every config is built and counted once by each tool (about an hour on two cores).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUR_GET_FLOPS = REPO / "tools" / "analysis_tools" / "get_flops.py"
SUMMARY_KEYS = ("Input shape:", "Model Flops:", "Model Parameters:")
WIDE_ENV = {"COLUMNS": "400", "PYTHONWARNINGS": "ignore"}

# Runs MMYOLO's get_flops.py as __main__ once per config, in one process (importing mmdet costs
# seconds), after putting a placeholder in place of mmcv's compiled ops; writes what each run
# printed to CACHE/<name>.json. Kept independent of complexity on purpose: the reference run must
# not depend on the code it checks.
REFERENCE_LAUNCHER = r"""
import contextlib, importlib.machinery, io, json, pathlib, runpy, sys, traceback, types
ext = types.ModuleType("mmcv._ext")
ext.__spec__ = importlib.machinery.ModuleSpec("mmcv._ext", None)
def _missing(name):
    if name.startswith("__"):
        raise AttributeError(name)
    def op(*args, **kwargs):
        raise RuntimeError(f"mmcv compiled op {name!r} is not installed")
    return op
ext.__getattr__ = _missing
sys.modules["mmcv._ext"] = ext
script, cache, jobs = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
for config, name in zip(jobs[::2], jobs[1::2]):
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = [script, config]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    record = {"stdout": out.getvalue(), "stderr": err.getvalue(), "returncode": code}
    (cache / (name.replace("/", "__") + ".json")).write_text(json.dumps(record))
    print(name, code, flush=True)
"""


@dataclass
class Printed:
    """What one get_flops run printed, reduced to what is compared."""

    returncode: int
    rows: list[tuple[str, ...]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    error: str = ""
    same_model_as: str = ""  # MMYOLO's output shared with this config (same model dict)

    @property
    def ran(self) -> bool:
        return self.returncode == 0 and len(self.summary) == len(SUMMARY_KEYS)

    @classmethod
    def parse(cls, stdout: str, stderr: str, returncode: int) -> Printed:
        return cls(
            returncode=returncode,
            rows=table_rows(stdout),
            summary=summary_lines(stdout),
            error="" if returncode == 0 else last_error_line(stderr or stdout),
        )


def table_rows(text: str) -> list[tuple[str, ...]]:
    """The cells of every table row, whatever the border style (ASCII, markdown, box)."""
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(("|", "│", "┃")):
            continue
        cells = tuple(cell.strip() for cell in stripped.strip("|│┃").replace("│", "|").split("|"))
        if all(set(cell) <= set("-:=+ ─━") for cell in cells):
            continue  # a rule between header and body
        rows.append(cells)
    return rows


def summary_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(SUMMARY_KEYS)]


def last_error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def installed_mmyolo() -> Path:
    spec = importlib.util.find_spec("mmyolo")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "error: mmyolo is not installed; install the OpenMMLab stack: "
            'pip install -e ".[openmmlab]"'
        )
    return Path(spec.origin).parent / ".mim"


def config_paths(root: Path, only: list[str]) -> list[Path]:
    paths = sorted(
        path for path in root.rglob("*.py")
        if "_base_" not in path.relative_to(root).parts and "__pycache__" not in path.parts
    )  # fmt: skip
    if only:
        paths = [p for p in paths if any(s in str(p.relative_to(root)) for s in only)]
    return paths


def cache_file(cache: Path, name: str) -> Path:
    return cache / (name.replace("/", "__") + ".json")


def model_key(path: Path) -> str:
    """What MMYOLO's get_flops output depends on in a config: its ``model`` dict and default
    scope (the rest is data, schedules and hooks). A config that does not load is its own key."""
    from mmengine import Config

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            cfg = Config.fromfile(str(path))
        return json.dumps(
            [cfg.get("default_scope"), cfg.to_dict().get("model")], sort_keys=True, default=str
        )
    except Exception:
        return str(path)


def run_references(jobs: list[tuple[Path, str]], get_flops: Path, cache: Path) -> None:
    """MMYOLO's get_flops on every job not yet in ``cache``, in one child process.

    Configs whose ``model`` dict (and default scope) equals one already run share its output
    (the mask-refine configs, training-length variants...): the record says which it copies.
    """
    cache.mkdir(parents=True, exist_ok=True)
    first_of: dict[str, str] = {}
    copies: dict[str, str] = {}
    missing = []
    for path, name in jobs:
        key = model_key(path)
        if key in first_of:
            copies[name] = first_of[key]
            continue
        first_of[key] = name
        if not cache_file(cache, name).exists():
            missing.append((path, name))
    if missing:
        flat = [str(item) for path, name in missing for item in (path, name)]
        env = {**os.environ, **WIDE_ENV}
        command = [sys.executable, "-c", REFERENCE_LAUNCHER, str(get_flops), str(cache), *flat]
        subprocess.run(command, env=env, check=False, cwd=REPO)
    for name, source in copies.items():
        if cache_file(cache, source).exists() and not cache_file(cache, name).exists():
            record = json.loads(cache_file(cache, source).read_text())
            record["same_model_as"] = source
            cache_file(cache, name).write_text(json.dumps(record))


def reference(cache: Path, name: str) -> Printed:
    path = cache_file(cache, name)
    if not path.exists():
        return Printed(returncode=-1, error="MMYOLO's get_flops did not finish")
    record = json.loads(path.read_text())
    printed = Printed.parse(record["stdout"], record["stderr"], record["returncode"])
    printed.same_model_as = record.get("same_model_as", "")
    return printed


def ours(config: Path, builder: str) -> Printed:
    """Our get_flops.py on ``config`` under ``builder``, in this process (its ``main``)."""
    spec = importlib.util.spec_from_file_location("complexity_get_flops", OUR_GET_FLOPS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = module.main([str(config), "--builder", builder])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception as error:  # a crash is a finding to report, not a reason to stop
            code, err = 1, io.StringIO(f"{type(error).__name__}: {error}")
    return Printed.parse(out.getvalue(), err.getvalue(), code or 0)


# What a failed MMYOLO run lacked, from its last error line -> what docs/zoo.md says it needs.
NEEDS = {
    "has no attribute 'model'": "not a model config (deployment or test-time settings)",
    "mmrazor": "mmrazor",
    "FpnTeacherDistill": "mmrazor (FpnTeacherDistill)",
    "mmcls": "mmpretrain (mmcls)",
    "mmrotate": "mmrotate",
    "mmpose": "mmpose",
}


def needs(error: str) -> str:
    """What a config MMYOLO's get_flops cannot run needs, or the error itself."""
    return next((need for clue, need in NEEDS.items() if clue in error), error)


def verdict(mine: Printed, theirs: Printed) -> str:
    if not mine.ran:
        return f"fails: {mine.error}"
    if not theirs.ran:
        return "runs"
    if mine.summary != theirs.summary:
        return f"differs: {mine.summary} vs {theirs.summary}"
    if mine.rows != theirs.rows:
        diffs = [(a, b) for a, b in zip(mine.rows, theirs.rows, strict=False) if a != b]
        if not diffs:
            return f"differs: {len(mine.rows)} rows vs {len(theirs.rows)}"
        return f"differs: {len(diffs)} rows, first {diffs[0][0]} vs {diffs[0][1]}"
    return "equal"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=Path, help="MMYOLO's configs/ (default: the wheel's)")
    parser.add_argument("--mmyolo-get-flops", type=Path, help="MMYOLO's get_flops.py")
    parser.add_argument("--builders", nargs="*", default=["zoo", "openmmlab"])
    parser.add_argument("--cache", type=Path, help="keep MMYOLO's outputs here between runs")
    parser.add_argument("--only", nargs="*", default=[], help="configs whose path contains one")
    parser.add_argument("--markdown", type=Path, help="also write the per-config table here")
    args = parser.parse_args(argv)

    mim = None if args.configs and args.mmyolo_get_flops else installed_mmyolo()
    root = args.configs or mim / "configs"
    get_flops = args.mmyolo_get_flops or mim / "tools" / "analysis_tools" / "get_flops.py"
    jobs = [(path, str(path.relative_to(root))) for path in config_paths(root, args.only)]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch)
        run_references(jobs, get_flops, cache)
        counts = {"configs": len(jobs), "mmyolo runs": 0}
        counts.update({f"{b} equal": 0 for b in args.builders})
        header = ["config", "MMYOLO's get_flops", *args.builders]
        lines = ["| " + " | ".join(header) + " |", "|" + " :--- |" * len(header)]
        for path, name in jobs:
            theirs = reference(cache, name)
            counts["mmyolo runs"] += theirs.ran
            cells = ["runs" if theirs.ran else f"needs {needs(theirs.error)}"]
            if theirs.same_model_as:
                cells[0] += f" (same model as {theirs.same_model_as})"
            for builder in args.builders:
                cells.append(verdict(ours(path, builder), theirs))
                counts[f"{builder} equal"] += theirs.ran and cells[-1] == "equal"
            lines.append(f"| {name} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
            print(lines[-1], flush=True)
    summary = ", ".join(f"{key}: {value}" for key, value in counts.items())
    print(f"{summary} ({time.monotonic() - started:.0f} s)")
    if args.markdown:
        args.markdown.write_text("\n".join([*lines, "", summary, ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
