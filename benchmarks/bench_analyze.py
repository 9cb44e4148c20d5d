"""How long and how much memory an analysis costs, against a forward pass and the peers.

    python benchmarks/bench_analyze.py            # RTMDet-s at 640 and a ViT-style encoder
    python benchmarks/bench_analyze.py --runs 7   # more runs per median
    python benchmarks/bench_analyze.py --runs 1 --cases vit-small --skip-commands  # smoke run

Everything is measured in this one run on this machine: medians of `--runs` timings of
  forward      one plain forward under no_grad
  complexity   our full analysis: trace, counts, by-module rows, table rendered to text
  fvcore       FlopCountAnalysis + ActivationCountAnalysis + flop_count_table
  mmengine     mmengine.analysis.get_model_complexity_info (what MMYOLO's get_flops runs)
  ptflops / thop / FlopCounterMode, when installed (hook/dispatch based, other numbers)
then peak extra memory (RSS above the built model, each in a fresh process) of a forward
and of our analysis, whole-command times, and `complexity --help`. Prints only; asserts
nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTMDET_S = REPO / "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"


def build(name: str):
    """(model in eval mode, inputs) for a benchmark case."""
    import torch

    torch.manual_seed(0)
    if name == "rtmdet_s":
        from mmengine.config import Config

        from complexity.zoo import build_model, example_inputs

        model = build_model(Config.fromfile(str(RTMDET_S)).model).eval()
        return model, example_inputs(model, (640, 640))
    if name == "vit":
        sys.path.insert(0, str(REPO))
        from examples.transformer import PatchTransformer

        return PatchTransformer(dim=384, depth=12).eval(), torch.rand(1, 3, 224, 224)
    if name == "vit-small":  # the smoke run's case: every contender, a fraction of the time
        sys.path.insert(0, str(REPO))
        from examples.transformer import PatchTransformer

        return PatchTransformer(dim=96, depth=2).eval(), torch.rand(1, 3, 64, 64)
    raise ValueError(name)


def median_time(function: Callable[[], object], runs: int) -> float:
    function()  # warm-up: first-call allocations and lazy imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def quiet(function: Callable[[], object]) -> Callable[[], object]:
    """The peers log warnings for every unsupported op; keep the benchmark output readable."""

    def run() -> object:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return function()

    return run


def contenders(model, inputs) -> dict[str, Callable[[], object]]:
    import logging

    import torch
    from rich.console import Console

    from complexity.analyzer import analyze
    from complexity.render import RenderOptions, print_sections, report_sections

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    logging.getLogger("mmengine").setLevel(logging.ERROR)

    def forward() -> object:
        with torch.no_grad():
            return model(inputs)

    def ours() -> object:
        report = analyze(model, inputs)
        console = Console(file=io.StringIO(), width=200)
        print_sections(report_sections(report, RenderOptions(), "benchmark"), console)
        return console.file.getvalue()  # type: ignore[attr-defined]

    def fvcore() -> object:
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, flop_count_table

        flops = FlopCountAnalysis(model, inputs)
        acts = ActivationCountAnalysis(model, inputs)
        return flop_count_table(flops, activations=acts)

    def mmengine() -> object:
        from mmengine.analysis import get_model_complexity_info

        return get_model_complexity_info(model, inputs=inputs, show_table=True, show_arch=False)

    runners = {"forward": forward, "complexity": ours, "fvcore": quiet(fvcore)}
    runners["mmengine"] = quiet(mmengine)
    with contextlib.suppress(ImportError):
        from ptflops import get_model_complexity_info as ptflops_info

        shape = tuple(inputs.shape[1:])
        runners["ptflops"] = quiet(
            lambda: ptflops_info(model, shape, as_strings=False, print_per_layer_stat=False)
        )
    with contextlib.suppress(ImportError):
        import copy

        from thop import profile

        # thop leaves `total_ops` buffers on every module: give it its own copy.
        thop_model = copy.deepcopy(model)
        runners["thop"] = quiet(lambda: profile(thop_model, inputs=(inputs,), verbose=False))
    with contextlib.suppress(ImportError):
        from torch.utils.flop_counter import FlopCounterMode

        def flop_counter_mode() -> object:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(inputs)
            return counter.get_total_flops()

        runners["FlopCounterMode"] = flop_counter_mode
    return runners


def _rss_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(case: str, what: str) -> None:
    """In a fresh process: peak RSS growth (bytes) during one forward or one analysis.

    A thread samples the resident set every millisecond; the figure is its peak minus the
    resident set just before the call (model built and warmed up by one forward).
    """
    import threading

    import torch

    from complexity.analyzer import analyze

    model, inputs = build(case)
    with torch.no_grad():
        model(inputs)  # warm-up, so both measurements start from the same state
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    before = _rss_bytes()
    sampler = threading.Thread(target=sample)
    sampler.start()
    if what == "forward":
        with torch.no_grad():
            model(inputs)
    else:
        analyze(model, inputs)
    done.set()
    sampler.join()
    print(json.dumps({"extra_bytes": max(peak[0], _rss_bytes()) - before}))


def peak_extra(case: str, what: str) -> float:
    result = subprocess.run(
        [sys.executable, __file__, "--memory-child", case, what],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])["extra_bytes"] / 2**20


def command_time(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


SEED_PATH = """
import sys, torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from complexity.zoo import build_model, example_inputs
model = build_model(Config.fromfile(sys.argv[1]).model).eval()
inputs = example_inputs(model, (640, 640))
out = get_model_complexity_info(model, inputs=inputs, show_table=True, show_arch=False)
print(out['out_table']); print(out['flops_str'], out['params_str'])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timings per median (>= 5)")
    parser.add_argument("--cases", nargs="+", default=["rtmdet_s", "vit"])
    parser.add_argument(
        "--skip-commands", action="store_true", help="skip the whole-command timings"
    )
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return

    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    print(f"medians of {args.runs} runs, seconds\n")
    for case in args.cases:
        model, inputs = build(case)
        times = {name: median_time(f, args.runs) for name, f in contenders(model, inputs).items()}
        forward, ours = times["forward"], times["complexity"]
        print(f"== {case}, input {list(inputs.shape)}")
        for name, seconds in times.items():
            print(f"  {name:<16} {seconds:8.3f} s  {seconds / forward:6.2f}x forward")
        print(f"  complexity / fvcore   = {ours / times['fvcore']:.2f}")
        print(f"  complexity / mmengine = {ours / times['mmengine']:.2f}")
        print(f"  complexity / forward  = {ours / forward:.2f}")
        forward_mb, ours_mb = peak_extra(case, "forward"), peak_extra(case, "analyze")
        print(f"  peak extra RSS: forward {forward_mb:.0f} MiB, complexity {ours_mb:.0f} MiB\n")

    if args.skip_commands:
        return
    runs = max(3, args.runs // 2)
    ours_cli = command_time(
        [sys.executable, "-m", "complexity.cli.main", "analyze", str(RTMDET_S)], runs
    )
    seed_cli = command_time([sys.executable, "-c", SEED_PATH, str(RTMDET_S)], runs)
    help_time = command_time([sys.executable, "-m", "complexity.cli.main", "--help"], runs)
    print(f"== whole commands (process start to exit), medians of {runs}")
    print(f"  complexity analyze rtmdet_s      {ours_cli:6.2f} s")
    print(f"  seed path (mmengine get_flops)   {seed_cli:6.2f} s  ratio {ours_cli / seed_cli:.2f}")
    print(f"  complexity --help                {help_time:6.2f} s")


if __name__ == "__main__":
    main()
