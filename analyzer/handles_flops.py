"""The `flops` convention: real floating-point operations, a multiply-add = 2 flops.

Matmul-family ops (conv, mm, addmm, bmm, baddbmm, matmul, linear, einsum, sdpa) count exactly
as torch.utils.flop_counter counts them: 2 per multiply-add, bias adds free. On top of that,
elementwise, reduction, norm, pooling, interpolation and recurrent ops are charged at the
per-element costs of `COSTS`, the one table of such choices (rendered in docs/conventions.md;
a test keeps the two equal). Shape, view and copy ops are free (`IGNORED`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .formulas import (
    MATMUL_OPS,
    conv_macs,
    einsum_path,
    einsum_subscripts,
    grouped_mm_macs,
    linear_macs,
    matmul_macs,
    numel,
    sdpa_macs,
    sort_comparisons,
    topk_comparisons,
)
from .registry import Args, Handler, HandlerTable, simple_op_name

FLOPS = HandlerTable("flops")
ACTIVATIONS = HandlerTable("activations")

# ------------------------------------------------------------------ per-element costs

OUTPUT = "output element"
INPUT = "input element"
BOUND = "output element and bound"
WINDOW = "pooling-window element"
SORTED = "comparison"
VALUE = "value element"


@dataclass(frozen=True)
class Cost:
    """`flops` per `per`, charged to the aten ops `ops` (names without the `aten::`)."""

    flops: int
    per: str
    ops: tuple[str, ...]
    why: str


def _ops(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Convention behind the numbers: every arithmetic operation, comparison and call of a libm
# function (exp, log, log1p, sqrt, rsqrt, pow, erf, tanh, sin, cos) is 1 flop; a composite
# function costs the sum of its steps, written out in `why`. Ops listed here with no
# dedicated handler below are charged `flops * numel(output)` (or of the first input, for
# per="input element"); a 0-d tensor costs 0 there: the tracer records Python int arithmetic
# on sizes (`x.size(0) * 2`, BatchNorm's num_batches_tracked += 1) as 0-d tensor ops.
COSTS: dict[str, Cost] = {
    "arithmetic": Cost(
        1,
        OUTPUT,
        _ops("add add_ sub sub_ rsub mul mul_ div div_ floor_divide remainder"),
        "one operation; broadcast operands are counted at the output, alpha is not counted",
    ),
    "unary arithmetic": Cost(
        1, OUTPUT, _ops("neg abs reciprocal square floor ceil round sign"), "one operation"
    ),
    "math function": Cost(
        1,
        OUTPUT,
        _ops("pow sqrt rsqrt exp log log2 log1p erf sin cos"),
        "one libm call (DeepSpeed's profiler also counts these 1 per element)",
    ),
    "comparison": Cost(
        1, OUTPUT, _ops("eq ne lt le gt ge maximum minimum"), "one comparison (or max/min)"
    ),
    "reduction": Cost(
        1,
        INPUT,
        _ops("sum mean amax amin max min argmax argmin"),
        "one add (or comparison) per input element; mean's final divide is not counted",
    ),
    "relu": Cost(1, OUTPUT, _ops("relu relu_"), "max(x, 0)"),
    "relu6, hardtanh": Cost(2, OUTPUT, _ops("relu6 relu6_ hardtanh hardtanh_"), "max, then min"),
    "leaky_relu": Cost(2, OUTPUT, _ops("leaky_relu leaky_relu_"), "compare, multiply"),
    "elu": Cost(4, OUTPUT, _ops("elu elu_"), "compare, exp, subtract 1, multiply by alpha"),
    "sigmoid": Cost(4, OUTPUT, _ops("sigmoid sigmoid_"), "1 / (1 + exp(-x)): neg, exp, add, div"),
    "tanh": Cost(1, OUTPUT, _ops("tanh tanh_"), "one libm call"),
    "silu": Cost(5, OUTPUT, _ops("silu silu_"), "x * sigmoid(x): sigmoid (4) + multiply"),
    "gelu": Cost(
        5, OUTPUT, _ops("gelu gelu_"), "0.5 x (1 + erf(x / sqrt 2)): mul, erf, add, mul, mul"
    ),
    "gelu (approximate='tanh')": Cost(
        9,
        OUTPUT,
        _ops("gelu gelu_"),
        "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): 2 mul for x^3, mul, add, mul, tanh, add, 2 mul",
    ),
    "hardsigmoid": Cost(
        4, OUTPUT, _ops("hardsigmoid hardsigmoid_"), "min(max(x + 3, 0), 6) / 6: add, max, min, div"
    ),
    "hardswish": Cost(
        5, OUTPUT, _ops("hardswish hardswish_"), "x * hardsigmoid(x): hardsigmoid (4) + multiply"
    ),
    "mish": Cost(4, OUTPUT, _ops("mish mish_"), "x * tanh(log1p(exp(x))): exp, log1p, tanh, mul"),
    "softplus": Cost(
        5, OUTPUT, _ops("softplus"), "log1p(exp(beta x)) / beta: mul, exp, log1p, div, threshold"
    ),
    "softmax": Cost(
        5,
        OUTPUT,
        _ops("softmax log_softmax _softmax _log_softmax"),
        "max, subtract, exp, sum, divide (log_softmax: subtract the log-sum instead)",
    ),
    "clamp": Cost(
        1,
        BOUND,
        _ops("clamp clamp_ clamp_min clamp_min_ clamp_max clamp_max_"),
        "one max or min per bound given",
    ),
    "norm statistics": Cost(
        5,
        INPUT,
        _ops("layer_norm group_norm instance_norm batch_norm"),
        "from the input's own statistics (batch_norm in training): add for the mean, "
        "subtract, square, add for the variance, multiply by 1/std",
    ),
    "rms_norm statistics": Cost(
        3, INPUT, _ops("rms_norm"), "square, add for the mean square, multiply by 1/rms"
    ),
    "norm weight": Cost(
        1, INPUT, _ops("layer_norm group_norm instance_norm batch_norm rms_norm"), "multiply"
    ),
    "norm bias": Cost(1, INPUT, _ops("layer_norm group_norm instance_norm batch_norm"), "add"),
    "norm with running statistics": Cost(
        2,
        INPUT,
        _ops("batch_norm instance_norm"),
        "eval mode: mean, std, weight and bias fold into one scale and shift per channel",
    ),
    "pooling": Cost(
        1,
        WINDOW,
        _ops(
            "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices "
            "max_pool3d_with_indices avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
            "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
            "adaptive_max_pool3d"
        ),
        "per output element, one comparison or add per element of its window (padding "
        "included); adaptive pools: their exact, variable windows",
    ),
    "nearest interpolation": Cost(
        1,
        OUTPUT,
        _ops(
            "upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d "
            "_upsample_nearest_exact2d _upsample_nearest_exact3d grid_sampler"
        ),
        "one source-index computation (grid_sampler with mode='nearest')",
    ),
    "linear interpolation": Cost(
        3, OUTPUT, _ops("upsample_linear1d"), "weighted sum of 2 taps: 2 mul, 1 add"
    ),
    "bilinear interpolation": Cost(
        7,
        OUTPUT,
        _ops("upsample_bilinear2d grid_sampler"),
        "weighted sum of 4 taps: 4 mul, 3 add (grid_sampler with mode='bilinear' on 4-d input)",
    ),
    "trilinear interpolation": Cost(
        15,
        OUTPUT,
        _ops("upsample_trilinear3d grid_sampler"),
        "weighted sum of 8 taps: 8 mul, 7 add (grid_sampler with mode='bilinear' on 5-d input)",
    ),
    "bicubic interpolation": Cost(
        31,
        OUTPUT,
        _ops("upsample_bicubic2d grid_sampler"),
        "weighted sum of 16 taps: 16 mul, 15 add (grid_sampler with mode='bicubic')",
    ),
    "dropout (training)": Cost(
        2,
        OUTPUT,
        _ops("dropout dropout_ feature_dropout feature_dropout_"),
        "x * mask * 1/(1-p); drawing the mask is not counted",
    ),
    "dropout (eval)": Cost(
        0, OUTPUT, _ops("dropout dropout_ feature_dropout feature_dropout_"), "identity"
    ),
    "embedding": Cost(0, OUTPUT, _ops("embedding"), "a gather: no arithmetic"),
    "scan": Cost(
        1, INPUT, _ops("cumsum cumsum_ cumprod cumprod_"), "one add (or multiply) per element"
    ),
    "difference": Cost(1, OUTPUT, _ops("diff"), "one subtraction"),
    "histogram": Cost(
        3, INPUT, _ops("histc"), "bin of x: subtract min, multiply by bins / range; count it"
    ),
    "sort": Cost(
        1,
        SORTED,
        _ops("sort argsort msort topk"),
        "comparisons: n · ceil(log2 n) per sorted row of n; topk: n · ceil(log2 k) (a heap)",
    ),
    "accumulating scatter": Cost(
        1,
        VALUE,
        _ops("index_put index_put_"),
        "one add per value written with accumulate=True; a plain write is free",
    ),
    "weight norm": Cost(
        3,
        INPUT,
        _ops("_weight_norm"),
        "v · g / ‖v‖: square and add for the norm, multiply by the scale",
    ),
}


def _rate(row: str) -> int:
    return COSTS[row].flops


def _label(op: str) -> str:
    """`aten::relu_` -> `relu`: in-place variants share their op's label."""
    name = simple_op_name(op)
    return name[:-1] if name.endswith("_") and not name.startswith("_") else name


