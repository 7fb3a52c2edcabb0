"""Feature extractors by name from the ecosystem's model libraries: ``timm:<model>``,
``torchvision:<model>`` (image and video models) and ``open_clip:<arch>``; one module per library
over a shared base (:mod:`~cortexkit.features.library.base`: weights, layers, preprocessing)."""

from cortexkit.features.library.base import LibraryModel, load_state_file
from cortexkit.features.library.catalogue import CATALOGUE, catalogue
from cortexkit.features.library.open_clip import OpenCLIPModel
from cortexkit.features.library.timm import TimmModel
from cortexkit.features.library.torchvision import TorchvisionModel

__all__ = ["CATALOGUE", "LibraryModel", "OpenCLIPModel", "TimmModel", "TorchvisionModel", "catalogue",
           "load_state_file"]
