"""The published compact models of macaque V4 neurons (Cowley, Stan, Pillow & Smith 2023).

One small CNN per neuron of the paper's test sessions, distilled from a 25-member ensemble trained on
about 40 other sessions and 12 million images; the ensemble's mapping to a session's neurons was fitted
on the first half of its images (file order), and the paper scores the models on the second half.
Written from the architecture's description (the authors' PyTorch port, their state-dict names):

- input: RGB 112 x 112, pixel values 0-255 minus the per-channel means of the paper's image set
  (:data:`CHANNEL_MEANS`), channels first;
- layer 0: 5 x 5 convolution ('same' padding, bias), batch norm, ReLU;
- layers 1, 2: the map padded by 1 (left, top) and 3 (right, bottom) - Keras' 'same' for a stride of
  2 - then a depthwise 5 x 5 convolution of stride 2 (no bias), a pointwise 1 x 1 convolution (bias),
  batch norm, ReLU;
- layers 3, 4: depthwise 5 x 5 ('same', stride 1, no bias), pointwise, batch norm, ReLU;
- readout ``Beta``: the (n4, 28, 28) map read in (28, 28, n4) order, flattened, one linear unit.

A folder of the published layout holds ``models_torch/compact_model_<session>_neuron<i>.pt`` (a state
dict each) and ``nums_filters/compact_model_<session>_neuron<i>.npy`` (the five filter counts).
:class:`CompactPopulation` stacks the models of a session's neurons into one predictor of them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cortexkit.errors import DataError, listed

CHANNEL_MEANS = (116.222, 109.270, 100.381)  # R, G, B means (0-255) of the paper's 12-million-image set
IMAGE_SIZE = 112
MODELS_DIR, FILTERS_DIR = "models_torch", "nums_filters"


class CompactModel(nn.Module):
    """One neuron's compact model: five convolutional layers (``filters``: their channel counts) and a
    linear readout; input (n, 3, 112, 112) as :func:`preprocess` gives it, output (n,)."""

    def __init__(self, filters: list[int] | tuple[int, ...]):
        super().__init__()
        if len(filters) != 5 or any(int(f) < 1 for f in filters):
            raise DataError(f"has filter counts {list(filters)}; a compact model has five positive ones", variable="filters")
        n = [int(f) for f in filters]
        layers = {"layer0_conv": nn.Conv2d(3, n[0], 5, padding=2), "layer0_bn": nn.BatchNorm2d(n[0])}
        for i in range(1, 5):
            layers[f"layer{i}_conv_depth"] = nn.Conv2d(n[i - 1], n[i - 1], 5, stride=2 if i < 3 else 1,
                                                       padding=0 if i < 3 else 2, groups=n[i - 1], bias=False)
            layers[f"layer{i}_conv_point"] = nn.Conv2d(n[i - 1], n[i], 1)
            layers[f"layer{i}_bn"] = nn.BatchNorm2d(n[i])
        layers["Beta"] = nn.Linear(n[4] * 28 * 28, 1)
        self.layers = nn.ModuleDict(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, 112, 112) -> (n,)."""
        layer = self.layers
        x = F.relu(layer["layer0_bn"](layer["layer0_conv"](x)))
        for i in range(1, 5):
            if i < 3:  # Keras 'same' at stride 2 puts the extra padding on the right and bottom
                x = F.pad(x, (1, 3, 1, 3))
            x = layer[f"layer{i}_conv_depth"](x)
            x = F.relu(layer[f"layer{i}_bn"](layer[f"layer{i}_conv_point"](x)))
        return layer["Beta"](x.permute(0, 2, 3, 1).flatten(1))[:, 0]


def preprocess(pixels: torch.Tensor) -> torch.Tensor:
    """Images (n, 3, 112, 112) with values 0-255 -> the models' input (each channel's mean removed)."""
    return pixels - torch.tensor(CHANNEL_MEANS, dtype=pixels.dtype, device=pixels.device)[:, None, None]


class CompactPopulation(nn.Module):
    """The compact models of a session's neurons as one predictor: images (n, 3, 112, 112) as
    :func:`preprocess` gives them -> responses (n, neurons)."""

    def __init__(self, filters: list[list[int]]):
        super().__init__()
        self.neurons = nn.ModuleList([CompactModel(f) for f in filters])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, 112, 112) -> (n, neurons)."""
        return torch.stack([m(x) for m in self.neurons], dim=1)


def available_neurons(folder: str | os.PathLike, session: str) -> list[int]:
    """The neuron indices of ``session`` with a compact model in ``folder`` (sorted)."""
    pattern = re.compile(rf"compact_model_{re.escape(str(session))}_neuron(\d+)\.pt$")
    root = Path(folder) / MODELS_DIR
    return sorted(int(m.group(1)) for p in root.glob("*.pt") if (m := pattern.match(p.name))) if root.is_dir() else []


def model_sessions(folder: str | os.PathLike) -> list[str]:
    """The sessions with compact models in ``folder``."""
    root = Path(folder) / MODELS_DIR
    found = {m.group(1) for p in root.glob("*.pt") if (m := re.match(r"compact_model_(\w+?)_neuron\d+\.pt$", p.name))}
    return sorted(found)


def read_filters(folder: str | os.PathLike, session: str, neurons: list[int]) -> list[list[int]]:
    """Each neuron's five filter counts (``nums_filters/...npy``)."""
    out = []
    for i in neurons:
        path = Path(folder) / FILTERS_DIR / f"compact_model_{session}_neuron{i}.npy"
        if not path.is_file():
            raise DataError("missing (the filter counts of a compact model)", source=str(path))
        try:
            counts = np.asarray(np.load(path, allow_pickle=False)).ravel()
        except (ValueError, OSError) as exc:
            raise DataError(f"cannot read the filter counts ({exc})", source=str(path)) from None
        if counts.size != 5 or not np.all(np.isfinite(counts)) or np.any(counts < 1):
            raise DataError(f"holds {counts.tolist()}; expected five positive filter counts", source=str(path))
        out.append([int(c) for c in counts])
    return out


def load_compact_models(folder: str | os.PathLike, session: str, neurons: list[int] | None = None,
                        dtype: torch.dtype = torch.float32) -> CompactPopulation:
    """The compact models of ``session``'s ``neurons`` (default: every one in the folder), in eval
    mode. Errors name the file and the key or shape that does not match."""
    from cortexkit.encoding.predictor.checkpoints import read_state
    from cortexkit.features.networks.weights import load_state_strictly

    folder = Path(folder)
    neurons = available_neurons(folder, session) if neurons is None else [int(i) for i in neurons]
    if not neurons:
        have = model_sessions(folder)
        raise DataError(f"has no compact models of session {session} (it has {listed(have) or 'none'})",
                        source=str(folder / MODELS_DIR))
    population = CompactPopulation(read_filters(folder, session, neurons))
    for model, i in zip(population.neurons, neurons):
        path = folder / MODELS_DIR / f"compact_model_{session}_neuron{i}.pt"
        state = read_state(path)
        load_state_strictly(model, state, path, "does not match its filter counts", "the filter counts give")
    return population.to(dtype).eval()
