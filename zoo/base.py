"""The skeletons every MMYOLO family shares: backbone, neck and head wrapper.

MMYOLO builds each family's backbone on ``BaseBackbone`` (a ``stem`` then ``stage1..N``) and
each neck on ``BaseYOLONeck`` (``reduce_layers``, ``upsample_layers``, ``top_down_layers``,
``downsample_layers``, ``bottom_up_layers``, ``out_layers``, built in that order). The layout
fixes the module names and their order, so the families here subclass the same skeletons and
only say how one stem, stage or layer is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .bricks import Cfg
from .registry import build_child

__all__ = ["BaseBackbone", "BaseYOLONeck", "YOLOHeadWrapper", "select_arch"]

#: The heading ``complexity zoo`` lists this module's types under.
FAMILY = "shared skeletons"


def select_arch(
    settings: Mapping[str, Sequence[Sequence[Any]]], arch: str, owner: str
) -> Sequence[Sequence[Any]]:
    """``settings[arch]``, or a one-line error naming the known archs of ``owner``."""
    if arch not in settings:
        raise KeyError(f"unknown {owner} arch {arch!r} (known: {', '.join(settings)})")
    return settings[arch]


class BaseBackbone(nn.Module):
    """mmyolo's backbone layout: ``stem``, then ``stage1`` ... ``stageN`` (one per setting).

    Subclasses set whatever their builders need *before* calling ``super().__init__`` (plain
    attributes are allowed on an ``nn.Module`` before its ``__init__``), then implement
    ``build_stem_layer`` and ``build_stage_layer``. ``forward`` returns the outputs of the
    layers listed in ``out_indices`` (0 is the stem).
    """

    def __init__(
        self,
        arch_setting: Sequence[Sequence[Any]],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        input_channels: int = 3,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        plugins: Cfg | Sequence[Cfg] | None = None,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = None,
        norm_eval: bool = False,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        if plugins:
            raise NotImplementedError(
                f"{type(self).__name__}: backbone plugins are not supported by the zoo"
            )
        # A private copy: some upstream backbones patch their class-level settings in place.
        self.arch_setting = [list(setting) for setting in arch_setting]
        num_layers = len(self.arch_setting) + 1
        self.num_stages = len(self.arch_setting)
        if not set(out_indices) <= set(range(num_layers)):
            raise ValueError(f"out_indices {tuple(out_indices)} must lie in range({num_layers})")
        if frozen_stages not in range(-1, num_layers):
            raise ValueError(
                f"frozen_stages must be in range(-1, {num_layers}), got {frozen_stages}"
            )
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        self.input_channels = input_channels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        # init_cfg (often a Pretrained checkpoint URL) is ignored: the zoo never downloads.

        self.stem = self.build_stem_layer()
        self.layers = ["stem"]
        for idx, setting in enumerate(self.arch_setting):
            self.add_module(f"stage{idx + 1}", nn.Sequential(*self.build_stage_layer(idx, setting)))
            self.layers.append(f"stage{idx + 1}")
        self._freeze_stages()

    def build_stem_layer(self) -> nn.Module:
        raise NotImplementedError

    def build_stage_layer(self, stage_idx: int, setting: Sequence[Any]) -> list[nn.Module]:
        raise NotImplementedError

    def _conv_kwargs(self) -> dict[str, Any]:
        return {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}

    def _freeze_stages(self) -> None:
        for name in self.layers[: self.frozen_stages + 1]:
            module = getattr(self, name)
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> BaseBackbone:
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


class BaseYOLONeck(nn.Module):
    """mmyolo's path-aggregation neck layout.

    A top-down pass (upsample, concat, layer) spreads semantics to the fine levels, then a
    bottom-up pass (downsample, concat, layer) brings localisation back to the coarse ones; an
    ``out_layer`` per level finishes. Subclasses implement the six ``build_*`` methods.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int | Sequence[int],
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        upsample_feats_cat_first: bool = True,
        freeze_all: bool = False,
        norm_cfg: Cfg | None = None,
        act_cfg: Cfg | None = None,
        init_cfg: Cfg | Sequence[Cfg] | None = None,
    ) -> None:
        super().__init__()
        if len(in_channels) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two input levels")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.deepen_factor = deepen_factor
        self.widen_factor = widen_factor
        self.upsample_feats_cat_first = upsample_feats_cat_first
        self.freeze_all = freeze_all
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        levels = len(self.in_channels)

        # Construction order is the order of named_modules(), hence of the table rows.
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

    def _conv_kwargs(self) -> dict[str, Any]:
        return {"norm_cfg": self.norm_cfg, "act_cfg": self.act_cfg}

    def _freeze_all(self) -> None:
        for module in self.modules():
            if isinstance(module, _BatchNorm):
                module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> BaseYOLONeck:
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
            if self.upsample_feats_cat_first:
                merged = torch.cat([upsample_feat, feat_low], 1)
            else:
                merged = torch.cat([feat_low, upsample_feat], 1)
            inner_outs.insert(0, self.top_down_layers[levels - 1 - idx](merged))

        # Bottom-up.
        outs = [inner_outs[0]]
        for idx in range(levels - 1):
            downsample_feat = self.downsample_layers[idx](outs[-1])
            outs.append(
                self.bottom_up_layers[idx](torch.cat([downsample_feat, inner_outs[idx + 1]], 1))
            )

        return tuple(layer(x) for layer, x in zip(self.out_layers, outs, strict=True))


class YOLOHeadWrapper(nn.Module):
    """What every mmyolo dense head has in the forward graph: its ``head_module``.

    Losses, prior generators, box coders and assigners only act in the ``loss`` / ``predict``
    paths, outside the graph that get_flops counts, and have no parameters; subclasses accept
    their configs (under upstream's argument names) and ignore them, so ``bbox_head`` has the
    single child ``head_module``.
    """

    def __init__(
        self,
        head_module: Mapping[str, Any] | nn.Module,
        train_cfg: Cfg | None = None,
        test_cfg: Cfg | None = None,
    ) -> None:
        super().__init__()
        self.head_module = build_child(head_module, "head_module")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def forward(self, x: Sequence[Tensor]) -> Any:
        return self.head_module(x)
