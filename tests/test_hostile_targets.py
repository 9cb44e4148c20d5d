"""What a target reads is never overwritten, its bad values are named, its options never
silently ignored (issue 23 items 1, 12, 14, 15, 18).

The model is one 3x3 convolution, 3 -> 4 channels, on a 1x3x8x8 input.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import REPO, cli, one_line_error

# GPT-2 with one layer of width 8: small enough to build in a blink.
GPT2 = {
    "model_type": "gpt2",
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 8,
    "vocab_size": 16,
    "n_positions": 16,
}


def config_json(folder: Path, **fields: object) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps({**GPT2, **fields}))
    return path


# --- item 1: the files a target reads ------------------------------------------------------


def test_export_onto_a_base_file_of_the_config_is_refused(tmp_path, capsys):
    # RTMDet-tiny inherits from RTMDet-s: writing the report over the -s config would
    # destroy a file the -tiny config reads.
    for name in (
        "rtmdet_s_syncbn_fast_8xb32-300e_coco.py",
        "rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py",
    ):
        shutil.copy(REPO / "configs" / "rtmdet" / name, tmp_path / name)
    base = tmp_path / "rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
    before = base.read_text()
    config = tmp_path / "rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py"
    code, _, err = cli(capsys, "analyze", str(config), "--json", str(base))
    one_line_error(code, err, 2, f"--json {base}", "reads", base.name)
    assert base.read_text() == before


def test_export_onto_a_module_the_model_file_imports_is_refused(tmp_path, capsys):
    helper = tmp_path / "helper.py"
    helper.write_text("import torch\ndef make():\n    return torch.nn.Conv2d(3, 4, 3)\n")
    before = helper.read_text()
    model = tmp_path / "main.py"
    model.write_text("from helper import make\nmodel = make()\ninput_shape = (1, 3, 8, 8)\n")
    code, _, err = cli(capsys, "analyze", str(model), "--json", str(helper))
    one_line_error(code, err, 2, f"--json {helper}", "a file the model read")
    assert helper.read_text() == before


def test_export_onto_the_config_json_of_a_model_folder_is_refused(tmp_path, capsys):
    config = config_json(tmp_path)
    before = config.read_text()
    code, _, err = cli(capsys, "analyze", str(tmp_path), "--seq-len", "4", "--json", str(config))
    one_line_error(code, err, 2, f"--json {config}", "itself")
    assert config.read_text() == before


# --- item 12: config.json values that are no config ----------------------------------------------


@pytest.mark.parametrize(
    "model_type", [["gpt2"], None, 7, ""], ids=["list", "null", "int", "empty"]
)
def test_a_model_type_that_is_not_a_name_is_refused(tmp_path, capsys, model_type):
    config = config_json(tmp_path, model_type=model_type)
    code, _, err = cli(capsys, "analyze", str(config))
    one_line_error(code, err, 2, "`model_type`", "must name the architecture")
    assert "upgrade transformers" not in err


def test_a_config_json_nested_beyond_reason_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    depth = 100_000
    config.write_text('{"model_type": "gpt2", "x": ' + "[" * depth + "]" * depth + "}")
    code, _, err = cli(capsys, "analyze", str(config))
    one_line_error(code, err, 2, str(config), "nests too deeply")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--cfg-options", "model.backbone.widen_factor=inf"), ("--model-arg", "width=1e400")],
)
def test_an_infinite_option_value_is_refused_naming_the_option(
    tmp_path, tiny, capsys, option, value
):
    target = str(REPO / "configs/rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py")
    if option == "--model-arg":
        factory = tmp_path / "factory.py"
        factory.write_text(
            "import torch\ndef model(width=4):\n    return torch.nn.Conv2d(3, width, 3)\n"
        )
        target = str(factory)
    code, _, err = cli(capsys, "analyze", target, option, value)
    one_line_error(code, err, 2, f"{option} {value.split('=')[0]}", "not a finite number")


# --- item 14: messages that say all of it, and say it short ---------------------------------------


def test_a_transformers_validation_error_keeps_its_reason(tmp_path, capsys):
    pytest.importorskip("transformers")
    # 3 heads do not divide a width of 64: transformers says so on the lines after a first
    # line that ends in ':'.
    config = tmp_path / "config.json"
    fields = {"hidden_size": 64, "num_attention_heads": 3, "num_hidden_layers": 1}
    fields |= {"intermediate_size": 128, "vocab_size": 100}
    config.write_text(json.dumps({"model_type": "llama", **fields}))
    code, _, err = cli(capsys, "analyze", str(config), "--seq-len", "4")
    line = one_line_error(code, err, 2, str(config))
    assert not line.rstrip().endswith(":"), line
    assert "(64)" in line and "(3)" in line, line


def test_a_huge_model_arg_is_not_echoed_whole(tmp_path, capsys):
    config = config_json(tmp_path)
    key = "a" * 100_000
    code, _, err = cli(capsys, "analyze", str(config), "--model-arg", f"{key}=1")
    line = one_line_error(code, err, 2, "--model-arg")
    assert len(line) < 400, len(line)
    code, _, err = cli(capsys, "analyze", str(config), "--model-arg", "=" + key)
    assert len(one_line_error(code, err, 2, "--model-arg")) < 400


def test_a_config_method_is_no_field_for_model_arg(tmp_path, capsys):
    pytest.importorskip("transformers")
    config = config_json(tmp_path)
    code, _, err = cli(capsys, "analyze", str(config), "--model-arg", "to_dict=1")
    one_line_error(code, err, 2, "--model-arg 'to_dict'", "no field")


def test_compare_says_which_model_failed(tmp_path, tiny, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nmodel = 42\n")
    code, _, err = cli(capsys, "compare", str(tiny), str(broken))
    one_line_error(code, err, 2, f"model B ({broken})")
    code, _, err = cli(capsys, "compare", str(broken), str(tiny))
    one_line_error(code, err, 2, f"model A ({broken})")


# --- items 15 and 18: options and values never silently reinterpreted -----------------------------


def test_training_form_on_a_plain_model_file_is_refused(tiny, capsys):
    code, _, err = cli(capsys, "analyze", str(tiny), "--training-form")
    one_line_error(code, err, 2, "--training-form", "plain model file")


def test_training_form_on_a_config_json_is_refused(tmp_path, capsys):
    config = config_json(tmp_path)
    code, _, err = cli(capsys, "analyze", str(config), "--training-form")
    one_line_error(code, err, 2, "--training-form", "Hugging Face config")


@pytest.mark.parametrize("shape", ["(1, 3, 32.9, 32)", "(1, 3, 32.0, 32)", "(1, 3, True, 32)"])
def test_an_input_shape_that_is_not_whole_numbers_is_refused_not_truncated(tmp_path, capsys, shape):
    model = tmp_path / "floaty.py"
    model.write_text(f"import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\ninput_shape = {shape}\n")
    code, _, err = cli(capsys, "analyze", str(model))
    one_line_error(code, err, 2, "`input_shape`", "positive integers")
