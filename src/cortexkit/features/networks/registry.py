"""Architectures by name, with their named layers, input normalisation and weight loaders.

Each architecture's module registers its ``nn.Module`` class with ``@ARCHITECTURES.register(name,
layers=..., convert=...)``; importing :mod:`cortexkit.features.networks` registers them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from cortexkit.features.networks.weights import find_weights, load_checkpoint
from cortexkit.registry import Registry

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Architecture:
    """An architecture by name: its constructor, named layers, input size and normalisation."""
    name: str
    make: Callable[[], nn.Module]
    layers: dict[str, str]  # short name -> module path, in depth order
    convert: Callable | None = None  # LPIPS pickle -> state dict
    input_size: int = 224
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD


# Architectures by name; a registered class is stored as an Architecture with its keyword metadata.
ARCHITECTURES = Registry("architecture", wrap=lambda name, cls, meta: Architecture(name, cls, **meta))


def get_architecture(name: str) -> Architecture:
    """The registered architecture ``name`` (alexnet, vgg16, efficientnet_lite0)."""
    return ARCHITECTURES.lookup(name)


def build(name: str, weights: str = "imagenet", seed: int = 0) -> nn.Module:
    """An architecture in eval mode.

    Parameters
    ----------
    name : str
        A registered architecture (alexnet, vgg16, efficientnet_lite0).
    weights : str
        "imagenet" (the offline weights, see :mod:`.weights`), "random" (seeded initialisation, the
        untrained control) or the path of a checkpoint of the same architecture.
    seed : int
        Seed of the initialisation (the random control is the same network every time).

    Returns
    -------
    torch.nn.Module
    """
    arch = get_architecture(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the random control is the same network every time
        module = arch.make()
    if weights == "imagenet":
        load_checkpoint(module, find_weights(name), arch.convert)
    elif weights != "random":
        load_checkpoint(module, Path(weights), arch.convert)
    return module.eval()
