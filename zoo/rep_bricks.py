"""Bricks of MMYOLO's YOLOv6, YOLOv7 and PP-YOLOE families (mmyolo ``layers/yolo_bricks.py``).

RepVGG-style blocks train with parallel 3x3 / 1x1 / identity branches and are *re-parameterized*
into one 3x3 conv for deployment; ``switch_to_deploy()`` performs that fusion exactly as MMYOLO's
does (same surviving module ``rbr_reparam``, same parameters kept), because MMYOLO's get_flops
counts the deploy form.

As in the rest of the zoo, attribute names and registration order follow upstream: the
analyzer's per-module rows are keyed by ``named_modules()`` paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .layers import ConvModule, SPPFBottleneck, build_activation_layer, build_norm_layer
from .registry import build_child, build_model, register_model

__all__ = [
    "BepC3StageBlock",
    "BottleRep",
    "CSPResLayer",
    "ConvWrapper",
    "EELANBlock",
    "ELANBlock",
    "EffectiveSELayer",
    "Focus",
    "ImplicitA",
    "ImplicitM",
    "MaxPoolAndStrideConvBlock",
    "PPYOLOEBasicBlock",
    "PPYOLOESELayer",
    "RepStageBlock",
    "RepVGGBlock",
    "SPPFCSPBlock",
    "TinyDownSampleBlock",
    "make_round",
    "switch_to_deploy",
]

Cfg = Mapping[str, Any]
# mmyolo's YOLO defaults (momentum 0.03, eps 1e-3) and PP-YOLOE's (PaddlePaddle's 0.1, 1e-5).
_YOLO_BN: dict[str, Any] = {"type": "BN", "momentum": 0.03, "eps": 0.001}
_PP_BN: dict[str, Any] = {"type": "BN", "momentum": 0.1, "eps": 1e-5}
_RELU_INPLACE: dict[str, Any] = {"type": "ReLU", "inplace": True}
_SILU: dict[str, Any] = {"type": "SiLU"}
_SILU_INPLACE: dict[str, Any] = {"type": "SiLU", "inplace": True}
_LEAKY: dict[str, Any] = {"type": "LeakyReLU", "negative_slope": 0.1}
_HSIGMOID: dict[str, Any] = {"type": "HSigmoid"}
_REPVGG: dict[str, Any] = {"type": "RepVGGBlock"}


def make_round(x: float, deepen_factor: float = 1.0) -> int:
    """mmyolo's depth scaling: ``round(x * deepen_factor)``, at least 1, and 1 stays 1."""
    return max(round(x * deepen_factor), 1) if x > 1 else int(x)


def _with(cfg: Cfg, **updates: Any) -> dict[str, Any]:
    merged = dict(cfg)
    merged.update(updates)
    return merged


def switch_to_deploy(model: nn.Module) -> int:
    """Fuse every RepVGG block of ``model`` in place, as MMYOLO's ``switch_to_deploy(model)``.

    Returns how many blocks were fused (0: nothing to re-parameterize).
    """
    blocks = [m for m in model.modules() if isinstance(m, RepVGGBlock) and not m.deploy]
    for block in blocks:
        block.switch_to_deploy()
    return len(blocks)


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
        norm_cfg: Cfg = _YOLO_BN,
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


@register_model
class ConvWrapper(nn.Module):
    """mmyolo's ``ConvWrapper``: a same-padded ``ConvModule`` under the name ``block``.

    Used where YOLOv6-L swaps RepVGG blocks for plain convs; note its default ``bias=True`` even
    with a norm layer, which upstream keeps.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = _SILU,
    ) -> None:
        super().__init__()
        self.block = ConvModule(
            in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2,
            groups=groups, bias=bias, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class BottleRep(nn.Module):
    """Two rep blocks with a (learnably weighted) residual, YOLOv6's CSP bottleneck."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        block_cfg: Cfg = _REPVGG,
        adaptive_weight: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = build_model(
            _with(block_cfg, in_channels=in_channels, out_channels=out_channels)
        )
        self.conv2 = build_model(
            _with(block_cfg, in_channels=out_channels, out_channels=out_channels)
        )
        self.shortcut = in_channels == out_channels
        self.alpha: nn.Parameter | float = nn.Parameter(torch.ones(1)) if adaptive_weight else 1.0

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + self.alpha * x if self.shortcut else out


