"""The user's code cannot take over the command; Ctrl-C ends it cleanly (issue #13, 3, 4, 12).

The model is one 3x3 convolution, 3 -> 4 channels, on a 1x3x8x8 input: 4*27 + 4 = 112
parameters, counted by hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from complexity.cli.main import run

from helpers import TINY_PARAMS, cli, one_line_error

CONV = "torch.nn.Conv2d(3, 4, 3)"
ENTRY = [sys.executable, "-m", "complexity.cli.entry"]


# --- item 3: stdout carries the report alone -------------------------------------------


def test_json_to_stdout_stays_pure_when_the_model_prints(tmp_path, capfd):
    model = tmp_path / "chatty.py"
    model.write_text(
        "import os, torch\n"
        "print('hello from import')\n"
        "os.system('echo hello from a subprocess')\n"
        "class Chatty(torch.nn.Module):\n"
        "    def __init__(self):\n"
        f"        super().__init__(); self.conv = {CONV}\n"
        "    def forward(self, x):\n"
        "        print('hello from forward')\n"
        "        return self.conv(x)\n"
        "model = Chatty()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    with pytest.raises(SystemExit) as stop:
        run(["analyze", str(model), "--json", "-"])
    out, err = capfd.readouterr()
    assert stop.value.code == 0, err
    assert json.loads(out)["totals"]["params"] == TINY_PARAMS
    for said in ("hello from import", "hello from a subprocess", "hello from forward"):
        assert said in err


def test_table_output_does_not_carry_the_models_prints(tmp_path, capsys):
    model = tmp_path / "chatty.py"
    model.write_text(f"import torch\nprint('noise')\nmodel = {CONV}\ninput_shape = (1, 3, 8, 8)\n")
    code, out, err = cli(capsys, "analyze", str(model))
    assert code == 0, err
    assert "noise" not in out and "noise" in err
    assert "Model Flops" in out


def test_compare_and_sweep_json_to_stdout_stay_pure_too(tmp_path, capsys):
    model = tmp_path / "chatty.py"
    model.write_text(
        "import torch\nprint('hello from import')\n"
        "class Chatty(torch.nn.Module):\n"
        "    def __init__(self):\n"
        f"        super().__init__(); self.conv = {CONV}\n"
        "    def forward(self, x):\n"
        "        print('hello from forward')\n"
        "        return self.conv(x)\n"
        "model = Chatty()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    code, out, err = cli(capsys, "compare", str(model), str(model), "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["a"]["totals"]["params"] == data["b"]["totals"]["params"] == TINY_PARAMS
    assert "hello from forward" in err
    code, out, err = cli(capsys, "sweep", str(model), "--shapes", "8,16", "--json", "-")
    assert code == 0, err
    assert len(json.loads(out)["points"]) == 2
    assert "hello from forward" in err


# --- item 4: sys.exit and argparse in user code ---------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragments"),
    [
        ("import sys\nsys.exit(0)\n", ("sys.exit(0)", "while loading it")),
        (
            "import argparse\np = argparse.ArgumentParser()\n"
            "p.add_argument('--cfg', required=True)\np.parse_args()\n",
            ("sys.exit(2)", "required: --cfg", "__main__"),
        ),
        ("import sys\ndef model():\n    sys.exit('bye')\n", ("sys.exit(1)", "(bye)")),
        (
            "import sys, torch\nclass Quits(torch.nn.Module):\n"
            "    def forward(self, x):\n        sys.exit(3)\nmodel = Quits()\n",
            ("sys.exit(3)", "while running its forward"),
        ),
    ],
    ids=["exit-at-import", "argparse-required", "factory-exits", "forward-exits"],
)
def test_sys_exit_in_user_code_is_one_line_and_exit_2(tmp_path, capsys, source, fragments):
    model = tmp_path / "quits.py"
    model.write_text(source)
    code, out, err = cli(capsys, "analyze", str(model))
    one_line_error(code, err, 2, "quits.py", *fragments)
    assert out == ""


def test_argparse_at_import_parses_its_own_empty_command_line(tmp_path, capsys):
    # As under `python file.py`: the file sees [file], not complexity's own arguments.
    model = tmp_path / "parsed.py"
    model.write_text(
        "import argparse, sys, torch\n"
        "p = argparse.ArgumentParser(); p.add_argument('--width', type=int, default=4)\n"
        "args = p.parse_args()\n"
        "assert sys.argv == [__file__], sys.argv\n"
        "model = torch.nn.Conv2d(3, args.width, 3)\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    code, out, err = cli(capsys, "analyze", str(model), "--json", "-")
    assert code == 0, err
    assert json.loads(out)["totals"]["params"] == TINY_PARAMS
    assert sys.argv[0] != str(model)  # and ours is back


# --- item 12: Ctrl-C ---------------------------------------------------------------------


def test_describe_failure_imports_nothing():
    # After a Ctrl-C in the middle of `import torch`, importing torch again fails; the
    # error handler must not need it.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from complexity.cli.failures import describe_failure\n"
        "print(describe_failure(ValueError('boom')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('ValueError: boom', 1)"


@pytest.mark.slow
def test_interrupt_while_importing_typer_is_exit_130_without_traceback():
    # Deterministic stand-in for a Ctrl-C during start-up: the import of typer raises
    # KeyboardInterrupt, as the default SIGINT handler would.
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['complexity', 'analyze', 'x.py']\n"
        "from complexity.cli.entry import run\n"
        "run()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    one_line_error(result.returncode, result.stderr, 130, "interrupted")


def _sleeping_model(tmp_path: Path, swallow: bool) -> tuple[Path, Path]:
    ready = tmp_path / "forward-started"
    body = "time.sleep(60)"
    if swallow:  # a model (or library) that catches KeyboardInterrupt and carries on
        body = (
            "try:\n            time.sleep(60)\n        except KeyboardInterrupt:\n            pass"
        )
    model = tmp_path / "sleepy.py"
    model.write_text(
        "import time, torch\n"
        "class Sleepy(torch.nn.Module):\n"
        "    def __init__(self):\n"
        f"        super().__init__(); self.conv = {CONV}\n"
        "    def forward(self, x):\n"
        f"        open({str(ready)!r}, 'w').close()\n"
        f"        {body}\n"
        "        return self.conv(x)\n"
        "model = Sleepy()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    return model, ready


@pytest.mark.slow
@pytest.mark.parametrize("swallow", [False, True], ids=["plain", "swallowed-by-the-model"])
def test_interrupt_during_the_run_is_130_and_writes_nothing(tmp_path, swallow):
    model, ready = _sleeping_model(tmp_path, swallow)
    target = tmp_path / "report.json"
    existing = tmp_path / "kept.json"
    existing.write_text("keep me")
    for path in (target, existing):
        ready.unlink(missing_ok=True)
        process = subprocess.Popen(
            [*ENTRY, "analyze", str(model), "--json", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 240
        while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), process.communicate()[1]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        one_line_error(process.returncode, err, 130, "interrupted")
        assert "Model Flops" not in out
    assert not target.exists()
    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "forward-started",
        "kept.json",
        "sleepy.py",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_interrupt_during_start_up_is_130_and_writes_nothing(tmp_path, delay):
    model = tmp_path / "tiny.py"
    model.write_text(f"import torch\nmodel = {CONV}\ninput_shape = (1, 3, 8, 8)\n")
    target = tmp_path / "report.json"
    process = subprocess.Popen(
        [*ENTRY, "analyze", str(model), "--json", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:  # pragma: no cover - only on a machine faster than the delay
        pytest.skip(f"the run finished within {delay} s, before the signal")
    one_line_error(process.returncode, err, 130, "interrupted")
    assert not target.exists()
    assert os.listdir(tmp_path) == ["tiny.py"]


def test_a_run_leaves_the_calling_process_as_it_was(tmp_path, capsys):
    # In-process callers (tests, notebooks) keep their argv, streams, SIGINT handler and
    # umask, whether the run succeeds or the user's code exits.
    model = tmp_path / "m.py"
    model.write_text(f"import torch\nprint('noise')\nmodel = {CONV}\ninput_shape = (1, 3, 8, 8)\n")
    quits = tmp_path / "quits.py"
    quits.write_text("import sys\nsys.exit(0)\n")

    def state() -> tuple:
        umask = os.umask(0o022)
        os.umask(umask)
        return (list(sys.argv), sys.stdout, sys.stderr, signal.getsignal(signal.SIGINT), umask)

    before = state()
    assert cli(capsys, "analyze", str(model), "--json", str(tmp_path / "r.json"))[0] == 0
    assert state() == before
    assert cli(capsys, "analyze", str(quits))[0] == 2
    assert state() == before
