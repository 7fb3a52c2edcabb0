"""Macaque V1/V2 single units to drifting compound gratings (Goris et al. 2015), re-rendered as movies."""

from pathlib import Path

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
from cortexkit.data.readers.goris2015 import units


def discover_units(source: Path) -> dict[str, dict]:
    """Every unit the folder's dataList.mat names (one recording each)."""
    return {u: {"unit": u, "size": 32} for u in units(source)}


@BENCHMARKS.register("goris2015-v1v2")
def goris2015_v1v2() -> Benchmark:
    """Each unit a recording: ~1760 trials of 9-component gratings rendered at 32 px, 40 Hz; the
    reader's seeded 80/20 split of stimuli."""
    return Benchmark(
        name="goris2015-v1v2",
        description="macaque V1 (5) and V2 (1) single units, drifting compound gratings as 32 px movies "
                    "(Goris et al. 2015); seeded 80/20 split",
        folder="goris2015_v1v2", format="goris2015", stimulus="movie",
        recordings={}, discover=discover_units,
        models=("pixel-pca", "motion-energy"),
        citation="Goris, Simoncelli & Movshon (2015) Neuron",
    )
