"""Whole-command time of RTMDet-s under each config builder, and what importing OpenMMLab costs.

    python benchmarks/bench_builders.py [--runs 3]

Each figure is the median wall time of `--runs` fresh processes (imports included, as a user
waits for them), printed beside the machine's load average; the ratios are against the zoo
builder and against a bare `import torch`, measured in the same run. Needs mmyolo for the
openmmlab rows (`pip install -e ".[openmmlab]"`); they are skipped, and said so, without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTMDET_S = "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
# Imports as the openmmlab builder does them: mmcv's compiled ops stood in for if missing.
PLACEHOLDER = "from complexity.targets.mmcv_ops import compiled_ops_placeholder as p\n"


def _imports(statement: str) -> list[str]:
    return [sys.executable, "-c", f"{PLACEHOLDER}with p():\n    {statement}"]


def _median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="processes per figure (median)")
    args = parser.parse_args(argv)
    analyze = [sys.executable, "-m", "complexity.cli.entry", "analyze", RTMDET_S]
    cases = {
        "import torch": _imports("import torch"),
        "import mmdet.models": _imports("import mmdet.models"),
        "import mmyolo.models": _imports("import mmyolo.models"),
        "analyze RTMDet-s --builder zoo": [*analyze, "--builder", "zoo"],
        "analyze RTMDet-s --builder openmmlab": [*analyze, "--builder", "openmmlab"],
    }
    has_mmyolo = importlib.util.find_spec("mmyolo") is not None
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[str, float] = {}
    for name, command in cases.items():
        if ("mm" in name or "openmmlab" in name) and not has_mmyolo:
            print(f"{name:40s} skipped: mmyolo is not installed")
            continue
        results[name] = _median_seconds(command, args.runs)
        line = f"{name:40s} {results[name]:6.2f} s"
        if name != "import torch":
            line += f"  ({results[name] / results['import torch']:.1f}x import torch)"
        if "openmmlab" in name:
            zoo = results["analyze RTMDet-s --builder zoo"]
            line += f"  ({results[name] / zoo:.2f}x zoo, +{results[name] - zoo:.1f} s)"
        print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
