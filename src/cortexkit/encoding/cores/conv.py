"""Stacks of 2D (images) or 3D (videos) convolutions: the end-to-end trained cores.

Each layer: convolution, batch normalisation, ELU; the first layer has a larger kernel (as in
Lurz et al. 2021 and STSBench's 3D CNNs). Padding keeps the spatial size, so readout positions map
onto the image. ``smoothness`` penalises the Laplacian of the first layer's kernels (smooth,
stimulus-like filters) and is added to the loss.
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.encoding.cores.base import CORES, Core


@CORES.register("conv2d")
class Conv2dCore(Core):
    """2D convolution stack for images: (B, C, H, W) -> (B, channels, H, W)."""

    def __init__(self, in_channels: int = 1, channels: int = 32, layers: int = 3, first_kernel: int = 9, kernel: int = 7,
                 smoothness: float = 0.0):
        super().__init__()
        mods, cin = [], in_channels
        for i in range(layers):
            k = first_kernel if i == 0 else kernel
            mods += [nn.Conv2d(cin, channels, k, padding=k // 2, bias=False), nn.BatchNorm2d(channels), nn.ELU()]
            cin = channels
        self.features = nn.Sequential(*mods)
        self.out_channels = channels
        self.smoothness = smoothness

    def forward(self, x):
        """Feature map (B, channels, H', W') of images (B, C, H, W)."""
        return self.features(x)

    def regularizer(self):
        """Laplacian smoothness penalty of the first layer's filters."""
        if not self.smoothness:
            return 0.0
        w = self.features[0].weight
        lap = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]], device=w.device, dtype=w.dtype)
        flat = w.reshape(-1, 1, *w.shape[-2:])
        return self.smoothness * (nn.functional.conv2d(flat, lap[None, None], padding=1) ** 2).sum() / (w ** 2).sum().clamp_min(1e-8)


@CORES.register("conv3d")
class Conv3dCore(Core):
    """3D convolution stack for videos: (B, C, T, H, W) -> (B, channels, T, H, W) (causal in time)."""

    video = True

    def __init__(self, in_channels: int = 1, channels: int = 32, layers: int = 3, first_kernel=(5, 9, 9), kernel=(3, 7, 7)):
        super().__init__()
        mods, cin = [], in_channels
        for i in range(layers):
            k = tuple(first_kernel if i == 0 else kernel)
            # pad only the past in time, so frame t's features never see later frames
            mods += [nn.ConstantPad3d((k[2] // 2, k[2] // 2, k[1] // 2, k[1] // 2, k[0] - 1, 0), 0.0),
                     nn.Conv3d(cin, channels, k, bias=False), nn.BatchNorm3d(channels), nn.ELU()]
            cin = channels
        self.features = nn.Sequential(*mods)
        self.out_channels = channels

    def forward(self, x):
        """Feature map (B, channels, T', H', W') of videos (B, C, T, H, W), causal in time."""
        return self.features(x)
