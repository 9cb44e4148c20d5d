"""`--json PATH` never destroys what is at PATH (issue #13, items 1, 2, 13 and 16).

The model is one 3x3 convolution, 3 -> 4 channels, on a 1x3x8x8 input: 4*27 + 4 = 112
parameters and 4*27 multiply-adds at each of the 6*6 output positions, 3888 flops under
fvcore, counted by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import TINY_FLOPS, TINY_MODEL, TINY_PARAMS, assert_tiny_report, cli, one_line_error


def numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def test_every_number_in_the_export_is_an_exact_integer(tmp_path, tiny, capsys):
    # docs/json.md: "All numbers are exact integers (no K/M/G rounding), except
    # `uncounted_share`, a ratio of two of them."
    target = tmp_path / "r.json"
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(target))
    assert code == 0, err
    data = json.loads(target.read_text())
    assert data.pop("uncounted_share") == 0
    found = numbers(data)
    assert TINY_FLOPS in found and TINY_PARAMS in found
    assert all(isinstance(n, int) for n in found), found


# --- item 1: what is at the path decides how it is written -----------------------------


def test_symlink_is_followed_and_kept(tmp_path, tiny, capsys):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == target.name
    assert_tiny_report(target.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json", "tiny.py"]


def test_dangling_symlink_gets_its_target_created(tmp_path, tiny, capsys):
    link = tmp_path / "link.json"
    link.symlink_to("made.json")
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert_tiny_report((tmp_path / "made.json").read_text())


def test_character_device_is_written_not_replaced(tmp_path, tiny, capsys):
    # A private null device (1, 3), so that a regression replaces it and not /dev/null.
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot create a device node here: {error}")
    before = os.stat(device)
    code, out, err = cli(capsys, "analyze", str(tiny), "--json", str(device))
    assert code == 0, err
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert f"JSON report written to {device}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "tiny.py"]


def test_fifo_with_a_reader_is_written_in_place(tmp_path, tiny, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(fifo))
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert_tiny_report(received[0])


def test_fifo_without_a_reader_is_refused_not_waited_on(tmp_path, tiny, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(fifo))
    one_line_error(code, err, 2, str(fifo), "nobody is reading")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.slow
def test_dev_stdout_reaches_stdout_pipe_and_redirected_file(tmp_path, tiny):
    # A private link with /dev/stdout's target, so that a regression replaces it, not /dev's.
    stdout = tmp_path / "stdout"
    stdout.symlink_to(
        os.readlink("/dev/stdout") if Path("/dev/stdout").is_symlink() else "/proc/self/fd/1"
    )
    command = [sys.executable, "-m", "complexity.cli.entry", "analyze", str(tiny)]
    piped = subprocess.run(
        [*command, "--json", str(stdout)], capture_output=True, text=True, timeout=300
    )
    assert piped.returncode == 0, piped.stderr
    report, end = json.JSONDecoder().raw_decode(piped.stdout)
    assert (report["totals"]["params"], report["totals"]["flops"]) == (TINY_PARAMS, TINY_FLOPS)
    assert "Model Flops" in piped.stdout[end:]
    assert stdout.is_symlink()

    # stdout redirected to a file: the same file gets the JSON, then the table; it is not
    # replaced behind the shell's back (same inode), so nothing printed after is lost.
    captured = tmp_path / "out.txt"
    with captured.open("w") as stream:
        inode = os.fstat(stream.fileno()).st_ino
        redirected = subprocess.run(
            [*command, "--json", str(stdout)],
            stdout=stream,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert redirected.returncode == 0, redirected.stderr
    assert os.stat(captured).st_ino == inode
    text = captured.read_text()
    report, end = json.JSONDecoder().raw_decode(text)
    assert report["totals"]["params"] == TINY_PARAMS
    assert "Model Flops" in text[end:]
    assert stdout.is_symlink()


def test_symlink_loop_and_empty_path_are_refused(tmp_path, tiny, capsys):
    (tmp_path / "a.json").symlink_to("b.json")
    (tmp_path / "b.json").symlink_to("a.json")
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(tmp_path / "a.json"))
    one_line_error(code, err, 2, "symlink loop")
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", "")
    one_line_error(code, err, 2, "--json needs a file path")


# --- item 2: modes -------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_new_file_honours_the_umask(tmp_path, tiny, capsys, umask):
    previous = os.umask(umask)
    try:
        code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(tmp_path / "r.json"))
    finally:
        os.umask(previous)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o664, 0o604, 0o600])
def test_existing_file_keeps_its_mode(tmp_path, tiny, capsys, mode):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(mode)
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(target))
    assert code == 0, err
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    assert_tiny_report(target.read_text())


def test_read_only_file_is_refused_and_left_alone(tmp_path, tiny, capsys):
    # No write bit at all: refused even for root, who could replace it.
    target = tmp_path / "r.json"
    target.write_text("keep me")
    target.chmod(0o444)
    code, _, err = cli(capsys, "analyze", str(tiny), "--json", str(target))
    one_line_error(code, err, 2, "read-only", "chmod u+w")
    assert target.read_text() == "keep me"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o444


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop the permission-override capabilities",
)
def test_file_the_user_may_not_write_is_refused(tmp_path, tiny):
    # Root without CAP_DAC_OVERRIDE is held to file modes like any user. The folder is
    # root's, so a rename would replace the file; the file is nobody's, 0644, so root may
    # not write it. It must be refused and stay as it was.
    target = tmp_path / "r.json"
    target.write_text("nobody's")
    os.chown(target, 65534, 65534)
    target.chmod(0o644)
    dropped = "-dac_override,-dac_read_search"
    command = [sys.executable, "-m", "complexity.cli.entry", "analyze", str(tiny)]
    command += ["--json", str(target)]
    result = subprocess.run(
        ["setpriv", f"--bounding-set={dropped}", f"--inh-caps={dropped}", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    one_line_error(result.returncode, result.stderr, 2, str(target), "read-only")
    assert target.read_text() == "nobody's"
    assert os.stat(target).st_uid == 65534


# --- item 13: the path is printed as given -------------------------------------------------


def test_written_path_is_printed_without_markup(tmp_path, tiny, capsys):
    (tmp_path / "a[").mkdir()
    for name in ("report[v2].json", "a[/]b.json", "[bold]x.json"):
        target = tmp_path / name
        code, out, err = cli(capsys, "analyze", str(tiny), "--json", str(target))
        assert code == 0, err
        assert f"JSON report written to {target}" in out
        assert_tiny_report(target.read_text())


# --- item 16: an unwritable folder is refused before any work --------------------------------


def test_unwritable_folder_is_refused_up_front_naming_the_users_path(tmp_path, capsys):
    marker = tmp_path / "model-was-loaded"
    model = tmp_path / "tiny.py"
    model.write_text(f"open({str(marker)!r}, 'w').close()\n" + TINY_MODEL)
    code, _, err = cli(capsys, "analyze", str(model), "--json", "/proc/r.json")
    line = one_line_error(code, err, 2, "/proc/r.json", "choose a writable folder")
    assert ".tmp" not in line and "probe" not in line
    assert not marker.exists()
