"""Extractors by name, so that configs and the CLI can refer to them.

``alexnet``, ``vgg16`` and ``efficientnet_lite0`` are :class:`PretrainedCNN` with that ``arch``
(pass ``weights: random`` for the untrained control, or a checkpoint path).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from cortexkit.errors import ConfigError
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.expansion import ExpansionModel
from cortexkit.features.gabor import GaborPyramid
from cortexkit.features.motion_energy import MotionEnergy, RandomCNN3D
from cortexkit.features.pixels import PixelPCA, Pixels
from cortexkit.features.torch_layers import PretrainedCNN

EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "pixels": Pixels,
    "pixel_pca": PixelPCA,
    "gabor": GaborPyramid,
    "motion_energy": MotionEnergy,
    "expansion": ExpansionModel,
    "random_cnn3d": RandomCNN3D,
    "alexnet": partial(PretrainedCNN, arch="alexnet"),
    "vgg16": partial(PretrainedCNN, arch="vgg16"),
    "efficientnet_lite0": partial(PretrainedCNN, arch="efficientnet_lite0"),
}


def get_extractor(name: str, params: dict[str, Any] | None = None) -> FeatureExtractor:
    """An unfitted extractor by registry name, with keyword parameters."""
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {name!r}; available: {sorted(EXTRACTORS)}")
    try:
        return EXTRACTORS[name](**(params or {}))
    except TypeError as exc:
        raise ConfigError(f"bad parameters for feature extractor {name!r}: {exc}") from None
