"""Installing complexity beside an OpenMMLab environment keeps one owner of every file.

`mmengine` and `mmengine-lite` ship the same `mmengine/` files: had the project pulled in
the second one, `pip uninstall` of either would delete the files the other needs and break
mmdet (`No module named 'mmengine'`). Here, in a fresh venv: mmengine, mmcv-lite and mmdet
first (what an mmdet user has), then this project; then every package the project's
install added is checked, and removed, without breaking `import mmengine.config, mmdet`.

Cost: about 3-4 minutes on 2 busy cores (mostly installing mmengine's and mmdet's
dependencies from the local index); torch is linked in from this interpreter instead of
being installed again (another ~2 min and 0.9 GB).
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

from helpers import REPO

OPENMMLAB_FIRST = ["mmengine", "mmcv-lite==2.0.1", "mmdet==3.3.0"]
IMPORTS = "import mmengine.config, mmdet"


def _run(where: Path, *argv: str | Path, timeout: int = 900) -> str:
    # From an empty folder: the repo's own complexity.egg-info must not count as installed.
    result = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=where,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, f"{' '.join(map(str, argv))}\n{result.stderr[-3000:]}"
    return result.stdout


def _installed(where: Path, python: Path) -> dict[str, set[str]]:
    """Each distribution in the venv -> the files its RECORD lists (what uninstall deletes)."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): "
        "sorted(str(f) for f in (d.files or []) if '.dist-info' not in str(f) "
        "and '__pycache__' not in str(f)) for d in m.distributions()}))"
    )
    import json

    return {name: set(files) for name, files in json.loads(_run(where, python, "-c", code)).items()}


def _link_torch(site_packages: Path) -> None:
    """This interpreter's torch, linked into the venv: found and counted as installed by pip."""
    torch = distribution("torch")
    root = Path(str(torch.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in torch.files or []}
    for top in tops:
        if (root / top).exists() and not (site_packages / top).exists():
            (site_packages / top).symlink_to(root / top)


@pytest.mark.slow
def test_installing_beside_mmengine_then_uninstalling_any_one_package(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(tmp_path, sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    site_packages = Path(
        _run(
            tmp_path, python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).strip()
    )
    _link_torch(site_packages)
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    # torch's own requirements (sympy, ...), then what every mmdet user has.
    _run(tmp_path, *pip, "install", f"torch=={distribution('torch').version}", *OPENMMLAB_FIRST)
    _run(tmp_path, python, "-c", IMPORTS)
    before = _installed(tmp_path, python)
    _run(tmp_path, *pip, "install", "-e", REPO)
    after = _installed(tmp_path, python)
    added = sorted(set(after) - set(before))
    assert "torch-complexity" in added  # the distribution's name (the import is complexity)
    assert "mmengine-lite" not in added
    # Uninstalling a package deletes the files its RECORD lists: none of the packages the
    # project added may list a file that one already there also lists.
    kept = set().union(*before.values())
    shared = {name: sorted(after[name] & kept)[:3] for name in added if after[name] & kept}
    assert not shared, f"these packages own files of packages installed before: {shared}"
    # And for real: with every one of them gone (a superset of removing any single one),
    # mmengine's config and mmdet still import.
    _run(tmp_path, *pip, "uninstall", "-y", *added)
    _run(tmp_path, python, "-c", IMPORTS)
