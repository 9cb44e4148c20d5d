"""Whole `complexity analyze CONFIG.json` commands on the shipped Hugging Face configs.

    python benchmarks/bench_llm_configs.py                 # every config at --seq-len 2048
    python benchmarks/bench_llm_configs.py --seq-len 128 --configs gpt2   # a smoke run
    python benchmarks/bench_llm_configs.py --decode 4000 --seq-len 512 --configs llama-2-70b

Each command runs in a fresh process; printed per command: exit code, wall seconds, user +
system CPU seconds (on a shared machine wall time includes waiting for a core), peak RSS of
that process (`wait4`'s ru_maxrss, what `/usr/bin/time -v` reports), and the summary's
parameters and flops. GPT-2 (1024 positions) and BERT-base (512) cannot take 2048 tokens:
their command is refused in one line, and the bench also runs them lengthened with
`--model-arg max_position_embeddings=N`. `--decode N` runs each causal LM's decode step
with N cached tokens instead (`--decode --context N --device-spec "H100 SXM"`, beside the
prefill of --seq-len tokens). Prints only; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = (
    "gpt2",
    "bert-base",
    "llama-2-7b",
    "llama-2-70b",
    "mistral-7b",
    "mixtral-8x7b",
    "falcon-7b",
)
CAUSAL = tuple(name for name in CONFIGS if name != "bert-base")
SHORT = {"gpt2": 1024, "bert-base": 512}  # their max_position_embeddings


def run(args: list[str]) -> dict[str, object]:
    """Run `complexity ARGS` in a fresh process: exit code, times, peak RSS, summary."""
    command = [sys.executable, "-m", "complexity.cli.main", *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    summary = dict(line.split(": ", 1) for line in stdout.splitlines() if line.startswith("Model "))
    return {
        "code": code,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "params": summary.get("Model Parameters", ""),
        "flops": summary.get("Model Flops") or summary.get("Model MACs", ""),
        "error": stderr.strip().splitlines()[-1] if code else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--convention", default="fvcore")
    parser.add_argument("--decode", type=int, metavar="CONTEXT", help="decode step, N cached")
    options = parser.parse_args()

    print("| command | exit | wall s | cpu s | peak RSS MB | params | flops |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for name in options.configs:
        base = ["analyze", f"examples/hf/{name}/config.json"]
        if options.convention != "fvcore":
            base += ["--convention", options.convention]
        variants = [[*base, "--seq-len", str(options.seq_len)]]
        limit = SHORT.get(name)
        if options.decode is not None:
            if name not in CAUSAL:
                continue
            decode = ["--decode", "--context", str(options.decode), "--device-spec", "H100 SXM"]
            variants = [[*variants[0], *decode, "--depth", "1"]]
        elif limit is not None and options.seq_len > limit:
            variants.append([*base, "--seq-len", str(limit)])
            variants.append(
                [
                    *base,
                    "--seq-len",
                    str(options.seq_len),
                    "--model-arg",
                    f"max_position_embeddings={options.seq_len}",
                ]
            )
        for args in variants:
            result = run(args)
            shown = " ".join(["complexity", *args])
            print(
                f"| `{shown}` | {result['code']} | {result['wall']:.1f} | {result['cpu']:.1f} "
                f"| {result['rss_mb']:.0f} | {result['params']} | {result['flops']} |"
            )
            if result["error"]:
                print(f"|   {result['error']} | | | | | | |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
