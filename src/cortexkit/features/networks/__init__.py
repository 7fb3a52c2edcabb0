"""Network architectures written for cortexkit, and their offline pretrained weights.

``build(name, weights=...)`` returns a torch module; ``weights`` is ``"imagenet"`` (the weights
shipped in a locally installed package, see :mod:`.weights`), ``"random"`` (seeded untrained
initialisation, the control) or the path of a checkpoint file of the same architecture.
"""

from cortexkit.features.networks.registry import ARCHITECTURES, build
from cortexkit.features.networks import alexnet, efficientnet_lite, vgg16  # noqa: F401,E402  (registration)

__all__ = ["ARCHITECTURES", "build"]
