"""Ctrl-C, SIGTERM and SIGHUP at any moment end the console command cleanly, and stdout
carries the report alone (issue 23 items 5, 6, 7, 12's closed stdout, 18).

Every test runs the console entry in a subprocess of its own and waits on a marker file
that the model writes, never on a timer, so the signal lands where the test says; each
wait is bounded. FIFOs are private ones in tmp_path, never real device nodes.

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

from helpers import TINY_PARAMS, one_line_error

ENTRY = [sys.executable, "-m", "complexity.cli.entry"]
CONV = "torch.nn.Conv2d(3, 4, 3)"
WAIT = 240  # seconds a run may take to reach its marker on a loaded 2-core machine


def wait_for(condition, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    if not condition():
        process.kill()
        raise AssertionError(f"the marker never came: {process.communicate()[1][-2000:]}")


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- items 5 and 6: a signal during the exports ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_exports_leaves_every_path_as_it_was(tmp_path, signum):
    # --json to a file, --html to a private FIFO whose reader never reads: the page (MBs,
    # plotly inline) fills the pipe (64 KiB) and the command blocks in the export step,
    # with the JSON already in its temporary file. Then the signal.
    pytest.importorskip("plotly")
    model = tmp_path / "tiny.py"
    model.write_text(f"import torch\nmodel = {CONV}\ninput_shape = (1, 3, 8, 8)\n")
    kept = tmp_path / "a.json"
    kept.write_text("keep me")
    fifo = tmp_path / "page"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # there, but never reading
    try:
        process = subprocess.Popen(
            [*ENTRY, "analyze", str(model), "--json", str(kept), "--html", str(fifo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: bool(temporaries(tmp_path)), process)  # the JSON is staged
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        os.close(reader)
    one_line_error(process.returncode, err, 128 + signum)
    assert "Model Flops" not in out
    assert kept.read_text() == "keep me"
    assert temporaries(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_the_run_write_nothing(tmp_path, signum):
    ready = tmp_path / "forward-started"
    model = tmp_path / "sleepy.py"
    model.write_text(
        "import time, torch\n"
        "class Sleepy(torch.nn.Module):\n"
        "    def __init__(self):\n"
        f"        super().__init__(); self.conv = {CONV}\n"
        "    def forward(self, x):\n"
        f"        open({str(ready)!r}, 'w').close()\n"
        "        time.sleep(60)\n"
        "        return self.conv(x)\n"
        "model = Sleepy()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    target = tmp_path / "r.json"
    process = subprocess.Popen(
        [*ENTRY, "analyze", str(model), "--json", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(ready.exists, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    one_line_error(process.returncode, err, 128 + signum, signal.Signals(signum).name)
    assert not target.exists() and temporaries(tmp_path) == []


# --- item 18: Ctrl-C at the very end, and a model that ignores it ----------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_report_while_the_process_ends_is_still_clean(tmp_path, signum):
    # The user's atexit handler runs after the report is out, in the process's last
    # moments; a Ctrl-C there ends with 130 (not -2, not a traceback).
    ready = tmp_path / "exiting"
    model = tmp_path / "lingers.py"
    model.write_text(
        "import atexit, time, torch\n"
        "def linger():\n"
        f"    open({str(ready)!r}, 'w').close()\n"
        "    time.sleep(30)\n"
        "atexit.register(linger)\n"
        f"model = {CONV}\ninput_shape = (1, 3, 8, 8)\n"
    )
    process = subprocess.Popen(
        [*ENTRY, "analyze", str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(ready.exists, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    one_line_error(process.returncode, err, 128 + signum)
    assert "Model Flops: 3.888K" in out  # the report was complete before the signal


@pytest.mark.slow
def test_a_model_that_ignores_ctrl_c_does_not_disable_it(tmp_path):
    ready = tmp_path / "forward-started"
    model = tmp_path / "deaf.py"
    model.write_text(
        "import signal, time, torch\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "class Sleepy(torch.nn.Module):\n"
        "    def __init__(self):\n"
        f"        super().__init__(); self.conv = {CONV}\n"
        "    def forward(self, x):\n"
        f"        open({str(ready)!r}, 'w').close()\n"
        "        time.sleep(20)\n"
        "        return self.conv(x)\n"
        "model = Sleepy()\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    process = subprocess.Popen(
        [*ENTRY, "analyze", str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(ready.exists, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    one_line_error(process.returncode, err, 130, "interrupted")
    assert "Model Flops" not in out


# --- item 7: `--json -` stays pure -------------------------------------------------------------


@pytest.mark.slow
def test_json_to_stdout_stays_pure_with_atexit_and_thread_prints(tmp_path):
    model = tmp_path / "chatty.py"
    model.write_text(
        "import atexit, threading, time, torch\n"
        "def tick():\n"
        "    while True:\n"
        "        print('tick from a thread', flush=True)\n"
        "        time.sleep(0.005)\n"
        "threading.Thread(target=tick, daemon=True).start()\n"
        "atexit.register(lambda: print('bye from atexit'))\n"
        f"model = {CONV}\ninput_shape = (1, 3, 8, 8)\n"
    )
    result = subprocess.run(
        [*ENTRY, "analyze", str(model), "--json", "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["totals"]["params"] == TINY_PARAMS
    assert "bye from atexit" in result.stderr and "tick from a thread" in result.stderr


# --- item 12: a closed stdout -------------------------------------------------------------------


def test_a_closed_stdout_is_a_usage_error(tmp_path):
    model = tmp_path / "tiny.py"
    model.write_text(f"import torch\nmodel = {CONV}\ninput_shape = (1, 3, 8, 8)\n")
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *ENTRY, "analyze", str(model)],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    one_line_error(result.returncode, result.stderr, 2, "stdout is closed")
