"""analyze, compare and sweep share one set of options and one validation step (issue 22).

Usage errors are found before torch is imported (each case runs in a fresh process and
reports whether `torch` got into sys.modules); every sweep point and both compare sides
are checked before any model is built.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest

from helpers import RTMDET_S, assert_one_line_error, cli

PROBE = textwrap.dedent(
    """
    import atexit, sys
    from complexity.cli.entry import run
    # The console entry ends with os._exit after running the atexit functions.
    atexit.register(lambda: sys.__stderr__.write(f"\\nTORCH {'torch' in sys.modules}\\n"))
    run(sys.argv[1:])
    """
)


def _fresh(*args: str) -> tuple[int, bool, str, str]:
    """Run the console entry in a fresh process: (exit code, torch imported?, out, err)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    *err, last = result.stderr.rstrip("\n").split("\n")
    assert last.startswith("TORCH "), result.stdout + result.stderr
    return result.returncode, last == "TORCH True", result.stdout, "\n".join(err)


def _cpu_only_torch() -> bool:
    import torch

    return torch.version.cuda is None and torch.version.hip is None


USAGE_ERRORS = [
    (("analyze", "no/such/config.py"), "does not exist"),
    (("analyze", RTMDET_S, "--convention", "bogus"), "--convention"),
    (("analyze", RTMDET_S, "--depth", "-1"), "--depth -1"),
    (("analyze", RTMDET_S, "--shape", "0"), "--shape 0"),
    (("analyze", RTMDET_S, "--max-flops", "12Q"), "--max-flops"),
    (("analyze", RTMDET_S, "--device-spec", "Z80"), "--device-spec"),
    (("analyze", RTMDET_S, "--device", "tpu"), "--device"),
    (("analyze", RTMDET_S, "--seq-len", "16"), "--seq-len"),
    (("analyze", "examples/small_cnn.py", "--input", "1xfoo"), "--input 1xfoo"),
    (("analyze", "examples/small_cnn.py", "--model-arg", "oops"), "--model-arg"),
    (("compare", "examples/small_cnn.py", "no/such.py"), "no/such.py"),
    (("compare", "examples/small_cnn.py", "examples/small_cnn.py", "--depth", "-2"), "--depth"),
    (("sweep", RTMDET_S, "--shapes", "320,abc"), "--shapes item 'abc'"),
    (("sweep", RTMDET_S, "--shapes", "320", "--convention", "nope"), "--convention"),
    (("sweep", "no/such.py", "--shapes", "320"), "does not exist"),
]


@pytest.mark.parametrize(
    ("args", "fragment"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_usage_errors_come_before_torch_is_imported(args: tuple[str, ...], fragment: str) -> None:
    code, torch_imported, _, err = _fresh(*args)
    assert_one_line_error(code, err, 2, fragment)
    assert not torch_imported


def test_device_cuda_on_a_cpu_only_torch_is_refused_without_importing_torch() -> None:
    if not _cpu_only_torch():
        pytest.skip("this torch is a GPU build: torch itself must be asked")
    code, torch_imported, _, err = _fresh("analyze", RTMDET_S, "--device", "cuda")
    assert_one_line_error(code, err, 2, "--device cuda", "CPU-only")
    assert not torch_imported


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("zoo",), ("analyze", "--help")])
def test_version_help_and_zoo_do_not_import_torch(args: tuple[str, ...]) -> None:
    code, torch_imported, out, _ = _fresh(*args)
    assert code == 0
    assert not torch_imported
    if args == ("--version",):
        assert out.strip() == f"complexity {version('torch-complexity')}"


def test_sweep_checks_every_seq_len_before_building(capsys: pytest.CaptureFixture[str]) -> None:
    """GPT-2 has 1024 positions (n_positions in its config.json): 2048 is refused up front,
    named as the option the user typed, before the 256 and 512 points are analysed."""
    code, out, err = cli(
        capsys, "sweep", "examples/hf/gpt2/config.json", "--seq-lens", "256,512,2048"
    )
    assert_one_line_error(code, err, 2, "--seq-lens 2048", "1024 positions")
    assert out == ""


