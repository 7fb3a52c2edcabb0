"""Macaque V4 (Cowley, Stan, Pillow & Smith 2023): nine Utah-array sessions of 400-1200 natural
images; an encoding and a reconstruction benchmark on the same sessions and split."""

from pathlib import Path

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
from cortexkit.data.readers.cowley2023 import sessions

V4_SESSIONS = ("190925", "190927", "190928", "190929", "210224", "210305", "210322", "210325", "210621")
# The paper's test sessions: their published compact models were fitted on the first half of the images
PAPER_SESSIONS = ("190923", "201025", "210225", "211022")
CITATION = "Cowley, Stan, Pillow & Smith (2023) bioRxiv"


def session_options(session: str) -> dict:
    """Reader options of one session: a seeded 80/20 split of its images."""
    return {"session": session, "seed": 0, "test_fraction": 0.2}


def discover_sessions(source: Path) -> dict[str, dict]:
    """Every session in a folder of the cowley2023 layout (not only the nine shipped ones)."""
    return {s: session_options(s) for s in sessions(source)}


def transfer_sources(source: Path) -> dict[str, dict]:
    """The sessions transferred models may learn from: every session of the folder, all its images (a
    recording is never its own source, and its test images copied in another session are not scored);
    the paper's test sessions only with their first half, the half their published models were fitted on."""
    return {s: {"options": paper_options(s), "split": "train"} if s in PAPER_SESSIONS else
            {"options": session_options(s), "split": "all"} for s in sessions(source)}


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
        models=("pixel-pca-200", "gabor-energy", "expansion", "alexnet-untrained", "alexnet", "vgg16", "stacked-v4",
                "population-alexnet", "population", "stacked-transfer"),
        sources=transfer_sources,
        best="stacked-transfer",
        baseline="alexnet",
        compare_to=("stacked-v4", "alexnet"),
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


def paper_options(session: str) -> dict:
    """Reader options of one of the paper's test sessions: its split (first half fits, second half tests)."""
    return {"session": session, "split": "halves"}


def discover_paper_sessions(source: Path) -> dict[str, dict]:
    """The paper's test sessions present in a folder of the cowley2023 layout."""
    return {s: paper_options(s) for s in sessions(source) if s in PAPER_SESSIONS}


@BENCHMARKS.register("cowley2023-v4-paper")
def cowley2023_v4_paper() -> Benchmark:
    """The paper's own test: in each of its test sessions present, every cortexkit V4 model fitted on the
    first half of the images (choices by CV inside it) and the published compact models (where the
    folder ``cowley2023_compact_models`` beside the data holds them), all scored on the second half;
    cortexkit's stacked model against the compact models unit by unit."""
    return Benchmark(
        name="cowley2023-v4-paper",
        description="macaque V4, the paper's test sessions (Cowley et al. 2023) on the paper's split (first half of "
                    "the images fits, second half tests), beside the published compact models",
        folder="cowley2023_v4",
        format="cowley2023",
        recordings={s: paper_options(s) for s in PAPER_SESSIONS[:1]},
        discover=discover_paper_sessions,
        models=("pixel-pca-200", "gabor-energy", "expansion", "alexnet-untrained", "alexnet", "vgg16", "stacked-v4",
                "population-alexnet", "population", "stacked-transfer", "cowley-compact"),
        sources=transfer_sources,
        best="stacked-transfer",
        baseline="cowley-compact",
        compare_to=("stacked-v4", "cowley-compact"),
        citation=CITATION,
        reference={"190923": "compact models 0.63 (9 neurons, 200 second-half images; the data's SOURCE.txt)"},
    )
