"""Shared bricks: the building blocks every model family is made of, defined once.

mmcv's ``ConvModule`` / ``DepthwiseSeparableConvModule`` and their layer builders, mmdet's CSP
layers and bottlenecks, mmyolo's SPPF and YOLOv8's two-conv CSP layer, YOLOX's ``Focus``, the
channel-rounding helpers (``make_divisible``, ``make_round``) and the default configs the families
share. Re-parameterizable bricks (RepVGG-style blocks, which expose ``switch_to_deploy``) belong
here too; see ``complexity.zoo.deploy``.

Constructor arguments, defaults and *attribute names* follow the OpenMMLab originals, because the
analyzer's per-module table is keyed by ``named_modules()`` paths: ``stage1.1.main_conv.bn`` only
matches MMYOLO's row if the attributes are called ``main_conv`` and ``bn``. Registration order also
matters (it is the order of ``named_modules()``), so attributes are assigned in the same order as
upstream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .registry import Cfg, register_model

__all__ = [
    "BN",
    "MMDET_BN",
    "SILU_INPLACE",
    "CSPLayer",
    "CSPLayerWithTwoConv",
    "CSPNeXtBlock",
    "ChannelAttention",
    "ConvModule",
    "DarknetBottleneck",
    "DepthwiseSeparableConvModule",
    "Focus",
    "HSigmoid",
    "RepVGGBlock",
    "SPPFBottleneck",
    "Swish",
    "build_activation_layer",
    "build_conv_layer",
    "build_norm_layer",
    "build_poolings",
    "make_divisible",
    "make_round",
    "pool_pyramid",
    "pyramid_levels",
]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "shared bricks"

# Default configs shared by every family. Builders copy a config before using it, so one
# module-level dict can safely be the default of many signatures.
#: mmcv's plain BatchNorm (RTMDet's default).
BN: dict[str, Any] = {"type": "BN"}
#: BatchNorm with YOLOv5's momentum/eps: the default of mmdet's CSP blocks and mmyolo's YOLO models.
MMDET_BN: dict[str, Any] = {"type": "BN", "momentum": 0.03, "eps": 0.001}
SILU_INPLACE: dict[str, Any] = {"type": "SiLU", "inplace": True}
_MMDET_ACT: dict[str, Any] = {"type": "Swish"}
_RELU: dict[str, Any] = {"type": "ReLU"}
_SILU: dict[str, Any] = {"type": "SiLU"}


def make_divisible(x: float, widen_factor: float = 1.0, divisor: int = 8) -> int:
    """mmyolo's channel rounding: ``x * widen_factor`` rounded *up* to a multiple of ``divisor``."""
    return math.ceil(x * widen_factor / divisor) * divisor


def make_round(x: float, deepen_factor: float = 1.0) -> int:
    """mmyolo's depth rounding: ``x * deepen_factor`` rounded, at least 1; counts of 1 stay 1."""
    return max(round(x * deepen_factor), 1) if x > 1 else int(x)


class Swish(nn.Module):
    """mmcv's ``Swish``: ``x * sigmoid(x)`` written out, so it traces as sigmoid + mul, not silu."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(x)


class HSigmoid(nn.Module):
    """mmcv's ``HSigmoid``: ``clamp((x + bias) / divisor, min_value, max_value)``."""

    def __init__(
        self,
        bias: float = 3.0,
        divisor: float = 6.0,
        min_value: float = 0.0,
        max_value: float = 1.0,
    ) -> None:
        super().__init__()
        if divisor == 0:
            raise ValueError("HSigmoid divisor must be non-zero")
        self.bias = bias
        self.divisor = divisor
        self.min_value = min_value
        self.max_value = max_value

    def forward(self, x: Tensor) -> Tensor:
        return ((x + self.bias) / self.divisor).clamp_(self.min_value, self.max_value)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "RReLU": nn.RReLU,
    "ReLU6": nn.ReLU6,
    "ELU": nn.ELU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "SiLU": nn.SiLU,
    "Swish": Swish,
    "GELU": nn.GELU,
    "HSigmoid": HSigmoid,
    "Hardsigmoid": nn.Hardsigmoid,
    # mmcv registers torch's Hardswish under the name HSwish (torch >= 1.7).
    "HSwish": nn.Hardswish,
    "Hardswish": nn.Hardswish,
}
# ConvModule does not inject ``inplace`` into these (mmcv's list; their classes lack the argument).
_NO_INPLACE = frozenset({"Tanh", "PReLU", "Sigmoid", "HSigmoid", "Swish", "GELU"})

