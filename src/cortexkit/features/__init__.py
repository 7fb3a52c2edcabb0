"""Stimulus feature extractors, found by name through :func:`get_extractor`.

Importing this package registers every extractor (each module decorates its classes).
"""

from cortexkit.features.base import FeatureExtractor, check_images, extract_features
from cortexkit.features.registry import EXTRACTORS, get_extractor
from cortexkit.features.expansion import ExpansionModel
from cortexkit.features.gabor import GaborPyramid
from cortexkit.features.motion_energy import MotionEnergy, RandomCNN3D
from cortexkit.features.dorsalnet import DorsalNetFeatures
from cortexkit.features.dorsalnet_mineault import MineaultDorsalNetFeatures
from cortexkit.features.pixels import PixelPCA, Pixels
from cortexkit.features.torch_layers import PretrainedCNN, TorchExtractor
from cortexkit.features.user_model import UserModel
from cortexkit.features.library import OpenCLIPModel, TimmModel, TorchvisionModel

__all__ = [
    "FeatureExtractor",
    "check_images",
    "extract_features",
    "GaborPyramid",
    "MotionEnergy",
    "RandomCNN3D",
    "DorsalNetFeatures",
    "MineaultDorsalNetFeatures",
    "UserModel",
    "ExpansionModel",
    "Pixels",
    "PixelPCA",
    "PretrainedCNN",
    "TorchExtractor",
    "TimmModel",
    "TorchvisionModel",
    "OpenCLIPModel",
    "EXTRACTORS",
    "get_extractor",
]
