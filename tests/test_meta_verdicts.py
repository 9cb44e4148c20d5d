"""A meta trace rejects exactly what a real forward rejects (issue 23, item 2).

Our shape-only Meta kernels (`_convolution`, `native_batch_norm`, `linear`) skip torch's
kernels, so they must repeat their checks: without them a channel mismatch after a config
edit, or a float64 input into float32 weights, counted flops for a model that cannot run.
The oracle is torch's own CPU kernel: each seeded random case runs on real CPU tensors and
on meta tensors under our kernels, and the two verdicts (and output shapes) must agree.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from complexity.analyzer import AnalysisError, analyze
from complexity.analyzer.meta import conv_meta_reroute

from helpers import assert_one_line_error, cli, load_rtmdet_cfg

DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def verdict(run: Callable[[], torch.Tensor]) -> tuple[str, Any]:
    try:
        out = run()
    except (RuntimeError, ValueError) as error:
        return "error", str(error).splitlines()[0]
    return "ok", (tuple(out.shape), out.dtype)


def assert_same_verdicts(cases: list[Callable[[str], torch.Tensor]]) -> None:
    """Each case, run on cpu and on meta under our kernels: same verdict, same shape."""
    differing = []
    errors = 0
    for case in cases:
        real = verdict(functools.partial(case, "cpu"))
        with conv_meta_reroute(), torch.no_grad():
            meta = verdict(functools.partial(case, "meta"))
        errors += real[0] == "error"
        if real[0] != meta[0] or (real[0] == "ok" and real != meta):
            differing.append((case.__doc__, real, meta))
    assert not differing, differing[:5]
    assert 0.1 * len(cases) < errors < 0.9 * len(cases)  # both verdicts well represented


def convolution_cases(count: int) -> list[Callable[[str], torch.Tensor]]:
    rng = random.Random(23)
    cases = []
    for _ in range(count):
        dims, transposed = rng.choice([1, 2, 3]), rng.random() < 0.4
        groups = rng.choice([1, 1, 1, 2, 4]) if rng.random() > 0.1 else rng.choice([0, 3, -1])
        per = max(groups, 1)
        in_channels = per * rng.choice([1, 2]) + (rng.random() < 0.2)
        out_channels = per * rng.choice([1, 2]) + (rng.random() < 0.2)
        kernel = [rng.choice([1, 2, 3, 5]) for _ in range(dims)]
        weight = (
            (in_channels, max(out_channels // per, 1), *kernel)
            if transposed
            else (out_channels, max(in_channels // per, 1), *kernel)
        )
        input_dims = dims + (rng.choice([-1, 1]) if rng.random() < 0.05 else 0)
        channels = in_channels + (rng.choice([1, 2]) if rng.random() < 0.15 else 0)
        shape = (
            rng.choice([1, 2]),
            channels,
            *[rng.choice([1, 2, 3, 4, 7]) for _ in range(input_dims)],
        )
        stride = [rng.choice([1, 2, 3] if rng.random() > 0.05 else [0, -1]) for _ in range(dims)]
        if rng.random() < 0.05:
            stride.append(1)  # a parameter list of the wrong length
        padding = [rng.choice([0, 1, 2] if rng.random() > 0.05 else [-1]) for _ in range(dims)]
        # Dilation 0 is left out: torch's own oneDNN transposed kernel accepts some.
        dilation = [rng.choice([1, 1, 2]) for _ in range(dims)]
        output_padding = [rng.choice([0, 0, 1, 2]) if transposed else 0 for _ in range(dims)]
        dtypes = [rng.choice(DTYPES) if rng.random() < 0.15 else torch.float32 for _ in "iwb"]
        bias = None
        if rng.random() < 0.5:
            bias = weight[1] * per if transposed else weight[0]
            bias += rng.random() < 0.1

        def case(device: str, shape=shape, weight=weight, bias=bias, dtypes=dtypes,
                 stride=stride, padding=padding, dilation=dilation,
                 transposed=transposed, output_padding=output_padding, groups=groups):  # fmt: skip
            return torch.convolution(
                torch.ones(shape, dtype=dtypes[0], device=device),
                torch.ones(weight, dtype=dtypes[1], device=device),
                None if bias is None else torch.ones(bias, dtype=dtypes[2], device=device),
                stride, padding, dilation, transposed, output_padding, groups,
            )  # fmt: skip

        case.__doc__ = f"conv {shape} {weight} bias={bias} {dtypes} s={stride} p={padding} " \
            f"d={dilation} t={transposed} op={output_padding} g={groups}"  # fmt: skip
        cases.append(case)
    return cases


def test_convolution_verdicts_equal_a_cpu_forward() -> None:
    assert_same_verdicts(convolution_cases(800))


def linear_cases(count: int) -> list[Callable[[str], torch.Tensor]]:
    rng = random.Random(24)
    cases = []
    for _ in range(count):
        fan_in, fan_out = rng.choice([1, 3, 4]), rng.choice([1, 2, 5])
        dims = rng.choice([0, 1, 1, 2, 2, 3, 4])
        shape = (*[rng.choice([1, 2, 3]) for _ in range(dims)], fan_in + (rng.random() < 0.1))
        if rng.random() < 0.03:
            shape = ()
        weight = (
            (fan_out, fan_in)
            if rng.random() < 0.9
            else rng.choice([(fan_in,), (2, fan_out, fan_in), ()])
        )
        bias = rng.choice([None, None, (fan_out,), (fan_out,), (1,), (), (fan_out + 1,),
                           (2, fan_out), (1, fan_out), (fan_out, 1), (1, 1, fan_out)])  # fmt: skip
        dtypes = [rng.choice((*DTYPES, torch.int64)) if rng.random() < 0.2 else None for _ in "iwb"]
        dtypes[0] = dtypes[0] or torch.float32
        dtypes[1] = dtypes[1] or dtypes[0]
        dtypes[2] = dtypes[2] or dtypes[1]
        strided = len(shape) >= 2 and rng.random() < 0.2

        def case(device: str, shape=shape, weight=weight, bias=bias, dtypes=dtypes,
                 strided=strided):  # fmt: skip
            x = torch.ones(shape, dtype=dtypes[0], device=device)
            x = x.transpose(0, -2) if strided else x
            b = None if bias is None else torch.ones(bias, dtype=dtypes[2], device=device)
            return F.linear(x, torch.ones(weight, dtype=dtypes[1], device=device), b)

        case.__doc__ = f"linear {shape} strided={strided} {weight} bias={bias} {dtypes}"
        cases.append(case)
    return cases


def test_linear_verdicts_equal_a_cpu_forward() -> None:
    assert_same_verdicts(linear_cases(1000))


def batch_norm_cases(count: int) -> list[Callable[[str], torch.Tensor]]:
    rng = random.Random(25)
    cases = []
    for _ in range(count):
        channels = rng.choice([1, 3, 4])
        shape = (
            rng.choice([1, 2]),
            channels,
            *[rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 2, 3]))],
        )
        sizes = channels + (rng.random() < 0.1)
        dtype = rng.choice(DTYPES)
        dtypes = [rng.choice(DTYPES) if rng.random() < 0.3 else rng.choice([dtype, torch.float32])
                  for _ in range(4)]  # fmt: skip
        present = [rng.random() < 0.7 for _ in range(4)]
        training = rng.random() < 0.5
        if not training:
            present[2:] = [rng.random() < 0.95, True]  # eval needs running stats

        def case(device: str, shape=shape, dtype=dtype, dtypes=dtypes, present=present,
                 training=training, sizes=sizes):  # fmt: skip
            weight, bias, mean, var = (
                torch.ones(sizes, dtype=d, device=device) if p else None
                for d, p in zip(dtypes, present, strict=True)
            )
            x = torch.ones(shape, dtype=dtype, device=device)
            return torch.batch_norm(x, weight, bias, mean, var, training, 0.1, 1e-5, False)

        case.__doc__ = f"batch_norm {shape} {dtype} {dtypes} {present} train={training}"
        cases.append(case)
    return cases


def test_batch_norm_verdicts_equal_a_cpu_forward() -> None:
    assert_same_verdicts(batch_norm_cases(500))


def max_pool2d_cases(count: int) -> list[Callable[[str], torch.Tensor]]:
    """Arguments around the edges of torch's checks: pads over half the kernel, zero or
    negative strides, empty inputs, outputs too small, channels-last and 3-d inputs."""
    rng = random.Random(25)
    cases = []
    for _ in range(count):
        dims = rng.choice([3, 4, 4, 4, 4, 4, 4, 5])
        shape = [
            rng.choice([1, 2]),
            rng.choice([1, 3]),
            rng.choice([3, 6, 9]),
            rng.choice([2, 5, 8]),
        ]
        shape = shape[4 - dims :] if dims <= 4 else [1, *shape]
        if rng.random() < 0.05:
            shape[rng.randrange(len(shape))] = 0
        kernel = [rng.choice([1, 2, 3, 3, 5]) for _ in range(rng.choice([1, 2, 2, 2]))]
        stride = [rng.choice([1, 2, 3] if rng.random() > 0.05 else [0, -1])
                  for _ in range(rng.choice([0, 1, 2, 2]))]  # fmt: skip
        padding = [rng.choice([0, 0, 0, 1, 2] if rng.random() > 0.05 else [-1])
                   for _ in range(1 if rng.random() < 0.3 else 2 if rng.random() > 0.05 else 3)]  # fmt: skip
        dilation = [rng.choice([1, 1, 2]) for _ in range(rng.choice([1, 2]))]
        ceil_mode = rng.random() < 0.3
        channels_last = dims == 4 and rng.random() < 0.2
        dtype = rng.choice(DTYPES)

        def case(device: str, shape=shape, kernel=kernel, stride=stride, padding=padding,
                 dilation=dilation, ceil_mode=ceil_mode, channels_last=channels_last,
                 dtype=dtype):  # fmt: skip
            x = torch.ones(shape, dtype=dtype, device=device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return torch.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)

        case.__doc__ = f"max_pool2d {shape} k={kernel} s={stride} p={padding} " \
            f"d={dilation} ceil={ceil_mode} cl={channels_last} {dtype}"  # fmt: skip
        cases.append(case)
    return cases


def test_max_pool2d_verdicts_equal_a_cpu_forward() -> None:
    assert_same_verdicts(max_pool2d_cases(600))


def upsample_cases(count: int) -> list[Callable[[str], torch.Tensor]]:
    """No empty inputs: torch's own meta kernel raises a TypeError on them (its check gets
    an int), where CPU says "Non-empty 4D data tensor expected"; ours defers to torch's."""
    rng = random.Random(26)
    cases = []
    for _ in range(count):
        shape = [rng.choice([1, 2]), rng.choice([1, 3]), rng.choice([1, 4]), rng.choice([3, 5])]
        size = [rng.choice([-1, 0, 2, 7]) for _ in range(rng.choice([1, 2, 2, 2, 3]))]
        by_scale = rng.random() < 0.5
        scale = rng.choice([0.5, 2.0, 3.0])
        mode = rng.choice(["nearest", "nearest-exact"])
        channels_last = rng.random() < 0.2

        def case(device: str, shape=shape, size=size, by_scale=by_scale, scale=scale, mode=mode,
                 channels_last=channels_last):  # fmt: skip
            x = torch.ones(shape, device=device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if by_scale:
                return F.interpolate(x, scale_factor=scale, mode=mode)
            return F.interpolate(x, size=size, mode=mode)

        case.__doc__ = f"interpolate {shape} size={size} scale={scale if by_scale else None} " \
            f"{mode} cl={channels_last}"  # fmt: skip
        cases.append(case)
    return cases


def test_nearest_upsample_verdicts_equal_a_cpu_forward() -> None:
    assert_same_verdicts(upsample_cases(300))


# ----------------------------------------------------------------- through analyze()


def small_cnn() -> nn.Module:
    # examples/small_cnn.py
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    ).eval()


