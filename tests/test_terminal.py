"""What a person sees in a terminal or a pipe: widths, trailing spaces, compact sections,
and the CLI's small contracts (--version, bare command, help, one-line input errors).

Expected cells come from the seed (MMYOLO's get_flops table for RTMDet-s); expected counts
from the models' shapes.
"""

from __future__ import annotations

import io
import re
from importlib.metadata import version

import pytest
import torch
from rich.console import Console
from torch import nn

from complexity.analyzer import Report
from complexity.render import (
    arch_lines,
    markdown_table,
    module_table,
    module_tree,
    operator_table,
    summary_lines,
    table_rows,
    uncounted_section,
)

from helpers import (
    FIXTURES,
    SEED_SUMMARY,
    Fn,
    assert_one_line_error,
    cli,
    run,
    seed_markdown_table,
    seed_rows,
)


def rendered(renderable: object, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def body_rows(text: str) -> list[list[str]]:
    """Cells of a box table's body rows (after the header rule), folded names joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("├")) + 1
    rows: list[list[str]] = []
    for line in lines[start:-1]:
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if rows and not any(cells[1:]):  # the rest of a folded module name
            rows[-1][0] += cells[0]
        else:
            rows.append(cells)
    return rows


@pytest.mark.parametrize("width", [80, 60])
def test_rtmdet_s_table_keeps_every_number_whole(rtmdet_s_report: Report, width: int) -> None:
    text = rendered(module_table(table_rows(rtmdet_s_report)), width)
    assert max(len(line) for line in text.splitlines()) <= width
    rows = body_rows(text)
    seed = seed_rows()
    assert len(rows) == len(seed) == 56
    assert [row[1:] for row in rows] == [list(cells[1:]) for cells in seed]
    assert [row[0] for row in rows] == [cells[0] for cells in seed]  # names folded, not cut
    folded = len(text.splitlines()) - 56 - 5  # header (2 lines), 3 rules
    assert (folded > 0) == (width == 60)


def test_wide_terminal_shows_full_names(rtmdet_s_report: Report) -> None:
    rows = body_rows(rendered(module_table(table_rows(rtmdet_s_report)), 200))
    assert [tuple(row) for row in rows] == seed_rows()


def test_library_sections_reproduce_the_seed(rtmdet_s_report: Report) -> None:
    # The functions the CLI and get_flops.py print with (their slow tests run them whole).
    rows = table_rows(rtmdet_s_report)
    assert markdown_table(rows).splitlines() == seed_markdown_table()
    assert summary_lines(rtmdet_s_report, "torch.Size([640, 640])") == SEED_SUMMARY
    excerpt = (FIXTURES / "seed_rtm_reg_arch.txt").read_text(encoding="utf-8").splitlines()
    lines = arch_lines(rtmdet_s_report)
    first = next(i for i, line in enumerate(lines) if line.strip() == excerpt[0])
    assert lines[first + 1 : first + len(excerpt)] == excerpt[1:]
    tree = rendered(module_tree(rtmdet_s_report, 4), 200)
    assert "#params: 1.55K, #flops: 4.3M, #acts: 33.6K" in tree  # the seed's rtm_reg line


def test_piped_output_has_no_trailing_spaces(capsys) -> None:
    args = ("analyze", "examples/small_cnn.py", "--tree", "--by-operator", "--all-uncounted")
    code, out, _ = cli(capsys, *args)
    assert code == 0
    assert "Model Flops:" in out
    assert [line for line in out.splitlines() if line != line.rstrip()] == []


class EightUncounted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(torch.tanh(x.exp()))
        return (x.sin() + x.cos().abs().neg()).sigmoid()


def test_uncounted_section_is_compact_unless_asked() -> None:
    report = run(EightUncounted(), torch.randn(2, 3))  # fvcore counts none of these
    assert len(report.uncounted) == 8
    compact = rendered(uncounted_section(report), 80)
    assert "8 operators, 9 calls" in compact
    listed = set(re.findall(r"aten::\w+", compact))
    assert len(listed) == 5 and "aten::sigmoid" in listed  # the most-called first
    assert "+3 more; --all-uncounted" in compact
    full = rendered(uncounted_section(report, show_all=True), 120)
    assert set(re.findall(r"aten::\w+", full)) == {e.op for e in report.uncounted}
    assert "model ×2" in full  # sigmoid: where it ran, and how often


def test_by_operator_hides_rows_that_cost_nothing() -> None:
    model = Fn(lambda m, x: m.fc(x.view(x.size(0) * 2, x.size(1) // 2)), fc=nn.Linear(3, 4))
    report = run(model, torch.randn(4, 6), convention="flops")
    assert report.by_operator("flops")["mul"] == 0  # 0-d size arithmetic, free
    text = rendered(operator_table(report), 80)
    assert "linear" in text and "mul" not in text


def test_version_and_bare_command(capsys) -> None:
    code, out, _ = cli(capsys, "--version")
    assert (code, out.strip()) == (0, f"complexity {version('torch-complexity')}")
    code, out, err = cli(capsys)
    assert code == 0 and "Usage" in out and "analyze" in out and err == ""


def test_help_names_types_plainly_and_speaks_of_mmyolo(capsys) -> None:
    _, out, _ = cli(capsys, "analyze", "--help")
    assert "<bool>" not in out and "<list[str]>" not in out
    assert "--shape H [W]" in out and "--json PATH" in out
    assert "MMYOLO's get_flops" in out and "seed" not in out
    for command in ("compare", "sweep"):  # every command: values named, not typed
        _, out, _ = cli(capsys, command, "--help")
        assert "Usage" in out and not re.search(r"<(bool|str|int|list\[str\])>", out), out


def test_shape_given_twice_or_incomplete_is_one_line(capsys) -> None:
    code, _, err = cli(
        capsys, "analyze", "examples/small_cnn.py", "--shape", "224", "--shape", "320"
    )
    assert_one_line_error(code, err, 2, "--shape is given 2 times", "give it once")
    code, _, err = cli(capsys, "analyze", "examples/small_cnn.py", "--shape", "640x")
    assert_one_line_error(code, err, 2, "--shape 640x is not one or two positive integers")


def test_dotted_import_spec_suggests_module_colon_factory(capsys) -> None:
    code, _, err = cli(capsys, "analyze", "torchvision.models.resnet50")
    assert_one_line_error(code, err, 2, "torchvision.models:resnet50")
