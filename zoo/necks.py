"""CSPNeXtPAFPN, the RTMDet neck, laid out like mmyolo's ``BaseYOLONeck``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .layers import _BN, _SILU_INPLACE, ConvModule, CSPLayer, DepthwiseSeparableConvModule
from .registry import Cfg, register_model

__all__ = ["CSPNeXtPAFPN"]

_UPSAMPLE: dict[str, Any] = {"scale_factor": 2, "mode": "nearest"}


@register_model
class CSPNeXtPAFPN(nn.Module):
    """Path-aggregation FPN with CSPNeXt blocks.

    A top-down pass (upsample, concat, CSPLayer) spreads semantics to the fine levels, then a
    bottom-up pass (strided conv, concat, CSPLayer) brings localisation back to the coarse ones;
    a 3x3 ``out_layer`` per level maps every level to ``out_channels``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        num_csp_blocks: int = 3,
        freeze_all: bool = False,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        upsample_cfg: Cfg = _UPSAMPLE,
        conv_cfg: Cfg | None = None,
        norm_cfg: Cfg = _BN,
        act_cfg: Cfg = _SILU_INPLACE,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        if len(in_channels) < 2:
            raise ValueError("CSPNeXtPAFPN needs at least two input levels")
        self.in_channels = [int(c * widen_factor) for c in in_channels]
        self.out_channels = int(out_channels * widen_factor)
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        # Unlike the backbone there is no max(..., 1): mmyolo allows zero blocks here.
        self.num_csp_blocks = round(num_csp_blocks * deepen_factor)
        self.freeze_all = freeze_all
        self.expand_ratio = expand_ratio
        self.upsample_cfg = dict(upsample_cfg)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        levels = len(self.in_channels)

        # Same construction order as BaseYOLONeck, so named_modules() order matches too.
        self.reduce_layers = nn.ModuleList(self._reduce_layer(i) for i in range(levels))
        self.upsample_layers = nn.ModuleList()
        self.top_down_layers = nn.ModuleList()
        for idx in range(levels - 1, 0, -1):
            self.upsample_layers.append(nn.Upsample(**self.upsample_cfg))
            self.top_down_layers.append(self._top_down_layer(idx))
        self.downsample_layers = nn.ModuleList()
        self.bottom_up_layers = nn.ModuleList()
        for idx in range(levels - 1):
            self.downsample_layers.append(
                self.conv(self.in_channels[idx], self.in_channels[idx], 3, stride=2, padding=1,
                          **self._kw())
            )  # fmt: skip
            self.bottom_up_layers.append(
                self._csp(self.in_channels[idx] * 2, self.in_channels[idx + 1])
            )
        self.out_layers = nn.ModuleList(
            self.conv(c, self.out_channels, 3, padding=1, **self._kw()) for c in self.in_channels
        )
        if freeze_all:
            self._freeze_all()

    def _kw(self) -> dict[str, Any]:
        return {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}

    def _csp(self, in_channels: int, out_channels: int) -> CSPLayer:
        # The neck's CSPLayers have no residuals and no channel attention (mmyolo defaults).
        return CSPLayer(
            in_channels,
            out_channels,
            num_blocks=self.num_csp_blocks,
            add_identity=False,
            use_cspnext_block=True,
            expand_ratio=self.expand_ratio,
            conv_cfg=self.conv_cfg,
            **self._kw(),
        )

    def _reduce_layer(self, idx: int) -> nn.Module:
        # Only the coarsest level is reduced (to the next level's width) before the top-down pass.
        if idx == len(self.in_channels) - 1:
            return self.conv(self.in_channels[idx], self.in_channels[idx - 1], 1, **self._kw())
        return nn.Identity()

    def _top_down_layer(self, idx: int) -> nn.Module:
        layer = self._csp(self.in_channels[idx - 1] * 2, self.in_channels[idx - 1])
        if idx == 1:
            return layer
        # Intermediate levels also shrink to the next finer width before being upsampled again.
        return nn.Sequential(
            layer,
            self.conv(self.in_channels[idx - 1], self.in_channels[idx - 2], 1, **self._kw()),
        )

    def _freeze_all(self) -> None:
        for module in self.modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> CSPNeXtPAFPN:
        super().train(mode)
        if self.freeze_all:
            self._freeze_all()
        return self

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        levels = len(self.in_channels)
        if len(inputs) != levels:
            raise ValueError(f"expected {levels} feature maps, got {len(inputs)}")
        reduce_outs = [layer(x) for layer, x in zip(self.reduce_layers, inputs, strict=True)]

        # Top-down: inner_outs[0] is always the finest level processed so far.
        inner_outs = [reduce_outs[-1]]
        for idx in range(levels - 1, 0, -1):
            feat_high = inner_outs[0]
            feat_low = reduce_outs[idx - 1]
            upsample_feat = self.upsample_layers[levels - 1 - idx](feat_high)
            inner_out = self.top_down_layers[levels - 1 - idx](
                torch.cat([upsample_feat, feat_low], 1)
            )
            inner_outs.insert(0, inner_out)

        # Bottom-up.
        outs = [inner_outs[0]]
        for idx in range(levels - 1):
            downsample_feat = self.downsample_layers[idx](outs[-1])
            outs.append(
                self.bottom_up_layers[idx](torch.cat([downsample_feat, inner_outs[idx + 1]], 1))
            )

        return tuple(layer(x) for layer, x in zip(self.out_layers, outs, strict=True))
