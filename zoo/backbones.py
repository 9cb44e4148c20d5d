"""CSPNeXt, the RTMDet backbone, with mmyolo's module layout (``stem``, ``stage1`` ... ``stageN``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .layers import (
    _BN,
    _SILU_INPLACE,
    ConvModule,
    CSPLayer,
    DepthwiseSeparableConvModule,
    SPPFBottleneck,
)
from .registry import Cfg, register_model

__all__ = ["CSPNeXt"]


@register_model
class CSPNeXt(nn.Module):
    """CSPNeXt backbone (RTMDet), following mmyolo's ``BaseBackbone`` layout.

    Each stage is ``nn.Sequential(downsample conv, [SPPF], CSPLayer)``; the width and depth of
    every stage are the arch setting scaled by ``widen_factor`` / ``deepen_factor``.
    """

    # Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp.
    arch_settings: ClassVar[dict[str, list[list[Any]]]] = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 1024, 3, False, True],
        ],
        "P6": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 768, 3, True, False],
            [768, 1024, 3, False, True],
        ],
    }

    def __init__(
        self,
        arch: str = "P5",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        plugins: Sequence[Cfg] | None = None,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        arch_ovewrite: Sequence[Sequence[Any]] | None = None,  # sic: mmyolo's spelling
        channel_attention: bool = True,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _BN,
        act_cfg: Cfg = _SILU_INPLACE,
        norm_eval: bool = False,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        if arch not in self.arch_settings:
            raise KeyError(
                f"unknown CSPNeXt arch {arch!r} (known: {', '.join(self.arch_settings)})"
            )
        if plugins:
            raise NotImplementedError("CSPNeXt plugins are not supported by the zoo")
        setting = [list(s) for s in (arch_ovewrite or self.arch_settings[arch])]
        num_layers = len(setting) + 1
        if not set(out_indices) <= set(range(num_layers)):
            raise ValueError(f"out_indices {tuple(out_indices)} must lie in range({num_layers})")
        if frozen_stages not in range(-1, num_layers):
            raise ValueError(
                f"frozen_stages must be in range(-1, {num_layers}), got {frozen_stages}"
            )
        self.arch_setting = setting
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        self.input_channels = input_channels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.use_depthwise = use_depthwise
        self.expand_ratio = expand_ratio
        self.channel_attention = channel_attention
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        # init_cfg (usually a Pretrained checkpoint URL) is ignored: the zoo never downloads.

        self.stem = self._build_stem()
        self.layers = ["stem"]
        for idx, stage_setting in enumerate(setting):
            self.add_module(f"stage{idx + 1}", nn.Sequential(*self._build_stage(stage_setting)))
            self.layers.append(f"stage{idx + 1}")
        self._freeze_stages()

    def _build_stem(self) -> nn.Sequential:
        # Three 3x3 convs (the first strided) instead of one big conv: cheaper for the same field.
        stem_out = int(self.arch_setting[0][0] * self.widen_factor)
        half = int(self.arch_setting[0][0] * self.widen_factor // 2)
        kw: dict[str, Any] = {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        return nn.Sequential(
            ConvModule(self.input_channels, half, 3, padding=1, stride=2, **kw),
            ConvModule(half, half, 3, padding=1, stride=1, **kw),
            ConvModule(half, stem_out, 3, padding=1, stride=1, **kw),
        )

    def _build_stage(self, setting: Sequence[Any]) -> list[nn.Module]:
        in_channels, out_channels, num_blocks, add_identity, use_spp = setting
        in_channels = int(in_channels * self.widen_factor)
        out_channels = int(out_channels * self.widen_factor)
        num_blocks = max(round(num_blocks * self.deepen_factor), 1)
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        kw: dict[str, Any] = {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}
        stage: list[nn.Module] = [conv(in_channels, out_channels, 3, stride=2, padding=1, **kw)]
        if use_spp:
            stage.append(SPPFBottleneck(out_channels, out_channels, kernel_sizes=5, **kw))
        stage.append(
            CSPLayer(
                out_channels,
                out_channels,
                num_blocks=num_blocks,
                add_identity=add_identity,
                use_depthwise=self.use_depthwise,
                use_cspnext_block=True,
                expand_ratio=self.expand_ratio,
                channel_attention=self.channel_attention,
                conv_cfg=self.conv_cfg,
                **kw,
            )
        )
        return stage

    def _freeze_stages(self) -> None:
        for name in self.layers[: self.frozen_stages + 1]:
            module = getattr(self, name)
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> CSPNeXt:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            # norm_eval keeps BN running statistics frozen while the rest trains.
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
