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
        """The name read back: lines joined as they were broken (after a dot: nothing
        between; at a space: the space). A name broken mid-word reads back wrong."""
        name = self.name_lines[0]
        for line in self.name_lines[1:]:
            name += line if name.endswith(".") else " " + line
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