# Free under `flops`: views, shape queries, copies, constructors and selections (no
# arithmetic on values), and boolean logic (no floating-point arithmetic).
IGNORED: frozenset[str] = frozenset(
    "aten::" + op
    for op in (
        "Int Float ScalarImplicit size numel dim view view_as reshape reshape_as permute "
        "transpose t contiguous flatten unflatten squeeze squeeze_ unsqueeze unsqueeze_ expand "
        "expand_as movedim slice select narrow split split_with_sizes chunk unbind cat concat "
        "stack to type_as detach detach_ clone copy_ alias lift_fresh constant_pad_nd pad "
        "roll flip repeat tile zeros zeros_like ones ones_like full full_like empty empty_like "
        "new_zeros new_ones new_full new_empty arange scalar_tensor index index_select gather "
        "masked_fill masked_fill_ where fill_ zero_ __and__ __or__ bitwise_not logical_not "
        "logical_and logical_or numpy_T repeat_interleave resolve_conj resolve_neg"
    ).split()
)


# ------------------------------------------------------------------ matmul family


@FLOPS.register("aten::_convolution", "aten::convolution", "aten::_convolution_mode", label="conv")
def conv_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2 * N * prod(out spatial; in spatial if transposed) * prod(weight): torch's formula."""
    transposed = bool(args.get("transposed"))  # _convolution_mode (string padding) has none
    return 2 * conv_macs(args["input"], args["weight"], outputs[0], transposed)


