"""Every command the README shows runs and succeeds (pip and pytest lines are CI's own)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from helpers import REPO


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


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command: str, tmp_path: Path) -> None:
    # Run from a scratch folder that sees the repo's files, so outputs land there.
    for name in ("configs", "examples", "tools"):
        (tmp_path / name).symlink_to(REPO / name)
    argv = shlex.split(command)
    if argv[0] == "complexity":
        argv = [sys.executable, "-m", "complexity.cli.entry", *argv[1:]]
        scripts = entry_points(group="console_scripts", name="complexity")
        # A set: a checkout's own egg-info and the installed metadata may both be visible.
        assert {e.value for e in scripts} == {"complexity.cli.entry:run"}
    else:
        argv = [sys.executable, *argv[1:]]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    # A broken budget exits 3 after printing everything, and says which budget it was.
    broke_budget = result.returncode == 3 and "budget exceeded:" in result.stdout
    assert result.returncode == 0 or broke_budget, result.stderr
    assert "Traceback" not in result.stderr
    if "--help" in argv:
        assert "Usage" in result.stdout
    elif shlex.split(command)[1] == "sweep":
        assert "flops growth" in result.stdout
    elif shlex.split(command)[1] == "zoo":
        # every MMYOLO family the README names, under its own heading
        families = ("RTMDet", "RTMDet-Ins", "YOLOv5", "YOLOv5-Ins", "YOLOv6", "YOLOv7", "YOLOv8")
        for family in (*families, "YOLOX", "PPYOLOE"):
            assert f"\n{family} (" in f"\n{result.stdout}"
    else:
        assert "Model Flops:" in result.stdout or "Model MACs:" in result.stdout
    for option in ("--json", "--html"):
        if option in argv and argv[argv.index(option) + 1] != "-":
            target = tmp_path / argv[argv.index(option) + 1]
            assert target.is_file()


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
