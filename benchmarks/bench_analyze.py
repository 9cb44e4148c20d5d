"""How long and how much memory an analysis costs, against a forward pass and the peers.

    python benchmarks/bench_analyze.py            # RTMDet-s at 640, Llama-2-7B shapes, a ViT
    python benchmarks/bench_analyze.py --runs 7   # more runs per median
    python benchmarks/bench_analyze.py --runs 1 --cases vit-small --skip-commands  # smoke run

Everything is measured in this one run on this machine: medians of `--runs` timings of
  forward          one plain forward under no_grad, on CPU
  complexity       our default analysis (traced on meta): trace, counts, table rendered
  complexity real  the same on the real tensors (`analyze(..., meta=False)`)
  fvcore           FlopCountAnalysis + ActivationCountAnalysis + flop_count_table
  mmengine         mmengine.analysis.get_model_complexity_info (what MMYOLO's get_flops runs)
  ptflops / thop / FlopCounterMode, when installed (hook/dispatch based, other numbers)
Cases: `rtmdet_s` (640x640, the seed's), `llama7b` (the whole Llama-2-7B shape at 4096
tokens, built on meta: 27 GB of fp32 weights, so only the meta path can run it),
`llama7b_2l` (the 7B widths, 2 layers, 128 tokens: small enough for every contender) and
`vit`. Then peak extra memory (RSS, each in a fresh process), whole-command times with
their peak RSS (RTMDet-s on both paths, the seed's mmengine path, the Llama-2 7B and 70B
example files, `--help`) and the time to build RTMDet-x on meta and on cpu. Prints only;
asserts nothing.
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
RTMDET_X = REPO / "configs/rtmdet/rtmdet_x_syncbn_fast_8xb32-300e_coco.py"
META_ONLY = {"llama7b"}  # too big for this machine's RAM: meta path only


def build(name: str):
    """(model in eval mode, inputs) for a benchmark case."""
    import torch

    torch.manual_seed(0)
    if name == "rtmdet_s":
        from mmengine.config import Config

        from complexity.zoo import build_model, example_inputs

        model = build_model(Config.fromfile(str(RTMDET_S)).model).eval()
        return model, example_inputs(model, (640, 640))
    if name in ("llama7b", "llama7b_2l"):
        sys.path.insert(0, str(REPO / "examples"))
        import dataclasses

        from llama import LLAMA2_7B, SEQUENCE, Llama

        if name == "llama7b":
            with torch.device("meta"):
                return Llama(LLAMA2_7B).eval(), torch.randint(0, LLAMA2_7B.vocab, (1, SEQUENCE))
        shape = dataclasses.replace(LLAMA2_7B, layers=2)
        return Llama(shape).eval(), torch.randint(0, shape.vocab, (1, 128))
    if name == "vit":
        sys.path.insert(0, str(REPO))
        from examples.transformer import PatchTransformer

        return PatchTransformer(dim=384, depth=12).eval(), torch.rand(1, 3, 224, 224)
    if name == "vit-small":  # the smoke run's case: every contender, a fraction of the time
        sys.path.insert(0, str(REPO))
        from examples.transformer import PatchTransformer

        return PatchTransformer(dim=96, depth=2).eval(), torch.rand(1, 3, 64, 64)
    raise ValueError(name)


def median_time(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (all threads of this process) of `runs`.

    CPU seconds are the work done, whatever else shares the machine; wall seconds include
    waiting for a core when the machine is busy.
    """
    function()  # warm-up: first-call allocations and lazy imports
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus)


def quiet(function: Callable[[], object]) -> Callable[[], object]:
    """The peers log warnings for every unsupported op; keep the benchmark output readable."""

    def run() -> object:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return function()

    return run


def contenders(
    model, inputs, meta_only: bool = False, hook_peers: bool = True
) -> dict[str, Callable[[], object]]:
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

    def ours(meta: bool | None = None) -> object:
        report = analyze(model, inputs, meta=meta)
        console = Console(file=io.StringIO(), width=200)
        print_sections(report_sections(report, RenderOptions(), "benchmark"), console)
        return console.file.getvalue()  # type: ignore[attr-defined]

    if meta_only:
        return {"complexity": ours}

    def fvcore() -> object:
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, flop_count_table

        flops = FlopCountAnalysis(model, inputs)
        acts = ActivationCountAnalysis(model, inputs)
        return flop_count_table(flops, activations=acts)

    def mmengine() -> object:
        from mmengine.analysis import get_model_complexity_info

        return get_model_complexity_info(model, inputs=inputs, show_table=True, show_arch=False)

    runners = {"forward": forward, "complexity": ours, "complexity real": lambda: ours(False)}
    runners["fvcore"] = quiet(fvcore)
    runners["mmengine"] = quiet(mmengine)
    if not hook_peers:
        return runners
    with contextlib.suppress(ImportError):
        from ptflops import get_model_complexity_info as ptflops_info

        if inputs.is_floating_point():  # ptflops builds a float input from the shape
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
    if case not in META_ONLY:
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


def command_time(argv: list[str], runs: int) -> tuple[float, float, float]:
    """Median wall and CPU seconds, and the largest peak RSS (MiB), of a whole command."""
    times, cpus, peaks = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
        process.stderr.close()
        peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times), statistics.median(cpus), max(peaks)