@FLOPS.register("aten::mm", "aten::bmm", "aten::matmul", "aten::mv", "aten::dot")
def matmul_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2 * broadcast batch * n * k * m; a 1-d operand contributes n = 1 or m = 1."""
    return 2 * matmul_macs(*args.first(2))  # (self, mat2 | other | vec | tensor) by overload


@FLOPS.register("aten::addmm", "aten::baddbmm")
def addmm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2 * (b *) n * k * m of the product; the scaled add of `self` is free."""
    _, a, b = args.first(3)  # addmm(self, mat1, mat2), baddbmm(self, batch1, batch2)
    return 2 * matmul_macs(a, b)


@FLOPS.register("aten::linear")
def linear_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2 * numel(input) * out_features; the bias add is free."""
    return 2 * linear_macs(args["input"], args["weight"])


def _contraction(indices: set[str], kept: set[str], operands: int, sizes: dict[str, int]) -> int:
    """Flops of one einsum step over `indices`, keeping `kept` (numpy's _flop_count)."""
    summed = bool(indices - kept)
    if operands == 1:  # a sum over an index, or a view (transpose, diagonal): free
        return numel([sizes[c] for c in indices]) if summed else 0
    return numel([sizes[c] for c in indices]) * (2 if summed else 1)


@FLOPS.register("aten::einsum")
def einsum_flops(args: Args, outputs: Sequence[Any]) -> int:
    """Per pairwise step of numpy's optimal path: (2 if an index is summed else 1) * prod(sizes)."""
    shapes = args["tensors"]
    subscripts, output, sizes = einsum_subscripts(args["equation"], shapes)
    if len(subscripts) <= 2:
        indices = set("".join(subscripts))
        return _contraction(indices, set(output), len(subscripts), sizes)
    operands = [set(term) for term in subscripts]
    total = 0
    for step in einsum_path(subscripts, output, sizes):
        picked = [operands.pop(i) for i in sorted(step, reverse=True)]
        indices = set().union(*picked)
        kept = indices & set(output).union(*operands)
        total += _contraction(indices, kept, len(picked), sizes)
        operands.append(kept)
    return total


@FLOPS.register("aten::_grouped_mm", label="grouped_mm")
def grouped_mm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2 * each group's n * k * m, summed: 2 * S*K*N for MoE rows (S, K) @ experts (G, K, N)."""
    mat_a, mat_b = args.first(2)
    return 2 * grouped_mm_macs(mat_a, mat_b, outputs[0])


@FLOPS.register("aten::scaled_dot_product_attention")
def sdpa_flops(args: Args, outputs: Sequence[Any]) -> int:
    """2*B*H*L*S*E + 2*B*H*L*S*Ev: q @ k^T and attn @ v, causal or not (torch's formula)."""
    return 2 * sdpa_macs(args["query"], args["key"], args["value"], outputs[0])


# ------------------------------------------------------------------ dedicated handlers


@FLOPS.register("aten::gelu", "aten::gelu_", label="gelu")
def gelu_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output) * cost of "gelu", or of "gelu (approximate='tanh')"."""
    row = "gelu (approximate='tanh')" if args["approximate"] == "tanh" else "gelu"
    return _rate(row) * numel(outputs[0])


@FLOPS.register(*(f"aten::{op}" for op in COSTS["clamp"].ops), label="clamp")
def clamp_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output) * number of bounds given (min, max) * cost of "clamp"."""
    bounds = sum(args.get(bound) is not None for bound in ("min", "max"))
    return _rate("clamp") * bounds * numel(outputs[0])


