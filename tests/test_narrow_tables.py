"""Every table at 80 columns: every number whole, no name broken mid-word.

For each kind of table (analyze with --memory / --device-spec / --decode / --train-step,
--by-operator, --all-uncounted, compare, sweep) the text rendered at 80 columns is parsed
back into its cells and held against the JSON export of the same analysis (or the report's
own integers): every number of every shown row must be in its row, whole, and every name
must read back as a real module or operator name, broken only after a `.` or at a space.
The expected cells are the exported integers written in the table's own units
(`format_size`, `format_bytes`, `format_seconds`): what is under test is the layout.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console
from torch import nn

from complexity.analyzer import analyze
from complexity.analyzer.datasheets import parse_device_spec
from complexity.render import RenderOptions, format_bytes, format_seconds, format_size
from complexity.render.exports import ExportContext, json_text
from complexity.render.terminal import report_sections

REPO = Path(__file__).resolve().parents[1]
WIDTH = 80
CUT = re.compile(r"[0-9]…|…[0-9]|…")  # what the before-stop hook counts, and any ellipsis


# ----------------------------------------------------------------- rendering and reading back


def rendered(renderables: list[Any] | Any, width: int = WIDTH) -> str:
    """What a terminal `width` columns wide shows (no colour)."""
    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    for renderable in renderables if isinstance(renderables, list) else [renderables]:
        console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def cli_text(monkeypatch: pytest.MonkeyPatch, width: int, *args: str) -> str:
    """`complexity ARGS` in-process, printed on a console `width` columns wide (what the
    command prints in a terminal that size; piped output is at least 200 wide)."""
    import complexity.render as render
    from complexity.cli.main import run as run_cli

    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    monkeypatch.setattr(render, "stdout_console", lambda: console)
    with pytest.raises(SystemExit) as stop:
        run_cli(list(args))
    assert stop.value.code == 0
    return console.file.getvalue()  # type: ignore[attr-defined]


def cli_json(tmp_path: Path, *args: str) -> dict[str, Any]:
    """The JSON export of `complexity ARGS` (a run of its own: nothing printed)."""
    from complexity.cli.main import run as run_cli

    path = tmp_path / "export.json"
    with pytest.raises(SystemExit) as stop:
        run_cli([*args, "--json", str(path)])
    assert stop.value.code == 0
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Row:
    name_lines: list[str]  # a folded name has several
    cells: list[str]
    indent: int = 0  # spaces before the name: 0 is the model's own row

    @property
    def name(self) -> str:
        """The name read back: lines joined as they were broken (after a dot, or after a
        `_` in a part too long for its column: nothing between; at a space: the space). A
        name broken mid-word reads back wrong."""
        return read_back(self.name_lines)


def read_back(lines: list[str]) -> str:
    name = lines[0]
    for line in lines[1:]:
        name += line if name.endswith((".", "_", ":")) else " " + line
    return name


@dataclass
class BoxTable:
    title: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)

    def cell(self, row: Row, header: str) -> str:
        return row.cells[self.headers.index(header) - 1]


_RULE = re.compile(r"^[┌├└+]")
_CONTENT = re.compile(r"^[│|]")


def box_tables(text: str) -> list[BoxTable]:
    """Every box table in `text` (rich's SQUARE or ASCII2 box), read back into cells."""
    lines = text.splitlines()
    tables: list[BoxTable] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith(("┌", "+-")):
            i += 1
            continue
        top = lines[i]
        title = lines[i - 1].strip() if i and not _CONTENT.match(lines[i - 1]) else ""
        cuts = [k for k, char in enumerate(top) if char in "┌┬┐+"]
        header_lines: list[list[str]] = []
        body: list[list[str]] = []
        indents: list[int] = []
        rules = 1
        i += 1
        while i < len(lines) and (_RULE.match(lines[i]) or _CONTENT.match(lines[i])):
            line = lines[i]
            if line.startswith("┌"):  # the next table
                break
            i += 1
            if _RULE.match(line):
                rules += 1
                if line.startswith("└"):
                    break
                continue
            raw = [line[a + 1 : b] for a, b in itertools.pairwise(cuts)]
            indent = len(raw[0]) - len(raw[0].lstrip()) - 1  # less the cell's padding
            cells = [cell.strip() for cell in raw]
            (header_lines if rules == 1 else body).append(cells)
            indents.append(indent)
        headers = [" ".join(h[c] for h in header_lines if h[c]) for c in range(len(cuts) - 1)]
        table = BoxTable(title, headers)
        for cells, indent in zip(body, indents[len(header_lines) :], strict=True):
            if table.rows and not any(cells[1:]):  # the rest of a folded name
                table.rows[-1].name_lines.append(cells[0])
            else:
                table.rows.append(Row([cells[0]], cells[1:], indent))
        tables.append(table)
    return tables


def assert_fits(text: str, width: int = WIDTH) -> None:
    """No line wider than the terminal, nothing cut with an ellipsis."""
    assert max(len(line) for line in text.splitlines()) <= width, text
    assert not CUT.findall(text), text


def module_rows(text: str) -> dict[str, dict[str, str]]:
    """Module (or parameter) name -> header -> cell, over every box table in `text` keyed
    by `module`; a module shown in two tables gets the cells of both. The model's own row
    is "" (a Hugging Face model also has a child named `model`)."""
    shown: dict[str, dict[str, str]] = {}
    for table in box_tables(text):
        if table.headers[0] != "module":
            continue
        for row in table.rows:
            cells = shown.setdefault(row.name if row.indent else "", {})
            for header, cell in zip(table.headers[1:], row.cells, strict=True):
                assert cells.get(header, cell) == cell, (row.name, header)
                cells[header] = cell
    return shown


def json_modules(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {module["name"]: module for module in data["modules"]}


def assert_module_cells(
    shown: dict[str, dict[str, str]],
    data: dict[str, Any],
    expected: dict[str, tuple[str, Any]],
) -> None:
    """Each shown module's cells are the export's numbers, whole: `expected` maps a header
    to (the JSON module's key, the unit's format). A cell may be blank where the table
    leaves it so: a zero parameter count (fvcore's rows), a module that never ran. Every
    shown name is a module of the export or one of its parameters."""
    modules = json_modules(data)
    checked = 0
    for name, cells in shown.items():
        if name not in modules:  # a parameter row: `owner.weight`, its cells its shape
            owner, _, parameter = name.rpartition(".")
            assert owner in modules and parameter.isidentifier(), name
            continue
        module = modules[name]
        for header, (key, write) in expected.items():
            cell = cells.get(header)
            blank_allowed = module[key] == 0 or not module.get("called", True)
            assert cell == write(module[key]) or (cell == "" and blank_allowed), (
                name, header, cells,
            )  # fmt: skip
            checked += 1
    assert checked >= len(expected)


def same(value: Any) -> str:
    return str(value)


SEED_CELLS = {
    "#parameters or shape": ("params", format_size),
    "#flops": ("flops", format_size),
    "#activations": ("activations", format_size),
}
MEMORY_CELLS = {
    "param bytes": ("param_bytes", format_bytes),
    "activation bytes": ("activation_bytes", format_bytes),
    "peak activation": ("peak_activation_bytes", format_bytes),
}
ROOFLINE_CELLS = {
    "roofline time": ("roofline_seconds", format_seconds),
    "bound": ("bound", same),
}


# ----------------------------------------------------------------- models with long names


class Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.projection_before_attention = nn.Linear(dim, dim)
        self.normalisation_after_projection = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalisation_after_projection(self.projection_before_attention(x))


class LongNames(nn.Module):
    """Module names of 40 to 60 characters, parts of up to 30: they must fold at dots."""

    def __init__(self, dim: int = 64, blocks: int = 2) -> None:
        super().__init__()
        self.encoder_stack_of_blocks = nn.ModuleList(Block(dim) for _ in range(blocks))
        self.language_model_head = nn.Linear(dim, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.encoder_stack_of_blocks:
            x = block(x)
        return self.language_model_head(x)


@pytest.fixture(scope="module")
def long_names_report() -> Any:
    return analyze(LongNames(), (torch.randn(1, 16, 64),), memory=True)


H100 = "H100 SXM"


# ----------------------------------------------------------------- analyze: the module table


def test_memory_and_roofline_columns_are_whole_at_80(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The before-stop hook's own command: nine columns do not fit 80, so the bytes and
    the roofline go into a second table keyed by module name, every cell whole."""
    args = ("analyze", "examples/small_cnn.py", "--memory", "--device-spec", H100)
    text = cli_text(monkeypatch, WIDTH, *args)
    data = cli_json(tmp_path, *args)
    assert_fits(text)
    tables = [t for t in box_tables(text) if t.headers[0] == "module"]
    assert len(tables) == 2
    shown = module_rows(text)
    assert_module_cells(shown, data, {**SEED_CELLS, **MEMORY_CELLS, **ROOFLINE_CELLS})
    # All nine modules' rows and every parameter row of the seed's table are there.
    assert len(tables[1].rows) == len(json_modules(data)) - 3  # relu, relu, flatten: no row
    assert {"0.weight", "8.bias"} <= shown.keys()


def test_device_spec_columns_and_long_names_at_80(long_names_report: Any) -> None:
    """--device-spec alone beside names up to 60 characters: names fold after a dot."""
    device = parse_device_spec(H100)
    options = RenderOptions(device=device)
    text = rendered(report_sections(long_names_report, options, "(1, 16, 64)"))
    data = json.loads(json_text(long_names_report, ExportContext(device=device)))
    assert_fits(text)
    shown = module_rows(text)
    assert_module_cells(shown, data, {**SEED_CELLS, **ROOFLINE_CELLS})
    assert "encoder_stack_of_blocks.1.normalisation_after_projection" in shown
    assert "language_model_head.weight" in shown
    folded = [row for table in box_tables(text) for row in table.rows if len(row.name_lines) > 1]
    assert folded and all(row.name_lines[0].endswith(".") for row in folded)


@pytest.mark.parametrize("width", [80, 100])
def test_module_names_fold_only_after_a_dot(long_names_report: Any, width: int) -> None:
    """`lm_head.weigh / t` no more: a long name breaks after one of its dots (where the
    numbers leave room for its longest part, 30 characters here)."""
    options = RenderOptions(memory=True)
    text = rendered(report_sections(long_names_report, options, "(1, 16, 64)"), width)
    data = long_names_report.to_dict()
    assert_fits(text, width)
    shown = module_rows(text)
    assert_module_cells(shown, data, {**SEED_CELLS, **MEMORY_CELLS})
    for table in box_tables(text):
        for row in table.rows:
            assert all(line.endswith(".") for line in row.name_lines[:-1]), row.name_lines
    assert any(len(row.name_lines) > 1 for table in box_tables(text) for row in table.rows)


def test_decode_columns_are_whole_at_80(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A decode step's byte columns and its roofline beside the seed's three (Llama-2-7B's
    shapes, two layers)."""
    args = (
        "analyze", "examples/hf/llama-2-7b/config.json", "--decode", "--context", "4000",
        "--seq-len", "512", "--device-spec", H100, "--depth", "3",
        "--model-arg", "num_hidden_layers=2",
    )  # fmt: skip
    text = cli_text(monkeypatch, WIDTH, *args)
    data = cli_json(tmp_path, *args)
    assert_fits(text)
    shown = module_rows(text)
    decode = {
        "bytes read": ("bytes_read", format_bytes),
        "weights read": ("weight_bytes_read", format_bytes),
        "KV read": ("kv_bytes_read", format_bytes),
        "KV written": ("kv_bytes_written", format_bytes),
    }
    assert_module_cells(shown, data, {**SEED_CELLS, **decode, **ROOFLINE_CELLS})
    assert "model.layers.1" in shown


# ----------------------------------------------------------------- --train-step


class LongLeaves(nn.Module):
    """Leaf names of 50 characters: the training table shows each under its parent."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier_head_layers_with_descriptive_long_name = nn.Linear(32, 64)
        self.output_projection_of_features_into_the_ten_classes = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_projection_of_features_into_the_ten_classes(
            self.classifier_head_layers_with_descriptive_long_name(x).relu()
        )


def test_training_table_is_whole_at_80() -> None:
    """Forward, backward, their sum and the ratio per module, beside 50-character names:
    the names break only between their words, the numbers stay whole."""
    report = analyze(LongLeaves(), (torch.randn(4, 32),), memory=True, train_step=True)
    text = rendered(report_sections(report, RenderOptions(), "(4, 32)"))
    assert_fits(text)
    (table,) = [t for t in box_tables(text) if t.headers[1:2] == ["forward"]]
    modules = report.to_dict()["modules"]
    assert [row.name for row in table.rows] == [
        m["name"].rsplit(".", 1)[-1] or "model" for m in modules
    ]
    assert any(len(row.name_lines) > 1 for row in table.rows)  # folded after a `_`
    for row, module in zip(table.rows, modules, strict=True):
        forward, backward = module["flops"], module["backward_flops"]
        assert row.cells == [
            format_size(forward),
            format_size(backward),
            format_size(module["train_flops"]),
            f"{backward / forward:.2f}",
        ]
    # By hand: Linear(32, 64) on 4 rows: 4·32·64 multiply-adds, its backward the weight's
    # gradient alone (the input needs none); Linear(64, 10) also passes the gradient on.
    assert table.rows[1].cells[:2] == [format_size(4 * 32 * 64), format_size(4 * 32 * 64)]
    assert table.rows[2].cells[:2] == [format_size(4 * 64 * 10), format_size(2 * 4 * 64 * 10)]


# ----------------------------------------------------------------- --by-operator


LONG_OP = "complexity_narrow_test::fused_rotary_position_embedding_with_sliding_window"


@pytest.fixture(scope="module")
def long_operator() -> str:
    """A custom operator with a 51-character name, counted by a handler of the user's."""
    namespace, name = LONG_OP.split("::")
    if not hasattr(getattr(torch.ops, namespace), name):

        @torch.library.custom_op(LONG_OP, mutates_args=())
        def fused(x: torch.Tensor) -> torch.Tensor:
            return x.clone()

        @fused.register_fake
        def _(x: torch.Tensor) -> torch.Tensor:
            return torch.empty_like(x)

    return name


class WithLongOperator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        namespace, name = LONG_OP.split("::")
        return getattr(getattr(torch.ops, namespace), name)(self.fc(x))


def test_by_operator_table_is_whole_at_80(long_operator: str) -> None:
    """An operator name of 51 characters beside calls, flops and share: 81 columns at the
    least, so the name breaks between its words and every number stays whole."""
    handlers = {LONG_OP: lambda inputs, outputs: 123_456_789}
    report = analyze(WithLongOperator(), (torch.randn(2, 8),), handlers=handlers)
    text = rendered(report_sections(report, RenderOptions(by_operator=True), "(2, 8)"))
    assert_fits(text)
    (table,) = [t for t in box_tables(text) if t.headers[0] == "operator"]
    data = report.to_dict()
    flops = data["modules"][0]["flops_by_operator"]
    total = data["totals"]["flops"]
    assert {row.name for row in table.rows} == {long_operator, "linear"}
    for row in table.rows:
        value = flops[row.name]
        share = f"{100 * value / total:.1f}%"
        assert row.cells == [str(data["operator_calls"][row.name]), format_size(value), share]
    assert table.rows[0].name_lines[0].endswith("_")
    assert flops["linear"] == 2 * 8 * 8  # by hand: 2 rows, 8 in, 8 out


# ----------------------------------------------------------------- compare


def change_cells(change: dict[str, Any], write: Any) -> list[str]:
    """A, B, B − A, B / A as the compare table writes them (docs: README, compare)."""
    a, b, delta, ratio = change["a"], change["b"], change["delta"], change["ratio"]
    return [
        "—" if a is None else write(a),
        "—" if b is None else write(b),
        "" if delta is None else ("+" if delta > 0 else "") + write(delta),
        "" if ratio is None else f"{ratio:.3f}",
    ]


@pytest.mark.parametrize("memory", [False, True])
def test_compare_tables_are_whole_at_80(memory: bool) -> None:
    """One block against two, names up to 69 characters with `(only in B)`: one table per
    metric, the names folded after a dot or at a space, every number whole."""
    from complexity.analyzer.diff import compare_reports
    from complexity.render.compare import diff_tables

    x = torch.randn(1, 16, 64)
    diff = compare_reports(
        analyze(LongNames(blocks=1), (x,), memory=True),
        analyze(LongNames(blocks=2), (x,), memory=True),
    )
    text = rendered(diff_tables(diff, 3, Console(width=WIDTH), memory))
    assert_fits(text)
    tables = box_tables(text)
    metrics = ["params", "flops", "activations"] + (
        ["param_bytes", "activation_bytes"] if memory else []
    )
    assert [t.title for t in tables] == metrics
    modules = {m.name or "model": m.to_dict() for m in diff.shown(3)}
    for metric, table in zip(metrics, tables, strict=True):
        write = format_bytes if metric.endswith("_bytes") else format_size
        *rows, total = table.rows
        assert total.name == "total"
        assert total.cells == change_cells(diff.totals[metric].to_dict(), write)
        assert [row.name.removesuffix(" (only in B)") for row in rows] == list(modules)
        for row in rows:
            module = modules[row.name.removesuffix(" (only in B)")]
            assert row.cells == change_cells(module[metric], write), row.name
    assert "encoder_stack_of_blocks.1.normalisation_after_projection (only in B)" in {
        row.name for row in tables[0].rows
    }


# ----------------------------------------------------------------- sweep


def growth(sizes: list[float], values: list[int]) -> list[str]:
    """k with value ∝ size^k between neighbours, written with two decimals ('' first)."""
    import math

    pairs = itertools.pairwise(zip(sizes, values, strict=True))
    return [""] + [f"{math.log(v2 / v1) / math.log(s2 / s1):.2f}" for (s1, v1), (s2, v2) in pairs]


def sweep_points(
    lengths: list[int], train_step: bool = False, convention: str = "fvcore"
) -> list[Any]:
    from complexity.analyzer.sweep import SweepPoint

    points = []
    for length in lengths:
        model = TinyAttention()
        inputs = (torch.randn(1, length, 64),)
        report = analyze(model, inputs, convention=convention, memory=True, train_step=train_step)
        shape = (1, length)
        points.append(SweepPoint(shape, shape, length, f"1x{length}", report, "seq_len"))
    return points


class TinyAttention(nn.Module):
    """Self-attention over the sequence: flops grow as seq_len² (q·kᵀ) and seq_len."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def test_sweep_totals_are_whole_at_80() -> None:
    """Totals, their growth and the train step's flops per sequence length: 86 columns at
    their natural widths, so the headers wrap and every number stays whole."""
    from complexity.render.sweep import totals_table

    lengths = [512, 1024, 2048, 4096]
    points = sweep_points(lengths, train_step=True)
    text = rendered(totals_table(points))
    assert_fits(text)
    totals = [point.to_dict()["totals"] for point in points]
    (table,) = box_tables(text)
    assert [row.name for row in table.rows] == [f"1x{n}" for n in lengths]
    flops = [t["flops"] for t in totals]
    acts = [t["activations"] for t in totals]
    for i, row in enumerate(table.rows):
        assert row.cells == [
            format_size(totals[i]["params"]),
            format_size(flops[i]),
            format_size(acts[i]),
            growth(lengths, flops)[i],
            growth(lengths, acts)[i],
            format_size(totals[i]["train_flops"]),
        ]


def test_sweep_by_operator_keeps_its_growth_columns_at_80() -> None:
    """Four sizes and three growth columns: `│  │ … │  │` no more; the growth goes into a
    second table keyed by operator. Attention's flops grow as seq_len² (k = 2.00)."""
    from complexity.render.sweep import operator_table

    lengths = [512, 1024, 2048, 4096]
    points = sweep_points(lengths, convention="flops")  # counts attention
    text = rendered(operator_table(points))
    assert_fits(text)
    shown: dict[str, dict[str, str]] = {}
    for table in box_tables(text):
        assert table.headers[0] == "operator"
        for row in table.rows:
            shown.setdefault(row.name, {}).update(zip(table.headers[1:], row.cells, strict=True))
    per_point = [p.report.to_dict()["modules"][0]["flops_by_operator"] for p in points]
    assert set(shown) == {op for flops in per_point for op, value in flops.items() if value}
    for op, cells in shown.items():
        values = [flops.get(op, 0) for flops in per_point]
        assert [cells[str(n)] for n in lengths] == [format_size(v) for v in values]
        steps = [f"growth {a}→{b}" for a, b in itertools.pairwise(lengths)]
        assert [cells[step] for step in steps] == growth(lengths, values)[1:]
    assert shown["scaled_dot_product_attention"]["growth 2048→4096"] == "2.00"


# ----------------------------------------------------------------- --all-uncounted


class ManyAttentions(nn.Module):
    """Six attention blocks with long names: fvcore counts no attention, and --all-uncounted
    lists every block that ran it."""

    def __init__(self, blocks: int = 6) -> None:
        super().__init__()
        self.transformer_layers_with_long_names = nn.ModuleList(
            TinyAttention(16) for _ in range(blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.transformer_layers_with_long_names:
            x = block(x) + x
        return x


def simple_table(text: str, first: str, column: str) -> list[tuple[str, str]]:
    """(what stands left of `column`, the cell of `column` and those right of it) of each row
    of the SIMPLE_HEAD table whose header line starts with `first` and names `column`; a
    line blank left of `column` continues the row above (lines joined by a newline)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.split()[:1] == [first] and column in line)
    start = lines[top].index(column)
    rows: list[tuple[str, str]] = []
    for line in lines[top + 2 :]:
        if not line.strip():
            break
        head, rest = line[:start].strip(), line[start:].strip()
        if head:
            rows.append((head, rest))
        else:
            rows[-1] = (rows[-1][0], rows[-1][1] + "\n" + rest)
    return rows


def test_all_uncounted_lists_every_module_whole_at_80() -> None:
    """`aten::scaled_dot_product_attention` whole, and every one of the six modules that
    ran it, wrapped between module names (no more `+3 more`)."""
    from complexity.render.terminal import uncounted_section

    report = analyze(ManyAttentions(), (torch.randn(1, 8, 16),))
    text = rendered(uncounted_section(report, show_all=True))
    assert_fits(text)
    data = report.to_dict()
    ops = {entry["op"]: entry for entry in data["uncounted_ops"]}
    assert "aten::scaled_dot_product_attention" in ops
    where = dict(simple_table(text, "operator", "where (module ×calls)"))
    assert set(where) == set(ops)
    for op, cell in where.items():
        # Lines joined by a space read back each `module ×calls` exactly: a line broke
        # only at a space, never inside a name.
        items = " ".join(cell.split("\n")).split(", ")
        assert items == [f"{name or 'model'} ×{n}" for name, n in ops[op]["modules"].items()]
    sdpa = ops["aten::scaled_dot_product_attention"]["modules"]
    assert len(sdpa) == 6 and sum(sdpa.values()) == 6  # one call in each block
    reasons = simple_table(text, "operator", "why")
    calls = dict(head.split() for head, _ in reasons)
    assert calls == {op: str(entry["count"]) for op, entry in ops.items()}


# ----------------------------------------------------------------- a real 80-column terminal

TERMINAL_COMMANDS = [
    # the before-stop hook's own two
    "analyze configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py --builder zoo",
    "analyze examples/small_cnn.py --memory --device-spec 'H100 SXM'",
    # and every other kind of table
    "analyze examples/small_cnn.py --device-spec 'H100 SXM'",
    "analyze examples/hf/llama-2-7b/config.json --seq-len 128 --train-step --depth 2"
    " --model-arg num_hidden_layers=2",
    "analyze examples/hf/llama-2-7b/config.json --decode --context 4000 --seq-len 512"
    " --device-spec 'H100 SXM' --depth 3 --model-arg num_hidden_layers=2",
    "analyze examples.transformer:build --shape 224 --convention flops --by-operator",
    "analyze examples/hf/gpt2/config.json --seq-len 128 --all-uncounted --depth 4 --memory",
    "compare examples/tiny_lm.py examples/tiny_lm.py --a-model-arg layers=1"
    " --b-model-arg layers=2 --depth 3 --memory",
    "sweep examples/tiny_lm.py --seq-lens 512,1024,2048,4096 --convention flops --by-operator",
]
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.slow
@pytest.mark.parametrize("command", TERMINAL_COMMANDS)
def test_every_table_is_whole_in_a_real_80_column_terminal(command: str) -> None:
    """What the before-stop hook checks for two commands, for every kind of table: run in
    a pseudo-terminal of 80 columns (`script`), nothing is cut and no line is wider."""
    import shutil
    import subprocess
    import sys

    from rich.cells import cell_len

    script = shutil.which("script")
    if script is None:
        pytest.skip("needs util-linux's `script` for a pseudo-terminal")
    executable = Path(sys.executable).with_name("complexity")
    shell = f"stty cols 80 rows 50; {executable} {command}"
    done = subprocess.run(
        [script, "-qec", shell, "/dev/null"],
        cwd=REPO, capture_output=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = done.stdout.decode("utf-8")
    assert done.returncode == 0, output[-2000:]
    # What stays on screen: the text after a line's last carriage return (the spinner's
    # frames are overwritten), without colours.
    screen = [ESCAPES.sub("", line.rstrip("\r").split("\r")[-1]) for line in output.split("\n")]
    assert sum("│" in line or "|" in line for line in screen) > 5  # the tables are there
    # The hook counts digits beside an ellipsis; a dropped column (`│  │ … │  │`) or a cut
    # name (`transformer.h.…`) has none, so any ellipsis counts here.
    assert not [line for line in screen if "…" in line]
    assert max(cell_len(line) for line in screen) <= 80, "\n".join(screen)