# type -> (class, mmcv abbreviation). The abbreviation becomes the attribute name in ConvModule.
_NORMS: dict[str, tuple[type[nn.Module], str]] = {
    "BN": (nn.BatchNorm2d, "bn"),
    "BN1d": (nn.BatchNorm1d, "bn"),
    "BN2d": (nn.BatchNorm2d, "bn"),
    "BN3d": (nn.BatchNorm3d, "bn"),
    # SyncBN only differs in how statistics are reduced across GPUs during training; parameters,
    # FLOPs and the eval-mode graph are BatchNorm2d's, and it needs no process group here.
    "SyncBN": (nn.BatchNorm2d, "bn"),
    "GN": (nn.GroupNorm, "gn"),
    "LN": (nn.LayerNorm, "ln"),
    "IN": (nn.InstanceNorm2d, "in"),
    "IN1d": (nn.InstanceNorm1d, "in"),
    "IN2d": (nn.InstanceNorm2d, "in"),
    "IN3d": (nn.InstanceNorm3d, "in"),
}

_CONVS: dict[str, type[nn.Module]] = {
    "Conv": nn.Conv2d,
    "Conv1d": nn.Conv1d,
    "Conv2d": nn.Conv2d,
    "Conv3d": nn.Conv3d,
}

_PADDINGS: dict[str, type[nn.Module]] = {
    "zero": nn.ZeroPad2d,
    "reflect": nn.ReflectionPad2d,
    "replicate": nn.ReplicationPad2d,
}


def _cfg_type(cfg: Cfg, table: Mapping[str, object], what: str) -> tuple[str, dict[str, Any]]:
    args = dict(cfg)
    if "type" not in args:
        raise KeyError(f"{what} config needs a 'type' key, got {dict(cfg)}")
    layer_type = str(args.pop("type"))
    if layer_type not in table:
        raise KeyError(f"unknown {what} type {layer_type!r} (known: {', '.join(table)})")
    return layer_type, args


def build_activation_layer(cfg: Cfg) -> nn.Module:
    """Build an activation from ``dict(type=..., **kwargs)`` (mmcv names)."""
    layer_type, args = _cfg_type(cfg, _ACTIVATIONS, "activation")
    return _ACTIVATIONS[layer_type](**args)


def build_norm_layer(cfg: Cfg, num_features: int, postfix: int | str = "") -> tuple[str, nn.Module]:
    """Build a norm layer; returns ``(name, layer)`` with mmcv's name (``bn``, ``gn``, ...)."""
    layer_type, args = _cfg_type(cfg, _NORMS, "norm")
    norm_cls, abbr = _NORMS[layer_type]
    requires_grad = bool(args.pop("requires_grad", True))
    args.setdefault("eps", 1e-5)
    if norm_cls is nn.GroupNorm:
        if "num_groups" not in args:
            raise KeyError("GN norm_cfg needs 'num_groups'")
        layer = norm_cls(num_channels=num_features, **args)
    else:
        layer = norm_cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return f"{abbr}{postfix}", layer


def build_conv_layer(cfg: Cfg | None, *args: Any, **kwargs: Any) -> nn.Module:
    """Build a convolution; ``None`` means ``nn.Conv2d`` (mmcv's default)."""
    if cfg is None:
        return nn.Conv2d(*args, **kwargs)
    layer_type, extra = _cfg_type(cfg, _CONVS, "conv")
    return _CONVS[layer_type](*args, **kwargs, **extra)


