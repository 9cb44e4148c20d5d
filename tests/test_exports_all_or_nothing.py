"""Exports destroy nothing and are all or nothing (issue 23 items 1, 6, 15, 17; issue 22's
one export step shared by analyze, compare and sweep).

The model is one 3x3 convolution, 3 -> 4 channels, on a 1x3x8x8 input: 4*27 + 4 = 112
parameters and 4*27 multiply-adds at each of the 6*6 output positions, 3888 flops under
fvcore, counted by hand.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from helpers import TINY_FLOPS, TINY_MODEL, assert_tiny_report, cli, one_line_error


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- item 1: an export never overwrites what the command reads --------------------------


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_export_onto_the_model_file_is_refused(tmp_path, tiny, capsys, option):
    code, _, err = cli(capsys, "analyze", str(tiny), option, str(tiny))
    one_line_error(code, err, 2, f"{option} {tiny}", "the model (CONFIG) itself")
    assert tiny.read_text() == TINY_MODEL
    # Through a symlink, or a path spelt differently, it is the same file.
    link = tmp_path / "link.py"
    link.symlink_to(tiny.name)
    spelt = f"{tmp_path}/./{tiny.name}"
    for path in (str(link), spelt):
        code, _, err = cli(capsys, "analyze", str(tiny), "--json", path)
        one_line_error(code, err, 2, "the model (CONFIG) itself")
    assert tiny.read_text() == TINY_MODEL


def test_compare_export_onto_model_a_or_b_is_refused_naming_which(tmp_path, tiny, capsys):
    other = tmp_path / "other.py"
    other.write_text(TINY_MODEL.replace("Conv2d(3, 4, 3)", "Conv2d(3, 8, 3)"))
    code, _, err = cli(capsys, "compare", str(tiny), str(other), "--json", str(tiny))
    one_line_error(code, err, 2, f"--json {tiny}", "model A")
    code, _, err = cli(capsys, "compare", str(tiny), str(other), "--json", str(other))
    one_line_error(code, err, 2, f"--json {other}", "model B")
    assert tiny.read_text() == TINY_MODEL and "Conv2d(3, 8, 3)" in other.read_text()


def test_sweep_export_onto_its_target_is_refused(tiny, capsys):
    code, _, err = cli(capsys, "sweep", str(tiny), "--shapes", "8,16", "--json", str(tiny))
    one_line_error(code, err, 2, f"--json {tiny}", "the model")
    assert tiny.read_text() == TINY_MODEL


def test_export_onto_the_config_json_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    text = json.dumps(
        {
            "model_type": "gpt2",
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 8,
            "vocab_size": 16,
            "n_positions": 16,
        }
    )
    config.write_text(text)
    code, _, err = cli(capsys, "analyze", str(config), "--seq-len", "4", "--json", str(config))
    one_line_error(code, err, 2, f"--json {config}", "itself")
    assert config.read_text() == text


# --- item 6 (and issue 22's one export step): all exports or none -------------------------


def test_interrupt_while_rendering_the_html_leaves_the_json_as_it_was(
    tmp_path, tiny, capsys, monkeypatch
):
    # A Ctrl-C that arrives while the HTML page is built (the slow export): the JSON,
    # complete by then, must not have replaced the user's file.
    from complexity.render import EXPORTERS

    def interrupted(*_: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setitem(EXPORTERS, "html", interrupted)
    pytest.importorskip("plotly")
    kept = tmp_path / "a.json"
    kept.write_text("keep me")
    page = tmp_path / "b.html"
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(kept), "--html", str(page))
    one_line_error(code, err, 130, "interrupted")
    assert kept.read_text() == "keep me"
    assert not page.exists()
    assert leftovers(tmp_path) == []


def test_a_failed_second_export_leaves_the_first_as_it_was(tmp_path, tiny, capsys):
    # The second export's folder is removed after the check: its write fails, and the
    # first (already written to its temporary file) must not be renamed into place.
    pytest.importorskip("plotly")
    kept = tmp_path / "a.json"
    kept.write_text("keep me")
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    marker = tmp_path / "remove-the-folder.py"
    marker.write_text(
        "import shutil, torch\n"
        "class Remover(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.conv = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        f"        shutil.rmtree({str(doomed)!r}, ignore_errors=True)\n"
        "        return self.conv(x)\n"
        "model = Remover()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    code, _, err = cli(
        capsys, "analyze", str(marker), "--json", str(kept), "--html", str(doomed / "b.html")
    )
    assert code == 1, err
    assert kept.read_text() == "keep me"
    assert leftovers(tmp_path) == []


def test_every_export_is_written_when_all_succeed(tmp_path, tiny, capsys):
    pytest.importorskip("plotly")
    report, page = tmp_path / "a.json", tmp_path / "b.html"
    code, out, err = cli(capsys, "analyze", str(tiny), "--json", str(report), "--html", str(page))
    assert code == 0, err
    assert_tiny_report(report.read_text())
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert f"JSON report written to {report}" in out and f"HTML report written to {page}" in out
    assert leftovers(tmp_path) == []


# --- item 15: options are never silently reinterpreted ----------------------------------------


def test_two_exports_to_one_path_are_refused(tmp_path, tiny, capsys):
    pytest.importorskip("plotly")
    target = tmp_path / "r"
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(target), "--html", str(target))
    one_line_error(code, err, 2, "name the same file")
    assert not target.exists()


@pytest.mark.parametrize(
    "options",
    [
        ["--json", "a.json", "--json", "b.json"],
        ["--json=a.json", "--json", "b.json"],
        ["--device-spec", "H200", "--device-spec", "L4"],
        ["--depth", "1", "--depth", "2"],
    ],
    ids=["json-twice", "json-twice-with-equals", "device-spec-twice", "depth-twice"],
)
def test_an_option_given_twice_is_refused(tmp_path, tiny, capsys, options, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "analyze", str(tiny), *options)
    name = options[0].split("=")[0]
    one_line_error(code, err, 2, f"{name} is given twice")
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "b.json").exists()


def test_repeatable_options_may_repeat(tmp_path, capsys):
    model = tmp_path / "two.py"
    model.write_text(
        "import torch\n"
        "class Two(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.conv = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x, y):\n"
        "        return self.conv(x) + self.conv(y)\n"
        "model = Two()\n"
    )
    code, out, err = cli(
        capsys, "analyze", str(model), "--input", "1x3x8x8", "--input", "1x3x8x8", "--json", "-"
    )
    assert code == 0, err
    assert json.loads(out)["totals"]["flops"] == 2 * TINY_FLOPS  # one convolution, run twice


def test_a_path_ending_in_a_slash_is_refused(tmp_path, tiny, capsys):
    (tmp_path / "j").mkdir()
    target = f"{tmp_path}/j/x.json/"
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", target)
    one_line_error(code, err, 2, target, "names a folder")
    assert list((tmp_path / "j").iterdir()) == []


def test_a_hard_linked_file_is_refused_not_split_from_its_links(tmp_path, tiny, capsys):
    first = tmp_path / "r.json"
    first.write_text("shared")
    second = tmp_path / "also.json"
    os.link(first, second)
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(first))
    one_line_error(code, err, 2, str(first), "hard link")
    assert first.read_text() == second.read_text() == "shared"
    assert os.stat(first).st_ino == os.stat(second).st_ino


# --- item 17: a FIFO nobody reads is refused before any work ------------------------------------


def test_fifo_without_a_reader_is_refused_before_the_model_is_loaded(tmp_path, capsys):
    marker = tmp_path / "model-was-loaded"
    model = tmp_path / "tiny.py"
    model.write_text(f"open({str(marker)!r}, 'w').close()\n" + TINY_MODEL)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = cli(capsys, "analyze", str(model), "--json", str(fifo))
    one_line_error(code, err, 2, str(fifo), "nobody is reading")
    assert not marker.exists()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fifo_with_a_reader_gets_the_report_after_the_analysis(tmp_path, tiny, capsys):
    # The reader is there before the command starts (its end opened without waiting).
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    received: list[bytes] = []

    def read_all() -> None:
        os.set_blocking(reader, True)
        while chunk := os.read(reader, 65536):
            received.append(chunk)

    try:
        code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(fifo))
        thread = threading.Thread(target=read_all, daemon=True)
        thread.start()
        thread.join(timeout=60)
    finally:
        os.close(reader)
    assert code == 0, err
    assert_tiny_report(b"".join(received).decode())
