"""What the user names is checked before anything runs (issue #13, items 10, 11, 14, 15).

Numbers are hand-computed: a zoo `ConvModule(3, 4, 3)` (no norm, so a conv bias) has
4*27 + 4 = 112 parameters; on a 1x3x8x8 input with padding p its convolution does
4*27*(6+2p)^2 multiply-adds.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from helpers import REPO, cli, one_line_error

RTMDET_S = str(REPO / "configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py")
CONV_MODULE = "dict(type='ConvModule', in_channels=3, out_channels=4, kernel_size=3)"


# --- item 14: special files as the config ---------------------------------------------


def test_fifo_as_config_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "config.py"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, _, err = cli(capsys, "analyze", str(fifo))
    one_line_error(code, err, 2, str(fifo), "not a regular file")
    assert time.monotonic() - started < 60


def test_dev_zero_as_config_is_refused(capsys):
    code, _, err = cli(capsys, "analyze", "/dev/zero")
    one_line_error(code, err, 2, "/dev/zero", "not a regular file")


# --- item 15: loader messages ----------------------------------------------------------------


def test_inputs_function_that_raises_names_inputs(tmp_path, capsys):
    model = tmp_path / "m.py"
    model.write_text(
        "import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\n"
        "def inputs():\n    raise ValueError('no data here')\n"
    )
    code, _, err = cli(capsys, "analyze", str(model))
    one_line_error(code, err, 2, "`inputs`", "ValueError: no data here")


@pytest.mark.parametrize("shape", ["(1, 3, -8, 8)", "(1, 0, 8, 8)", "()"])
def test_bad_input_shape_is_exit_2_naming_input_shape(tmp_path, capsys, shape):
    model = tmp_path / "m.py"
    model.write_text(f"import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\ninput_shape = {shape}\n")
    code, _, err = cli(capsys, "analyze", str(model))
    one_line_error(code, err, 2, "`input_shape`", "positive integers")


def test_symlink_loop_and_dangling_link_are_named_as_such(tmp_path, capsys):
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    code, _, err = cli(capsys, "analyze", str(tmp_path / "a.py"))
    one_line_error(code, err, 2, "symlink loop")
    (tmp_path / "c.py").symlink_to("gone.py")
    code, _, err = cli(capsys, "analyze", str(tmp_path / "c.py"))
    one_line_error(code, err, 2, "symlink to gone.py", "does not exist")


def test_empty_target_is_not_called_a_folder(capsys):
    code, _, err = cli(capsys, "analyze", "")
    line = one_line_error(code, err, 2, "empty")
    assert "folder" not in line


def test_base_cycle_is_detected_and_names_the_files(tmp_path, capsys):
    (tmp_path / "a.py").write_text("_base_ = './b.py'\nmodel = dict(type='ConvModule')\n")
    (tmp_path / "b.py").write_text("_base_ = ['./c.py']\n")
    (tmp_path / "c.py").write_text("_base_ = './a.py'\n")
    started = time.monotonic()
    code, _, err = cli(capsys, "analyze", str(tmp_path / "a.py"))
    line = one_line_error(code, err, 2, "_base_", "a.py -> ", "b.py -> ", "c.py -> ")
    assert "recursion" not in line
    assert time.monotonic() - started < 10  # mmengine alone took ~22 s to give up


@pytest.mark.parametrize(
    "source",
    [
        f"model: dict = {CONV_MODULE}\ninput_shape = (1, 3, 8, 8)\n",
        f"conv = {CONV_MODULE}\nmodel = conv\n",
        "model = {'type': 'ConvModule', 'in_channels': 3, 'out_channels': 4, 'kernel_size': 3}\n",
    ],
    ids=["annotated", "assigned-from-a-name", "dict-literal"],
)
def test_model_dict_with_type_in_a_plain_file_is_a_config(tmp_path, capsys, source):
    config = tmp_path / "conv.py"
    config.write_text(source)
    code, out, err = cli(capsys, "analyze", str(config), "--shape", "8", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["params"] == 4 * 27 + 4
    assert data["modules"][0]["flops_by_operator"]["conv"] == 4 * 27 * 6 * 6


@pytest.mark.parametrize("training_form", [False, True], ids=["deploy", "training-form"])
def test_training_form_reaches_a_model_dict_in_a_plain_file(tmp_path, capsys, training_form):
    # `model = block` escapes the quick config check, so the file is run and its dict built
    # as a config: --training-form must still keep the RepVGG branches apart.
    config = tmp_path / "repvgg.py"
    config.write_text(
        "block = dict(type='RepVGGBlock', in_channels=3, out_channels=3)\nmodel = block\n"
    )
    flag = ["--training-form"] if training_form else []
    code, out, err = cli(capsys, "analyze", str(config), "--shape", "8", "--json", "-", *flag)
    assert code == 0, err
    # Trained: 3x3 conv (3*3*9) + BN (2*3), 1x1 conv (3*3) + BN (2*3), identity BN (2*3).
    # Deployed: one biased 3x3 conv (3*3*9 + 3).
    expected = 3 * 3 * 9 + 6 + 3 * 3 + 6 + 6 if training_form else 3 * 3 * 9 + 3
    assert json.loads(out)["totals"]["params"] == expected


# --- item 10: --cfg-options keys that would change nothing ----------------------------------


@pytest.mark.parametrize(
    ("option", "fragments"),
    [
        (
            "modle.backbone.widen_factor=0.25",
            ("modle", "close matches", "model.backbone.widen_factor"),
        ),
        (
            "widen_factor=0.25",
            (
                "already written into the model",
                "model.backbone.widen_factor=0.25",
                "model.neck.widen_factor=0.25",
                "model.bbox_head.head_module.widen_factor=0.25",
            ),
        ),
        (
            "model.backbone.widen_facter=0.25",
            ("CSPNeXt takes no argument 'widen_facter'", "model.backbone.widen_factor"),
        ),
        ("model.neck.num_csp_blocks.x=1", ("model.neck.num_csp_blocks",)),
        ("model.test_cfg.score_thresh=0.5", ("no model.test_cfg.score_thresh", "score_thr")),
        ("model.neck.in_channels.5=1", ("list of 3 items", "index from 0 to 2")),
    ],
    ids=[
        "typo-in-the-path",
        "substituted-variable",
        "typo-in-an-argument",
        "through-a-value",
        "new-key-outside-a-type",
        "list-index",
    ],
)
def test_cfg_option_keys_that_change_nothing_are_refused(capsys, option, fragments):
    code, out, err = cli(capsys, "analyze", RTMDET_S, "--cfg-options", option)
    one_line_error(code, err, 2, "--cfg-options", *fragments)
    assert out == ""


def test_new_argument_inside_a_typed_dict_is_accepted_as_mmengine_does(tmp_path, capsys):
    # `padding` is not in the config but is a ConvModule argument: a legitimate override.
    config = tmp_path / "conv.py"
    config.write_text(f"model = {CONV_MODULE}\n")
    code, out, err = cli(
        capsys,
        "analyze",
        str(config),
        "--shape",
        "8",
        "--json",
        "-",
        "--cfg-options",
        "model.padding=1",
    )
    assert code == 0, err
    assert json.loads(out)["modules"][0]["flops_by_operator"]["conv"] == 4 * 27 * 8 * 8


def test_none_switches_a_dict_off_as_in_mmengine(tmp_path, capsys):
    # With act_cfg=None the ConvModule has no ReLU: the op disappears from the census.
    config = tmp_path / "conv.py"
    config.write_text(f"model = {CONV_MODULE[:-1]}, act_cfg=dict(type='ReLU'))\n")
    args = ("analyze", str(config), "--shape", "8", "--json", "-")

    def ops_seen(out: str) -> set[str]:
        data = json.loads(out)
        return set(data["ignored_ops"]) | {op["op"] for op in data["uncounted_ops"]}

    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert "aten::relu_" in ops_seen(out)
    code, out, err = cli(capsys, *args, "--cfg-options", "model.act_cfg=None")
    assert code == 0, err
    assert not ops_seen(out) & {"aten::relu", "aten::relu_"}


# --- item 11: --cfg-options values that cannot work ---------------------------------------------


@pytest.mark.parametrize(
    ("option", "fragments"),
    [
        (
            "model.backbone.widen_factor=abc",
            ("model.backbone.widen_factor='abc'", "give a number", "widen_factor=0.5"),
        ),
        (
            "model.bbox_head.head_module.num_classes=abc",
            ("num_classes='abc'", "whole number", "num_classes=80"),
        ),
        ("model.bbox_head.head_module.num_classes=2.5", ("num_classes=2.5", "whole number")),
        ("model.backbone.widen_factor=-0.5", ("widen_factor=-0.5", "must be positive")),
        ("model.backbone.widen_factor=0", ("widen_factor=0", "must be positive")),
        ("model.bbox_head.head_module.num_classes=0", ("num_classes=0", "must be positive")),
        ("model.neck.in_channels=3", ("in_channels=3", "a list")),
        ("model.backbone=1", ("model.backbone=1", "override its keys one by one")),
    ],
    ids=[
        "number-as-text",
        "count-as-text",
        "count-as-fraction",
        "negative-width",
        "zero-width",
        "zero-classes",
        "list-as-number",
        "dict-as-value",
    ],
)
def test_bad_cfg_option_values_name_key_value_and_fix(capsys, option, fragments):
    code, out, err = cli(capsys, "analyze", RTMDET_S, "--cfg-options", option)
    one_line_error(code, err, 2, *fragments)
    assert out == ""


def test_long_bad_value_is_shortened(capsys):
    code, _, err = cli(
        capsys, "analyze", RTMDET_S, "--cfg-options", "model.backbone.widen_factor=" + "abc" * 70
    )
    line = one_line_error(code, err, 2, "model.backbone.widen_factor=", "give a number")
    assert len(line) < 200


def test_bad_value_the_build_refuses_is_exit_2_naming_the_option(tmp_path, capsys):
    # A value of the right kind that the constructor refuses: its message, with the option.
    config = tmp_path / "conv.py"
    config.write_text(f"model = {CONV_MODULE}\n")
    code, _, err = cli(capsys, "analyze", str(config), "--cfg-options", "model.groups=2")
    one_line_error(code, err, 2, "cannot build the model", "--cfg-options model.groups=2")
