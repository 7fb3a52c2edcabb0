"""Macaque V4 (Cowley, Stan, Pillow & Smith 2023): nine Utah-array sessions of 400-1200 natural
images; an encoding and a reconstruction benchmark on the same sessions and split."""

from pathlib import Path

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
from cortexkit.data.readers.cowley2023 import sessions

V4_SESSIONS = ("190925", "190927", "190928", "190929", "210224", "210305", "210322", "210325", "210621")
CITATION = "Cowley, Stan, Pillow & Smith (2023) bioRxiv"


def session_options(session: str) -> dict:
    """Reader options of one session: a seeded 80/20 split of its images."""
    return {"session": session, "seed": 0, "test_fraction": 0.2}


def discover_sessions(source: Path) -> dict[str, dict]:
    """Every session in a folder of the cowley2023 layout (not only the nine shipped ones)."""
    return {s: session_options(s) for s in sessions(source)}


@BENCHMARKS.register("cowley2023-v4")
def cowley2023_v4() -> Benchmark:
    """Every session found in the folder, a seeded 80/20 split of its images, six feature spaces and the
    stacked best model, compared unit by unit with ridge on the best AlexNet layer."""
    return Benchmark(
        name="cowley2023-v4",
        description="macaque V4, 9 sessions of 400-1200 images (Cowley et al. 2023); seeded 80/20 split",
        folder="cowley2023_v4",
        format="cowley2023",
        recordings={s: session_options(s) for s in V4_SESSIONS},
        discover=discover_sessions,
        models=("pixel-pca-200", "gabor-energy", "expansion", "alexnet-untrained", "alexnet", "vgg16", "stacked-v4"),
        best="stacked-v4",
        baseline="alexnet",
        citation=CITATION,
        reference={"210325": "PCA 0.16 / best AlexNet conv 0.54", "210322": "0.14 / 0.47", "210621": "0.08 / 0.56"},
    )


@BENCHMARKS.register("cowley2023-v4-reconstruction")
def cowley2023_v4_reconstruction() -> Benchmark:
    """The V4 sessions and split of ``cowley2023-v4``; every session's test images decoded from its
    repeat-averaged responses at 64 px, scored by 2-way identification against the other test images."""
    return Benchmark(
        name="cowley2023-v4-reconstruction",
        description="macaque V4, 9 sessions (Cowley et al. 2023): test images reconstructed at 64 px from "
                    "responses; 2-way identification by pixel correlation, PixCorr and SSIM beside nulls",
        folder="cowley2023_v4", format="cowley2023", task="reconstruction", metric="identification",
        recordings={s: session_options(s) for s in V4_SESSIONS}, discover=discover_sessions,
        models=("pca-decoder", "retrieval"),
        citation=CITATION,
    )
