"""How long the command takes to start, fail and finish, against `import torch` in the same run.

    python benchmarks/bench_startup.py            # medians of 5
    python benchmarks/bench_startup.py --runs 9

Prints, each a fresh process, medians of `--runs` wall seconds:
  python -c "import torch"      the floor every analysis pays
  complexity --version          start-up with no torch
  complexity analyze MISSING    a usage error (found before torch)
  complexity analyze RTMDet-s   the whole seed command (zoo builder), and its phases in one process:
                                interpreter + CLI, import torch, build on meta (config,
                                zoo, preprocessor), analysis (trace and walk), render.
The goal (issue 22): the whole RTMDet-s command <= import torch + 0.8 s; the ratio and the
gap are printed. Prints only; asserts nothing. Report `uptime` beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
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
}))
"""


def wall(argv: list[str], runs: int) -> float:
    """Median wall seconds of `argv` (a fresh process each run), output discarded."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {runs}")
    torch_only = wall([sys.executable, "-c", "import torch"], runs)
    version = wall([*COMPLEXITY, "--version"], runs)
    usage = wall([*COMPLEXITY, "analyze", "no/such/config.py"], runs)
    # The zoo builder: where mmyolo is installed, `auto` builds through OpenMMLab's registry,
    # whose imports (mmdet, mmyolo) cost seconds more and are not ours to speed up.
    whole = wall([*COMPLEXITY, "analyze", RTMDET_S, "--builder", "zoo"], runs)
    import_torch = 'python -c "import torch"'
    print(f"{import_torch:<40} {torch_only:6.2f} s")
    print(f"{'complexity --version':<40} {version:6.2f} s")
    print(f"{'complexity analyze no/such/config.py':<40} {usage:6.2f} s")
    print(f"{'complexity analyze RTMDet-s --builder zoo':<40} {whole:6.2f} s")
    print(
        f"whole - import torch = {whole - torch_only:.2f} s (goal <= 0.80 s); "
        f"whole / import torch = {whole / torch_only:.2f}"
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
    print("RTMDet-s phases in one process (medians):")
    for name in phases[0]:
        if name == "torch._dynamo imported":
            print(f"  {name}: {any(p[name] for p in phases)}")
        else:
            print(f"  {name:<28} {statistics.median(p[name] for p in phases):6.2f} s")


if __name__ == "__main__":
    main()
