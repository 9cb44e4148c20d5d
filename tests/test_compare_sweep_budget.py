"""`complexity compare`, `complexity sweep` and the `--max-*` budgets.

Expected numbers are hand-computed from layer shapes, taken from the seed (RTMDet-s at 640:
14.835G flops, 8.887M parameters, MMYOLO's get_flops documentation), counted with
`sum(p.numel())`, or come from separate `analyze` runs (the issue's own acceptance check).
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from complexity.analyzer import analyze, compare_reports, growth_exponents, parse_quantity

from helpers import REPO, RTMDET_S, cli, num_params

RTMDET_M = "configs/rtmdet/rtmdet_m_syncbn_fast_8xb32-300e_coco.py"
SMALL_CNN = "examples/small_cnn.py"
# examples/small_cnn.py: conv 3->16 k3 + bn + conv 16->32 k3 + bn + linear 32->10
SMALL_CNN_PARAMS = 16 * 3 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 32 * 10 + 10


def small_cnn_flops(side: int) -> int:
    """fvcore's count (1 multiply-add = 1 flop) of examples/small_cnn.py at side x side."""
    first, second = side // 2, side // 4  # two stride-2 convs with padding 1
    conv1 = 16 * first * first * 3 * 9
    bn1 = 2 * 16 * first * first  # fvcore: eval batch_norm with affine, 2 per element
    conv2 = 32 * second * second * 16 * 9
    bn2 = 2 * 32 * second * second
    pool = 32 * second * second  # adaptive_avg_pool2d: one per input element
    linear = 32 * 10
    return conv1 + bn1 + conv2 + bn2 + pool + linear


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


