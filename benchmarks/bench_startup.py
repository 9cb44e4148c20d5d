"""How long the command takes to start, fail and finish, against `import torch` in the same run.

    python benchmarks/bench_startup.py            # medians of 5
    python benchmarks/bench_startup.py --runs 9

Prints, each a fresh process, medians of `--runs` wall seconds and CPU seconds (user +
system of the process; steadier than wall while others load the machine):
  python -c "import torch"      the floor every analysis pays
  complexity --version          start-up with no torch
  complexity analyze MISSING    a usage error (found before torch)
  complexity analyze RTMDet-s   the whole seed command (zoo builder), and its phases in one process:
                                interpreter + CLI, import torch, build on meta (config,
                                zoo, preprocessor), analysis (trace and walk), render.
  the same, default builder     `auto`: mmyolo's registry builds it where mmyolo is installed,
                                which imports mmyolo, mmdet and what they import (--no-auto
                                leaves it out).
The goal (issue 22): the whole RTMDet-s command <= import torch + 0.8 s; the ratio and the
gap are printed. Prints only; asserts nothing. Report `uptime` beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTMDET_S = "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
COMPLEXITY = [sys.executable, "-m", "complexity.cli.entry"]

# One process, the library's calls in the command's order, each phase timed.
PHASES = """
import time
start = time.perf_counter()
import json, sys, io
import typer, rich.console
cli = time.perf_counter()
import torch
from complexity.analyzer import analyze
from complexity.analyzer.meta import conv_meta_reroute
from complexity.render import RenderOptions, print_sections, report_sections
imported = time.perf_counter()
from mmengine.config import Config
from complexity.zoo import build_model, example_inputs, switch_to_deploy
with torch.device("meta"), conv_meta_reroute():
    model = build_model(Config.fromfile(sys.argv[1]).model).eval()
    switch_to_deploy(model)
    inputs = example_inputs(model, (640, 640))
built = time.perf_counter()
report = analyze(model, inputs, meta=True)
analysed = time.perf_counter()
console = rich.console.Console(file=io.StringIO(), width=200)
print_sections(report_sections(report, RenderOptions(), "(1, 3, 640, 640)"), console)
rendered = time.perf_counter()
print(json.dumps({
    "interpreter, typer, rich": cli - start,
    "import torch (+ analyzer)": imported - cli,
    "build on meta": built - imported,
    "analysis": analysed - built,
    "render": rendered - analysed,
    "torch._dynamo imported": "torch._dynamo" in sys.modules,
    "sympy imported": "sympy" in sys.modules,
}))
"""


def timed(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `argv` (a fresh process each run), output discarded."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-auto", action="store_true", help="skip the default builder's row")
    options = parser.parse_args()
    runs = options.runs

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {runs}")
    rows = {
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        "complexity --version": [*COMPLEXITY, "--version"],
        "complexity analyze no/such/config.py": [*COMPLEXITY, "analyze", "no/such/config.py"],
        # The zoo builder: the goal's command (no OpenMMLab import to pay).
        "complexity analyze RTMDet-s --builder zoo": [
            *COMPLEXITY,
            "analyze",
            RTMDET_S,
            "--builder",
            "zoo",
        ],
    }
    if not options.no_auto:
        rows["complexity analyze RTMDet-s (auto)"] = [*COMPLEXITY, "analyze", RTMDET_S]
    times = {name: timed(argv, runs) for name, argv in rows.items()}
    print(f"{'':<42} {'wall s':>7} {'CPU s':>7}")
    for name, (wall, cpu) in times.items():
        print(f"{name:<42} {wall:7.2f} {cpu:7.2f}")
    torch_wall, torch_cpu = times['python -c "import torch"']
    for name in ("complexity analyze RTMDet-s --builder zoo", "complexity analyze RTMDet-s (auto)"):
        if name in times:
            wall, cpu = times[name]
            print(
                f"{name.removeprefix('complexity analyze ')}: whole - import torch = "
                f"{wall - torch_wall:.2f} s wall (goal <= 0.80 s), {cpu - torch_cpu:.2f} s CPU; "
                f"whole / import torch = {wall / torch_wall:.2f}"
            )

    phases = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", PHASES, RTMDET_S],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    print("RTMDet-s phases in one process (medians, wall s):")
    for name, value in phases[0].items():
        if isinstance(value, bool):
            print(f"  {name}: {any(p[name] for p in phases)}")
        else:
            print(f"  {name:<28} {statistics.median(p[name] for p in phases):6.2f} s")


if __name__ == "__main__":
    main()
