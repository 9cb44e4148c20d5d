"""`complexity analyze` and tools/analysis_tools/get_flops.py against the seed and mmengine.

Expectations come from the seed (tests/fixtures/seed_*, copied from MMYOLO's get_flops
documentation), from mmengine.analysis run side by side, or from hand arithmetic.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

from helpers import (
    FIXTURES,
    REPO,
    RTMDET_S,
    SEED_SUMMARY,
    assert_one_line_error,
    cli,
    fvcore_flops,
    run_script,
    seed_markdown_table,
    seed_rows,
)


def box_rows(text: str) -> set[tuple[str, ...]]:
    """Rows of a rich table (│ separators) or a markdown one, as stripped cells."""
    rows = set()
    for line in text.splitlines():
        if re.search(r"[|│┃]", line):
            cells = [c.strip() for c in re.split(r"[|│┃]", line)][1:-1]
            if len(cells) >= 4:
                rows.add(tuple(cells[:4]))
    return rows


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


# --- the seed -------------------------------------------------------------------------


@pytest.mark.slow
def test_analyze_reproduces_seed_table_and_summary(capsys):
    code, out, err = cli(capsys, "analyze", RTMDET_S)
    assert code == 0, err
    missing = [row for row in seed_rows() if row not in box_rows(out)]
    assert len(seed_rows()) == 56
    assert missing == []
    lines = out.splitlines()
    start = lines.index(SEED_SUMMARY[1]) - 1
    assert lines[start : start + 5] == SEED_SUMMARY
    assert "convention: fvcore" in out


@pytest.mark.slow
def test_get_flops_script_prints_the_seed_markdown_table_byte_for_byte(capsys):
    # In-process (the script's main); test_builders runs the script as its own process.
    code, out, err = run_script(
        capsys, "tools/analysis_tools/get_flops.py", RTMDET_S, "--show-arch"
    )
    assert code == 0, err
    lines = out.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table == seed_markdown_table()
    assert lines[-5:] == SEED_SUMMARY
    # --show-arch: the seed's rtm_reg excerpt, line for line (its first line unindented).
    excerpt = (FIXTURES / "seed_rtm_reg_arch.txt").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == excerpt[0])
    assert lines[first + 1 : first + len(excerpt)] == excerpt[1:]


@pytest.mark.slow
def test_rows_and_printout_match_mmengine_side_by_side(monkeypatch, rtmdet_s):
    monkeypatch.setenv("COLUMNS", "200")  # mmengine's rich table crops cells at 80 columns
    from mmengine.analysis import get_model_complexity_info

    from complexity.analyzer import analyze
    from complexity.render import arch_lines, table_rows
    from complexity.zoo import example_inputs

    model = rtmdet_s
    inputs = example_inputs(model, (320, 256))
    theirs = get_model_complexity_info(model, inputs=inputs, show_table=True, show_arch=True)
    report = analyze(model, inputs)
    assert report.total("flops") == theirs["flops"]
    assert report.total("params") == theirs["params"]
    assert report.total("activations") == theirs["activations"]
    # mmengine's table is a rich ASCII2 table: `|` separators, indented cells.
    mm_rows = [
        tuple(c.strip() for c in line.strip().strip("|").split("|"))
        for line in theirs["out_table"].splitlines()
        if line.startswith("|") and not line.startswith("|-")
    ][1:]
    ours = [(row.name, *row.cells) for row in table_rows(report)]
    assert ours == mm_rows
    # The printout: identical except where mmengine marks an nn.Identity that ran as N/A.
    mm_arch = theirs["out_arch"].strip("\n").splitlines()
    our_arch = arch_lines(report)
    assert len(mm_arch) == len(our_arch)
    differing = [(a, b) for a, b in zip(mm_arch, our_arch, strict=True) if a != b]
    assert differing and all(
        a.strip().endswith("Identity(#params: 0, #flops: N/A, #acts: N/A)")
        and b.strip().endswith("Identity()")
        for a, b in differing
    )


# --- options ----------------------------------------------------------------------------


@pytest.mark.slow
def test_tree_carries_the_seed_stat_line(capsys):
    code, out, _ = cli(capsys, "analyze", RTMDET_S, "--tree", "--not-show-table", "--depth", "4")
    assert code == 0
    assert "rtm_reg" in out
    assert "#params: 1.55K, #flops: 4.3M, #acts: 33.6K" in out  # the seed's --show-arch line
    assert "#params: 0.52K, #flops: 3.28M, #acts: 25.6K" in out
    assert not box_rows(out) & set(seed_rows())  # no table


@pytest.mark.slow
def test_depth_truncates_table_and_tree(capsys):
    code, out, _ = cli(capsys, "analyze", RTMDET_S, "--depth", "1", "--tree", "--shape", "128")
    assert code == 0
    names = {row[0] for row in box_rows(out)}
    assert {"model", "backbone", "neck", "bbox_head.head_module"} <= names
    assert "backbone.stem" not in names
    assert "backbone CSPNeXt" in out
    assert "stem Sequential" not in out  # the tree stops at the first level too


@pytest.mark.slow
def test_shape_two_numbers_as_in_the_seed(capsys):
    code, out, _ = cli(capsys, "analyze", RTMDET_S, "--shape", "640", "480", "--not-show-table")
    assert code == 0
    assert "Input shape: torch.Size([640, 480])" in out
    # stem.0 conv: 3x3x3 -> 16 channels at stride 2, hand-computed: 320*240*16*27 MACs
    # plus eval batch norm 2 per output element; in the tree, two decimals.
    assert (
        f"#flops: {(320 * 240 * 16 * 27 + 2 * 320 * 240 * 16) / 1e6:.2f}M"
        in cli(capsys, "analyze", RTMDET_S, "--shape", "640x480", "--tree", "--not-show-table")[1]
    )


def test_cfg_options_in_the_seed_form_change_the_model(capsys):
    code, out, _ = cli(
        capsys,
        "analyze",
        RTMDET_S,
        "--not-show-table",
        "--shape",
        "64",  # parameters do not depend on the input size
        "--cfg-options",
        "model.bbox_head.head_module.num_classes=1",
    )
    assert code == 0
    # rtm_cls convs now have 128*1+1 parameters each instead of 128*80+80: 3 * 10191 fewer.
    params = 8_886_924 - 3 * (128 * 80 + 80 - (128 * 1 + 1))
    assert f"Model Parameters: {params / 1e6:.3f}M" in out


def test_json_export(tmp_path, capsys):
    from fvcore.nn import FlopCountAnalysis

    target = tmp_path / "report.json"
    code, _, _ = cli(capsys, "analyze", "examples/small_cnn.py", "--json", str(target))
    assert code == 0
    data = json.loads(target.read_text())
    assert data["convention"]["name"] == "fvcore"
    assert data["input_shapes"] == [[1, 3, 224, 224]]
    namespace: dict = {}
    exec((REPO / "examples/small_cnn.py").read_text(), namespace)
    model = namespace["model"].eval()
    fv = FlopCountAnalysis(model, torch.rand(1, 3, 224, 224)).by_module()
    by_name = {m["name"]: m for m in data["modules"]}
    assert {name: by_name[name]["flops"] for name in fv} == dict(fv)
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["modules"][0]["type"] == "Sequential"
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_json_to_stdout_is_json_alone(capsys):
    code, out, _ = cli(capsys, "analyze", "examples/small_cnn.py", "--json", "-")
    assert code == 0
    assert json.loads(out)["totals"]["params"] == 16 * 27 + 32 + 32 * 16 * 9 + 64 + 330


def test_plain_file_and_import_spec(capsys):
    code, out, _ = cli(capsys, "analyze", "examples/small_cnn.py", "--depth", "1")
    assert code == 0
    # conv 16*27 + bn 32 + conv 32*16*9 + bn 64 + linear 32*10+10
    params = 16 * 27 + 32 + 32 * 16 * 9 + 64 + 330
    assert f"Model Parameters: {params / 1e3:.3f}K" in out
    code, out, _ = cli(capsys, "analyze", "examples.transformer:build", "--shape", "32")
    assert code == 0
    assert "Input shape: torch.Size([1, 3, 32, 32])" in out


@pytest.mark.slow
def test_help_is_available():
    result = subprocess.run(
        [sys.executable, "-m", "complexity.cli.main", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--depth" in result.stdout and "--cfg-options" in result.stdout


# --- bad input: one line, exit code, no traceback, nothing clobbered --------------------


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ("does not exist",)),
        ("", ("is empty",)),
        ("model = dict(type='YOLODetector'\n", ("cannot parse",)),
        ("_base_ = []\nimg_scale = (640, 640)\n", ("defines no `model`",)),
        ("model = dict(type='CSPNext')\n", ("CSPNext", "CSPNeXt")),
        (
            f"_base_ = '{REPO / RTMDET_S}'\nmodel = dict(backbone=dict(type='CSPNext'))\n",
            ("CSPNext", "model.backbone", "CSPNeXt"),
        ),
    ],
    ids=["missing", "empty", "unparsable", "no-model", "unknown-type", "unknown-nested-type"],
)
def test_bad_configs(tmp_path, capsys, content, fragments):
    config = tmp_path / "config.py"
    if content is not None:
        config.write_text(content)
    code, _, err = cli(capsys, "analyze", str(config))
    assert_one_line_error(code, err, 2, *fragments)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--shape", "abc"], ("--shape",)),
        (["--shape", "0"], ("positive",)),
        (["--shape", "1", "2", "3"], ("unexpected extra argument",)),
        (["--depth", "-1"], ("--depth",)),
        (["--cfg-options", "model.backbone"], ("key=value",)),
        (["--convention", "nope"], ("convention",)),
        (["--json", "/nonexistent-folder/x.json"], ("does not exist",)),
        (["--json", "/tmp"], ("is a folder",)),
    ],
    ids=[
        "shape-text",
        "shape-zero",
        "shape-three",
        "depth",
        "cfg-options",
        "convention",
        "json-folder-missing",
        "json-is-folder",
    ],
)
def test_bad_options(capsys, args, fragments):
    code, _, err = cli(capsys, "analyze", RTMDET_S, *args)
    assert_one_line_error(code, err, 2, *fragments)


FAILING_MODEL = """
import torch
from torch import nn