def _normalisation(x: Sequence[int], weight: Any, bias: Any, statistics: str) -> int:
    per_element = _rate(statistics)
    per_element += _rate("norm weight") if weight is not None else 0
    per_element += _rate("norm bias") if bias is not None else 0
    return per_element * numel(x)


@FLOPS.register("aten::batch_norm")
def batch_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """Training: numel * (statistics + weight + bias); eval: numel * running-statistics rate."""
    x, weight, bias = args["input"], args["weight"], args["bias"]
    running_mean, training = args["running_mean"], args["training"]
    if training or running_mean is None:
        return _normalisation(x, weight, bias, "norm statistics")
    return _rate("norm with running statistics") * numel(x)


@FLOPS.register("aten::instance_norm")
def instance_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """Input statistics: numel * (statistics + weight + bias); running ones: numel * 2."""
    x, weight, bias = args["input"], args["weight"], args["bias"]
    use_input_stats = args["use_input_stats"]
    if use_input_stats:
        return _normalisation(x, weight, bias, "norm statistics")
    return _rate("norm with running statistics") * numel(x)


@FLOPS.register("aten::layer_norm", "aten::group_norm")
def layer_group_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(input) * (statistics + weight if given + bias if given)."""
    return _normalisation(args["input"], args["weight"], args["bias"], "norm statistics")


@FLOPS.register("aten::rms_norm")
def rms_norm_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(input) * (rms statistics + weight if given)."""
    return _normalisation(args["input"], args["weight"], None, "rms_norm statistics")


def _window_pool(dims: int) -> Handler:
    def pool_flops(args: Args, outputs: Sequence[Any]) -> int:
        """numel(output) * prod(kernel_size) * cost of "pooling"."""
        kernel = args["kernel_size"]
        kernel = kernel if isinstance(kernel, list) else [kernel]
        kernel = kernel * dims if len(kernel) == 1 else kernel
        return _rate("pooling") * numel(outputs[0]) * numel(kernel)

    return pool_flops


