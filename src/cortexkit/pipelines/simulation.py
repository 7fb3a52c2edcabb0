"""In-silico recordings by population name: the one dispatch behind ``cortexkit data simulate`` and
the simulated benchmarks.

A population is a simulator and its typed config (:data:`cortexkit.simulate.POPULATIONS`); a
simulator returns one dataset, or ``{subject: dataset}`` for several subjects (fmri), written as
one store each into a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import xarray as xr
from pydantic import BaseModel

from cortexkit import data, simulate
from cortexkit.config import resolve_config
from cortexkit.errors import ConfigError


def simulation_config(population: str, path: str | os.PathLike | None = None, overrides: dict | None = None) -> BaseModel:
    """The typed config of ``population``: its defaults, then the YAML at ``path``, then
    ``overrides`` (None values mean "not given"); options foreign to the population are an error."""
    if population not in simulate.POPULATIONS:
        raise ConfigError(f"--population must be one of {list(simulate.POPULATIONS)}, got {population!r}")
    model, _ = simulate.POPULATIONS[population]
    return resolve_config(model, path, overrides, context=f"--population {population}")


def simulate_recording(population: str, config: BaseModel | dict | None = None) -> xr.Dataset | dict[str, xr.Dataset]:
    """Simulate ``population`` with ``config`` (a config of its type, or a mapping of its fields)."""
    if not isinstance(config, BaseModel):
        config = simulation_config(population, overrides=config or {})
    _, run = simulate.POPULATIONS[population]
    return run(config)


def _areas(ds: xr.Dataset) -> str:
    return ", ".join(f"{a} {n}" for a, n in pd.Series(ds["area"].values).value_counts(sort=False).items())


def write_simulation(out: str | os.PathLike, population: str, config_path: str | os.PathLike | None = None,
                     overrides: dict | None = None) -> list[str]:
    """Simulate ``population`` and write it to ``out`` (a store; for several subjects a folder of
    ``SUBJECT.zarr`` stores). Returns one line per store written, saying what it holds."""
    out = Path(out)
    result = simulate_recording(population, simulation_config(population, config_path, overrides))
    if isinstance(result, dict):
        lines = []
        for subject, ds in result.items():
            path = out / f"{subject}.zarr"
            data.save(ds, path)
            lines.append(f"wrote {path}: {ds.sizes['unit']} voxels ({_areas(ds)}), {ds.sizes['trial']} trials of "
                         f"{ds.sizes['stimulus']} images")
        return lines
    data.save(result, out)
    split = pd.Series(result["split"].values).value_counts()
    return [f"wrote {out}: {result.sizes['unit']} {population.upper()} units, {split.get('train', 0)} train + "
            f"{split.get('test', 0)} test stimuli"]
