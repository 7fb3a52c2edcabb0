"""Mouse V1 two-photon (Allen Brain Observatory): 118 natural scenes at 31 px."""

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark


@BENCHMARKS.register("allen-ns118")
def allen_ns118() -> Benchmark:
    """The extract's own 100/18 split."""
    return Benchmark(
        name="allen-ns118",
        description="mouse V1 two-photon, 118 natural scenes at 31 px (Allen Brain Observatory); source split 100/18",
        folder="allen_boc_ns118_31px",
        format="allen_boc_ns118",
        recordings={"511510667": {}},
        models=("pixel-pca", "gabor", "expansion", "alexnet-conv3", "vgg16-conv4_1", "stacked-v4"),
        citation="de Vries et al. (2020) Nat Neurosci; Allen Brain Observatory",
    )
