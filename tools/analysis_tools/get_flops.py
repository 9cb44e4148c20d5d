"""MMYOLO's tools/analysis_tools/get_flops.py, same arguments and output, on complexity.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--show-arch]
        [--not-show-table] [--cfg-options key=value ...]

Prints the per-module markdown table, with --show-arch the model printout with
`#params, #flops, #acts` under each module, the convention the numbers follow, then the
summary block.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Get a detector flops")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--shape", type=int, nargs="+", default=[640, 640], help="input image size")
    parser.add_argument(
        "--show-arch",
        action="store_true",
        help="whether return the statistics in the form of network layers",
    )
    parser.add_argument(
        "--not-show-table",
        action="store_true",
        help="whether return the statistics in the form of table",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        default=None,
        help="override some settings in the used config, the key-value pair in xxx=yyy format will be merged into config file",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from complexity.cli.command import describe_failure
    from complexity.cli.devices import load_and_analyze
    from complexity.cli.loading import parse_cfg_options, parse_shape
    from complexity.cli.render import markdown_table, summary_lines
    from complexity.cli.rows import arch_lines, table_rows

    try:
        shape = parse_shape([str(n) for n in args.shape])
        if len(args.shape) > 2:
            raise ValueError("invalid input shape")
        options = parse_cfg_options(args.cfg_options)
        loaded, report = load_and_analyze(args.config, shape, options, "fvcore")
    except Exception as error:
        if args.debug:
            raise
        message, code = describe_failure(error)
        print(f"error: {message}", file=sys.stderr)
        return code
    if not args.not_show_table:
        print("\n" + markdown_table(table_rows(report)))
    if args.show_arch:
        print("\n" + "\n".join(arch_lines(report)))
    print(f"convention: {report.convention_summary}")
    print("\n".join(report.footer_lines()))
    for note in loaded.notes:
        print(f"{'=' * 30}\n{note}")
    print("\n".join(summary_lines(report, loaded.input_label)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
