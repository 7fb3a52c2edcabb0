"""The well-known library models and whether their weights are on this machine (``cortexkit list features``)."""

from __future__ import annotations

from cortexkit.features.library.open_clip import OpenCLIPModel
from cortexkit.features.library.timm import TimmModel
from cortexkit.features.library.torchvision import TorchvisionModel
from cortexkit.optional import available


# Well-known models a listing reports on (any other name of each library works the same way).
CATALOGUE = {
    "timm": ["resnet50", "convnext_tiny", "vit_base_patch16_224", "efficientnet_b1"],
    "torchvision": ["resnet50", "inception_v3", "efficientnet_b1", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s"],
    "open_clip": ["ViT-B-32", "ViT-L-14", "RN50"],
}


def catalogue() -> list[dict]:
    """One row per well-known library model: name, whether its library is installed, and whether its
    pretrained weights are on this machine (and where they are or would be)."""
    classes = {"timm": TimmModel, "torchvision": TorchvisionModel, "open_clip": OpenCLIPModel}
    rows = []
    for source, models in CATALOGUE.items():
        installed = available(source)
        for model in models:
            row = {"name": f"{source}:{model}", "installed": installed, "weights": "", "where": ""}
            if installed:
                ex = classes[source](model=model)
                found = ex.weights_present()
                row["weights"] = "present" if found else "absent"
                row["where"] = found or ex.weights_location()
            rows.append(row)
    return rows
