"""Cells: one model on one benchmark, an independent task with its files in the results store.

Under ``OUT/cells/BENCHMARK/`` a cell writes::

    MODEL.json        headline score with its interval, the normalised score, per-recording
                      scores, extra metrics, the fingerprint, the model as it ran, the time it took
    MODEL.items.csv   one row per scored item: unit (encoding; every reported layer), trial
                      (decoding; score 1 if decoded right) or test image (reconstruction)
    MODEL.npz         encoding: each recording's test predictions, for paired comparisons

The JSON is written last, so a cell is done exactly when its JSON is there with a current
fingerprint: a hash of the model's definition, the benchmark's, the sources of the stores it read
and the code that computed it (:func:`cell_code`): a fix to one extractor recomputes the cells of
the models that use it, a fix to the scoring code every cell, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit._atomic import write_text
from cortexkit.code_stamps import code_stamp, file_stamp, modules_hash
from cortexkit.benchmarks.definition import Benchmark
from cortexkit.benchmarks.models import ModelSpec
from cortexkit.benchmarks.recordings import stamp_path
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import load_arrays, read_table, save_arrays, write_table

CELLS = "cells"
RUNS = "runs"

# The layout of a cell's record: 2 = encoding cells carry the CV selection record (layer and model
# choices made on the training split). Bumping it recomputes cells, not features; ridge fits with
# unchanged settings come back from OUT/fits.
CELL_REVISION = 2

# The code every cell of a kind runs, by module or package (hashed whole), beside the model's own
# components (feature extractors, user cores), which are hashed one by one.
SCORING = ("cortexkit.metrics", "cortexkit.evaluation", "cortexkit.benchmarks.cells")
PIPELINES = {
    "ridge": ("cortexkit.encoding.ridge", "cortexkit.pipelines.ridge", "cortexkit.benchmarks.tasks.encoding"),
    "trained": ("cortexkit.encoding", "cortexkit.training_loop", "cortexkit.pipelines.predictor",
                "cortexkit.benchmarks.tasks.encoding"),
    "published": ("cortexkit.encoding", "cortexkit.pipelines.predictor", "cortexkit.pipelines.published",
                  "cortexkit.features.networks", "cortexkit.benchmarks.tasks.encoding"),
    "reconstruction": ("cortexkit.decoding", "cortexkit.pipelines.reconstruction", "cortexkit.benchmarks.tasks.reconstruction"),
    "parameter_decoding": ("cortexkit.decoding", "cortexkit.pipelines.parameter_decoding",
                           "cortexkit.benchmarks.tasks.decoding"),
}


def cell_code(model: ModelSpec) -> dict[str, str]:
    """Hashes of the code behind a model's cells: the scoring and the pipeline of its kind, and, for
    ridge models, each feature space's extractor (its modules and what they import directly; a
    user's model file by content), for trained ones a user's core file."""
    from cortexkit.features.registry import get_extractor
    from cortexkit.registry import is_user_reference

    code = {"scoring": modules_hash(*SCORING), "pipeline": modules_hash(*PIPELINES[model.kind])}
    if model.kind == "ridge":
        for spec in model.encoding().features:
            extractor = get_extractor(spec.name, spec.params)
            code[spec.model_name] = extractor.code_stamp() if hasattr(extractor, "code_stamp") else code_stamp(extractor)
    elif model.kind == "trained":
        kind = str(model.config.get("core", {}).get("kind", ""))
        if is_user_reference(kind):
            where = kind.rsplit(":", 1)[0]
            code["core"] = file_stamp(Path(where)) if where.endswith(".py") else modules_hash(where)
    return code


@dataclass(frozen=True)
class Cell:
    """One model on one benchmark, with the stores it reads (label -> path) and the results store."""

    benchmark: Benchmark
    model: ModelSpec
    stores: dict[str, str]
    out: str
    data_root: str | None = None  # where published checkpoints named `{data_root}/...` lie
    # label -> the transfer sources of that recording ([{path, split}]: the benchmark's `{sources}`)
    sources: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """``OUT/cells/BENCHMARK``."""
        return Path(self.out) / CELLS / self.benchmark.name

    @property
    def result_path(self) -> Path:
        """The cell's JSON (written last: its presence marks the cell done)."""
        return self.folder / f"{self.model.name}.json"

    def run_dir(self, label: str | None = None) -> Path:
        """Where the model's pipeline writes: ``OUT/runs/BENCHMARK/MODEL[/RECORDING]``."""
        base = Path(self.out) / RUNS / self.benchmark.name / self.model.name
        return base / label if label else base

    def fingerprint(self) -> str:
        """Hash of what the cell's numbers depend on: model, benchmark, stores' sources, code."""
        sources = {label: _made_from(Path(path)) for label, path in sorted(self.stores.items())}
        blob = json.dumps({"model": self.model.definition(self.data_root), "benchmark": self.benchmark.definition(),
                           "sources": sources, "code": cell_code(self.model), "cell": CELL_REVISION}, sort_keys=True,
                          default=str)
        return hashlib.sha1(blob.encode()).hexdigest()

    def is_current(self) -> bool:
        """Whether the cell's result is on disk and was made from the same inputs."""
        try:
            return json.loads(self.result_path.read_text()).get("fingerprint") == self.fingerprint()
        except (OSError, ValueError):
            return False

    def write(self, result: dict, items: pd.DataFrame, arrays: dict[str, np.ndarray]) -> None:
        """Write the cell's files, the JSON last."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_table(items, self.folder / f"{self.model.name}.items.csv")
        if arrays:
            save_arrays(arrays, self.folder / f"{self.model.name}.npz")
        write_text(self.result_path, json.dumps(result, indent=1, default=float))


def _made_from(store: Path) -> str:
    path = stamp_path(store)
    return path.read_text() if path.is_file() else ""


def read_cells(out, benchmark: str | None = None) -> list[dict]:
    """Every cell result in the results store ``out`` (of one benchmark when named)."""
    folder = Path(out) / CELLS
    if not folder.is_dir():
        raise ConfigError(f"{out}: no benchmark results here (run `cortexkit bench run --out {out}` first)")
    results = []
    for path in sorted(folder.glob(f"{benchmark or '*'}/*.json")):
        try:
            results.append(json.loads(path.read_text()))
        except ValueError:
            raise DataError("not a benchmark cell (unreadable JSON); delete it to recompute", source=str(path)) from None
    return results


def read_items(out, benchmark: str, model: str) -> pd.DataFrame:
    """A cell's per-item scores."""
    return read_table(Path(out) / CELLS / benchmark / f"{model}.items.csv")


def read_predictions(out, benchmark: str, model: str) -> dict[str, np.ndarray]:
    """An encoding cell's saved test predictions (``prediction/RECORDING/MODEL``, ``stimulus/...``)."""
    return load_arrays(Path(out) / CELLS / benchmark / f"{model}.npz")
