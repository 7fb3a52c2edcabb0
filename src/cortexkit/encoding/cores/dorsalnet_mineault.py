"""The published DorsalNet (Mineault et al. 2021) as a frozen core, as STSBench's encoding models use it.

STSBench's ``VideoModel`` reads the backbone at one block, flattens channels and frames into one
axis, ``(B, C, T, H, W) -> (B, C*T, H, W)``, and normalises it with a ``BatchNorm2d(C*T, affine=False)``
before a factorised readout. This core does the same: gray clips (centred on mid-gray, as every core
takes them) are normalised with STSBench's statistics and repeated on three channels, run through
:class:`~cortexkit.features.networks.dorsalnet_mineault.MineaultDorsalNet` up to ``layer``, and the
block's output is returned as that 2-D map (``frames`` fixes C*T).
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.encoding.cores.base import CORES, Core
from cortexkit.errors import ConfigError, DataError


@CORES.register("dorsalnet_mineault")
class MineaultDorsalNetCore(Core):
    """Published DorsalNet up to ``layer`` (frozen unless ``fine_tune``), channels x frames as one axis
    with a batch norm without affine parameters. ``weights``: the published ``dorsalnet.pt`` (a
    checkpoint that holds the backbone, as STSBench's do, loads it with the rest)."""

    def __init__(self, layer: str = "res1", frames: int = 8, weights: str | None = None, fine_tune: bool = False,
                 in_channels: int = 1):
        super().__init__()
        from cortexkit.features.networks.dorsalnet_mineault import BLOCKS, MineaultDorsalNet, load_mineault_dorsalnet

        if layer not in BLOCKS:
            raise ConfigError(f"dorsalnet_mineault has no block {layer!r}; blocks: {', '.join(BLOCKS)}")
        self.net = load_mineault_dorsalnet(weights) if weights else MineaultDorsalNet()
        for p in self.net.parameters():
            p.requires_grad = fine_tune
        self.fine_tune, self.layer, self.frames = fine_tune, layer, int(frames)
        channels = 64 if layer == "s1" else 32
        self.out_channels = channels * self.frames
        self.bn = nn.BatchNorm2d(self.out_channels, affine=False)

    def train(self, mode: bool = True):
        """Set training mode; a frozen backbone stays in eval mode."""
        super().train(mode)
        if not self.fine_tune:
            self.net.eval()
        return self

    def forward(self, x):
        """(B, C*T, H/4, W/4) of clips (B, 1 or 3, T, H, W) centred on mid-gray."""
        from cortexkit.features.networks.dorsalnet_mineault import normalize

        if x.ndim != 5:
            raise DataError(f"dorsalnet_mineault takes videos (batch, channel, frame, y, x), got shape {tuple(x.shape)}",
                            variable="stimuli")
        gray = x[:, 0] if x.shape[1] == 1 else (x * torch.tensor([0.299, 0.587, 0.114], device=x.device)[None, :, None, None, None]).sum(1)
        if gray.shape[1] != self.frames:
            raise DataError(f"clips have {gray.shape[1]} frames; this core reads {self.frames} (the config's `frames`)",
                            variable="stimuli")
        f = self.net.blocks(normalize(gray + 0.5), upto=self.layer)[self.layer]
        b, c, t, h, w = f.shape
        return self.bn(f.reshape(b, c * t, h, w))
