"""A user's own neck, registered in mmyolo's registry: one 1x1 conv and a 3x3 conv per level."""

from mmyolo.registry import MODELS
from torch import nn


@MODELS.register_module()
class TinyNeck(nn.Module):
    def __init__(self, in_channels: list[int], out_channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.smooth = nn.ModuleList(
            nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels
        )

    def forward(self, inputs):
        return tuple(
            smooth(lateral(x))
            for lateral, smooth, x in zip(self.lateral, self.smooth, inputs, strict=True)
        )
