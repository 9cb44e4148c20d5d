"""The `--train-step` section: forward, backward and their sum per module, and the rules of
thumb beside them for token models (6·N, PaLM's 6·N + 12·L·H·Q·T)."""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from complexity.analyzer import Report

from .fit import Column, FittedTable
from .formatting import format_size
from .memory_and_time import format_bytes

SPLIT_LINE = "=" * 30


@dataclass(frozen=True)
class TransformerShape:
    """What PaLM's attention term needs: layers L, query heads H, head dim Q (config.json)."""

    layers: int
    heads: int
    head_dim: int


def _ratio(backward: int, forward: int) -> str:
    return f"{backward / forward:.2f}" if forward else "-"


TRAINING_TITLE = "Training step (loss = sum of the outputs)"


def training_rows(report: Report, depth: int) -> tuple[list[str], list[tuple[int, str, list[str]]]]:
    """(headers after `module`, one (depth, name, cells) per module to `depth`): what the
    terminal's training table and the HTML page's both show (a column added here shows in
    both)."""
    headers = ["forward", "backward", "train step", "bwd/fwd"]
    forward = report.inclusive["flops"]
    backward = report.inclusive["backward_flops"]
    rows = []
    for position, info in enumerate(report.modules):
        if info.depth > depth:
            continue
        cells = [
            format_size(forward[position]),
            format_size(backward[position]),
            format_size(forward[position] + backward[position]),
            _ratio(backward[position], forward[position]),
        ]
        rows.append((info.depth, info.name or "model", cells))
    return headers, rows


FLOPS_HEADERS = ("forward", "backward", "train step", "bwd/fwd")


def training_table(report: Report, depth: int) -> FittedTable:
    """Module, forward, backward, forward + backward and backward / forward, to `depth`.
    On a narrow terminal, columns beyond the flops (bytes) go into a second table keyed by
    module, every number whole."""
    headers, rows = training_rows(report, depth)
    columns = [
        Column(header, [cells[n] for _, _, cells in rows], group=int(header not in FLOPS_HEADERS))
        for n, header in enumerate(headers)
    ]
    names = [name.rsplit(".", 1)[-1] or "model" for _, name, _ in rows]
    indents = [2 * module_depth for module_depth, _, _ in rows]
    return FittedTable(
        "module", names, columns, indents=indents, title=TRAINING_TITLE, box=box.ASCII2
    )


def training_lines(
    report: Report,
    tokens: tuple[int, int] | None = None,
    shape: TransformerShape | None = None,
    embedding_params: int = 0,
) -> list[str]:
    """The step's totals, what trains, what the backward left out; per token for LMs."""
    step = report.train_step
    assert step is not None
    forward, backward = report.total("flops"), report.total("backward_flops")
    total_params = report.total("params")
    trainable = report.trainable_params or 0
    frozen = f" (frozen: {', '.join(step.freeze)})" if step.freeze else ""
    unit = report.unit_label
    lines = [
        SPLIT_LINE,
        f"Backward {unit}: {format_size(backward)} ({_ratio(backward, forward)} x forward)",
        f"Train step {unit}: {format_size(forward + backward)} (forward + backward, one step)",
        f"Trainable Parameters: {format_size(trainable)} of {format_size(total_params)}{frozen}",
    ]
    if tokens is not None:
        batch, seq_len = tokens
        count = batch * seq_len
        per_token = format_size(round((forward + backward) / count))
        lines.append(f"Train {unit} per token: {per_token}")
        params = total_params - embedding_params
        # The rules count flops, 2 per multiply-add; fvcore and macs count multiply-adds.
        per_flop = report.flops_per_multiply_add / 2
        unit = "" if per_flop == 1 else " as multiply-adds (flops / 2)"
        lines.append(
            f"  6·N{unit}: {format_size(round(6 * params * per_flop))} "
            f"(N = {format_size(params)} parameters outside the input embedding)"
        )
        if shape is not None:
            attention = 12 * shape.layers * shape.heads * shape.head_dim * seq_len
            palm = round((6 * params + attention) * per_flop)
            lines.append(
                f"  6·N + 12·L·H·Q·T{unit}: {format_size(palm)} (PaLM, appendix B: "
                f"L={shape.layers}, H={shape.heads}, Q={shape.head_dim}, T={seq_len})"
            )
    memory = report.train_memory
    if memory is not None:
        amp = ", fp32 master weights (--amp)" if step.amp else ""
        lines += [
            f"Training memory ({step.optimizer}{amp}): parameters "
            f"{format_bytes(memory.param_bytes)}, gradients {format_bytes(memory.grad_bytes)}, "
            f"optimizer state {format_bytes(memory.optimizer_state_bytes + memory.master_weight_bytes)}",
            f"  saved for the backward: {format_bytes(memory.saved_activation_bytes)}; "
            f"peak of the step about {format_bytes(memory.peak_estimate)} "
            "(docs/memory.md: what it leaves out)",
        ]
    if report.uncounted_backward:
        calls = sum(op.count for op in report.uncounted_backward)
        names = ", ".join(f"{op.op} x{op.count}" for op in report.uncounted_backward[:5])
        more = len(report.uncounted_backward) - 5
        lines.append(
            f"Not counted in the backward ({calls} calls, no backward rule): {names}"
            + (f", +{more} more" if more > 0 else "")
        )
    lines.append(SPLIT_LINE)
    return lines


def training_section(
    report: Report,
    depth: int,
    tokens: tuple[int, int] | None = None,
    shape: TransformerShape | None = None,
    embedding_params: int = 0,
) -> RenderableType:
    return Group(
        training_table(report, min(depth, 2)),
        Text("\n".join(training_lines(report, tokens, shape, embedding_params))),
    )
