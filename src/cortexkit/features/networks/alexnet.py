"""AlexNet's convolutional stack (Krizhevsky et al. 2012, the torchvision variant).

Five convolutions (64, 192, 384, 256, 256 channels) with ReLU, max pooling after the first, second
and fifth. ``features`` keeps torchvision's indices, so ``features.4`` (the ReLU after conv2) and
``features.11`` (after conv5) are the layers the reconstruction literature calls AlexNet(2) and
AlexNet(5).
"""

from __future__ import annotations

from torch import nn

from cortexkit.features.networks.registry import ARCHITECTURES
from cortexkit.features.networks.weights import lpips_to_state_dict

# torchvision indices of the conv layers in `features` (ReLU follows each at index + 1)
CONV_INDICES = (0, 3, 6, 8, 10)
# Named layers for feature extraction: the ReLU outputs of conv1..conv5 (what LPIPS and most
# encoding studies read), keyed by short names.
LAYERS = {f"conv{i + 1}": f"features.{idx + 1}" for i, idx in enumerate(CONV_INDICES)}


@ARCHITECTURES.register("alexnet", layers=LAYERS,
                        convert=lambda blob, path: lpips_to_state_dict(blob, "AlexNet_0", CONV_INDICES, path))
class AlexNet(nn.Module):
    """AlexNet's convolutional stack (torchvision's layer indices)."""
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
        )

    def forward(self, x):
        """Feature map (B, 256, 6, 6) of ImageNet-normalised images (B, 3, 224, 224)."""
        return self.features(x)
