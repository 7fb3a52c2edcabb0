"""Mouse V1 two-photon (Allen Brain Observatory): 118 natural scenes at 31 px."""

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark

# Measured: with all 118 scenes in 10-fold CV (each scene predicted once), ridge on pixels, pixel PCA,
# Gabor and every ImageNet AlexNet layer gives median r between -0.23 and -0.21 (predictions fall to
# the training mean), and no model's paired bootstrap interval against pixels excludes 0. The extract
# holds trial averages only (its single trials carry no scene labels): no ceiling, no repeats to use.
NOT_DEFAULT = ("the extract cannot rank models: 10-fold CV over all 118 scenes gives every feature space median r "
               "-0.23 to -0.21 and no interval against the pixel floor excludes 0; it has no labelled repeats")


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
        default=False,
        not_default=NOT_DEFAULT,
    )
