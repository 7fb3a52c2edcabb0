"""In-silico recordings by population name: the one dispatch behind ``cortexkit data simulate`` and
the simulated benchmarks.

A population is a simulator and its typed config (:data:`cortexkit.simulate.POPULATIONS`); a
simulator returns one dataset, or ``{subject: dataset}`` for several subjects (fmri), written as
one store each into a folder.
"""

from __future__ import annotations

import os

import pandas as pd
import xarray as xr
from pydantic import BaseModel

from cortexkit import data, simulate
from cortexkit._atomic import check_output, claim_output
from cortexkit.config import resolve_config
from cortexkit.errors import ConfigError, listed
from cortexkit.memory import require_memory


def simulation_config(population: str, path: str | os.PathLike | None = None, overrides: dict | None = None) -> BaseModel:
    """The typed config of ``population``: its defaults, then the YAML at ``path``, then
    ``overrides`` (None values mean "not given"); options foreign to the population are an error."""
    if population not in simulate.POPULATIONS:
        raise ConfigError(f"--population must be one of {listed(simulate.POPULATIONS)}, got {population!r}")
    model, _ = simulate.POPULATIONS[population]
    return resolve_config(model, path, overrides, context=f"--population {population}")


def simulation_bytes(population: str, config: BaseModel) -> float:
    """About how much memory simulating ``population`` with ``config`` takes (stimuli, trials and the
    units' working arrays, a few copies of each): checked before anything is allocated."""
    c = config.model_dump()
    if population == "v1":
        stimuli = (c["n_train"] + c["n_test"]) * c["size"] ** 2 * (3 if c["color"] else 1)
        units, trials = c["n_simple"] + c["n_complex"], c["n_train"] + c["n_test"] * c["n_repeats"]
        return 4 * (4 * stimuli + 3 * trials * units + 4 * units * c["size"] ** 2)
    if population == "v1-video":
        stimuli = (c["n_train"] + c["n_test"] + 400) * c["n_frames"] * c["size"] ** 2
        units, trials = c["n_simple"] + c["n_complex"], c["n_train"] + c["n_test"] * c["n_repeats"]
        return 4 * (4 * stimuli + 3 * trials * units + 4 * units * c["n_frames"] * c["size"] ** 2)
    if population == "mt":
        stimuli = (c["n_train"] + c["n_test"]) * c["n_frames"] * c["size"] ** 2
        return 4 * (6 * stimuli + 3 * (c["n_train"] + c["n_test"] * c["n_repeats"]) * c["n_units"])
    if population == "fmri":
        images = c["n_subjects"] * (c["n_train"] + c["n_shared"])
        # each image's pixels, and the model units voxels pool (untrained AlexNet maps at 224 px)
        return images * (3 * 4 * c["size"] ** 2 * 3 + 2e6) + 8 * images * c["n_repeats"] * c["voxels"][1] * len(c["rois"])
    if population == "movie-fmri":
        frames = (c["n_train_runs"] + 1) * c["run_length"]
        trials = (c["n_train_runs"] + c["n_test_repeats"]) * c["run_length"]
        return 8 * (6 * frames * c["size"] ** 2 + 3 * trials * c["n_units"] + 4 * frames * 400)
    if population == "self-motion":
        n = c["n_train"] + c["n_test"]
        return 8 * (3 * n * c["n_frames"] * c["size"] ** 2 + 8 * n * c["n_dots"] * 3 + 3 * n * c["n_repeats"] * c["n_units"])
    if population == "partition":
        n = c["n_train"] + c["n_test"]
        return 8 * (6 * n * c["size"] ** 2 + 3 * (c["n_train"] + c["n_test"] * c["n_repeats"]) * c["n_units"])
    movies = c["n_objects"] * c["n_directions"] * len(c["speeds"]) * c["n_starts"]
    return 4 * (6 * movies * c["n_frames"] * c["size"] ** 2 + 3 * movies * c["n_repeats"] * (c["n_dorsal"] + c["n_ventral"]))


def simulate_recording(population: str, config: BaseModel | dict | None = None) -> xr.Dataset | dict[str, xr.Dataset]:
    """Simulate ``population`` with ``config`` (a config of its type, or a mapping of its fields);
    a ConfigError with the estimate when it would not fit in this machine's memory."""
    if not isinstance(config, BaseModel):
        config = simulation_config(population, overrides=config or {})
    c = config.model_dump()
    # the settings that size it, named as the command line names them
    sizing = [f"--{k.replace('_', '-')} {c[k]}" for k in ("n_train", "n_test", "n_repeats", "n_shared", "size", "n_frames",
                                                          "n_objects", "n_starts") if k in c and c[k] is not None]
    require_memory(simulation_bytes(population, config),
                   f"simulating --population {population} with {', '.join(sizing) or 'these settings'}")
    _, run = simulate.POPULATIONS[population]
    return run(config)


def _areas(ds: xr.Dataset) -> str:
    return ", ".join(f"{a} {n}" for a, n in pd.Series(ds["area"].values).value_counts(sort=False).items())


def write_simulation(out: str | os.PathLike, population: str, config_path: str | os.PathLike | None = None,
                     overrides: dict | None = None) -> list[str]:
    """Simulate ``population`` and write it to ``out`` (a store; for several subjects a folder of
    ``SUBJECT.zarr`` stores). Returns one line per store written, saying what it holds."""
    out = check_output(out)
    result = simulate_recording(population, simulation_config(population, config_path, overrides))
    if isinstance(result, dict):
        claim_output(out)
        lines = []
        for subject, ds in result.items():
            path = out / f"{subject}.zarr"
            data.save(ds, path)
            lines.append(f"wrote {path}: {ds.sizes['unit']} voxels ({_areas(ds)}), {ds.sizes['trial']} trials of "
                         f"{ds.sizes['stimulus']} images")
        return lines
    data.save(result, out)
    split = pd.Series(result["split"].values).value_counts()
    areas = pd.unique(result["area"].values) if "area" in result.coords else [population.upper()]
    return [f"wrote {out}: {result.sizes['unit']} {'/'.join(map(str, areas))} units, {split.get('train', 0)} train + "
            f"{split.get('test', 0)} test stimuli"]