@register_model
class RepStageBlock(nn.Module):
    """A stage of ``num_blocks`` rep blocks: ``conv1`` then the rest as ``block``.

    With ``bottle_block=BottleRep`` the stage holds ``num_blocks // 2`` BottleReps instead (each
    is two rep blocks), as in YOLOv6's BepC3.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_blocks: int = 1,
        bottle_block: type[nn.Module] | None = None,
        block_cfg: Cfg = _REPVGG,
    ) -> None:
        super().__init__()
        inner_cfg = _with(block_cfg, in_channels=out_channels, out_channels=out_channels)
        self.block: nn.Sequential | None = None
        if bottle_block is BottleRep:
            self.conv1: nn.Module = BottleRep(in_channels, out_channels, inner_cfg, True)
            pairs = num_blocks // 2
            if pairs > 1:
                self.block = nn.Sequential(
                    *(
                        BottleRep(out_channels, out_channels, inner_cfg, True)
                        for _ in range(pairs - 1)
                    )
                )
            return
        self.conv1 = build_model(
            _with(block_cfg, in_channels=in_channels, out_channels=out_channels)
        )
        if num_blocks > 1:
            self.block = nn.Sequential(*(build_model(inner_cfg) for _ in range(num_blocks - 1)))

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.block(x) if self.block is not None else x


@register_model
class BepC3StageBlock(nn.Module):
    """YOLOv6's BepC3: CSP split, one half through a BottleRep stage, concat, 1x1 fuse."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_blocks: int = 1,
        hidden_ratio: float = 0.5,
        concat_all_layer: bool = True,
        block_cfg: Cfg = _REPVGG,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _RELU_INPLACE,
    ) -> None:
        super().__init__()
        hidden = int(out_channels * hidden_ratio)
        kw: dict[str, Any] = {"bias": False, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1 = ConvModule(in_channels, hidden, 1, **kw)
        self.conv2 = ConvModule(in_channels, hidden, 1, **kw)
        self.conv3 = ConvModule(2 * hidden if concat_all_layer else hidden, out_channels, 1, **kw)
        self.block = RepStageBlock(hidden, hidden, num_blocks, BottleRep, block_cfg)
        self.concat_all_layer = concat_all_layer

    def forward(self, x: Tensor) -> Tensor:
        main = self.block(self.conv1(x))
        if self.concat_all_layer:
            return self.conv3(torch.cat((main, self.conv2(x)), dim=1))
        return self.conv3(main)


# PP-YOLOE -----------------------------------------------------------------------------------


@register_model
class EffectiveSELayer(nn.Module):
    """Effective squeeze-excitation (CenterMask): one 1x1 conv on the channel means, no reduction."""

    def __init__(self, channels: int, act_cfg: Cfg = _HSIGMOID) -> None:
        super().__init__()
        self.fc = ConvModule(channels, channels, 1, act_cfg=None)
        self.activate = build_activation_layer(act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.activate(self.fc(x.mean((2, 3), keepdim=True)))


class PPYOLOESELayer(nn.Module):
    """PP-YOLOE head's ESE attention: gate ``feat`` by sigmoid(fc(avg)), then a 1x1 ConvModule."""

    def __init__(
        self, feat_channels: int, norm_cfg: Cfg = _PP_BN, act_cfg: Cfg = _SILU_INPLACE
    ) -> None:
        super().__init__()
        self.fc = nn.Conv2d(feat_channels, feat_channels, 1)
        self.sig = nn.Sigmoid()
        self.conv = ConvModule(feat_channels, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, feat: Tensor, avg_feat: Tensor) -> Tensor:
        return self.conv(feat * self.sig(self.fc(avg_feat)))


@register_model
class PPYOLOEBasicBlock(nn.Module):
    """3x3 ConvModule then a RepVGG block (without BN identity), optional residual."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        shortcut: bool = True,
        use_alpha: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = ConvModule(
            in_channels, out_channels, 3, stride=1, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.conv2 = RepVGGBlock(
            out_channels, out_channels, use_alpha=use_alpha, act_cfg=act_cfg, norm_cfg=norm_cfg,
            use_bn_first=False,
        )  # fmt: skip
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class CSPResLayer(nn.Module):
    """PP-YOLOE's CSPRes stage: optional strided ``conv_down``, two 1x1 halves, blocks on one,
    concat, optional ESE attention, 1x1 ``conv3``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_block: int,
        block_cfg: Cfg = {"type": "PPYOLOEBasicBlock", "shortcut": True, "use_alpha": True},  # noqa: B006
        stride: int = 1,
        norm_cfg: Cfg = _PP_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        attention_cfg: Cfg | None = {"type": "EffectiveSELayer", "act_cfg": _HSIGMOID},  # noqa: B006
        use_spp: bool = False,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv_down: ConvModule | None = None
        if stride == 2:
            conv1_in = conv3_in = (in_channels + out_channels) // 2
            blocks_channels = conv1_in // 2
            self.conv_down = ConvModule(in_channels, conv1_in, 3, stride=2, padding=1, **kw)
        else:
            conv1_in, conv3_in = in_channels, out_channels
            blocks_channels = out_channels // 2
        self.conv1 = ConvModule(conv1_in, blocks_channels, 1, **kw)
        self.conv2 = ConvModule(conv1_in, blocks_channels, 1, **kw)
        block = dict(block_cfg)
        block.update(in_channels=blocks_channels, out_channels=blocks_channels)
        block.setdefault("norm_cfg", norm_cfg)
        block.setdefault("act_cfg", act_cfg)
        self.blocks = nn.Sequential()
        for i in range(num_block):
            self.blocks.add_module(str(i), build_model(block))
            if use_spp and i == (num_block - 1) // 2:
                # SPP (5, 9, 13) in the middle of the neck's deepest stage, without a first conv.
                self.blocks.add_module(
                    "spp",
                    SPPFBottleneck(blocks_channels, blocks_channels, kernel_sizes=[5, 9, 13],
                                   use_conv_first=False, **kw),
                )  # fmt: skip
        self.conv3 = ConvModule(conv3_in, out_channels, 1, **kw)
        self.attn = None
        if attention_cfg:
            self.attn = build_model(_with(attention_cfg, channels=blocks_channels * 2))

    def forward(self, x: Tensor) -> Tensor:
        if self.conv_down is not None:
            x = self.conv_down(x)
        y = torch.cat([self.conv1(x), self.blocks(self.conv2(x))], dim=1)
        if self.attn is not None:
            y = self.attn(y)
        return self.conv3(y)


# YOLOv7 -------------------------------------------------------------------------------------


@register_model
class ELANBlock(nn.Module):
    """Efficient layer aggregation (YOLOv7): a chain of conv blocks whose every output, plus both
    1x1 inputs, is concatenated (deepest first) and fused by ``final_conv``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        middle_ratio: float,
        block_ratio: float,
        num_blocks: int = 2,
        num_convs_in_block: int = 1,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        if num_blocks < 1 or num_convs_in_block < 1:
            raise ValueError("ELANBlock needs num_blocks >= 1 and num_convs_in_block >= 1")
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = int(in_channels * middle_ratio)
        block_channels = int(in_channels * block_ratio)
        final_in = num_blocks * block_channels + 2 * middle
        self.main_conv = ConvModule(in_channels, middle, 1, **kw)
        self.short_conv = ConvModule(in_channels, middle, 1, **kw)
        self.blocks = nn.ModuleList()
        channels = middle
        for _ in range(num_blocks):
            if num_convs_in_block == 1:
                self.blocks.append(ConvModule(channels, block_channels, 3, padding=1, **kw))
            else:
                convs = []
                for _ in range(num_convs_in_block):
                    convs.append(ConvModule(channels, block_channels, 3, padding=1, **kw))
                    channels = block_channels
                self.blocks.append(nn.Sequential(*convs))
            channels = block_channels
        self.final_conv = ConvModule(final_in, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        x_short = self.short_conv(x)
        x_main = self.main_conv(x)
        outs = []
        y = x_main
        for block in self.blocks:
            y = block(y)
            outs.append(y)
        return self.final_conv(torch.cat((*outs[::-1], x_main, x_short), dim=1))


@register_model
class EELANBlock(nn.Module):
    """Extended ELAN: the sum of ``num_elan_block`` parallel ELAN blocks (YOLOv7-E6E)."""

    def __init__(self, num_elan_block: int, **kwargs: Any) -> None:
        super().__init__()
        if num_elan_block < 1:
            raise ValueError("EELANBlock needs num_elan_block >= 1")
        self.e_elan_blocks = nn.ModuleList(ELANBlock(**kwargs) for _ in range(num_elan_block))

    def forward(self, x: Tensor) -> Tensor:
        outs = [block(x) for block in self.e_elan_blocks]
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return total


class MaxPoolAndStrideConvBlock(nn.Module):
    """YOLOv7's MP downsampling: max-pool + 1x1 beside 1x1 + strided 3x3, concatenated."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        maxpool_kernel_sizes: int = 2,
        use_in_channels_of_middle: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = in_channels if use_in_channels_of_middle else out_channels // 2
        self.maxpool_branches = nn.Sequential(
            nn.MaxPool2d(maxpool_kernel_sizes, maxpool_kernel_sizes),
            ConvModule(in_channels, out_channels // 2, 1, **kw),
        )
        self.stride_conv_branches = nn.Sequential(
            ConvModule(in_channels, middle, 1, **kw),
            ConvModule(middle, out_channels // 2, 3, stride=2, padding=1, **kw),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.stride_conv_branches(x), self.maxpool_branches(x)], dim=1)


@register_model
class TinyDownSampleBlock(nn.Module):
    """YOLOv7-tiny's ELAN-like block: a 1x1 short path and a 1x1 -> 3x3 -> 3x3 chain."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        middle_ratio: float = 1.0,
        kernel_sizes: int = 3,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _LEAKY,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        middle = int(in_channels * middle_ratio)
        self.short_conv = ConvModule(in_channels, middle, 1, **kw)
        self.main_convs = nn.ModuleList([ConvModule(in_channels, middle, 1, **kw)])
        for _ in range(2):
            self.main_convs.append(
                ConvModule(middle, middle, kernel_sizes, padding=(kernel_sizes - 1) // 2, **kw)
            )
        self.final_conv = ConvModule(middle * 4, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        short = self.short_conv(x)
        outs = []
        for conv in self.main_convs:
            x = conv(x)
            outs.append(x)
        return self.final_conv(torch.cat([*outs[::-1], short], dim=1))


@register_model
class SPPFCSPBlock(nn.Module):
    """YOLOv7's SPPCSPC: a CSP split whose main path runs (serial) SPP pooling."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        kernel_sizes: int | Sequence[int] = 5,
        is_tiny_version: bool = False,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        mid = int(2 * out_channels * expand_ratio)
        self.is_tiny_version = is_tiny_version
        self.main_layers: nn.Module
        self.fuse_layers: nn.Module
        if is_tiny_version:
            self.main_layers = ConvModule(in_channels, mid, 1, **kw)
        else:
            self.main_layers = nn.Sequential(
                ConvModule(in_channels, mid, 1, **kw),
                ConvModule(mid, mid, 3, padding=1, **kw),
                ConvModule(mid, mid, 1, **kw),
            )
        self.kernel_sizes = kernel_sizes
        self.poolings: nn.Module
        if isinstance(kernel_sizes, int):
            self.poolings = nn.MaxPool2d(kernel_sizes, stride=1, padding=kernel_sizes // 2)
        else:
            self.poolings = nn.ModuleList(
                nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes
            )
        if is_tiny_version:
            self.fuse_layers = ConvModule(4 * mid, mid, 1, **kw)
        else:
            self.fuse_layers = nn.Sequential(
                ConvModule(4 * mid, mid, 1, **kw), ConvModule(mid, mid, 3, padding=1, **kw)
            )
        self.short_layer = ConvModule(in_channels, mid, 1, **kw)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.main_layers(x)
        if isinstance(self.poolings, nn.ModuleList):
            pooled = [x1, *(pool(x1) for pool in self.poolings)]
        else:
            y1 = self.poolings(x1)
            y2 = self.poolings(y1)
            pooled = [x1, y1, y2, self.poolings(y2)]
        if self.is_tiny_version:
            pooled = pooled[::-1]  # tiny concatenates the most-pooled map first
        x1 = self.fuse_layers(torch.cat(pooled, 1))
        return self.final_conv(torch.cat((x1, self.short_layer(x)), dim=1))


class ImplicitA(nn.Module):
    """YOLOR's implicit knowledge, additive: a learned per-channel offset."""

    def __init__(self, in_channels: int, mean: float = 0.0, std: float = 0.02) -> None:
        super().__init__()
        self.implicit = nn.Parameter(torch.empty(1, in_channels, 1, 1))
        nn.init.normal_(self.implicit, mean=mean, std=std)

    def forward(self, x: Tensor) -> Tensor:
        return self.implicit + x


class ImplicitM(nn.Module):
    """YOLOR's implicit knowledge, multiplicative: a learned per-channel scale."""

    def __init__(self, in_channels: int, mean: float = 1.0, std: float = 0.02) -> None:
        super().__init__()
        self.implicit = nn.Parameter(torch.empty(1, in_channels, 1, 1))
        nn.init.normal_(self.implicit, mean=mean, std=std)

    def forward(self, x: Tensor) -> Tensor:
        return self.implicit * x


class Focus(nn.Module):
    """mmdet's Focus (YOLOX / YOLOv7-P6 stem): space-to-depth 2x2, then ``conv``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _YOLO_BN,
        act_cfg: Cfg = {"type": "Swish"},  # noqa: B006
    ) -> None:
        super().__init__()
        self.conv = ConvModule(
            in_channels * 4, out_channels, kernel_size, stride, padding=(kernel_size - 1) // 2,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        top_left = x[..., ::2, ::2]
        top_right = x[..., ::2, 1::2]
        bot_left = x[..., 1::2, ::2]
        bot_right = x[..., 1::2, 1::2]
        return self.conv(torch.cat((top_left, bot_left, top_right, bot_right), dim=1))


# Layout shared by the three families' backbones and necks -------------------------------------


class StagedBackbone(nn.Module):
    """mmyolo's ``BaseBackbone`` layout: ``stem``, ``stage1`` ... ``stageN`` (each a Sequential),
    returning the outputs listed in ``out_indices`` (0 is the stem)."""

    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {}

    def __init__(
        self,
        arch_setting: list[list[Any]],
        deepen_factor: float,
        widen_factor: float,
        input_channels: int,
        out_indices: Sequence[int],
        frozen_stages: int,
        plugins: Any,
        norm_cfg: Cfg,
        act_cfg: Cfg,
        norm_eval: bool,
    ) -> None:
        super().__init__()
        if plugins:
            raise NotImplementedError(f"{type(self).__name__} plugins are not supported by the zoo")
        num_layers = len(arch_setting) + 1
        if not set(out_indices) <= set(range(num_layers)):
            raise ValueError(f"out_indices {tuple(out_indices)} must lie in range({num_layers})")
        if frozen_stages not in range(-1, num_layers):
            raise ValueError(
                f"frozen_stages must be in range(-1, {num_layers}), got {frozen_stages}"
            )
        self.arch_setting = arch_setting
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        self.input_channels = input_channels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.stem = self.build_stem_layer()
        self.layers = ["stem"]
        for idx, setting in enumerate(arch_setting):
            self.add_module(f"stage{idx + 1}", nn.Sequential(*self.build_stage_layer(idx, setting)))
            self.layers.append(f"stage{idx + 1}")
        self._freeze_stages()

    def build_stem_layer(self) -> nn.Module:
        raise NotImplementedError

    def build_stage_layer(self, stage_idx: int, setting: list[Any]) -> list[nn.Module]:
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        for name in self.layers[: self.frozen_stages + 1]:
            module = getattr(self, name)
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> StagedBackbone:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class YOLONeck(nn.Module):
    """mmyolo's ``BaseYOLONeck``: reduce, top-down (upsample + concat), bottom-up (downsample +
    concat), one out layer per level; subclasses supply the layers."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Any,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        upsample_feats_cat_first: bool = True,
        freeze_all: bool = False,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        self.upsample_feats_cat_first = upsample_feats_cat_first
        self.freeze_all = freeze_all
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        levels = len(self.in_channels)
        self.reduce_layers = nn.ModuleList(self.build_reduce_layer(i) for i in range(levels))
        self.upsample_layers = nn.ModuleList()
        self.top_down_layers = nn.ModuleList()
        for idx in range(levels - 1, 0, -1):
            self.upsample_layers.append(self.build_upsample_layer(idx))
            self.top_down_layers.append(self.build_top_down_layer(idx))
        self.downsample_layers = nn.ModuleList()
        self.bottom_up_layers = nn.ModuleList()
        for idx in range(levels - 1):
            self.downsample_layers.append(self.build_downsample_layer(idx))
            self.bottom_up_layers.append(self.build_bottom_up_layer(idx))
        self.out_layers = nn.ModuleList(self.build_out_layer(i) for i in range(levels))
        if freeze_all:
            self._freeze_all()

    def build_reduce_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def build_upsample_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def build_top_down_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def build_downsample_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def build_out_layer(self, idx: int) -> nn.Module:
        raise NotImplementedError

    def _freeze_all(self) -> None:
        for module in self.modules():
            if isinstance(module, _BatchNorm):
                module.eval()
            for param in module.parameters(recurse=False):
                param.requires_grad = False

    def train(self, mode: bool = True) -> YOLONeck:
        super().train(mode)
        if self.freeze_all:
            self._freeze_all()
        return self

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        levels = len(self.in_channels)
        if len(inputs) != levels:
            raise ValueError(f"expected {levels} feature maps, got {len(inputs)}")
        reduce_outs = [layer(x) for layer, x in zip(self.reduce_layers, inputs, strict=True)]
        inner_outs = [reduce_outs[-1]]
        for idx in range(levels - 1, 0, -1):
            upsampled = self.upsample_layers[levels - 1 - idx](inner_outs[0])
            feat_low = reduce_outs[idx - 1]
            pair = [upsampled, feat_low] if self.upsample_feats_cat_first else [feat_low, upsampled]
            inner_outs.insert(0, self.top_down_layers[levels - 1 - idx](torch.cat(pair, 1)))
        outs = [inner_outs[0]]
        for idx in range(levels - 1):
            downsampled = self.downsample_layers[idx](outs[-1])
            outs.append(
                self.bottom_up_layers[idx](torch.cat([downsampled, inner_outs[idx + 1]], 1))
            )
        return tuple(layer(x) for layer, x in zip(self.out_layers, outs, strict=True))


class DenseHead(nn.Module):
    """The part of mmyolo's dense heads that is in the forward graph: ``head_module``.

    Prior generators, box coders, losses and assigners only matter for training and
    post-processing; subclasses accept their configs (so MMYOLO's configs build unmodified) and
    leave them unbuilt.
    """

    def __init__(
        self,
        head_module: Cfg | nn.Module,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        self.head_module = build_child(head_module, "head_module")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def forward(self, x: Sequence[Tensor]) -> Any:
        return self.head_module(x)
