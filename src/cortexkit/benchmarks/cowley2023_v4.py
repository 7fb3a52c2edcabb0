"""Macaque V4 (Cowley, Stan, Pillow & Smith 2023): nine Utah-array sessions of 400-1200 natural images."""

from pathlib import Path

from cortexkit.benchmarks.base import BENCHMARKS, Benchmark
from cortexkit.data.readers.cowley2023 import sessions
from cortexkit.pipelines.ridge_encoding import FeatureSpec, StackSpec

V4_SESSIONS = ("190925", "190927", "190928", "190929", "210224", "210305", "210322", "210325", "210621")

_PCA = FeatureSpec(name="pixel_pca", params={"n_components": 200})
_GABOR_V4 = FeatureSpec(name="gabor", params={"image_size": 56, "outputs": ["energy"]})
# The expansion model at a CPU-friendly size: 140 px (its minimum) and a tenth of the source's widths
# in layers 2-4 (100, 300, 500), 3000 in layer 5 -- about 50 ms per image on 2 cores.
_EXPANSION_V4 = FeatureSpec(name="expansion", params={"widths": [100, 300, 500, 3000], "image_size": 140})
_ALEXNET = FeatureSpec(name="alexnet", params={"layers": "all"})
_ALEXNET_UNTRAINED = FeatureSpec(name="alexnet", params={"layers": "all", "weights": "random"}, label="alexnet_untrained")
# VGG16 at the images' native 112 px (224 px costs 5x the time on a CPU).
_VGG16 = FeatureSpec(name="vgg16", params={"layers": "all", "image_size": 112})


# The best model: per neuron, convex weights over the ImageNet CNN layers from conv2 on, the
# expansion model and Gabor energy, fitted to out-of-fold predictions on the training images.
V4_STACK = StackSpec(models=["alexnet.conv2", "alexnet.conv3", "alexnet.conv4", "alexnet.conv5", "vgg16.conv3_3",
                             "vgg16.conv4_1", "vgg16.conv4_2", "vgg16.conv4_3", "vgg16.conv5_1", "expansion", "gabor"])


def _options(session: str) -> dict:
    return {"session": session, "seed": 0, "test_fraction": 0.2}


def _discover(source: Path) -> dict[str, dict]:
    """Every session in a folder of the cowley2023 layout (not only the nine shipped ones)."""
    return {s: _options(s) for s in sessions(source)}


@BENCHMARKS.register("cowley2023-v4")
def cowley2023_v4() -> Benchmark:
    """Every session found in the folder, a seeded 80/20 split of its images, six feature spaces and the
    stacked best model, compared unit by unit with ridge on the best AlexNet layer."""
    return Benchmark(
        name="cowley2023-v4",
        description="macaque V4, 9 sessions of 400-1200 images (Cowley et al. 2023); seeded 80/20 split",
        folder="cowley2023_v4",
        format="cowley2023",
        recordings={s: _options(s) for s in V4_SESSIONS},
        discover=_discover,
        stack=V4_STACK,
        baseline="alexnet",
        features=(_PCA, _GABOR_V4, _EXPANSION_V4, _ALEXNET_UNTRAINED, _ALEXNET, _VGG16),
        citation="Cowley, Stan, Pillow & Smith (2023) bioRxiv",
        reference={"210325": "PCA 0.16 / best AlexNet conv 0.54", "210322": "0.14 / 0.47", "210621": "0.08 / 0.56"},
    )
