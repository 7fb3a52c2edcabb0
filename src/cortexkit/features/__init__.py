"""Stimulus feature extractors, found by name through :func:`get_extractor`."""

from cortexkit.features.base import FeatureExtractor, check_images
from cortexkit.features.gabor import GaborPyramid
from cortexkit.features.pixels import PixelPCA, Pixels
from cortexkit.features.registry import EXTRACTORS, get_extractor

__all__ = ["FeatureExtractor", "check_images", "GaborPyramid", "Pixels", "PixelPCA", "EXTRACTORS", "get_extractor"]
