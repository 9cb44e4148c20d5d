"""Every command the README shows runs and succeeds (pip and pytest lines are CI's own).

The commands run in-process, through the CLI's own entry (`complexity.cli.main.run`, as
`helpers.cli` calls it) and get_flops.py's `main`: each pays for its analysis, not for a
fresh interpreter importing torch and OpenMMLab again. One test runs the `complexity`
console script itself in a fresh process, on the README's main command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from helpers import REPO, SEED_SUMMARY, cli, run_script


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(("complexity ", "python tools/")):
                commands.append(line)
    # Commands quoted inline in the prose, except bare names and placeholders (CONFIG, PATH).
    for span in re.findall(r"`(complexity [^`]+)`", text):
        if (
            span not in commands
            and span != "complexity analyze"
            and not re.search(r"[A-Z]{3,}", span)
        ):
            commands.append(span)
    return commands


def test_readme_shows_the_seed_example_first():
    commands = readme_commands()
    assert (
        commands[0] == "complexity analyze configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"
    )
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python -m pytest" in text
    assert "python -m pytest" in (REPO / ".ci" / "run").read_text()


def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a scratch folder that sees the repo's files, so outputs land there."""
    for name in ("configs", "examples", "tools"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)


def _project_version() -> str:
    """The version pyproject.toml gives (its one source), read from the file itself."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^\[project\]$.*?^version = "([^"]+)"$', text, flags=re.M | re.S)
    assert found, "pyproject.toml has no [project] version"
    return found.group(1)


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _in_a_scratch_folder(tmp_path, monkeypatch)
    argv = shlex.split(command)
    if argv[0] == "complexity":
        code, out, err = cli(capsys, *argv[1:])
    else:
        assert argv[0] == "python" and argv[1].startswith("tools/"), command
        code, out, err = run_script(capsys, *argv[1:])
    # A broken budget exits 3 after printing everything, and says which budget it was.
    broke_budget = code == 3 and "budget exceeded:" in out
    assert code == 0 or broke_budget, err
    assert "Traceback" not in err
    if "--help" in argv:
        assert "Usage" in out
    elif "--version" in argv:
        assert out == f"complexity {_project_version()}\n"
    elif argv[1] == "sweep":
        assert "flops growth" in out
    elif argv[1] == "zoo":
        # every MMYOLO family the README names, under its own heading
        families = ("RTMDet", "RTMDet-Ins", "YOLOv5", "YOLOv5-Ins", "YOLOv6", "YOLOv7", "YOLOv8")
        for family in (*families, "YOLOX", "PPYOLOE"):
            assert f"\n{family} (" in f"\n{out}"
    else:
        assert "Model Flops:" in out or "Model MACs:" in out
    for option in ("--json", "--html"):
        if option in argv and argv[argv.index(option) + 1] != "-":
            target = tmp_path / argv[argv.index(option) + 1]
            assert target.is_file()


def _console_script() -> Path:
    """The `complexity` script pip wrote beside this interpreter (or the one on PATH)."""
    beside = Path(sys.executable).parent / "complexity"
    if beside.is_file():
        return beside
    found = shutil.which("complexity")
    assert found, "no `complexity` console script: install the project (pip install -e .)"
    return Path(found)


@pytest.mark.slow
def test_console_script_runs_the_readme_main_command(tmp_path: Path, monkeypatch) -> None:
    # The one fresh process: the installed `complexity` script, its entry point, and the
    # process set-up of complexity.cli.entry (stdout, signals, exit code) around the command.
    scripts = entry_points(group="console_scripts", name="complexity")
    # A set: a checkout's own egg-info and the installed metadata may both be visible.
    assert {e.value for e in scripts} == {"complexity.cli.entry:run"}
    _in_a_scratch_folder(tmp_path, monkeypatch)
    command = readme_commands()[0]
    assert command.startswith("complexity analyze configs/")
    result = subprocess.run(
        [str(_console_script()), *shlex.split(command)[1:]],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # The seed's summary (MMYOLO's get_flops for RTMDet-s), line for line; when mmyolo
    # builds the model, a note on mmcv's compiled ops may come before its first rule.
    lines = result.stdout.splitlines()
    start = lines.index(SEED_SUMMARY[1])
    assert lines[start - 1 : start + len(SEED_SUMMARY) - 1] == SEED_SUMMARY


def test_every_test_the_readme_names_exists():
    # The README's promises (errors, exports, the model unchanged) name the test that
    # checks each; a renamed or deleted test must not leave a promise unbacked.
    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_\w+)`", text))
    assert len(named) >= 10, named
    defined = {
        name
        for path in (REPO / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M)
    }
    assert named <= defined, sorted(named - defined)