def test_compare_takes_per_side_model_args(capsys: pytest.CaptureFixture[str]) -> None:
    """TinyLM with 1 and 2 blocks: B - A is one CausalBlock at dim 128, by hand:
    2 LayerNorms 2*2*128 + qkv 128*384+384 + proj 128*128+128 + MLP 128*512+512 + 512*128+128.
    """
    block = (
        2 * 2 * 128 + (128 * 384 + 384) + (128 * 128 + 128) + (128 * 512 + 512) + (512 * 128 + 128)
    )
    code, out, err = cli(
        capsys,
        "compare", "examples/tiny_lm.py", "examples/tiny_lm.py", "--seq-len", "16",
        "--a-model-arg", "layers=1", "--b-model-arg", "layers=2", "--json", "-",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["delta"]["totals"]["params"]["delta"] == block


def test_compare_takes_cfg_options_for_both_sides_and_for_each(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    """One config, two variants: --cfg-options for both (1x1 kernels), then each side's own
    width. By hand: a 1x1 Conv2d from 3 channels with bias has 4*3+4 = 16 parameters at 4
    outputs and 8*3+8 = 32 at 8; on an 8x8 input it makes 64 positions of 3 multiply-adds
    per output channel."""
    config = tmp_path / "conv.py"
    config.write_text(
        "model = dict(type='ConvModule', in_channels=3, out_channels=4, kernel_size=3)\n"
    )
    code, out, err = cli(
        capsys, "compare", str(config), str(config), "--shape", "8", "--json", "-",
        "--cfg-options", "model.kernel_size=1",
        "--a-cfg-options", "model.out_channels=4", "--b-cfg-options", "model.out_channels=8",
    )  # fmt: skip
    assert code == 0, err
    totals = json.loads(out)["delta"]["totals"]
    assert (totals["params"]["a"], totals["params"]["b"]) == (16, 32)
    assert (totals["flops"]["a"], totals["flops"]["b"]) == (4 * 3 * 64, 8 * 3 * 64)


def test_compare_checks_both_sides_before_building(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "compare", "examples/small_cnn.py", "examples/small_cnn.py",
        "--b-model-arg", "not an assignment",
    )  # fmt: skip
    assert_one_line_error(code, err, 2, "--model-arg")
    assert out == ""


@pytest.mark.parametrize("command", ["analyze", "compare", "sweep"])
def test_every_command_explains_every_convention_and_the_shape_default(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = cli(capsys, command, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name in ("fvcore", "flops", "macs"):
        assert name in flat
    for option in ("--model-arg", "--cfg-options", "--device", "--convention", "--batch"):
        assert option in flat
    if command != "sweep":  # sweep takes --shapes, a list of sizes
        assert "224 for model files" in flat


def _options_of(help_text: str) -> dict[str, str]:
    """Each option of a command's --help and its help text (joined, defaults included)."""
    options: dict[str, str] = {}
    name = None
    for line in help_text.splitlines():
        start = re.match(r"  (--[\w-]+)(?:\s\S+)*?(?:\s{2,}(.*))?$", line)
        if start:
            name = start.group(1)
            options[name] = start.group(2) or ""
        elif name and line.startswith(" " * 8):
            # A line broken after a hyphen ("floating-" / "point") joins without a space.
            options[name] += ("" if options[name].endswith("-") else " ") + line.strip()
        else:
            name = None
    return {option: " ".join(text.split()) for option, text in options.items()}


# Each command says in its own words what these write or show.
WORDED_PER_COMMAND = {"--json", "--html", "--decode", "--device-spec", "--by-operator", "--help"}
TARGET_OPTIONS = (
    "--batch", "--model-arg", "--cfg-options", "--training-form", "--builder",
    "--max-modules", "--device", "--convention", "--train-step", "--freeze", "--debug",
)  # fmt: skip


def test_the_three_commands_share_each_option_s_help_and_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An option that two commands take reads the same in both (its help and its default),
    and every command takes the options that build a target."""
    helps = {}
    for command in ("analyze", "compare", "sweep"):
        code, out, _ = cli(capsys, command, "--help")
        assert code == 0
        helps[command] = _options_of(out)
    for command, options in helps.items():
        assert set(TARGET_OPTIONS) <= set(options), (command, set(TARGET_OPTIONS) - set(options))
    shared = {
        option
        for options in helps.values()
        for option in options
        if sum(option in other for other in helps.values()) > 1
    } - WORDED_PER_COMMAND
    assert shared >= set(TARGET_OPTIONS)
    for option in sorted(shared):
        texts = {
            command: options[option] for command, options in helps.items() if option in options
        }
        assert len(set(texts.values())) == 1, (option, texts)


def test_the_cli_convention_names_are_the_analyzers() -> None:
    from complexity.analyzer import CONVENTIONS
    from complexity.cli.validation import CONVENTION_NAMES

    assert tuple(CONVENTIONS) == CONVENTION_NAMES


def test_the_zoo_listing_read_from_source_is_the_registrys() -> None:
    from complexity.cli.zoo_listing import describe_known_types as from_source
    from complexity.zoo import describe_known_types as from_registry

    assert from_source() == from_registry()


def test_compare_memory_adds_byte_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """One more CausalBlock (198,272 float32 parameters, as above) is 793,088 bytes."""
    code, out, err = cli(
        capsys, "compare", "examples/tiny_lm.py", "examples/tiny_lm.py", "--seq-len", "16",
        "--a-model-arg", "layers=1", "--b-model-arg", "layers=2", "--memory", "--depth", "0",
    )  # fmt: skip
    assert code == 0, err
    assert f"+{793_088 / 1024:.2f} KiB" in out


def test_the_max_modules_default_is_the_targets() -> None:
    from complexity.cli.options import MAX_MODULES
    from complexity.targets.spec import DEFAULT_MAX_MODULES

    assert MAX_MODULES == DEFAULT_MAX_MODULES


@pytest.mark.slow
def test_get_flops_advises_only_what_accepts_it() -> None:
    """get_flops.py takes no --convention; its advice names the command that does."""
    script = [sys.executable, "tools/analysis_tools/get_flops.py", RTMDET_S]
    rejected = subprocess.run([*script, "--convention", "flops"], capture_output=True, text=True)
    assert rejected.returncode == 2 and "--convention" in rejected.stderr
    result = subprocess.run(script, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    advice = [line for line in result.stdout.splitlines() if "--convention" in line]
    assert advice and all("complexity analyze --convention" in line for line in advice)
