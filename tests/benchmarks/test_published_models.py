"""A published checkpoint as a benchmark model (``kind: published``): `bench run` makes it into a run on
each recording, as `cortexkit train --from-checkpoint` does, and scores it like a trained run; the
checkpoint's content, not its path, is in the cell's fingerprint."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cortexkit.benchmarks.models import read_model
from cortexkit.errors import ConfigError

from ..conftest import SHARED_DATA


@pytest.fixture(scope="module")
def checkpoint():
    folder = Path(os.environ.get("CORTEXKIT_REFERENCE_STSBENCH", SHARED_DATA / "stsbench_reference"))
    found = sorted(folder.glob("*.pth"))
    if not found:
        pytest.skip(f"no STSBench reference checkpoint in {folder}")
    return found[0]


def model_file(folder: Path, checkpoint: Path, **extra) -> Path:
    path = folder / "stsbench-published.yaml"
    config = {"checkpoint": checkpoint.name, "format": "stsbench", **extra}
    path.write_text("description: an STSBench checkpoint\ntask: encoding\nstimulus: [movie]\nkind: published\n"
                    f"config: {json.dumps(config)}\n")
    return path


def test_the_model_file_names_the_checkpoint_by_content(checkpoint, tmp_path):
    shutil.copy(checkpoint, tmp_path / checkpoint.name)
    model = read_model(model_file(tmp_path, checkpoint))
    assert model.checkpoint() == tmp_path / checkpoint.name  # relative to the model file
    assert model.definition()["config"]["checkpoint"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(checkpoint, moved / checkpoint.name)
    assert read_model(model_file(moved, checkpoint)).definition() == model.definition()  # same weights, same cells
    with pytest.raises(ConfigError, match="format must be one of"):
        read_model(model_file(tmp_path, checkpoint, format="pytorch"))
    with pytest.raises(ConfigError, match="config takes checkpoint, format and skip_frames"):
        read_model(model_file(tmp_path, checkpoint, layer="res1"))
    (tmp_path / checkpoint.name).unlink()
    with pytest.raises(ConfigError, match="missing \\(the published model's checkpoint\\)"):
        read_model(model_file(tmp_path, checkpoint)).definition()


@pytest.mark.reference
@pytest.mark.slow  # 25 s on 2 cores: 38 clips converted, the published DorsalNet run on each; CI runs it
def test_bench_run_scores_a_published_checkpoint(checkpoint, tmp_path):
    from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
    from cortexkit.benchmarks.runner import run_benchmarks
    from cortexkit.encoding.predictor.checkpoints import stsbench_predictor
    from cortexkit.pipelines import checkpoint_run

    from ..pipelines.test_missing_responses import stsbench_release

    pieces = stsbench_predictor(checkpoint)
    (tmp_path / "data" / "sts").mkdir(parents=True)
    stsbench_release(tmp_path / "data" / "sts", neurons=pieces["n_units"], frames=pieces["frames"])
    shutil.copy(checkpoint, tmp_path / checkpoint.name)
    model = model_file(tmp_path, checkpoint)
    bench = Benchmark(name="test-published", description="a published checkpoint", folder="sts", format="stsbench",
                      recordings={"sts": {"size": pieces["image_size"], "frames": pieces["frames"]}}, models=(str(model),),
                      stimulus="movie", citation="x")
    BENCHMARKS.register(bench.name)(lambda: bench)
    try:
        run_benchmarks(tmp_path / "data", tmp_path / "out", benchmarks=["test-published"], log=lambda *_: None)
    finally:
        BENCHMARKS.pop(bench.name, None)
    cell = json.loads(next((tmp_path / "out" / "cells" / "test-published").glob("*.json")).read_text())
    assert cell["n"] == pieces["n_units"] and cell["ci_low"] <= cell["score"] <= cell["ci_high"]
    # the cell's run is the one `cortexkit train --from-checkpoint` makes on the same store
    store = next((tmp_path / "out").rglob("sts*.zarr"))
    checkpoint_run(checkpoint, "stsbench", store, tmp_path / "direct", key="sts", log=lambda *_: None)
    cell_rows = pd.read_csv(next((tmp_path / "out" / "runs" / "test-published").rglob("results.csv")))
    direct = pd.read_csv(tmp_path / "direct" / "results.csv")
    pd.testing.assert_series_equal(cell_rows["pearson"], direct["pearson"])
