"""Names from the user's code are shown, never obeyed; out-of-range numbers are usage errors
(issue 23 items 10, 11, 12 and 18's `[/]`).

The model is one 3x3 convolution, 3 -> 4 channels, on a 1x3x8x8 input: 4*27 + 4 = 112
parameters and 4*27 multiply-adds at each of the 6*6 output positions, 3888 flops under
fvcore, counted by hand.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from helpers import cli, one_line_error

LINK = "<a href='https://evil'>link</a>"
RED = "\x1b[31mred\x1b[0m"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Modules named as an HTML link, an ANSI colour, rich markup; one runs uncounted ops."""
    model = tmp_path / "hostile.py"
    model.write_text(
        "import torch\n"
        "class Sums(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x + x.cumsum(1)\n"
        "model = torch.nn.Sequential()\n"
        f"model.add_module({LINK!r}, torch.nn.Conv2d(3, 4, 3))\n"
        f"model.add_module({RED!r}, torch.nn.Conv2d(4, 4, 1))\n"
        "model.add_module('[/]', Sums())\n"
        "model.add_module('[bold]b', Sums())\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    return model


# --- item 11 and 18: the terminal shows names, it does not obey them ------------------------


def test_escape_sequences_in_module_names_are_shown_not_sent(hostile, capsys):
    code, out, err = cli(capsys, "analyze", str(hostile), "--tree", "--show-arch")
    assert code == 0, err
    # Off a terminal nothing of ours is coloured: any ESC would be the module name's.
    assert "\x1b" not in out
    assert "\\x1b[31mred\\x1b[0m" in out


def test_markup_in_module_names_is_printed_as_is_with_all_uncounted(hostile, capsys):
    code, out, err = cli(capsys, "analyze", str(hostile), "--all-uncounted")
    assert code == 0, err
    assert "MarkupError" not in err
    where = [line for line in out.splitlines() if "aten::cumsum" in line]
    assert len(where) == 1 and "[/] ×1" in where[0] and "[bold]b ×1" in where[0], out


def test_a_link_in_a_module_name_is_not_a_link_in_the_html_chart(hostile, tmp_path, capsys):
    pytest.importorskip("plotly")
    page = tmp_path / "r.html"
    code, _, err = cli(capsys, "analyze", str(hostile), "--html", str(page))
    assert code == 0, err
    text = page.read_text()
    (labels,) = re.findall(r'"labels":(\[[^\]]*\])', text)
    labels = json.loads(labels)
    # plotly draws tags (<a href>, <b>) written in a label and decodes entities: the name
    # must reach it escaped, and come out of it as typed.
    assert LINK not in labels
    assert html.escape(LINK, quote=False) in labels
    assert all("<" not in label for label in labels)


# --- item 10: no Infinity in the JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["flops=1e400,bandwidth=1e400", "flops=1T,bandwidth=1e400", "flops=1e300P,bandwidth=1T"],
)
def test_a_device_spec_beyond_any_float_is_refused(tiny, tmp_path, capsys, spec):
    report = tmp_path / "r.json"
    code, _, err = cli(capsys, "analyze", str(tiny), "--device-spec", spec, "--json", str(report))
    one_line_error(code, err, 2, "--device-spec", "finite")
    assert not report.exists()


def test_a_device_spec_field_given_twice_is_refused(tiny, capsys):
    spec = "flops=1T,flops=2T,bandwidth=1T"
    code, _, err = cli(capsys, "analyze", str(tiny), "--device-spec", spec)
    one_line_error(code, err, 2, "--device-spec", "flops= twice")


# --- item 12: numbers out of range are usage errors naming the option ------------------------------


def test_a_budget_beyond_any_float_is_a_usage_error(tiny, capsys):
    code, _, err = cli(capsys, "analyze", str(tiny), "--max-flops", "1e400")
    one_line_error(code, err, 2, "--max-flops", "too large")


@pytest.mark.parametrize(
    "shape",
    ["100000x100000x100000x100000", "99999999999999999999x3x32x32"],
    ids=["too-many-elements", "dimension-beyond-int64"],
)
def test_an_input_no_tensor_can_hold_is_a_usage_error(tiny, capsys, shape):
    code, _, err = cli(capsys, "analyze", str(tiny), "--input", shape)
    one_line_error(code, err, 2, f"--input {shape}")


def test_escape_sequences_in_an_error_line_are_shown_not_sent(tmp_path, capsys):
    model = tmp_path / "fails.py"
    model.write_text(
        "import torch\n"
        "class Fails(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        raise ValueError('bad')\n"
        "model = torch.nn.Sequential()\n"
        f"model.add_module({RED!r}, Fails())\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    code, _, err = cli(capsys, "analyze", str(model))
    line = one_line_error(code, err, 1, "\\x1b[31mred")
    assert "\x1b" not in line
