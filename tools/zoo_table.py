"""Print docs/zoo.md's reference rows: params and FLOPs of configs, as MMYOLO's get_flops counts.

    python tools/zoo_table.py configs/yolov5/*.py

Each config is built, switched to its deploy form and traced once at 640x640 (fvcore
convention, what MMYOLO's model-zoo table reports); one markdown row per config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="MMYOLO-format config files")
    parser.add_argument("--shape", type=int, default=640, help="square input size (default 640)")
    args = parser.parse_args(argv)

    from complexity.analyzer import analyze
    from complexity.targets import TargetError, TargetSpec, load_target

    print("| config | params | params (M) | FLOPs | FLOPs (G) |")
    print("| :--- | ---: | ---: | ---: | ---: |")
    for config in args.configs:
        try:
            loaded = load_target(TargetSpec(config, (args.shape, args.shape)))
        except TargetError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        report = analyze(loaded.model, loaded.inputs)
        params, flops = report.total("params"), report.total("flops")
        name = Path(config).stem
        print(f"| {name} | {params:,} | {params / 1e6:.2f} | {flops:,} | {flops / 1e9:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
