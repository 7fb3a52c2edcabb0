"""Extractors by name, so that configs and the CLI can refer to them."""

from __future__ import annotations

from typing import Any

from cortexkit.errors import ConfigError
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.gabor import GaborPyramid
from cortexkit.features.pixels import PixelPCA, Pixels

EXTRACTORS: dict[str, type[FeatureExtractor]] = {
    "pixels": Pixels,
    "pixel_pca": PixelPCA,
    "gabor": GaborPyramid,
}


def get_extractor(name: str, params: dict[str, Any] | None = None) -> FeatureExtractor:
    """An unfitted extractor by registry name, with keyword parameters."""
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {name!r}; available: {sorted(EXTRACTORS)}")
    try:
        return EXTRACTORS[name](**(params or {}))
    except TypeError as exc:
        raise ConfigError(f"bad parameters for feature extractor {name!r}: {exc}") from None
