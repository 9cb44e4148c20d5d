"""What a model of many small modules costs: N Linear layers, ours against fvcore, one run.

    python benchmarks/bench_many_layers.py                 # 5,000 Linear(64, 64) layers
    python benchmarks/bench_many_layers.py --layers 20000 --runs 1

Each contender runs in a fresh process (so one's caches and imports do not help the
other), which builds `nn.Sequential` of N `Linear(64, 64)` on cpu and times, medians of
`--runs`:
  complexity   analyze(model, x): the default meta trace, counts and memory walk
  fvcore       FlopCountAnalysis(model, x).total() (its trace and counts)
(wall and CPU seconds: CPU time is steadier on a busy machine) and reports the peak RSS
the analyses added. Prints per-module figures (the ones
targets/size_guard.py estimates with) and the ratio; asserts nothing.
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

CHILD = "--child"


def _rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(contender: str, layers: int, runs: int) -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(64, 64) for _ in range(layers)]).eval()
    x = torch.rand(1, 64)
    if contender == "complexity":
        from complexity.analyzer import analyze

        analyze(nn.Linear(2, 2), torch.rand(1, 2))  # torch's one-off meta start-up, not ours

        def run() -> int:
            return analyze(model, x).total("flops")

    else:
        from fvcore.nn import FlopCountAnalysis

        def run() -> int:
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return int(analysis.total())

    before = _rss_mib()
    times, cpu_times, flops = [], [], 0
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        flops = run()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "cpu": statistics.median(cpu_times),
                "flops": flops,
                "rss": peak - before,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(CHILD, nargs=1, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child[0], options.layers, options.runs)
        return
    print(f"{options.layers:,} Linear(64, 64) layers, medians of {options.runs}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    results = {}
    for contender in ("complexity", "fvcore"):
        done = subprocess.run(
            [sys.executable, __file__, "--layers", str(options.layers), "--runs",
             str(options.runs), CHILD, contender],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[contender] = json.loads(done.stdout.strip().splitlines()[-1])
    modules = options.layers + 1
    for contender, result in results.items():
        print(
            f"{contender:<11} wall {result['seconds']:7.2f} s, CPU {result['cpu']:7.2f} s "
            f"({result['cpu'] / modules * 1e3:5.3f} ms/module)  peak extra RSS "
            f"{result['rss']:6.1f} MiB ({result['rss'] * 1024 / modules:4.1f} KiB/module)  "
            f"flops {result['flops']:,}"
        )
    ours, theirs = results["complexity"], results["fvcore"]
    print(
        f"complexity / fvcore: {ours['seconds'] / theirs['seconds']:.2f}x wall time, "
        f"{ours['cpu'] / theirs['cpu']:.2f}x CPU time"
    )


if __name__ == "__main__":
    main()
