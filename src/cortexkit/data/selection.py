"""Selecting splits and arranging trials by stimulus (repeat averages, repeat stacks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit.data.model import SPLITS
from cortexkit.errors import DataError, listed


def select(ds: xr.Dataset, split: str | list[str]) -> xr.Dataset:
    """The stimuli in ``split`` (one name or a list) and the trials that showed them."""
    names = [split] if isinstance(split, str) else list(split)
    for name in names:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; expected one of {listed(SPLITS)}", variable="split")
    keep_stim = np.isin(ds["split"].values.astype(str), names)
    if not keep_stim.any():
        raise DataError(f"no stimuli in split {names}", variable="split")
    labels = ds["stimulus"].values[keep_stim]
    keep_trial = np.isin(ds["stimulus_id"].values, labels)
    return ds.isel(stimulus=np.flatnonzero(keep_stim), trial=np.flatnonzero(keep_trial))


def _trial_index(ds: xr.Dataset) -> np.ndarray:
    """For each trial, the position of its stimulus along ``stimulus`` (-1 if absent)."""
    return pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)


def repeat_counts(ds: xr.Dataset) -> xr.DataArray:
    """Number of trials per stimulus, dims ``(stimulus,)``."""
    idx = _trial_index(ds)
    counts = np.bincount(idx[idx >= 0], minlength=ds.sizes["stimulus"])
    return xr.DataArray(counts, dims=("stimulus",), coords={"stimulus": ds["stimulus"].values})


def repeat_average(ds: xr.Dataset) -> xr.DataArray:
    """Responses averaged over the trials of each stimulus.

    Returns
    -------
    xarray.DataArray, dims ``(stimulus, unit[, time])``
        NaN responses are ignored in the average; stimuli with no trials are NaN.
    """
    idx = _trial_index(ds)
    resp = np.asarray(ds["responses"].values, dtype=np.float64)
    valid = np.isfinite(resp)
    n_stim = ds.sizes["stimulus"]
    sums = np.zeros((n_stim,) + resp.shape[1:])
    counts = np.zeros((n_stim,) + resp.shape[1:])
    keep = idx >= 0
    np.add.at(sums, idx[keep], np.where(valid, resp, 0.0)[keep])
    np.add.at(counts, idx[keep], valid[keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts
    dims = ("stimulus",) + tuple(ds["responses"].dims[1:])
    coords = {"stimulus": ds["stimulus"].values, "unit": ds["unit"].values}
    return xr.DataArray(mean.astype(np.float32), dims=dims, coords=coords, name="responses")


def repeats(ds: xr.Dataset, min_repeats: int = 2) -> xr.DataArray:
    """Trials stacked by stimulus, NaN-padded: dims ``(stimulus, repeat, unit[, time])``.

    Only stimuli with at least ``min_repeats`` trials are kept (noise ceilings need two or more).

    Raises
    ------
    DataError
        If no stimulus has ``min_repeats`` trials.
    """
    idx = _trial_index(ds)
    counts = np.bincount(idx[idx >= 0], minlength=ds.sizes["stimulus"])
    keep = np.flatnonzero(counts >= min_repeats)
    if keep.size == 0:
        raise DataError(
            f"no stimulus has {min_repeats} or more trials (max {counts.max(initial=0)}); "
            "repeats are needed for noise ceilings",
            variable="stimulus_id",
        )
    resp = np.asarray(ds["responses"].values, dtype=np.float32)
    n_rep = int(counts[keep].max())
    out = np.full((keep.size, n_rep) + resp.shape[1:], np.nan, dtype=np.float32)
    where = np.full(ds.sizes["stimulus"], -1)
    where[keep] = np.arange(keep.size)
    # Trials of kept stimuli, grouped by stimulus in their original order; rank = repeat slot.
    trials = np.flatnonzero((idx >= 0) & (where[idx] >= 0))
    trials = trials[np.argsort(idx[trials], kind="stable")]
    stim = idx[trials]
    rank = np.arange(stim.size) - np.searchsorted(stim, stim, side="left")
    out[where[stim], rank] = resp[trials]
    dims = ("stimulus", "repeat") + tuple(ds["responses"].dims[1:])
    coords = {"stimulus": ds["stimulus"].values[keep], "unit": ds["unit"].values}
    return xr.DataArray(out, dims=dims, coords=coords, name="responses")


def time_bins_as_units(ds: xr.Dataset) -> xr.Dataset:
    """Time-resolved responses (trial, unit, time) as one target per unit and time bin (trial, unit),
    so that every per-unit fit and score (ridge alphas, noise ceilings, p-values) is made per bin.

    The new ``unit`` labels are ``"<unit>@<bin>"``; ``source_unit`` keeps the unit's label,
    ``time_bin`` the bin's index and ``time`` its start in seconds (``time`` coordinate, else
    bin / ``sampling_rate``); the unit coordinates and other variables along ``unit`` are repeated
    for each bin (those along ``time`` too are taken at the bin). A dataset without a time axis is
    returned as it is.
    """
    if "time" not in ds["responses"].dims:
        return ds
    n_units, n_bins = ds.sizes["unit"], ds.sizes["time"]
    unit_index = np.repeat(np.arange(n_units), n_bins)
    bin_index = np.tile(np.arange(n_bins), n_units)
    if "time" in ds.coords:
        starts = np.asarray(ds["time"].values, dtype=np.float64)
    else:
        starts = np.arange(n_bins) / float(ds.attrs.get("sampling_rate", 1.0))
    labels = np.asarray(ds["unit"].values)
    out = xr.Dataset(attrs={k: v for k, v in ds.attrs.items() if k != "sampling_rate"})
    for name, var in ds.data_vars.items():
        if "unit" not in var.dims and "time" not in var.dims:
            out[name] = var
            continue
        if "unit" not in var.dims:  # along time only: not per target
            continue
        dims = list(var.dims)
        values = np.take(np.asarray(var.values), unit_index, axis=dims.index("unit"))
        if "time" in dims:  # each target takes its own bin: the time axis goes
            values = np.moveaxis(values, [dims.index("unit"), dims.index("time")], [-2, -1])
            values = values[..., np.arange(len(unit_index)), bin_index]  # (..., unit)
            rest = [d for d in dims if d not in ("unit", "time")] + ["unit"]
            order = [d for d in dims if d != "time"]
            values = np.moveaxis(values, [rest.index(d) for d in order], range(len(order)))
            dims = order
        out[name] = (tuple(dims), values)
    coords = {"unit": [f"{labels[u]}@{k}" for u, k in zip(unit_index, bin_index)],
              "source_unit": ("unit", labels[unit_index]), "time_bin": ("unit", bin_index),
              "time": ("unit", starts[bin_index])}
    for name, coord in ds.coords.items():
        if coord.dims == ("unit",) and name != "unit":
            coords[name] = ("unit", np.asarray(coord.values)[unit_index])
        elif name not in ("unit", "time") and "unit" not in coord.dims and "time" not in coord.dims:
            coords[name] = coord
    return out.assign_coords(coords)


def require_recorded(ds: xr.Dataset, source: str | None = None, splits: tuple[str, ...] = ("train", "test")) -> None:
    """A DataError when a split of ``ds`` has no recorded response at all (every value NaN: units declared
    not recorded there, or a window outside the recording): nothing to fit or to score."""
    for name in splits:
        part = select(ds, name)
        values = np.asarray(part["responses"].values, dtype=np.float64)
        if values.size and not np.isfinite(values).any():
            raise DataError(f"every response of the {name} split is NaN (not recorded): there is nothing to "
                            f"{'fit' if name == 'train' else 'score'}", source=source, variable="responses")
