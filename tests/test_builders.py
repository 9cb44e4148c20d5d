"""`--builder openmmlab|zoo|auto`: MMYOLO's own registry side by side with the zoo.

The openmmlab builder's model is MMYOLO's own code (mmyolo 0.6.0), so the zoo's rows are
checked against MMYOLO itself here. Tests that need mmyolo skip where it is not installed
(`pip install -e ".[openmmlab]"`; CI installs it).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import pytest

from complexity.analyzer import analyze
from complexity.targets import TargetError, TargetSpec, load_target
from complexity.targets.mmcv_ops import CompiledOpMissing, compiled_ops_placeholder

from helpers import (
    FIXTURES,
    REPO,
    RTMDET_S,
    SEED_SUMMARY,
    assert_one_line_error,
    cli,
    fvcore_flops,
    seed_markdown_table,
    seed_rows,
)

HAS_MMYOLO = importlib.util.find_spec("mmyolo") is not None
needs_mmyolo = pytest.mark.skipif(
    not HAS_MMYOLO, reason='mmyolo is not installed (pip install -e ".[openmmlab]")'
)
BUILDERS = ["zoo", pytest.param("openmmlab", marks=needs_mmyolo)]


def box_rows(out: str) -> set[tuple[str, ...]]:
    rows = set()
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 4:
            rows.add(tuple(cells))
    return rows


def _per_module(builder: str, config: str = RTMDET_S, shape: tuple[int, int] = (640, 640)):
    loaded = load_target(TargetSpec(config, shape, device="meta", builder=builder))
    report = analyze(loaded.model, loaded.inputs, meta=True)
    names = [name for name, _ in loaded.model.named_modules()]
    metrics = {m: report.by_module(m) for m in ("params", "flops", "activations")}
    return loaded, names, metrics


# --- the seed under both builders ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("builder", BUILDERS)
def test_seed_table_and_summary_under_each_builder(capsys, builder: str) -> None:
    code, out, err = cli(capsys, "analyze", RTMDET_S, "--builder", builder)
    assert code == 0, err
    assert len(seed_rows()) == 56
    assert [row for row in seed_rows() if row not in box_rows(out)] == []
    lines = out.splitlines()
    start = lines.index(SEED_SUMMARY[1]) - 1
    assert lines[start : start + 5] == SEED_SUMMARY
    if builder == "openmmlab":
        assert any(line.startswith("built by mmyolo 0.6.0 (") for line in lines)
    else:  # the distribution is torch-complexity; its version is the tool's
        assert f"built by complexity.zoo {version('torch-complexity')}" in lines


@pytest.mark.slow
@pytest.mark.parametrize("builder", BUILDERS)
def test_get_flops_prints_the_seed_under_each_builder(builder: str) -> None:
    script = "tools/analysis_tools/get_flops.py"
    command = [sys.executable, script, RTMDET_S, "--show-arch", "--builder", builder]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    # mmdet's forward calls a torch API torch deprecated: not the user's business, not shown.
    assert "Warning" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("|")] == seed_markdown_table()
    assert lines[-5:] == SEED_SUMMARY
    excerpt = (FIXTURES / "seed_rtm_reg_arch.txt").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == excerpt[0])
    assert lines[first + 1 : first + len(excerpt)] == excerpt[1:]


@pytest.mark.slow
@needs_mmyolo
def test_rtmdet_s_same_modules_and_numbers_under_both_builders() -> None:
    # MMYOLO's own RTMDet-s (its registry) against the zoo's: every module name, and every
    # module's params, flops and activations.
    ours, zoo_names, zoo = _per_module("zoo")
    theirs, mm_names, mmyolo = _per_module("openmmlab")
    assert type(theirs.model).__module__.startswith("mmyolo.")
    # MMYOLO's head also holds its training machinery as modules (losses, the assigner): no
    # parameters, never called by a tensor-mode forward, so no table row. The zoo has none.
    losses = [name for name in mm_names if name not in zoo_names]
    assert losses == ["bbox_head.loss_cls", "bbox_head.loss_bbox", "bbox_head.assigner"]
    assert zoo_names == [name for name in mm_names if name not in losses]
    for metric in ("params", "flops", "activations"):
        assert all(mmyolo[metric].get(name, 0) == 0 for name in losses)
        kept = {name: value for name, value in mmyolo[metric].items() if name not in losses}
        assert zoo[metric] == kept, metric
    assert str(ours.built_by).startswith("built by complexity.zoo")
    assert str(theirs.built_by).startswith("built by mmyolo 0.6.0")


# --- the user's code is what is counted ----------------------------------------------------


@pytest.mark.slow
@needs_mmyolo
def test_a_replaced_registry_entry_changes_the_numbers() -> None:
    # A user edits mmyolo's neck: here, its registry entry replaced by a subclass with one
    # more 1x1 conv (3 -> 5 channels, bias: 3*5 + 5 = 20 parameters) that the forward runs
    # on a 3-channel slice of the first 8x8 feature map (5*8*8 = 320 outputs, 3 multiply-adds
    # each: 960 flops under fvcore).
    import torch
    from mmyolo.registry import MODELS
    from torch import nn

    shape = (64, 64)
    _, _, before = _per_module("openmmlab", shape=shape)  # imports mmyolo's models
    original = MODELS.get("CSPNeXtPAFPN")

    class EditedNeck(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.extra = nn.Conv2d(3, 5, 1)

        def forward(self, inputs):
            outputs = super().forward(inputs)
            self.extra(outputs[0][:, :3, :8, :8])  # counted though unused (docs/library.md)
            return outputs

    MODELS.register_module(name="CSPNeXtPAFPN", module=EditedNeck, force=True)
    try:
        loaded, names, after = _per_module("openmmlab", shape=shape)
    finally:
        MODELS.register_module(name="CSPNeXtPAFPN", module=original, force=True)
    assert type(loaded.model.neck) is EditedNeck
    assert "neck.extra" in names
    assert after["params"][""] - before["params"][""] == 3 * 5 + 5
    assert after["params"]["neck.extra"] == 20
    assert after["flops"]["neck.extra"] == 5 * 8 * 8 * 3
    assert after["flops"][""] - before["flops"][""] == 5 * 8 * 8 * 3
    assert torch.is_tensor(loaded.inputs)


CUSTOM = REPO / "examples" / "custom_module" / "config.py"


@pytest.mark.slow
@needs_mmyolo
def test_custom_neck_from_custom_imports_is_counted_as_fvcore_counts_it(capsys) -> None:
    # examples/custom_module: `custom_imports` brings a neck registered in mmyolo's registry.
    from fvcore.nn import ActivationCountAnalysis, parameter_count

    code, out, err = cli(capsys, "analyze", str(CUSTOM), "--shape", "128", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["built_by"]["builder"] == "openmmlab"  # auto: mmyolo imports
    assert any(m["name"] == "neck.smooth.2" for m in data["modules"])

    loaded = load_target(TargetSpec(str(CUSTOM), (128, 128)))  # real tensors for fvcore
    assert type(loaded.model.neck).__name__ == "TinyNeck"
    report = analyze(loaded.model, loaded.inputs, meta=False)
    flops = fvcore_flops(loaded.model, loaded.inputs).by_module()
    acts = ActivationCountAnalysis(loaded.model, (loaded.inputs,))
    acts = acts.unsupported_ops_warnings(False).uncalled_modules_warnings(False).by_module()
    params = parameter_count(loaded.model)
    neck = [name for name, _ in loaded.model.neck.named_modules(prefix="neck")]
    assert len(neck) == 9  # neck, lateral, smooth and a conv per level in each
    for name in neck:
        assert report.by_module("flops")[name] == flops[name], name
        assert report.by_module("activations")[name] == acts[name], name
        assert report.by_module("params")[name] == params[name], name
    # By hand: the lateral 1x1 convs, (128 + 256 + 512) * 128 weights and 3 * 128 biases.
    assert report.by_module("params")["neck.lateral"] == 896 * 128 + 3 * 128


@pytest.mark.slow
@needs_mmyolo
def test_custom_neck_under_the_zoo_is_one_line_naming_it(capsys) -> None:
    code, _, err = cli(capsys, "analyze", str(CUSTOM), "--builder", "zoo")
    assert_one_line_error(
        code, err, 2, "'TinyNeck'", "model.neck.type", "mmyolo's registry", "--builder openmmlab"
    )


# --- choosing and refusing -----------------------------------------------------------------


def test_auto_picks_what_is_installed() -> None:
    from mmengine.config import Config

    from complexity.targets.builders import choose_builder

    cfg = Config.fromfile(str(REPO / RTMDET_S))
    assert choose_builder(cfg, "auto") == ("openmmlab" if HAS_MMYOLO else "zoo")
    assert choose_builder(Config({"model": {"type": "ConvModule"}}), "auto") == "zoo"
    no_package = Config({"default_scope": "no_such_package_xyz", "model": {"type": "X"}})
    assert choose_builder(no_package, "auto") == "zoo"


def test_unknown_builder_and_builder_for_a_model_file_are_one_line(tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "analyze", RTMDET_S, "--builder", "mmyolo")
    assert_one_line_error(code, err, 2, "unknown --builder 'mmyolo'", "auto, openmmlab, zoo")
    model = tmp_path / "net.py"
    model.write_text("import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\n")
    code, _, err = cli(capsys, "analyze", str(model), "--builder", "zoo")
    assert_one_line_error(code, err, 2, "--builder zoo applies to MMYOLO-style configs")


@pytest.mark.skipif(HAS_MMYOLO, reason="checks the message where mmyolo is not installed")
def test_openmmlab_without_mmyolo_says_how_to_install(capsys) -> None:
    code, _, err = cli(capsys, "analyze", RTMDET_S, "--builder", "openmmlab")
    assert_one_line_error(code, err, 2, "mmyolo", ".[openmmlab]", "--builder zoo")


@pytest.mark.slow
@needs_mmyolo
def test_unknown_type_in_mmyolos_registry_is_one_line(tmp_path, capsys) -> None:
    config = tmp_path / "typo.py"
    config.write_text(
        f"_base_ = '{REPO / RTMDET_S}'\nmodel = dict(backbone=dict(type='CSPNext'))\n"
    )
    code, _, err = cli(capsys, "analyze", str(config), "--builder", "openmmlab")
    assert_one_line_error(
        code, err, 2, "'CSPNext'", "model.backbone.type", "mmyolo's registry", "'CSPNeXt'"
    )


# --- mmcv without compiled ops: the placeholder -------------------------------------------


@pytest.fixture
def own_mmcv_modules():
    """Whatever a test puts under `mmcv` in sys.modules is gone after it; the real entries
    (a later test may build with mmcv) come back."""
    saved = {k: v for k, v in sys.modules.items() if k == "mmcv" or k.startswith("mmcv.")}
    yield
    for key in [k for k in sys.modules if k == "mmcv" or k.startswith("mmcv.")]:
        del sys.modules[key]
    sys.modules.update(saved)


def _fake_mmcv(tmp_path: Path, with_ops: bool) -> None:
    """An `mmcv` package in tmp_path (with or without `_ext`) standing in for the real one."""
    package = tmp_path / "mmcv"
    package.mkdir()
    (package / "__init__.py").write_text("")
    if with_ops:
        (package / "_ext.py").write_text("def nms(*args):\n    return 'real nms'\n")
    spec = importlib.machinery.ModuleSpec("mmcv", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    module = types.ModuleType("mmcv")
    module.__spec__, module.__path__ = spec, [str(package)]
    sys.modules["mmcv"] = module
    sys.modules.pop("mmcv._ext", None)


def test_placeholder_stands_in_only_while_needed_and_names_the_op(own_mmcv_modules, tmp_path):
    _fake_mmcv(tmp_path, with_ops=False)
    with compiled_ops_placeholder() as used:
        assert used
        ext = importlib.import_module("mmcv._ext")
        nms = ext.nms  # what mmcv's ext_loader looks up at import, and keeps
        assert importlib.util.find_spec("mmcv._ext") is not None
    assert "mmcv._ext" not in sys.modules
    assert not hasattr(sys.modules["mmcv"], "_ext")
    with pytest.raises(CompiledOpMissing) as raised:
        nms(None, None, 0.5)
    message = str(raised.value)
    assert "\n" not in message
    assert "compiled op 'nms'" in message and "install mmcv with its ops" in message


def test_a_working_mmcv_is_not_touched(own_mmcv_modules, tmp_path):
    _fake_mmcv(tmp_path, with_ops=True)
    with compiled_ops_placeholder() as used:
        assert not used
        assert importlib.import_module("mmcv._ext").nms() == "real nms"


@pytest.mark.slow
@needs_mmyolo
def test_the_output_notes_the_placeholder_when_it_was_used(capsys) -> None:
    try:
        importlib.import_module("mmcv._ext")
        has_ops = True
    except ImportError:
        has_ops = False
    code, out, err = cli(capsys, "analyze", RTMDET_S, "--builder", "openmmlab", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["built_by"]["builder"] == "openmmlab"
    assert data["built_by"]["versions"]["mmyolo"] == "0.6.0"
    assert data["totals"]["params"] == 8_886_924  # the seed: 8.887M
    code, out, err = cli(capsys, "analyze", RTMDET_S, "--builder", "openmmlab")
    assert ("compiled ops (mmcv._ext) are not installed" in out) is not has_ops


def test_target_error_is_the_library_error() -> None:
    with pytest.raises(TargetError, match="unknown --builder"):
        load_target(TargetSpec(RTMDET_S, builder="nope"))


@pytest.mark.slow
@needs_mmyolo
def test_a_build_that_reads_a_value_is_built_on_cpu_under_auto(capsys) -> None:
    # mmyolo's RepVGG switch_to_deploy tests `if self.alpha:` (PP-YOLOE+): no value on meta.
    # MMYOLO's own get_flops prints these totals for this config (tools/mmyolo_parity.py).
    config = "configs/ppyoloe/ppyoloe_plus_s_fast_8xb8-80e_coco.py"
    code, out, err = cli(capsys, "analyze", config, "--builder", "openmmlab", "--depth", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert "Model Flops: 8.681G" in lines and "Model Parameters: 7.926M" in lines
    assert any(
        line.startswith("traced on cpu: real tensors (the meta trace needed values: the build")
        for line in lines
    )
    code, _, err = cli(capsys, "analyze", config, "--builder", "openmmlab", "--device", "meta")
    assert code != 0 and "meta" in err
