"""Factorised readout (Klindt et al. 2017): a spatial mask times channel weights per unit.

``out[b, u] = sum_{c, y, x} mask[u, y, x] * weights[u, c] * F[b, c, y, x] + bias[u]``. The mask is
non-negative (a softplus of its parameter, or its absolute value as in STSBench's readout,
``positive="abs"``), both factors carry an L1 penalty, and ``smoothness`` penalises the mask's
Laplacian.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cortexkit.encoding.readouts.base import READOUTS, Readout


@READOUTS.register("factorized")
class FactorizedReadout(Readout):
    """Non-negative spatial mask x feature weights per unit (Klindt et al. 2017), L1 and Laplacian penalties."""
    def __init__(self, in_channels: int, n_units: int, map_size: tuple[int, int], l1: float = 0.0,
                 smoothness: float = 0.0, bias: bool = True, positive: str = "softplus"):
        super().__init__()
        h, w = map_size
        self.mask = nn.Parameter(torch.randn(n_units, h, w) * 0.01 - 3.0)  # softplus(-3) ~ 0.05: near-flat start
        self.weights = nn.Parameter(torch.randn(n_units, in_channels) / in_channels**0.5)
        self.bias = nn.Parameter(torch.zeros(n_units)) if bias else None
        if positive not in ("softplus", "abs"):
            from cortexkit.errors import ConfigError

            raise ConfigError(f"the factorized readout's positive must be softplus or abs, got {positive!r}")
        self.l1, self.smoothness, self.positive = l1, smoothness, positive

    def spatial(self):
        """Non-negative spatial masks (n_units, H, W)."""
        return self.mask.abs() if self.positive == "abs" else F.softplus(self.mask)

    def forward(self, x, shift=None):
        """Responses (B, n_units) from a feature map (B, C, H, W); ``shift`` is ignored."""
        out = torch.einsum("bchw,uhw,uc->bu", x, self.spatial(), self.weights)
        return out + self.bias if self.bias is not None else out

    def regularizer(self):
        """L1 on masks and weights plus Laplacian smoothness of the masks."""
        reg = 0.0
        if self.l1:
            reg = reg + self.l1 * (self.spatial().mean() + self.weights.abs().mean())
        if self.smoothness:
            lap = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]], device=self.mask.device)
            reg = reg + self.smoothness * (F.conv2d(self.spatial()[:, None], lap[None, None], padding=1) ** 2).mean()
        return reg
