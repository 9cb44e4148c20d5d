"""A plain model file: `complexity analyze examples/small_cnn.py`.

It defines `model` (an nn.Module, or a function returning one) and optionally
`input_shape` (batch included) or `inputs`.
"""

from torch import nn

model = nn.Sequential(
    nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
    nn.BatchNorm2d(16),
    nn.ReLU(inplace=True),
    nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
    nn.BatchNorm2d(32),
    nn.ReLU(inplace=True),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(32, 10),
)
input_shape = (1, 3, 224, 224)
