"""A pretrained ImageNet CNN truncated at a layer, frozen or fine-tuned (transfer learning).

As neuralpredictors' ``TransferLearningCore``: the convolutions of AlexNet or VGG16 (the offline
weights of :mod:`cortexkit.features.networks`) up to and including ``layer``, followed by batch
normalisation (and optionally a 1x1 convolution to ``out_channels``). Fine-tuned, the pretrained
convolutions learn at ``lr_scale`` times the trainer's learning rate. Input images are resized to
``image_size`` and ImageNet-normalised inside the core; grayscale images are repeated to RGB.
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.encoding.cores.base import CORES, Core
from cortexkit.errors import listed


@CORES.register("transfer")
class TransferCore(Core):
    """A pretrained ImageNet CNN truncated at ``layer`` + batch norm (+ 1x1 conv), frozen or fine-tuned."""
    def __init__(self, arch: str = "alexnet", layer: str = "conv3", weights: str = "imagenet", fine_tune: bool = False,
                 image_size: int | None = None, out_channels: int | None = None, lr_scale: float = 0.1):
        super().__init__()
        from cortexkit.features.networks.registry import build, get_architecture

        spec = get_architecture(arch)
        if layer not in spec.layers:
            from cortexkit.errors import ConfigError

            raise ConfigError(f"{arch} has no layer {layer!r}; its layers: {listed(spec.layers)}")
        index = int(spec.layers[layer].split(".")[1])
        self.trunk = build(arch, weights).features[: index + 1]
        for p in self.trunk.parameters():
            p.requires_grad = fine_tune
        self.fine_tune = fine_tune
        self.trunk.lr_scale = lr_scale  # fine-tuning: the trainer steps the pretrained weights at lr * lr_scale
        channels = [m.out_channels for m in self.trunk if isinstance(m, nn.Conv2d)][-1]
        self.bn = nn.BatchNorm2d(channels)
        self.proj = nn.Conv2d(channels, out_channels, 1) if out_channels else nn.Identity()
        self.out_channels = out_channels or channels
        self.image_size = image_size
        self.register_buffer("mean", torch.tensor(spec.mean)[None, :, None, None])
        self.register_buffer("std", torch.tensor(spec.std)[None, :, None, None])

    def train(self, mode: bool = True):
        """Set training mode; a frozen trunk stays in eval mode."""
        super().train(mode)
        if not self.fine_tune:
            self.trunk.eval()  # frozen: keep its behaviour fixed
        return self

    def forward(self, x):
        """Feature map (B, out_channels, H', W') of images (B, C, H, W) centred on mid-gray."""
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if self.image_size and x.shape[-1] != self.image_size:
            x = nn.functional.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True)
        h = self.trunk((x - self.mean) / self.std)
        return self.proj(self.bn(h))
