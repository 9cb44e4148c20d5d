"""config.json sizes that transformers takes as they are, refused in one line (issue 23,
item 8): a layer count of -1 built no layers and reported 32.8M flops, a vocab_size of 0
an empty embedding, a max_position_embeddings of 0 switched off the --seq-len bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO, assert_one_line_error, cli

pytest.importorskip("transformers")

LLAMA = REPO / "examples/hf/llama-2-7b/config.json"


def config_with(tmp_path: Path, **fields: Any) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**json.loads(LLAMA.read_text()), **fields}))
    return str(path)


@pytest.mark.parametrize(
    "field, value",
    [
        ("num_hidden_layers", -1),
        ("num_hidden_layers", 0),
        ("vocab_size", 0),
        ("max_position_embeddings", 0),
        ("hidden_size", 64.5),
        ("num_attention_heads", True),
        ("intermediate_size", "11008"),
    ],
)
def test_a_size_field_that_is_not_a_positive_int_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, field: str, value: Any
) -> None:
    code, out, err = cli(capsys, "analyze", config_with(tmp_path, **{field: value}))
    assert_one_line_error(code, err, 2, f"{field} = {value!r} in", "must be a positive integer")
    assert out == ""


def test_a_model_arg_size_that_is_not_positive_names_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(capsys, "analyze", str(LLAMA), "--model-arg", "num_hidden_layers=-3")
    assert_one_line_error(
        code, err, 2, "--model-arg num_hidden_layers=-3", "must be a positive integer"
    )


def test_gpt2_names_its_own_fields(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    gpt2 = json.loads((REPO / "examples/hf/gpt2/config.json").read_text())
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**gpt2, "n_layer": -1}))
    code, _, err = cli(capsys, "analyze", str(path))
    assert_one_line_error(code, err, 2, "n_layer = -1 in", "--model-arg n_layer=N")
