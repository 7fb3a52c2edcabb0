"""Linear readout: every unit weights every feature at every position (a full ridge-like map)."""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.encoding.readouts.base import READOUTS, Readout


@READOUTS.register("linear")
class LinearReadout(Readout):
    """A full linear map from the flattened feature map to each unit."""
    def __init__(self, in_channels: int, n_units: int, map_size: tuple[int, int], l1: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(in_channels * map_size[0] * map_size[1], n_units)
        nn.init.zeros_(self.linear.weight)
        self.bias = self.linear.bias
        self.l1 = l1

    def forward(self, x, shift=None):
        """Responses (B, n_units) from a feature map (B, C, H, W); ``shift`` is ignored."""
        return self.linear(torch.flatten(x, 1))

    def regularizer(self):
        """L1 penalty of the weights."""
        return self.l1 * self.linear.weight.abs().mean() if self.l1 else 0.0
