"""The V4 paper's own test as a benchmark (`cowley2023-v4-paper`): the paper's test sessions found under the
data root, the paper's split (first half fits, second half tests), cortexkit's models and the published
compact models scored on the same second half, compared unit by unit; a session without compact models
is scored without them."""

import json
import os
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import torch

from cortexkit import data
from cortexkit.benchmarks import get_benchmark
from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
from cortexkit.benchmarks.plugins.cowley2023 import discover_paper_sessions
from cortexkit.benchmarks.runner import run_benchmarks
from cortexkit.encoding.compact_models import available_neurons, load_compact_models, preprocess

from ..conftest import SHARED_DATA


def test_the_benchmark_reads_the_papers_sessions_and_split(tmp_path):
    bench = get_benchmark("cowley2023-v4-paper")
    assert bench.best == "stacked-transfer" and bench.baseline == "cowley-compact"
    assert bench.compare_to == ("stacked-v4", "cowley-compact") and bench.sources is not None
    for session in ("190923", "210325", "211022"):
        (tmp_path / "responses_repeat_averaged").mkdir(exist_ok=True)
        np.save(tmp_path / "responses_repeat_averaged" / f"responses_{session}.npy", np.zeros((2, 4)))
    assert discover_paper_sessions(tmp_path) == {"190923": {"session": "190923", "split": "halves"},
                                                 "211022": {"session": "211022", "split": "halves"}}


def write_session(root: Path, session: str, responses_of, n_images: int, seed: int) -> None:
    """A session in the cowley2023 layout: random textures, responses computed from the decoded images."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "responses_repeat_averaged").mkdir(exist_ok=True)
    encoded = []
    with zipfile.ZipFile(root / "images" / f"images_{session}.zip", "w") as zf:
        for i in range(1, n_images + 1):
            coarse = rng.integers(0, 256, (14, 14, 3)).astype(np.uint8)  # smooth images: the models' range
            img = np.kron(coarse, np.ones((8, 8, 1), np.uint8))
            blob = iio.imwrite("<bytes>", img, extension=".jpg")
            zf.writestr(f"image{i:04d}.jpg", blob)
            encoded.append(iio.imread(blob))
    pixels = np.stack(encoded)
    responses = responses_of(pixels)
    responses = responses + 0.1 * responses.std(0) * rng.standard_normal(responses.shape)
    np.save(root / "responses_repeat_averaged" / f"responses_{session}.npy", responses.T.astype(np.float64))


@pytest.mark.reference
@pytest.mark.slow  # 40 s on 2 cores: two sessions converted, ridge and the 33 compact models; CI runs it
def test_cortexkit_and_the_compact_models_on_the_same_second_half(tmp_path):
    models = Path(os.environ.get("CORTEXKIT_REFERENCE_COWLEY", SHARED_DATA / "cowley2023_compact_models"))
    session = "190923"
    neurons = available_neurons(models, session)
    if not neurons:
        pytest.skip(f"no compact models of session {session} in {models}")
    compact = load_compact_models(models, session)

    def from_compact(pixels):
        with torch.no_grad():
            return compact(preprocess(torch.from_numpy(pixels).permute(0, 3, 1, 2).float())).double().numpy()

    root = tmp_path / "data"
    write_session(root / "cowley2023_v4", session, from_compact, 40, seed=0)
    write_session(root / "cowley2023_v4", "211022", lambda p: p.reshape(len(p), -1)[:, :5].astype(float), 40, seed=1)
    (root / "cowley2023_compact_models").symlink_to(models.resolve())
    pixels = tmp_path / "pixels.yaml"
    pixels.write_text("description: pixels\ntask: encoding\nstimulus: [image]\nkind: ridge\n"
                      "config: {features: [{name: pixel_pca, params: {n_components: 10}}], permutations: 0}\n")
    bench = Benchmark(name="test-paper", description="x", folder="cowley2023_v4", format="cowley2023", recordings={},
                      discover=discover_paper_sessions, models=(str(pixels), "cowley-compact"), best=str(pixels),
                      baseline="cowley-compact", citation="x")
    BENCHMARKS.register(bench.name)(lambda: bench)
    messages = []
    try:
        run_benchmarks(root, tmp_path / "out", benchmarks=["test-paper"], log=messages.append)
    finally:
        BENCHMARKS.pop(bench.name, None)
    assert any("211022: no published compact models of this session: not scored" in m for m in messages)
    cells = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out" / "cells" / "test-paper").glob("*.json")}
    assert set(cells["cowley-compact"]["per_recording"]) == {session}  # only the session it has models of
    assert set(cells["pixels"]["per_recording"]) == {session, "211022"}
    assert cells["cowley-compact"]["n"] == len(neurons) and cells["cowley-compact"]["score"] > 0.9
    store = data.open(tmp_path / "out" / "stores" / "test-paper" / f"{session}.zarr")
    assert (np.asarray(store["split"].values) == ["train"] * 20 + ["test"] * 20).all()  # the paper's halves
    table = pd.read_csv(tmp_path / "out" / "tables" / "test-paper" / "recordings.csv", dtype={"recording": str})
    row = table.set_index("recording").loc[session]
    assert row["cowley-compact r"] > row["best model r"] and row["ratio"] < 1
    assert np.isnan(table.set_index("recording").loc["211022"]["cowley-compact r"])
    units = pd.read_csv(tmp_path / "out" / "tables" / "test-paper" / "units.csv", dtype={"recording": str})
    assert len(units) == len(neurons) and set(units["recording"]) == {session}
    assert list(units.columns) == ["recording", "unit", "pixels r", "cowley-compact r", "difference", "95% interval",
                                   "better (own interval)"]
    assert (units["better (own interval)"] == "cowley-compact").mean() > 0.5