for _dims in (1, 2, 3):
    for _kind in ("max_pool{}d", "max_pool{}d_with_indices", "avg_pool{}d"):
        FLOPS.add(f"aten::{_kind.format(_dims)}", _window_pool(_dims))


def _adaptive_window_elements(size_in: int, size_out: int) -> int:
    """Sum of window lengths: window i spans [floor(i*in/out), ceil((i+1)*in/out))."""
    return sum(
        -(-(i + 1) * size_in // size_out) - (i * size_in // size_out) for i in range(size_out)
    )


@FLOPS.register(
    *(f"aten::adaptive_{kind}_pool{dims}d" for kind in ("avg", "max") for dims in (1, 2, 3))
)
def adaptive_pool_flops(args: Args, outputs: Sequence[Any]) -> int:
    """N * C * prod over dims of the summed window lengths (numel(input) if out divides in)."""
    x, out, size = args["self"], outputs[0], args["output_size"]
    dims = len(size) if isinstance(size, list) else 1
    windows = numel(
        _adaptive_window_elements(i, o) for i, o in zip(x[-dims:], out[-dims:], strict=True)
    )
    return _rate("pooling") * numel(out[:-dims]) * windows


@FLOPS.register("aten::grid_sampler")
def grid_sampler_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output) * rate of its mode: bilinear (4-d) / trilinear (5-d), nearest, bicubic."""
    mode, out = args["interpolation_mode"], outputs[0]
    if mode == 0:
        row = "bilinear interpolation" if len(out) == 4 else "trilinear interpolation"
    else:
        row = {1: "nearest interpolation", 2: "bicubic interpolation"}[mode]
    return _rate(row) * numel(out)


@FLOPS.register(*(f"aten::{op}" for op in COSTS["dropout (training)"].ops), label="dropout")
def dropout_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output) * cost of "dropout (training)" when training with p > 0, else 0."""
    p, train = args["p"], args["train"]
    row = "dropout (training)" if train and p else "dropout (eval)"
    return _rate(row) * numel(outputs[0])


@FLOPS.register("aten::sort", "aten::argsort", "aten::msort", label="sort")
def sort_flops(args: Args, outputs: Sequence[Any]) -> int:
    """sort_comparisons(input, dim) * cost of "sort"."""
    dim = args.get("dim")
    return _rate("sort") * sort_comparisons(args.first()[0], -1 if dim is None else dim)


@FLOPS.register("aten::topk")
def topk_flops(args: Args, outputs: Sequence[Any]) -> int:
    """topk_comparisons(input, k) * cost of "sort"."""
    return _rate("sort") * topk_comparisons(args["self"], args["k"])


@FLOPS.register("aten::index_put", "aten::index_put_", label="index_put")
def index_put_flops(args: Args, outputs: Sequence[Any]) -> int:
    """numel(values) * cost of "accumulating scatter" with accumulate=True, else 0."""
    return _rate("accumulating scatter") * numel(args["values"]) if args["accumulate"] else 0


# Recurrent layers, per time step, batch row, layer and direction, for hidden size H:
#   gate matmuls  2 * (numel(w_ih) + numel(w_hh))   [= 2*4H*(I+H) for an LSTM]
#   projection    2 * numel(w_hr)                   [LSTM with proj_size only]
#   elementwise   H * (the per-unit ops below, at the rates of COSTS)


def _lstm_unit(biases: bool) -> int:
    # gates = x W_ih^T (+ b_ih) + h W_hh^T (+ b_hh): 4 adds (+ 8) per unit; i, f, o = sigmoid,
    # g = tanh; c' = f*c + i*g (2 mul, 1 add); h' = o * tanh(c') (tanh, mul).
    add, sigmoid, tanh = _rate("arithmetic"), _rate("sigmoid"), _rate("tanh")
    return (4 + 8 * biases + 3 + 1) * add + 3 * sigmoid + 2 * tanh


