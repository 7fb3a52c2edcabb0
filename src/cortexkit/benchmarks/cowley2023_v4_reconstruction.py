"""Image reconstruction from macaque V4 (Cowley et al. 2023): every session's test images decoded
from its repeat-averaged responses, scored by 2-way identification against the other test images."""

from cortexkit.benchmarks.base import BENCHMARKS, Benchmark
from cortexkit.benchmarks.cowley2023_v4 import V4_SESSIONS, _discover, _options


@BENCHMARKS.register("cowley2023-v4-reconstruction")
def cowley2023_v4_reconstruction() -> Benchmark:
    """The V4 sessions and split of ``cowley2023-v4``; reconstructions at 64 px."""
    return Benchmark(
        name="cowley2023-v4-reconstruction",
        description="macaque V4, 9 sessions (Cowley et al. 2023): test images reconstructed at 64 px from "
                    "responses; 2-way identification by pixel correlation, PixCorr and SSIM beside nulls",
        folder="cowley2023_v4", format="cowley2023", task="reconstruction", metric="identification",
        recordings={s: _options(s) for s in V4_SESSIONS}, discover=_discover,
        citation="Cowley, Stan, Pillow & Smith (2023) bioRxiv",
    )