class Head(nn.Module):
    def forward(self, x):
        return x @ torch.ones(5, 5)  # wrong inner size on purpose

model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), Head())
input_shape = (2, 3, 2, 2)
"""


def test_failing_forward_names_module_and_shapes_and_keeps_existing_json(tmp_path, capsys):
    model_file = tmp_path / "broken.py"
    model_file.write_text(FAILING_MODEL)
    existing = tmp_path / "report.json"
    existing.write_text('{"keep": true}')
    code, _, err = cli(capsys, "analyze", str(model_file), "--json", str(existing))
    assert_one_line_error(code, err, 1, "forward failed in 2 (Head)", "[[2, 4]]")
    assert existing.read_text() == '{"keep": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.py", "report.json"]


def test_debug_shows_the_traceback(tmp_path, capsys):
    model_file = tmp_path / "broken.py"
    model_file.write_text(FAILING_MODEL)
    code, _, err = cli(capsys, "analyze", str(model_file), "--debug")
    assert code == 1
    assert "Traceback" in err


def test_get_flops_bad_config_is_one_line(tmp_path, capsys):
    code, _, err = run_script(
        capsys, "tools/analysis_tools/get_flops.py", str(tmp_path / "none.py")
    )
    assert code == 2
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0 and "does not exist" in err


@pytest.mark.slow
def test_s_with_cfg_options_equals_the_m_config(capsys):
    """MMYOLO's m config is the s config with deepen 0.67 / widen 0.75: same numbers."""
    widen = "0.75"
    code, out, _ = cli(
        capsys,
        "analyze",
        RTMDET_S,
        "--shape",
        "320",
        "--json",
        "-",
        "--cfg-options",
        "model.backbone.deepen_factor=0.67",
        f"model.backbone.widen_factor={widen}",
        "model.neck.deepen_factor=0.67",
        f"model.neck.widen_factor={widen}",
        f"model.bbox_head.head_module.widen_factor={widen}",
    )
    assert code == 0
    as_m = json.loads(out)
    m_config = "configs/rtmdet/rtmdet_m_syncbn_fast_8xb32-300e_coco.py"
    code, out, _ = cli(capsys, "analyze", m_config, "--shape", "320", "--json", "-")
    assert code == 0
    m = json.loads(out)
    assert as_m["totals"] == m["totals"]
    assert as_m["modules"] == m["modules"]
    # and against MMYOLO's published RTMDet-m parameter count, 24.71M
    assert f"{m['totals']['params'] / 1e6:.2f}M" == "24.71M"