def _gru_unit(biases: bool) -> int:
    # r, z = sigmoid(ih + hh): 2 adds (+ 6 bias adds for the three gates); n = tanh(ih_n +
    # r * hh_n): mul, add, tanh; h' = n + z * (h - n): sub, mul, add.
    add, sigmoid, tanh = _rate("arithmetic"), _rate("sigmoid"), _rate("tanh")
    return (2 + 6 * biases + 2 + 3) * add + 2 * sigmoid + tanh


def _rnn_unit(activation: str) -> Callable[[bool], int]:
    # h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh): 1 add (+ 2 bias adds), then tanh or relu
    return lambda biases: (1 + 2 * biases) * _rate("arithmetic") + _rate(activation)


def _recurrent(gates: int, unit: Callable[[bool], int]) -> Handler:
    def recurrent_flops(args: Args, outputs: Sequence[Any]) -> int:
        """steps * batch * sum over layers, directions of 2*numel(weights) + H * unit cost."""
        # Overloads: (input, hx, params, ...) or, for a PackedSequence, (data, batch_sizes, ...)
        params, biases, layers = args["params"], args["has_biases"], args["num_layers"]
        per_group = len(params) // (layers * (2 if args["bidirectional"] else 1))
        projected = per_group - 2 - 2 * biases == 1
        rows = numel(args.first()[0][:-1])  # the time steps and batch rows of `input` / `data`
        total = 0
        for start in range(0, len(params), per_group):
            w_ih, w_hh = params[start], params[start + 1]
            matmuls = numel(w_ih) + numel(w_hh)
            matmuls += numel(params[start + per_group - 1]) if projected else 0
            total += rows * (2 * matmuls + (w_hh[0] // gates) * unit(biases))
        return total

    return recurrent_flops


FLOPS.add("aten::lstm", _recurrent(4, _lstm_unit))
FLOPS.add("aten::gru", _recurrent(3, _gru_unit))
FLOPS.add("aten::rnn_tanh", _recurrent(1, _rnn_unit("tanh")))
FLOPS.add("aten::rnn_relu", _recurrent(1, _rnn_unit("relu")))


# ------------------------------------------------------------------ every other table op


def _per_element(row: str, cost: Cost) -> Handler:
    index = 0 if cost.per == OUTPUT else None

    def per_element_flops(args: Args, outputs: Sequence[Any]) -> int:
        shape = outputs[0] if index == 0 else args.first()[0]
        return cost.flops * numel(shape) if len(shape) else 0

    per_element_flops.__doc__ = f'numel({cost.per.split()[0]}) * cost of "{row}"; 0-d: 0.'
    return per_element_flops


for _row, _cost in COSTS.items():
    for _op in _cost.ops:
        if f"aten::{_op}" in FLOPS:  # a dedicated handler above reads the row
            continue
        if _cost.per not in (OUTPUT, INPUT):
            raise TypeError(f"{_op} in {_row!r}: a per-{_cost.per} cost needs its own handler")
        FLOPS.add(f"aten::{_op}", _per_element(_row, _cost), label=_label(f"aten::{_op}"))


# ------------------------------------------------------------------ activations


def output_elements(args: Args, outputs: Sequence[Any]) -> int:
    """numel(output): outputs of conv, matmul-family and attention ops."""
    return numel(outputs[0])


for _op in sorted(MATMUL_OPS):
    ACTIVATIONS.add(_op, output_elements, label=FLOPS.get(_op)[0])  # type: ignore[index]


def cost_table_markdown() -> str:
    """`COSTS` as the Markdown table of docs/conventions.md."""
    lines = ["| cost | flops | per | aten ops | why |", "| --- | --- | --- | --- | --- |"]
    for row, cost in COSTS.items():
        ops = ", ".join(f"`{op}`" for op in cost.ops)
        lines.append(f"| {row} | {cost.flops} | {cost.per} | {ops} | {cost.why} |")
    return "\n".join(lines)


__all__: list[str] = [
    "ACTIVATIONS",
    "COSTS",
    "FLOPS",
    "IGNORED",
    "Cost",
    "cost_table_markdown",
    "grouped_mm_macs",
]
