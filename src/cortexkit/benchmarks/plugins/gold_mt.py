"""Macaque MT random-dot direction tuning (the gold_mt extract): decode the motion direction of each
trial from the cell's spike count."""

from pathlib import Path

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
from cortexkit.data.readers.gold_mt import cell_count

# The movies are not used for decoding: rendered small and coarse to keep conversion quick.
OPTIONS = {"experiment": "tuning", "measure": "count", "size": 16, "frame_rate": 10}


def discover_cells(source: Path) -> dict[str, dict]:
    """Every cell of the file (one recording each)."""
    return {f"cell{c}": {"cell": c, **OPTIONS} for c in range(cell_count(source))}


@BENCHMARKS.register("gold-mt-direction")
def gold_mt_direction() -> Benchmark:
    """Every MT cell of the file (five in the shipped one), 8 directions each; the score is the
    cross-validated accuracy averaged over cells."""
    return Benchmark(
        name="gold-mt-direction",
        description="macaque MT, every cell of the file (5 in the extract), 8 directions of 100% coherent dots; direction decoded from each "
                    "trial's spike count (5-fold CV), averaged over cells",
        folder="gold_mt_dots", format="gold_mt", task="decoding", stimulus="movie", metric="accuracy",
        parameter="direction",
        recordings={f"cell{c}": {"cell": c, **OPTIONS} for c in range(5)}, discover=discover_cells,
        models=("logistic", "poisson-ml"),
        citation="Gold lab MT data (see gold_mt_dots/SOURCE.txt)",
    )
