"""The published DorsalNet (Mineault, Bakhtiari, Richards & Pack 2021), as STSBench ships and builds it.

DorsalNet is a 3D ResNet trained to report self-motion from natural-scene flythroughs; STSBench uses
its blocks as features of dorsal-stream (MT, MST) encoding models. This module reproduces the
released network, ``DorsalNet(symmetric=False, nfeats=32)``, so that its checkpoint
(``dorsalnet.pt``, 87 state-dict keys under ``subnet.``) loads unchanged:

- ``s1``: Conv3d(3 -> 64, kernel (5, 7, 7), stride (1, 2, 2), padding (2, 3, 3), no bias), batch norm,
  LeakyReLU(0.1), MaxPool3d((1, 3, 3), stride (1, 2, 2), padding (0, 1, 1));
- ``res0`` .. ``res3``: bottleneck residual blocks of inner width 8 (the SlowFast form): ``branch2`` =
  Conv3d(in -> 8, (T, 1, 1)) - BN - ReLU - Conv3d(8 -> 8, (1, 3, 3)) - BN - ReLU - Conv3d(8 -> out, 1)
  - BN, added to the input (or to a 1 x 1 x 1 projection ``branch1`` + BN when the width changes,
  res0: 64 -> 32) and passed through a ReLU; T = 1, 3, 1, 3.

Inputs are (batch, 3, frame, y, x) gray clips repeated on the three channels and normalised with
STSBench's statistics (mean 0.482, std 0.294); every block keeps the frames and a quarter of each
spatial side. Checked against the outputs of the original module on a seeded clip to 1e-5.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from cortexkit.errors import DataError

BLOCKS = ("s1", "res0", "res1", "res2", "res3")
MEAN, STD = 0.482, 0.294  # STSBench's normalisation of the gray frames
# (input width, output width, temporal kernel of the first bottleneck convolution) of res0..res3
RESIDUAL = ((64, 32, 1), (32, 32, 3), (32, 32, 1), (32, 32, 3))
INNER = 8


class Stem(nn.Module):
    """``s1``: strided 5 x 7 x 7 convolution, batch norm, leaky ReLU and a spatial max pool."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x):
        """(n, 3, t, y, x) -> (n, 64, t, y/4, x/4)."""
        return self.pool(nn.functional.leaky_relu(self.bn1(self.conv1(x)), 0.1))


class Bottleneck(nn.Module):
    """``branch2``: the three convolutions of a bottleneck block, each followed by batch norm."""

    def __init__(self, cin: int, cout: int, t: int):
        super().__init__()
        self.a = nn.Conv3d(cin, INNER, (t, 1, 1), padding=(t // 2, 0, 0), bias=False)
        self.a_bn = nn.BatchNorm3d(INNER)
        self.b = nn.Conv3d(INNER, INNER, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.b_bn = nn.BatchNorm3d(INNER)
        self.c = nn.Conv3d(INNER, cout, 1, bias=False)
        self.c_bn = nn.BatchNorm3d(cout)

    def forward(self, x):
        """The residual branch of ``x``."""
        x = torch.relu(self.a_bn(self.a(x)))
        x = torch.relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class ResidualBlock(nn.Module):
    """ReLU(shortcut(x) + branch2(x)); the shortcut is a 1 x 1 x 1 projection where the width changes."""

    def __init__(self, cin: int, cout: int, t: int):
        super().__init__()
        if cin != cout:
            self.branch1 = nn.Conv3d(cin, cout, 1, bias=False)
            self.branch1_bn = nn.BatchNorm3d(cout)
        self.branch2 = Bottleneck(cin, cout, t)

    def forward(self, x):
        """The block's output for ``x`` (n, channels, t, y, x)."""
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return torch.relu(shortcut + self.branch2(x))


class MineaultDorsalNet(nn.Module):
    """The released DorsalNet up to its last residual block (the self-motion head is not kept)."""

    def __init__(self):
        super().__init__()
        self.s1 = Stem()
        for k, (cin, cout, t) in enumerate(RESIDUAL):
            setattr(self, f"res{k}", ResidualBlock(cin, cout, t))

    def blocks(self, x: torch.Tensor, upto: str = "res3") -> dict[str, torch.Tensor]:
        """The output of every block up to ``upto`` for a normalised input (n, 3, t, y, x)."""
        out = {}
        for name in BLOCKS[: BLOCKS.index(upto) + 1]:
            x = getattr(self, name)(x)
            out[name] = x
        return out

    def forward(self, x):
        """The last block's output."""
        return self.blocks(x)["res3"]


def normalize(videos: torch.Tensor) -> torch.Tensor:
    """Gray clips (n, t, y, x) in [0, 1] as the network's input (n, 3, t, y, x), STSBench's statistics."""
    x = (videos - MEAN) / STD
    return x[:, None].expand(-1, 3, -1, -1, -1).contiguous()


def load_mineault_dorsalnet(path: str | os.PathLike) -> MineaultDorsalNet:
    """The released DorsalNet from its checkpoint (``subnet.``/``module.`` prefixes stripped, the
    self-motion head ``fully_connected`` dropped, as STSBench does), in eval mode.

    Raises a DataError naming the file and the first missing or unexpected key, or a shape mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such DorsalNet checkpoint (the published weights: STSBench's "
                        "encoding/baselines/dorsalnet/checkpoints/dorsalnet.pt)", source=str(path))
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error
        raise DataError(f"cannot read the checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise DataError(f"holds a {type(raw).__name__}, not a state dict", source=str(path))
    state = {}
    for key, value in raw.items():
        for prefix in ("module.", "subnet."):
            key = key.removeprefix(prefix)
        if key.startswith("fully_connected.") or key == "conv1.weight":  # the head, and an alias of s1.conv1
            continue
        state[key] = value
    from cortexkit.features.networks.weights import load_state_strictly

    return load_state_strictly(MineaultDorsalNet(), state, path, "is not the published DorsalNet", "DorsalNet's is")
