"""The demo: a simulated V1 recording with known ground truth, ridge on three feature spaces, scored
with noise ceilings. ``cortexkit demo`` runs it and then draws the report."""

from __future__ import annotations

import json
import os

import pandas as pd

from cortexkit import data
from cortexkit._atomic import claim_output
from cortexkit.config import with_overrides
from cortexkit.errors import CortexkitError
from cortexkit.evaluation import SUMMARY_FILE, read_table
from cortexkit.pipelines.ridge import EncodingConfig, evaluate_run, fit_run
from cortexkit.code_stamps import modules_hash
from cortexkit.simulate import V1SimulationConfig, simulate_v1


def run_demo(out: str | os.PathLike, *, seed: int = 0, n_train: int = 2000, n_test: int = 100, n_repeats: int = 10,
             overwrite: bool = False, step=print, log=print) -> pd.DataFrame:
    """Simulate (or reuse the same simulation on disk), fit and evaluate; returns the summary table.

    Writes ``OUT/data.zarr`` (:class:`~cortexkit.simulate.V1SimulationConfig` with these settings)
    and the ridge run (``config.yaml``, ``models/``, ``results.csv``, ``summary.csv``) into ``OUT``.
    ``step`` receives the headline of each step, ``log`` the details.
    """
    sim = with_overrides(V1SimulationConfig, None, dict(n_train=n_train, n_test=n_test, n_repeats=n_repeats, seed=seed))
    out = claim_output(out)
    data_path = out / "data.zarr"
    step(f"1/4 simulate {sim.n_simple} simple + {sim.n_complex} complex V1 cells -> {data_path}")
    existing = None
    if data_path.exists():
        try:
            attrs = data.open(data_path).attrs
            existing = (json.loads(attrs.get("simulation", "null")), attrs.get("simulation_code"))
        except (CortexkitError, ValueError):
            existing = None
    code = modules_hash("cortexkit.simulate")
    if existing == (sim.model_dump(mode="json"), code):  # the same simulation, by the same simulator code
        log("same simulation already on disk, reused")
    else:
        data.save(simulate_v1(sim).assign_attrs(simulation_code=code), data_path)
    step("2/4 fit ridge (5-fold CV, alpha per unit) on pixels, pixel PCA and a Gabor pyramid")
    fit_run(data_path, out, EncodingConfig(seed=sim.seed), overwrite=overwrite,
            extra={"simulation": sim.model_dump(mode="json")}, log=log)
    step("3/4 evaluate on the test images, with split-half noise ceilings")
    evaluate_run(out, log=log)
    return read_table(out / SUMMARY_FILE)