@pytest.mark.parametrize(
    "model, inputs, where",
    [
        (small_cnn(), torch.rand(1, 5, 32, 32), "expected input[1, 5, 32, 32] to have 3"),
        (small_cnn(), torch.rand(1, 3, 32, 32, dtype=torch.float64), "0 (Conv2d)"),
        (nn.Linear(4, 2), torch.rand(3, 4, dtype=torch.float64), "the model itself (Linear)"),
        (nn.BatchNorm1d(4).eval(), torch.rand(3, 4, dtype=torch.float64), "(BatchNorm1d)"),
    ],
    ids=["channels", "float64-conv", "float64-linear", "float64-batch-norm"],
)
@pytest.mark.parametrize("meta", [None, True])
def test_analyze_refuses_what_a_forward_refuses(
    model: nn.Module, inputs: torch.Tensor, where: str, meta: bool | None
) -> None:
    with pytest.raises(RuntimeError):
        model(inputs)  # the oracle: a plain forward fails
    with pytest.raises(AnalysisError, match=r"forward failed in") as refused:
        analyze(model, inputs, meta=meta)
    assert where in str(refused.value)
    with pytest.raises(AnalysisError) as real:
        analyze(model, inputs, meta=False)
    assert str(real.value).split(": ")[0] == str(refused.value).split(": ")[0]  # same module


def test_the_cli_refuses_five_channels_into_small_cnn(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("analyze", "examples/small_cnn.py", "--input", "1x5x32x32")
    code, _, err = cli(capsys, *args)
    assert_one_line_error(code, err, 1, "0 (Conv2d)", "to have 3 channels, but got 5")
    assert (code, err) == cli(capsys, *args, "--device", "cpu")[::2]


@pytest.mark.slow
@pytest.mark.parametrize(
    "key, value, message",
    [
        ("model.neck.in_channels", [300, 600, 1200], "to have 450 channels, but got 384"),
        ("model.backbone.widen_factor", 0.5, "to have 384 channels, but got 512"),
    ],
)
def test_rtmdet_tiny_edited_into_a_mismatch_is_refused(key: str, value: Any, message: str) -> None:
    from complexity.zoo import build_model, example_inputs

    cfg = load_rtmdet_cfg("tiny")
    cfg.merge_from_dict({key: value})
    model = build_model(cfg.model).eval()
    inputs = example_inputs(model, (64, 64))
    with pytest.raises(RuntimeError, match=message), torch.no_grad():
        model(inputs)  # the oracle: MMYOLO's model cannot run
    with pytest.raises(AnalysisError, match=message):
        analyze(model, (inputs,))
