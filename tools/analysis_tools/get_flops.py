"""MMYOLO's tools/analysis_tools/get_flops.py, same arguments and output, on complexity.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--show-arch]
        [--not-show-table] [--cfg-options key=value ...] [--training-form]
        [--builder auto|openmmlab|zoo]

Like MMYOLO's script, it counts the model in deploy form (`switch_to_deploy`: RepVGG-style
blocks fused into single convs) and says so when something was fused; --training-form
counts the model as trained instead.

Prints the per-module markdown table, with --show-arch the model printout with
`#params, #flops, #acts` under each module, the convention the numbers follow, the
operators that ran uncounted, then the summary block: the sections of `complexity analyze`,
from the same library functions (complexity.render).
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
    parser.add_argument(
        "--all-uncounted",
        action="store_true",
        help="list every uncounted operator and where it ran",
    )
    parser.add_argument(
        "--training-form",
        action="store_true",
        help="count the model as trained: do not fuse RepVGG-style blocks (switch_to_deploy)",
    )
    parser.add_argument(
        "--builder",
        choices=("auto", "openmmlab", "zoo"),
        default="auto",
        help="openmmlab: the installed mmyolo registry builds the model (custom_imports "
        "included); zoo: complexity.zoo; auto: openmmlab when the config's default_scope "
        "package imports",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from complexity.analyzer import AnalysisError
    from complexity.render import RenderOptions, print_sections, report_sections
    from complexity.targets import (
        TargetError,
        TargetSpec,
        load_and_analyze,
        parse_cfg_options,
        parse_shape,
    )

    try:
        shape = parse_shape(["x".join(str(n) for n in args.shape)])
        options = parse_cfg_options(args.cfg_options)
        spec = TargetSpec(
            args.config, shape, options, training_form=args.training_form, builder=args.builder
        )
        loaded, report = load_and_analyze(spec, "fvcore")
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, (TargetError, AnalysisError)):
            message, code = str(error), 2 if isinstance(error, TargetError) else 1
        else:
            lines = str(error).strip().splitlines()
            message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
            code = 1
        print(f"error: {message}", file=sys.stderr)
        return code
    options = RenderOptions(
        table=not args.not_show_table,
        markdown=True,
        arch=args.show_arch,
        all_uncounted=args.all_uncounted,
        convention_option="complexity analyze --convention",  # this script takes no --convention
    )
    built_by = str(loaded.built_by) if loaded.built_by is not None else None
    print_sections(
        report_sections(report, options, loaded.input_label, loaded.notes, built_by=built_by)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
