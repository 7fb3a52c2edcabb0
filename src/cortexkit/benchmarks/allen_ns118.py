"""Mouse V1 two-photon (Allen Brain Observatory): 118 natural scenes at 31 px."""

from cortexkit.benchmarks.base import BENCHMARKS, Benchmark
from cortexkit.pipelines.ridge_encoding import FeatureSpec


@BENCHMARKS.register("allen-ns118")
def allen_ns118() -> Benchmark:
    """The extract's own 100/18 split, pixel PCA and Gabor energy."""
    return Benchmark(
        name="allen-ns118",
        description="mouse V1 two-photon, 118 natural scenes at 31 px (Allen Brain Observatory); source split 100/18",
        folder="allen_boc_ns118_31px",
        format="allen_boc_ns118",
        recordings={"511510667": {}},
        features=(FeatureSpec(name="pixel_pca", params={"n_components": 50}), FeatureSpec(name="gabor")),
        citation="de Vries et al. (2020) Nat Neurosci; Allen Brain Observatory",
    )
