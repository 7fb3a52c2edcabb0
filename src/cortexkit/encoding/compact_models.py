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
# Bytes of layer-0 activations per chunk of the population's pass: cache-sized on a CPU (measured on 2
# cores: 28 s for 33 models on 600 images at 9 MiB, 81 s at 512 MiB, 111 s one model at a time in
# batches of 64), large on a GPU
CPU_CHUNK, GPU_CHUNK = 9 * 2**20, 2**30
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
    :func:`preprocess` gives them -> responses (n, neurons).

    In eval mode every neuron is answered in one pass per layer: the neurons' layers become grouped
    convolutions over channel blocks padded to the largest filter count (the padding channels carry zero
    weights, so they stay zero through ReLU), each batch norm folded into the convolution before it, and
    the readouts one contraction. The result equals running the models one by one up to float rounding
    (tested against the authors' class in float64 and float32); neurons and images are taken in chunks so
    that the widest layer's activations stay within ``memory`` bytes: by default a few MiB on a CPU, where
    activations that stay in the cache run the whole pass 3-4x faster than batches of 64 images (one neuron
    and a few images at a time), and 1 GiB on a GPU, where many neurons and images share each kernel. In
    training mode (batch statistics) the models run one by one, as published.
    """

    def __init__(self, filters: list[list[int]], memory: int | None = None):
        super().__init__()
        self.neurons = nn.ModuleList([CompactModel(f) for f in filters])
        self.memory = memory

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, 112, 112) -> (n, neurons)."""
        if self.training:
            return torch.stack([m(x) for m in self.neurons], dim=1)
        columns = []
        n_neurons = len(self.neurons)
        memory = self.memory or (CPU_CHUNK if x.device.type == "cpu" else GPU_CHUNK)
        widest = max(int(m.layers["layer0_conv"].out_channels) for m in self.neurons)
        per_neuron = widest * x.shape[-2] * x.shape[-1] * x.element_size()  # one image's layer-0 map
        group = max(1, min(n_neurons, memory // max(1, per_neuron * 8)))
        for start in range(0, n_neurons, group):
            models = list(self.neurons[start:start + group])
            weights = _grouped_weights(models)
            rows = max(1, memory // max(1, per_neuron * len(models)))
            columns.append(torch.cat([_grouped_forward(weights, x[i:i + rows]) for i in range(0, len(x), rows)]))
        return torch.cat(columns, dim=1)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution followed by an eval-mode batch norm as one convolution's (weight, bias)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return conv.weight * scale[:, None, None, None], (bias - bn.running_mean) * scale + bn.bias


def _padded(blocks: list[torch.Tensor], width: int, dim: int = 0) -> torch.Tensor:
    """Each neuron's block zero-padded to ``width`` along ``dim``, the blocks concatenated."""
    out = []
    for b in blocks:
        pad = [0, 0] * (b.ndim - 1 - dim) + [0, width - b.shape[dim]]
        out.append(F.pad(b, pad))
    return torch.cat(out, dim=dim)


def _grouped_weights(models: list[CompactModel]) -> dict:
    """The grouped-convolution weights of several neurons' models (see :class:`CompactPopulation`)."""
    n = len(models)
    counts = [[int(m.layers["layer0_conv"].out_channels)] + [int(m.layers[f"layer{i}_conv_point"].out_channels)
                                                              for i in range(1, 5)] for m in models]
    width = [max(c[k] for c in counts) for k in range(5)]
    w, b = zip(*(_folded(m.layers["layer0_conv"], m.layers["layer0_bn"]) for m in models))
    weights = {"n": n, "width": width, "conv0": (_padded(list(w), width[0]), _padded(list(b), width[0]))}
    for i in range(1, 5):
        depth = _padded([m.layers[f"layer{i}_conv_depth"].weight for m in models], width[i - 1])
        w, b = zip(*(_folded(m.layers[f"layer{i}_conv_point"], m.layers[f"layer{i}_bn"]) for m in models))
        # pointwise: each neuron's (out, in) block, padded on both axes, as a convolution of n groups
        point = torch.cat([F.pad(wi, (0, 0, 0, 0, 0, width[i - 1] - wi.shape[1], 0, width[i] - wi.shape[0]))
                           for wi in w])
        weights[f"layer{i}"] = (depth, point, _padded(list(b), width[i]))
    beta = []
    for m, c in zip(models, counts):  # the readout reads the map in (28, 28, channel) order
        lin = m.layers["Beta"]
        beta.append(F.pad(lin.weight.reshape(28, 28, c[4]).permute(2, 0, 1), (0, 0, 0, 0, 0, width[4] - c[4])))
    weights["beta"] = (torch.stack(beta), torch.cat([m.layers["Beta"].bias for m in models]))
    return weights


def _grouped_forward(weights: dict, x: torch.Tensor) -> torch.Tensor:
    """(n, 3, 112, 112) -> (n, neurons) through :func:`_grouped_weights`' layers."""
    n, width = weights["n"], weights["width"]
    # channels-last memory: oneDNN's depthwise and 3-channel convolutions run 2-3x faster on CPUs in it
    x = F.relu(F.conv2d(x.contiguous(memory_format=torch.channels_last), *weights["conv0"], padding=2))
    for i in range(1, 5):
        depth, point, bias = weights[f"layer{i}"]
        if i < 3:  # Keras 'same' at stride 2 pads 1 left/top and 3 right/bottom: pad 3 all round, drop the first row
            x = F.conv2d(x, depth, stride=2, padding=3, groups=depth.shape[0])[:, :, 1:, 1:]
        else:
            x = F.conv2d(x, depth, padding=2, groups=depth.shape[0])
        x = F.relu(F.conv2d(x, point, bias, groups=n))
    beta, bias = weights["beta"]
    x = x.reshape(len(x), n, width[4], *x.shape[-2:])
    return torch.einsum("bnchw,nchw->bn", x, beta) + bias


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
