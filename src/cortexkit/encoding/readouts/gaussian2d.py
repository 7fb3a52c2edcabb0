"""Gaussian readout (Lurz et al. 2021): a learned position per unit, sampled from the feature map.

Each unit reads the core's features at one position ``mu`` (in ``grid_sample`` coordinates,
-1 .. 1 across the map, x then y) with bilinear interpolation, and weights the channels. During
training the position is jittered by a learned Gaussian (SD ``sigma``), which lets the gradient
find the position; at evaluation the mean is used. The positions are the units' receptive-field
centres: :meth:`positions_pixels` converts them to image pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cortexkit.encoding.readouts.base import READOUTS, Readout


@READOUTS.register("gaussian2d")
class Gaussian2dReadout(Readout):
    """A learned position per unit, sampled with ``grid_sample`` (jittered by a learned Gaussian while training)."""
    def __init__(self, in_channels: int, n_units: int, init_mu_range: float = 0.2, init_sigma: float = 0.3,
                 l1: float = 0.0, bias: bool = True):
        super().__init__()
        self.mu = nn.Parameter(torch.empty(n_units, 2).uniform_(-init_mu_range, init_mu_range))
        self.sigma = nn.Parameter(torch.full((n_units, 2), float(init_sigma)))
        self.features = nn.Parameter(torch.full((n_units, in_channels), 1.0 / in_channels))
        self.bias = nn.Parameter(torch.zeros(n_units)) if bias else None
        self.l1 = l1

    def grid(self, batch: int, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Sampling positions (batch, n_units, 1, 2) in [-1, 1], jittered in training, moved by ``shift``."""
        mu = self.mu.clamp(-1, 1)
        if self.training:
            pos = mu[None] + self.sigma[None] * torch.randn(batch, *mu.shape, device=mu.device)
        else:
            pos = mu[None].expand(batch, -1, -1)
        if shift is not None:
            pos = pos + shift[:, None, :]
        return pos.clamp(-1, 1)[:, :, None, :]  # (B, units, 1, 2)

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Responses (B, n_units) from a feature map (B, C, H, W)."""
        sampled = F.grid_sample(x, self.grid(len(x), shift), align_corners=True)  # (B, C, units, 1)
        out = (sampled[..., 0].transpose(1, 2) * self.features[None]).sum(-1)
        return out + self.bias if self.bias is not None else out

    def regularizer(self):
        """L1 penalty of the feature weights."""
        return self.l1 * self.features.abs().mean() if self.l1 else 0.0

    def positions_pixels(self, height: int, width: int) -> torch.Tensor:
        """Units' positions in image pixels (x, y), for a feature map aligned with the image."""
        mu = self.mu.detach().clamp(-1, 1)
        return torch.stack([(mu[:, 0] + 1) / 2 * (width - 1), (mu[:, 1] + 1) / 2 * (height - 1)], dim=1)