@register_model
class ConvModule(nn.Module):
    """conv / norm / activation bundle with mmcv's ``ConvModule`` semantics.

    Submodules are registered as ``conv``, then the norm under its abbreviation (``bn``), then
    ``activate``; ``bias='auto'`` means a conv bias only when there is no norm layer.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool | str = "auto",
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = _RELU,
        inplace: bool = True,
        with_spectral_norm: bool = False,
        padding_mode: str = "zeros",
        order: Sequence[str] = ("conv", "norm", "act"),
        efficient_conv_bn_eval: bool = False,
    ) -> None:
        super().__init__()
        self.order = tuple(order)
        if len(self.order) != 3 or set(self.order) != {"conv", "norm", "act"}:
            raise ValueError(f"order must be a permutation of conv/norm/act, got {order}")
        if bias != "auto" and not isinstance(bias, bool):
            raise ValueError(f"bias must be 'auto' or a bool, got {bias!r}")
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        self.with_bias = not self.with_norm if bias == "auto" else bool(bias)
        # torch convs handle zeros/circular themselves; other modes need a separate pad layer.
        self.with_explicit_padding = padding_mode not in ("zeros", "circular")
        # efficient_conv_bn_eval (fusing conv+bn at eval time) is accepted but not implemented:
        # the zoo always runs the unfused graph, which is what the FLOP tables describe.
        self.efficient_conv_bn_eval = efficient_conv_bn_eval

        if self.with_explicit_padding:
            if padding_mode not in _PADDINGS:
                raise ValueError(f"unsupported padding_mode {padding_mode!r}")
            self.padding_layer = _PADDINGS[padding_mode](padding)
        conv_kwargs: dict[str, Any] = {
            "stride": stride,
            "padding": 0 if self.with_explicit_padding else padding,
            "dilation": dilation,
            "groups": groups,
            "bias": self.with_bias,
        }
        if padding_mode == "circular":
            conv_kwargs["padding_mode"] = "circular"
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size, **conv_kwargs
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        if with_spectral_norm:
            self.conv = nn.utils.spectral_norm(self.conv)

        self.norm_name: str | None = None
        if norm_cfg is not None:
            # A norm placed before the conv normalises the conv's input channels.
            before_conv = self.order.index("norm") < self.order.index("conv")
            norm_channels = in_channels if before_conv else out_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)

        if act_cfg is not None:
            act_args = dict(act_cfg)
            if act_args.get("type") not in _NO_INPLACE:
                act_args.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act_args)

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def forward(self, x: Tensor, activate: bool = True, norm: bool = True) -> Tensor:
        for layer in self.order:
            if layer == "conv":
                if self.with_explicit_padding:
                    x = self.padding_layer(x)
                x = self.conv(x)
            elif layer == "norm" and norm and self.norm_name is not None:
                x = getattr(self, self.norm_name)(x)
            elif layer == "act" and activate and self.with_activation:
                x = self.activate(x)
        return x


_DEFAULT = "default"


@register_model
class DepthwiseSeparableConvModule(nn.Module):
    """mmcv's depthwise (groups=in_channels) conv followed by a 1x1 pointwise conv."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = _RELU,
        dw_norm_cfg: Cfg | str | None = _DEFAULT,
        dw_act_cfg: Cfg | str | None = _DEFAULT,
        pw_norm_cfg: Cfg | str | None = _DEFAULT,
        pw_act_cfg: Cfg | str | None = _DEFAULT,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if "groups" in kwargs:
            raise TypeError("DepthwiseSeparableConvModule sets groups itself")

        def pick(value: Cfg | str | None, fallback: Cfg | None) -> Cfg | None:
            return fallback if value == _DEFAULT else value  # type: ignore[return-value]

        self.depthwise_conv = ConvModule(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            norm_cfg=pick(dw_norm_cfg, norm_cfg),
            act_cfg=pick(dw_act_cfg, act_cfg),
            **kwargs,
        )
        self.pointwise_conv = ConvModule(
            in_channels,
            out_channels,
            1,
            norm_cfg=pick(pw_norm_cfg, norm_cfg),
            act_cfg=pick(pw_act_cfg, act_cfg),
            **kwargs,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


@register_model
class ChannelAttention(nn.Module):
    """mmdet's channel attention: scale channels by hardsigmoid(fc(global average pool))."""

    def __init__(self, channels: int, init_cfg: Cfg | None = None) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, 1, 0, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.act(self.fc(self.global_avgpool(x)))


class _TwoConvResidual(nn.Module):
    """conv1 then conv2, plus the input when `add_identity` (both mmdet bottlenecks)."""

    conv1: nn.Module
    conv2: nn.Module
    add_identity: bool

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


@register_model
class DarknetBottleneck(_TwoConvResidual):
    """mmdet's YOLOv5-style bottleneck: 1x1 reduce, 3x3 conv, optional residual.

    ``kernel_size`` / ``padding`` are mmyolo's extension (YOLOv8 uses two 3x3 convs); they come
    last here so that mmdet's positional order stays valid.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: float = 0.5,
        add_identity: bool = True,
        use_depthwise: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = _MMDET_ACT,
        init_cfg: Cfg | None = None,
        kernel_size: Sequence[int] = (1, 3),
        padding: Sequence[int] = (0, 1),
    ) -> None:
        super().__init__()
        if len(kernel_size) != 2 or len(padding) != 2:
            raise ValueError("kernel_size and padding give one value per conv: two each")
        hidden = int(out_channels * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = ConvModule(
            in_channels, hidden, kernel_size[0], padding=padding[0],
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        self.conv2 = conv(
            hidden, out_channels, kernel_size[1], stride=1, padding=padding[1],
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        self.add_identity = add_identity and in_channels == out_channels


@register_model
class CSPNeXtBlock(_TwoConvResidual):
    """mmdet's CSPNeXt block: 3x3 conv, then a large-kernel (5x5) depthwise-separable conv."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: float = 0.5,
        add_identity: bool = True,
        use_depthwise: bool = False,
        kernel_size: int = 5,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = _SILU,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        # Upstream does not pass conv_cfg to conv1 (only to conv2); kept for identical layers.
        self.conv1 = conv(
            in_channels, hidden, 3, stride=1, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.conv2 = DepthwiseSeparableConvModule(
            hidden, out_channels, kernel_size, stride=1, padding=kernel_size // 2,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip
        self.add_identity = add_identity and in_channels == out_channels


@register_model
class CSPLayer(nn.Module):
    """mmdet's Cross Stage Partial layer.

    The input is split into a "main" path (1x1 conv + bottleneck blocks) and a "short" 1x1 path;
    both are concatenated (main first), optionally re-weighted by channel attention, and fused by a
    final 1x1 conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        num_blocks: int = 1,
        add_identity: bool = True,
        use_depthwise: bool = False,
        use_cspnext_block: bool = False,
        channel_attention: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = _MMDET_ACT,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        block = CSPNeXtBlock if use_cspnext_block else DarknetBottleneck
        mid = int(out_channels * expand_ratio)
        self.channel_attention = channel_attention
        common: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.main_conv = ConvModule(in_channels, mid, 1, **common)
        self.short_conv = ConvModule(in_channels, mid, 1, **common)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **common)
        self.blocks = nn.Sequential(
            *(
                block(mid, mid, 1.0, add_identity, use_depthwise, **common)
                for _ in range(num_blocks)
            )
        )
        if channel_attention:
            self.attention = ChannelAttention(2 * mid)

    def forward(self, x: Tensor) -> Tensor:
        x_short = self.short_conv(x)
        x_main = self.blocks(self.main_conv(x))
        x_final = torch.cat((x_main, x_short), dim=1)
        if self.channel_attention:
            x_final = self.attention(x_final)
        return self.final_conv(x_final)


@register_model
class SPPFBottleneck(nn.Module):
    """mmyolo's fast spatial pyramid pooling.

    With an int ``kernel_sizes`` one max-pool is applied three times in a row (receptive fields
    k, 2k-1, 3k-2), which equals SPP's parallel pools at a fraction of the cost.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: int | Sequence[int] = 5,
        use_conv_first: bool = True,
        mid_channels_scale: float = 0.5,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        common: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1: ConvModule | None
        if use_conv_first:
            mid = int(in_channels * mid_channels_scale)
            self.conv1 = ConvModule(in_channels, mid, 1, stride=1, **common)
        else:
            mid = in_channels
            self.conv1 = None
        self.kernel_sizes = kernel_sizes
        self.poolings = build_poolings(kernel_sizes)
        self.conv2 = ConvModule(mid * pyramid_levels(kernel_sizes), out_channels, 1, **common)

    def forward(self, x: Tensor) -> Tensor:
        if self.conv1 is not None:
            x = self.conv1(x)
        return self.conv2(pool_pyramid(self.poolings, x))


def build_poolings(kernel_sizes: int | Sequence[int]) -> nn.Module:
    """SPPF's poolings: one max-pool (applied three times in a row) for an int, else one per
    kernel size (applied in parallel); stride 1, same padding."""
    if isinstance(kernel_sizes, int):
        return nn.MaxPool2d(kernel_sizes, stride=1, padding=kernel_sizes // 2)
    return nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes)


def pyramid_levels(kernel_sizes: int | Sequence[int]) -> int:
    """How many maps ``pool_pyramid`` concatenates: the input and one per pooling."""
    return 4 if isinstance(kernel_sizes, int) else len(kernel_sizes) + 1


def pool_pyramid(poolings: nn.Module, x: Tensor) -> Tensor:
    """``x`` concatenated with its pooled versions along the channels."""
    if isinstance(poolings, nn.ModuleList):
        return torch.cat([x, *(pool(x) for pool in poolings)], dim=1)
    y1 = poolings(x)
    y2 = poolings(y1)
    return torch.cat([x, y1, y2, poolings(y2)], dim=1)


@register_model
class CSPLayerWithTwoConv(nn.Module):
    """YOLOv8's C2f: one 1x1 conv whose output is split in two halves; every bottleneck extends
    the list with a new feature map, and a final 1x1 conv fuses all of them."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        num_blocks: int = 1,
        add_identity: bool = True,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        common: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.mid_channels = int(out_channels * expand_ratio)
        self.main_conv = ConvModule(in_channels, 2 * self.mid_channels, 1, **common)
        self.final_conv = ConvModule(
            (2 + num_blocks) * self.mid_channels, out_channels, 1, **common
        )
        self.blocks = nn.ModuleList(
            DarknetBottleneck(
                self.mid_channels,
                self.mid_channels,
                expansion=1,
                add_identity=add_identity,
                kernel_size=(3, 3),
                padding=(1, 1),
                **common,
            )
            for _ in range(num_blocks)
        )

    def forward(self, x: Tensor) -> Tensor:
        parts = list(self.main_conv(x).split((self.mid_channels, self.mid_channels), 1))
        for block in self.blocks:
            parts.append(block(parts[-1]))
        return self.final_conv(torch.cat(parts, 1))


@register_model
class Focus(nn.Module):
    """mmdet's Focus (YOLOX stem): space-to-depth by 2 (four pixel phases stacked as channels),
    then one ConvModule."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = _MMDET_ACT,
    ) -> None:
        super().__init__()
        self.conv = ConvModule(
            in_channels * 4, out_channels, kernel_size, stride, padding=(kernel_size - 1) // 2,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        top_left = x[..., ::2, ::2]
        top_right = x[..., ::2, 1::2]
        bottom_left = x[..., 1::2, ::2]
        bottom_right = x[..., 1::2, 1::2]
        return self.conv(torch.cat((top_left, bottom_left, top_right, bottom_right), dim=1))


# Re-parameterizable bricks ------------------------------------------------------------------
# Trained with parallel branches, fused into one conv for inference by ``switch_to_deploy()``
# (see ``complexity.zoo.deploy``), because MMYOLO's get_flops counts the fused form.

_RELU_INPLACE: dict[str, Any] = {"type": "ReLU", "inplace": True}


@register_model
class RepVGGBlock(nn.Module):
    """RepVGG block (Ding et al., 2021): 3x3 conv-BN + 1x1 conv-BN (+ BN identity), summed.

    ``switch_to_deploy()`` folds each BN into its conv, pads the 1x1 kernel to 3x3, writes the
    identity as a 3x3 one-hot kernel and sums them into ``rbr_reparam`` (a biased 3x3 conv). The
    optional learnable ``alpha`` (PP-YOLOE) is folded in too but, as upstream, stays registered.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 1,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        padding_mode: str = "zeros",
        norm_cfg: Cfg = MMDET_BN,
        act_cfg: Cfg = _RELU_INPLACE,
        use_se: bool = False,
        use_alpha: bool = False,
        use_bn_first: bool = True,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size != 3 or padding != 1:
            raise ValueError("RepVGGBlock needs kernel_size=3 and padding=1 (the fused form)")
        if use_se:
            raise NotImplementedError("RepVGGBlock use_se is not supported (nor by MMYOLO)")
        self.deploy = deploy
        self.groups = groups
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.nonlinearity = build_activation_layer(act_cfg)
        self.se = nn.Identity()
        self.alpha: nn.Parameter | None = nn.Parameter(torch.ones(1)) if use_alpha else None
        if deploy:
            self.rbr_reparam = nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                bias=True, padding_mode=padding_mode,
            )  # fmt: skip
            return
        self.rbr_identity: nn.Module | None = None
        if use_bn_first and in_channels == out_channels and stride == 1:
            self.rbr_identity = build_norm_layer(norm_cfg, in_channels)[1]
        self.rbr_dense = ConvModule(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            groups=groups, bias=False, norm_cfg=norm_cfg, act_cfg=None,
        )  # fmt: skip
        self.rbr_1x1 = ConvModule(
            in_channels, out_channels, 1, stride=stride, padding=padding - kernel_size // 2,
            groups=groups, bias=False, norm_cfg=norm_cfg, act_cfg=None,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        if self.deploy:
            return self.nonlinearity(self.se(self.rbr_reparam(x)))
        one_by_one = self.rbr_1x1(x)
        if self.alpha is not None:
            one_by_one = self.alpha * one_by_one
        out = self.rbr_dense(x) + one_by_one
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.nonlinearity(self.se(out))

    @staticmethod
    def _fold_bn(kernel: Tensor, bn: _BatchNorm) -> tuple[Tensor, Tensor]:
        assert bn.running_var is not None and bn.running_mean is not None
        std = (bn.running_var + bn.eps).sqrt()
        scale = bn.weight / std
        return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale

    def _identity_kernel(self, like: Tensor) -> Tensor:
        # The identity as a grouped 3x3 conv: a 1 at the centre of each channel's own input.
        per_group = self.in_channels // self.groups
        kernel = torch.zeros(
            self.in_channels, per_group, 3, 3, dtype=like.dtype, device=like.device
        )
        channels = torch.arange(self.in_channels, device=like.device)
        kernel[channels, channels % per_group, 1, 1] = 1
        return kernel

    def equivalent_kernel_bias(self) -> tuple[Tensor, Tensor]:
        """The single 3x3 kernel and bias that compute the same function as the three branches."""
        kernel, bias = self._fold_bn(self.rbr_dense.conv.weight, self.rbr_dense.bn)
        k1x1, b1x1 = self._fold_bn(self.rbr_1x1.conv.weight, self.rbr_1x1.bn)
        k1x1 = nn.functional.pad(k1x1, [1, 1, 1, 1])
        if self.alpha is not None:
            k1x1, b1x1 = self.alpha * k1x1, self.alpha * b1x1
        kernel, bias = kernel + k1x1, bias + b1x1
        if isinstance(self.rbr_identity, _BatchNorm):
            k_id, b_id = self._fold_bn(self._identity_kernel(kernel), self.rbr_identity)
            kernel, bias = kernel + k_id, bias + b_id
        return kernel, bias

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Replace the branches by one biased conv ``rbr_reparam`` (MMYOLO's deploy form)."""
        if self.deploy:
            return
        kernel, bias = self.equivalent_kernel_bias()
        dense = self.rbr_dense.conv
        fused = nn.Conv2d(
            dense.in_channels, dense.out_channels, dense.kernel_size, dense.stride,
            dense.padding, dense.dilation, dense.groups, bias=True,
            device=kernel.device, dtype=kernel.dtype,
        )  # fmt: skip
        fused.weight.copy_(kernel)
        assert fused.bias is not None
        fused.bias.copy_(bias)
        del self.rbr_dense, self.rbr_1x1, self.rbr_identity
        self.rbr_reparam = fused
        self.deploy = True