# --- library -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15G", 15 * 10**9),
        ("9M", 9 * 10**6),
        ("1.5k", 1500),
        ("14.835G", 14_835_000_000),
        ("2e9", 2 * 10**9),
        ("120", 120),
        ("0.5T", 5 * 10**11),
    ],
)
def test_parse_quantity_reads_the_printed_suffixes(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "G", "15X", "-1G", "1.2.3M", "15 GB"])
def test_parse_quantity_refuses_what_is_not_a_count(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_growth_exponents_are_log_ratios():
    # value = 3 * size**2, then value doubles while size triples: k = log 2 / log 3
    assert growth_exponents([1, 2, 4], [3, 12, 48]) == [2.0, 2.0]
    (k,) = growth_exponents([10, 30], [5, 10])
    assert k == pytest.approx(math.log(2) / math.log(3))
    assert growth_exponents([1, 1, 2], [1, 2, 0]) == [None, None]
    with pytest.raises(ValueError):
        growth_exponents([1, 2], [1])


def test_compare_reports_matches_by_name_and_marks_one_sided_modules():
    from torch import nn

    a = nn.Sequential(nn.Conv2d(3, 8, 1, bias=False), nn.ReLU())
    b = nn.Sequential(nn.Conv2d(3, 16, 1, bias=False), nn.ReLU(), nn.Conv2d(16, 4, 1))
    image = torch.rand(1, 3, 4, 4)
    diff = compare_reports(analyze(a.eval(), image), analyze(b.eval(), image))
    by_name = {m.name: m for m in diff.modules}
    assert [m.name for m in diff.modules] == ["", "0", "1", "2"]
    conv = by_name["0"].metrics
    assert (conv["params"].a, conv["params"].b) == (3 * 8, 3 * 16)
    assert conv["params"].delta == 24 and conv["params"].ratio == 2.0
    assert (conv["flops"].a, conv["flops"].b) == (8 * 16 * 3, 16 * 16 * 3)
    only_b = by_name["2"]
    assert only_b.present == "b" and only_b.type_a is None and only_b.type_b == "Conv2d"
    assert only_b.metrics["params"].a is None and only_b.metrics["params"].delta is None
    assert only_b.metrics["params"].b == 16 * 4 + 4
    assert by_name["1"].metrics["flops"].ratio is None  # 0 flops in A: no ratio
    assert diff.totals["flops"].delta == 16 * 16 * 3 + 4 * 16 * 16 - 8 * 16 * 3
    data = diff.to_dict()
    assert data["modules"][3]["in"] == "b"
    assert data["totals"]["params"] == {"a": 24, "b": 116, "delta": 92, "ratio": 116 / 24}


# --- compare -----------------------------------------------------------------------------

SMALL_A = """
from torch import nn
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU())
input_shape = (1, 3, 16, 16)
"""
SMALL_B = """
from torch import nn
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(), nn.Conv2d(8, 2, 1))
input_shape = (1, 3, 16, 16)
"""


def test_compare_text_shows_both_sides_and_one_sided_modules(tmp_path, capsys):
    (tmp_path / "a.py").write_text(SMALL_A)
    (tmp_path / "b.py").write_text(SMALL_B)
    code, out, err = cli(capsys, "compare", str(tmp_path / "a.py"), str(tmp_path / "b.py"))
    assert code == 0, err
    conv = 8 * 16 * 16 * 3 * 9  # 27.648K
    extra = 2 * 16 * 16 * 8  # 1x1 conv: 4.096K
    row = next(line for line in out.splitlines() if " 2 (only in B)" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[1:5] == ["—", str(2 * 8 + 2), "", ""]  # params: A, B, B−A, B/A
    assert cells[5:7] == ["—", f"{extra / 1e3:.3f}K"]
    assert f"Model Flops: {conv / 1e3:.3f}K -> {(conv + extra) / 1e3:.3f}K" in out
    assert "convention: fvcore" in out
    # --depth 0 shows only the model row and the totals
    code, out, _ = cli(
        capsys, "compare", str(tmp_path / "a.py"), str(tmp_path / "b.py"), "--depth", "0"
    )
    assert code == 0 and "only in B" not in out


def test_compare_splits_the_table_per_metric_on_a_narrow_terminal():
    from rich.console import Console
    from torch import nn

    from complexity.render.compare import diff_tables

    a = nn.Sequential(nn.Conv2d(3, 8, 1, bias=False))
    b = nn.Sequential(nn.Conv2d(3, 16, 1, bias=False))
    image = torch.rand(1, 3, 4, 4)
    diff = compare_reports(analyze(a.eval(), image), analyze(b.eval(), image))
    assert len(diff_tables(diff, 3, Console(width=200))) == 1
    narrow = Console(width=80, record=True)
    tables = diff_tables(diff, 3, narrow)
    assert [t.title for t in tables] == ["params", "flops", "activations"]
    for table in tables:
        narrow.print(table)
    text = narrow.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    # conv 3->8 then 3->16 on 4x4, one multiply-add per weight and output position
    assert "│  0     │ 0.384K │ 0.768K │ +0.384K │ 2.000 │" in text


@pytest.fixture(scope="module")
def compare_s_m_json():
    import subprocess
    import sys

    # The zoo builds both, as it builds the separate analyses compared with (mmyolo's model,
    # where installed, also has its loss and assigner modules: no rows, no work).
    command = ["compare", RTMDET_S, RTMDET_M, "--builder", "zoo", "--json", "-"]
    result = subprocess.run(
        [sys.executable, "-m", "complexity.cli.main", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def rtmdet_m_report(rtmdet):
    from complexity.zoo import example_inputs

    model = rtmdet("m")
    return analyze(model, example_inputs(model, (640, 640)))


@pytest.mark.slow
def test_compare_rtmdet_s_m_equals_two_analyze_runs(
    compare_s_m_json, rtmdet_s_report, rtmdet_m_report
):
    data = compare_s_m_json
    s = rtmdet_s_report.to_dict()
    m = rtmdet_m_report.to_dict()
    for side, alone, source in (("a", s, RTMDET_S), ("b", m, RTMDET_M)):
        assert data[side]["totals"] == alone["totals"]
        assert data[side]["modules"] == alone["modules"]
        assert data[side]["source"] == source
    # the seed's published RTMDet-s figures
    assert f"{data['a']['totals']['flops'] / 1e9:.3f}" == "14.835"
    assert f"{data['a']['totals']['params'] / 1e6:.3f}" == "8.887"
    # deltas are b - a, module by module, and the totals too
    a_modules = {module["name"]: module for module in s["modules"]}
    b_modules = {module["name"]: module for module in m["modules"]}
    assert {module["name"] for module in data["delta"]["modules"]} == set(a_modules) | set(
        b_modules
    )
    for module in data["delta"]["modules"]:
        name = module["name"]
        for metric in ("params", "flops", "activations"):
            if name in a_modules and name in b_modules:
                assert module["in"] == "both"
                expected = b_modules[name][metric] - a_modules[name][metric]
                assert module[metric]["delta"] == expected
            else:
                assert module["in"] == ("a" if name in a_modules else "b")
                assert module[metric]["delta"] is None
    for metric, change in data["delta"]["totals"].items():
        assert change["delta"] == m["totals"][metric] - s["totals"][metric]
        assert change["ratio"] == pytest.approx(m["totals"][metric] / s["totals"][metric])


@pytest.mark.slow
def test_compare_rtmdet_m_params_are_the_models_own(compare_s_m_json, rtmdet):
    assert compare_s_m_json["b"]["totals"]["params"] == num_params(rtmdet("m"))


def test_compare_bad_input_is_one_line(tmp_path, capsys):
    code, _, err = cli(capsys, "compare", SMALL_CNN, str(tmp_path / "missing.py"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    code, _, err = cli(capsys, "compare", SMALL_CNN, SMALL_CNN, "--depth", "-1")
    assert code == 2 and "negative" in err


# --- sweep -------------------------------------------------------------------------------


def test_sweep_small_cnn_hand_counted(capsys):
    code, out, err = cli(capsys, "sweep", SMALL_CNN, "--shapes", "64,128,256", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert [p["shape"] for p in data["points"]] == [[64, 64], [128, 128], [256, 256]]
    assert [p["input_shapes"] for p in data["points"]] == [[[1, 3, s, s]] for s in (64, 128, 256)]
    for point, side in zip(data["points"], (64, 128, 256), strict=True):
        assert point["totals"]["flops"] == small_cnn_flops(side)
        assert point["totals"]["params"] == SMALL_CNN_PARAMS
    # nearly 2 in the image side: only the 320-flop linear layer does not grow
    for k, (s1, s2) in zip(data["growth"]["flops"], ((64, 128), (128, 256)), strict=True):
        expected = math.log(small_cnn_flops(s2) / small_cnn_flops(s1)) / math.log(2)
        assert k == pytest.approx(expected)
        assert 1.99 < k < 2.0


def test_sweep_table_shows_sizes_and_growth(capsys):
    code, out, err = cli(capsys, "sweep", SMALL_CNN, "--shapes", "64", "--shapes", "128")
    assert code == 0, err
    expected = math.log(small_cnn_flops(128) / small_cnn_flops(64)) / math.log(2)
    row = next(line for line in out.splitlines() if "128x128" in line)
    assert f"{expected:.2f}" in row
    assert "flops growth" in out and "convention: fvcore" in out


@pytest.mark.slow
def test_sweep_by_operator_shows_the_quadratic_attention_term(capsys):
    # Tokens grow with the square of the image side, so attention's score and value matmuls
    # grow with its 4th power while the linear layers grow with its square.
    code, out, err = cli(
        capsys,
        "sweep",
        "examples.transformer:build",
        "--shapes",
        "64,128",
        "--convention",
        "flops",
        "--by-operator",
    )
    assert code == 0, err
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    attention = lines["scaled_dot_product_attention"].split("│")[-2].strip()
    linear = lines["linear"].split("│")[-2].strip()
    assert attention == "4.00" and linear == "2.00"


# examples/tiny_lm.py: 2 causal blocks of width 128 (4 heads of 32), vocabulary 1000
TINY_LM = "examples/tiny_lm.py"
TINY_LM_PARAMS = 1000 * 128 + 2 * (2 * 256 + 128 * 384 + 384 + 128 * 128 + 128 + 128 * 512 + 512
    + 512 * 128 + 128) + 128 * 1000  # fmt: skip


def tiny_lm_flops(tokens: int) -> dict[str, int]:
    """torch's flop_counter formulas (2 per multiply-add) for the matmul family."""
    per_token = 2 * (128 * 384 + 128 * 128 + 128 * 512 + 512 * 128) + 128 * 1000
    attention = 2 * 2 * 4 * tokens * tokens * 32  # QKᵀ and AV: 2 flops per multiply-add
    return {"linear": 2 * per_token * tokens, "scaled_dot_product_attention": 2 * attention}


def test_sweep_seq_lens_shows_the_quadratic_attention_term(capsys):
    from fvcore.nn.print_model_statistics import _format_size

    code, out, err = cli(
        capsys, "sweep", TINY_LM, "--seq-lens", "64,128", "--convention", "flops", "--by-operator"
    )
    assert code == 0, err
    rows = {
        cells[0]: cells[1:]
        for line in out.splitlines()
        if line.count("│") > 3
        for cells in [[c.strip() for c in line.split("│")[1:-1]]]
    }
    for operator, growth in (("scaled_dot_product_attention", "2.00"), ("linear", "1.00")):
        at_64, at_128, k = rows[operator]
        assert at_64 == _format_size(tiny_lm_flops(64)[operator])  # fvcore's number format
        assert at_128 == _format_size(tiny_lm_flops(128)[operator])
        assert k == growth
    assert "value ∝ seq_len^k" in out
    code, out, err = cli(capsys, "sweep", TINY_LM, "--seq-lens", "64,128", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert [p["shape"] for p in data["points"]] == [[1, 64], [1, 128]]
    assert [p["axis"] for p in data["points"]] == ["seq_len", "seq_len"]
    assert [p["input_shapes"] for p in data["points"]] == [[[1, 64]], [[1, 128]]]
    assert {p["totals"]["params"] for p in data["points"]} == {TINY_LM_PARAMS}


def test_compare_applies_token_inputs_to_both(capsys):
    code, out, err = cli(
        capsys, "compare", TINY_LM, TINY_LM, "--seq-len", "32", "--batch", "2", "--json", "-"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["a"]["input_shapes"] == data["b"]["input_shapes"] == [[2, 32]]
    assert data["delta"]["totals"]["params"] == {
        "a": TINY_LM_PARAMS, "b": TINY_LM_PARAMS, "delta": 0, "ratio": 1.0
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "give the sizes"),
        (("--seq-lens", "64,x"), "'x' is not a positive integer"),
        (("--seq-lens", "64", "--shapes", "64"), "not both"),
        (("--shapes", "320,abc"), "'abc' is not a size"),
        (("--shapes", "320,320"), "twice"),
        (("--shapes", "64", "--convention", "nope"), "unknown --convention"),
    ],
)
def test_sweep_bad_input_is_one_line(capsys, args, fragment):
    code, _, err = cli(capsys, "sweep", SMALL_CNN, *args)
    assert code == 2 and err.count("\n") == 1 and fragment in err


@pytest.mark.slow
def test_sweep_rtmdet_s_equals_separate_analyze_runs(capsys, rtmdet_s, rtmdet_s_report):
    from complexity.zoo import example_inputs

    code, out, err = cli(
        capsys, "sweep", RTMDET_S, "--shapes", "320,640", "--builder", "zoo", "--json", "-"
    )
    assert code == 0, err
    points = json.loads(out)["points"]
    at_320 = analyze(rtmdet_s, example_inputs(rtmdet_s, (320, 320)))
    for point, side, alone in zip(points, (320, 640), (at_320, rtmdet_s_report), strict=True):
        assert point["totals"] == alone.to_dict()["totals"]
        assert point["shape"] == [side, side]
        assert point["input_shapes"] == [[1, 3, side, side]]
    assert f"{points[1]['totals']['flops'] / 1e9:.3f}" == "14.835"  # the seed


# --- budgets -----------------------------------------------------------------------------


def test_budgets_on_a_small_model(capsys):
    code, out, err = cli(capsys, "analyze", SMALL_CNN, "--max-params", str(SMALL_CNN_PARAMS))
    assert code == 0, err
    assert "budget exceeded" not in out
    code, out, _ = cli(
        capsys,
        "analyze",
        SMALL_CNN,
        "--max-params",
        "5K",
        "--max-flops",
        "1G",
        "--max-activations",
        "1k",
    )
    assert code == 3
    lines = out.rstrip("\n").splitlines()
    assert "Model Parameters:" in "\n".join(lines[:-2])  # everything printed first
    # fvcore's activations: conv and linear outputs, 16x112x112 + 32x56x56 + 10 = 0.301M
    assert 16 * 112 * 112 + 32 * 56 * 56 + 10 == 301_066
    assert lines[-2:] == [
        "budget exceeded: activations 0.301M > 1K",
        f"budget exceeded: params {SMALL_CNN_PARAMS / 1e3:.3f}K > 5K",
    ]


def test_budget_with_json_to_stdout_keeps_stdout_json(capsys):
    code, out, err = cli(capsys, "analyze", SMALL_CNN, "--json", "-", "--max-params", "1K")
    assert code == 3
    assert json.loads(out)["totals"]["params"] == SMALL_CNN_PARAMS
    assert err == f"budget exceeded: params {SMALL_CNN_PARAMS / 1e3:.3f}K > 1K\n"


def test_bad_budget_is_one_line(capsys):
    code, _, err = cli(capsys, "analyze", SMALL_CNN, "--max-flops", "15 gigaflops")
    assert code == 2 and err.count("\n") == 1
    assert "--max-flops '15 gigaflops' is not a number" in err


@pytest.mark.slow
@pytest.mark.parametrize(("limit", "code"), [("10G", 3), ("20G", 0)])
def test_rtmdet_s_flops_budget(capsys, limit, code):
    exit_code, out, err = cli(capsys, "analyze", RTMDET_S, "--max-flops", limit)
    assert exit_code == code, err
    last = out.rstrip("\n").splitlines()[-1]
    if code == 3:
        assert last == "budget exceeded: flops 14.835G > 10G"
    else:
        assert "budget exceeded" not in out