@pytest.mark.slow
def test_uncounted_operators_are_listed_as_fvcore_finds_them(capsys, rtmdet_s):
    from complexity.zoo import example_inputs

    code, out, _ = cli(
        capsys, "analyze", RTMDET_S, "--shape", "128", "--not-show-table", "--all-uncounted"
    )
    assert code == 0
    fvcore = fvcore_flops(rtmdet_s, example_inputs(rtmdet_s, (128, 128)))
    fvcore.total()  # fvcore analyses lazily
    expected = fvcore.unsupported_ops()
    assert expected  # silu_, add, mul, hardsigmoid_, max_pool2d
    # The counts table comes first; --all-uncounted's where-list table repeats each op below it.
    rows: dict[str, str] = {}
    for line in out.splitlines():
        if "aten::" in line:
            rows.setdefault(line.split()[0], line.split()[1])
    assert {op: int(rows[op]) for op in expected} == dict(expected)
    assert "--convention flops counts the ops marked" in out
    assert "Free under the fvcore convention: 13 calls (cat)" in out


TWO_INPUT_MODEL = """
import torch
from torch import nn

class Fuse(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = nn.Linear(16, 8)
        self.image = nn.Linear(32, 8)

    def forward(self, text, extra):
        return self.text(text) + self.image(extra["image"])

def model():
    return Fuse()

def inputs():
    return (torch.rand(3, 16), {"image": torch.rand(3, 32)})
"""


def test_plain_file_with_its_own_inputs(tmp_path, capsys):
    model_file = tmp_path / "fuse.py"
    model_file.write_text(TWO_INPUT_MODEL)
    code, out, _ = cli(capsys, "analyze", str(model_file), "--json", "-")
    assert code == 0
    data = json.loads(out)
    assert data["input_shapes"] == [[3, 16], {"image": [3, 32]}]
    # linear flops = rows * in * out (fvcore): 3*16*8 + 3*32*8
    assert data["totals"]["flops"] == 3 * 16 * 8 + 3 * 32 * 8
    assert data["totals"]["params"] == 16 * 8 + 8 + 32 * 8 + 8
    code, _, err = cli(capsys, "analyze", str(model_file), "--shape", "64")
    assert_one_line_error(code, err, 2, "--shape cannot resize")
