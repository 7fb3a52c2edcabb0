"""VGG16's convolutional stack (Simonyan & Zisserman 2015, the torchvision variant).

Thirteen 3x3 convolutions in five blocks (64, 128, 256, 512, 512 channels) with ReLU, max pooling
after each block; ``features`` keeps torchvision's indices.
"""

from __future__ import annotations

from torch import nn

from cortexkit.features.networks.registry import ARCHITECTURES
from cortexkit.features.networks.weights import lpips_to_state_dict

CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def _layer_names():
    names, block, conv, idx = {}, 1, 1, 0
    for v in CONFIG:
        if v == "M":
            block, conv = block + 1, 1
            idx += 1
        else:
            names[f"conv{block}_{conv}"] = f"features.{idx + 1}"  # the ReLU output
            conv += 1
            idx += 2
    return names


LAYERS = _layer_names()
CONV_INDICES = tuple(int(v.split(".")[1]) - 1 for v in LAYERS.values())


@ARCHITECTURES.register("vgg16", layers=LAYERS,
                        convert=lambda blob, path: lpips_to_state_dict(blob, "VGG16_0", CONV_INDICES, path))
class VGG16(nn.Module):
    """VGG16's convolutional stack (torchvision's layer indices)."""
    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for v in CONFIG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=False)]
                channels = v
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        """Feature map (B, 512, H/32, W/32) of ImageNet-normalised images (B, 3, H, W)."""
        return self.features(x)