def build_time(config: Path, device: str, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds to build a config's model on `device` (meta: no initialisation)."""
    import torch
    from mmengine.config import Config

    from complexity.zoo import build_model

    model_cfg = Config.fromfile(str(config)).model

    def build_once() -> object:
        with torch.device(device):
            return build_model(model_cfg).eval()

    return median_time(build_once, runs)


def identical_numbers(model, inputs) -> str:
    """Totals on the meta path against the real path and fvcore: the seed's numbers."""
    from fvcore.nn import FlopCountAnalysis, parameter_count

    from complexity.analyzer import analyze

    on_meta, real = analyze(model, inputs), analyze(model, inputs, meta=False)
    flops = quiet(lambda: FlopCountAnalysis(model, inputs).total())()
    same = on_meta.by_module("flops") == real.by_module("flops")
    return (
        f"meta {on_meta.total('flops'):,} flops / {on_meta.total('params'):,} params, "
        f"real {real.total('flops'):,}, fvcore {flops:,} / {parameter_count(model)['']:,}; "
        f"every module equal on both paths: {same}"
    )


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
    parser.add_argument(
        "--cases",
        nargs="*",
        default=["rtmdet_s", "llama7b", "llama7b_2l", "vit"],
        help="in-process cases (none: whole commands only)",
    )
    parser.add_argument(
        "--no-hook-peers", action="store_true", help="skip ptflops, thop and FlopCounterMode"
    )
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
    with open("/proc/loadavg") as stream:
        load = stream.read().split()[0]
    print(f"medians of {args.runs} runs; load average {load} at start\n")
    for case in args.cases:
        model, inputs = build(case)
        runners = contenders(
            model, inputs, meta_only=case in META_ONLY, hook_peers=not args.no_hook_peers
        )
        measured = {name: median_time(f, args.runs) for name, f in runners.items()}
        times = {name: wall for name, (wall, _) in measured.items()}
        ours = times["complexity"]
        print(f"== {case}, input {list(inputs.shape)} {inputs.dtype}")
        if case in META_ONLY:
            wall, cpu = measured["complexity"]
            print(f"  complexity (meta)  {wall:8.3f} s wall  {cpu:8.3f} s CPU")
            print("  (forward, real path and peers: the weights do not fit in this machine's RAM)")
            print(f"  peak extra RSS: complexity {peak_extra(case, 'analyze'):.0f} MiB\n")
            continue
        forward, forward_cpu = measured["forward"]
        print(f"  {'':<16} {'wall s':>8}  {'x fwd':>6}  {'CPU s':>8}  {'x fwd':>6}")
        for name, (wall, cpu) in measured.items():
            print(
                f"  {name:<16} {wall:8.3f}  {wall / forward:6.2f}  {cpu:8.3f}  "
                f"{cpu / forward_cpu:6.2f}"
            )
        ours_cpu, fvcore_cpu = measured["complexity"][1], measured["fvcore"][1]
        print(
            f"  complexity / fvcore   = {ours / times['fvcore']:.3f} wall, "
            f"{ours_cpu / fvcore_cpu:.3f} CPU"
        )
        print(f"  complexity / mmengine = {ours / times['mmengine']:.3f} wall")
        print(
            f"  complexity / forward  = {ours / forward:.3f} wall, {ours_cpu / forward_cpu:.3f} CPU"
        )
        print(f"  complexity real / forward = {times['complexity real'] / forward:.2f} wall")
        if case == "rtmdet_s":
            print(f"  numbers: {identical_numbers(model, inputs)}")
        forward_mb, ours_mb = peak_extra(case, "forward"), peak_extra(case, "analyze")
        print(f"  peak extra RSS: forward {forward_mb:.0f} MiB, complexity {ours_mb:.0f} MiB\n")

    if args.skip_commands:
        return
    runs = max(3, args.runs // 2)
    print(f"== building RTMDet-x for analysis, medians of {runs}")
    for device in ("meta", "cpu"):
        wall, cpu = build_time(RTMDET_X, device, runs)
        print(f"  on {device:<5} {wall:6.3f} s wall  {cpu:6.3f} s CPU")
    print()
    cli = [sys.executable, "-m", "complexity.cli.main", "analyze"]
    commands = {
        "complexity analyze rtmdet_s": [*cli, str(RTMDET_S)],
        "  ... --device cpu": [*cli, str(RTMDET_S), "--device", "cpu"],
        "seed path (mmengine get_flops)": [sys.executable, "-c", SEED_PATH, str(RTMDET_S)],
        "complexity analyze examples/llama.py": [*cli, "examples/llama.py"],
        "complexity analyze examples/llama_70b.py": [*cli, "examples/llama_70b.py"],
        "complexity --help": [sys.executable, "-m", "complexity.cli.main", "--help"],
    }
    print(f"== whole commands (process start to exit), medians of {runs}")
    print(f"  {'':<42} {'wall s':>7} {'CPU s':>7} {'peak RSS':>9}")
    for label, argv in commands.items():
        wall, cpu, peak = command_time(argv, runs)
        print(f"  {label:<42} {wall:7.2f} {cpu:7.2f} {peak:5.0f} MiB")


if __name__ == "__main__":
    main()
