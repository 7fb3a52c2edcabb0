"""The cortexkit data model: one ``xarray.Dataset`` per recording.

=============== ========================================= ==========================================
variable        dims                                      notes
=============== ========================================= ==========================================
``stimuli``     ``stimulus, [frame], y, x, [channel]``    float32 in [0, 1]; videos have ``frame``
``responses``   ``trial, unit, [time]``                   spike counts, rates, dF/F or fMRI betas
``stimulus_id`` ``trial``                                 which stimulus each trial showed
``split``       ``stimulus``                              ``train`` / ``val`` / ``test``
=============== ========================================= ==========================================

Unit metadata (``area``, ``rf_x``, ...) are coordinates on ``unit``; dataset attributes carry
``modality`` (spikes / calcium / fmri), ``sampling_rate`` (Hz, required when responses have a
``time`` dim), ``source`` and ``license``. Simulated recordings add their ground truth
(``true_rate``, ``true_filter``) as extra variables.

:func:`make_dataset` builds a dataset from arrays; :func:`validate` checks any dataset against the
model and raises :class:`~cortexkit.errors.DataError` naming the variable and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from cortexkit.errors import DataError, listed

SPLITS = ("train", "val", "test")
REQUIRED_VARIABLES = ("stimuli", "responses", "stimulus_id", "split")
MODALITIES = ("spikes", "calcium", "fmri")

# Allowed dimension orders of `stimuli` (after the leading `stimulus`).
STIMULUS_LAYOUTS = {
    ("stimulus", "y", "x"): "image",
    ("stimulus", "y", "x", "channel"): "image",
    ("stimulus", "frame", "y", "x"): "video",
    ("stimulus", "frame", "y", "x", "channel"): "video",
}
RESPONSE_LAYOUTS = (("trial", "unit"), ("trial", "unit", "time"))


def _stimulus_dims(shape: Sequence[int], dims: Sequence[str] | None) -> tuple[str, ...]:
    if dims is not None:
        dims = tuple(dims)
        if dims not in STIMULUS_LAYOUTS:
            raise DataError(
                f"dims {dims} are not one of {listed(sorted(STIMULUS_LAYOUTS))}", variable="stimuli"
            )
        if len(dims) != len(shape):
            raise DataError(f"dims {dims} do not match shape {tuple(shape)}", variable="stimuli")
        return dims
    if len(shape) == 3:
        return ("stimulus", "y", "x")
    if len(shape) == 4:
        # A trailing axis of 1 or 3 is a colour channel; anything else is a frame axis.
        if shape[-1] in (1, 3):
            return ("stimulus", "y", "x", "channel")
        return ("stimulus", "frame", "y", "x")
    if len(shape) == 5:
        return ("stimulus", "frame", "y", "x", "channel")
    raise DataError(
        f"expected 3 to 5 dims (stimulus, [frame], y, x, [channel]), got shape {tuple(shape)}",
        variable="stimuli",
    )


def make_dataset(
    stimuli: np.ndarray,
    responses: np.ndarray,
    stimulus_id: Sequence[Any],
    split: Sequence[str],
    *,
    stimulus: Sequence[Any] | None = None,
    unit: Sequence[Any] | None = None,
    unit_coords: Mapping[str, Sequence[Any]] | None = None,
    stimulus_coords: Mapping[str, Sequence[Any]] | None = None,
    stimulus_dims: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    validate_result: bool = True,
) -> xr.Dataset:
    """Build a dataset in the cortexkit data model from plain arrays.

    Parameters
    ----------
    stimuli : array, shape (n_stimuli, [n_frames], height, width, [channels])
        Pixel values in [0, 1]; stored as float32. A Dask array stays lazy.
    responses : array, shape (n_trials, n_units, [n_time])
        One row per trial.
    stimulus_id : sequence, length n_trials
        For each trial, the label (in ``stimulus``) of the stimulus it showed.
    split : sequence of {"train", "val", "test"}, length n_stimuli
    stimulus : sequence, optional
        Stimulus labels; ``0 .. n_stimuli-1`` by default.
    unit : sequence, optional
        Unit labels; ``0 .. n_units-1`` by default.
    unit_coords, stimulus_coords : mapping, optional
        Extra coordinates along ``unit`` / ``stimulus`` (e.g. ``area``, ``rf_x``).
    stimulus_dims : sequence of str, optional
        Explicit dims of ``stimuli`` when the shape is ambiguous (a 4-D array whose last axis is
        1 or 3 is read as colour images, otherwise as grayscale videos).
    attrs : mapping, optional
        Dataset attributes; ``modality`` defaults to ``"spikes"``.
    validate_result : bool
        Run :func:`validate` on the result (default).
    """
    # Lazy (Dask) stimuli stay lazy, so that readers of large sources can stream them.
    stimuli = stimuli.astype(np.float32) if isinstance(stimuli, dsa.Array) else np.asarray(stimuli, dtype=np.float32)
    responses = np.asarray(responses)
    if responses.dtype.kind not in "fiu":
        raise DataError(f"expected a numeric array, got dtype {responses.dtype}", variable="responses")
    responses = responses.astype(np.float32) if responses.dtype != np.float64 else responses
    sdims = _stimulus_dims(stimuli.shape, stimulus_dims)
    if responses.ndim not in (2, 3):
        raise DataError(
            f"expected dims (trial, unit[, time]), got shape {responses.shape}", variable="responses"
        )
    rdims = RESPONSE_LAYOUTS[responses.ndim - 2]
    stimulus = np.arange(stimuli.shape[0]) if stimulus is None else np.asarray(stimulus)
    unit = np.arange(responses.shape[1]) if unit is None else np.asarray(unit)
    coords: dict[str, Any] = {"stimulus": stimulus, "unit": unit}
    for name, values in (unit_coords or {}).items():
        coords[name] = ("unit", np.asarray(values))
    for name, values in (stimulus_coords or {}).items():
        coords[name] = ("stimulus", np.asarray(values))
    for name, expected, got in (
        ("stimulus", stimuli.shape[0], len(stimulus)),
        ("unit", responses.shape[1], len(unit)),
        ("stimulus_id", responses.shape[0], len(stimulus_id)),
        ("split", stimuli.shape[0], len(split)),
    ):
        if expected != got:
            raise DataError(f"has length {got}, expected {expected}", variable=name)
    all_attrs = {"modality": "spikes"}
    all_attrs.update(attrs or {})
    ds = xr.Dataset(
        {
            "stimuli": (sdims, stimuli),
            "responses": (rdims, responses),
            "stimulus_id": ("trial", np.asarray(stimulus_id)),
            "split": ("stimulus", np.asarray(split, dtype=str)),
        },
        coords=coords,
        attrs=all_attrs,
    )
    if validate_result:
        validate(ds)
    return ds


def _finite(arr: xr.DataArray) -> bool:
    return bool(np.isfinite(arr.data).all())


def validate(
    ds: xr.Dataset,
    *,
    allow_nan_responses: bool = False,
    require_splits: Sequence[str] = ("train", "test"),
    check_values: bool = True,
    source: str | None = None,
) -> xr.Dataset:
    """Check that ``ds`` follows the data model; return it unchanged if it does.

    Parameters
    ----------
    ds : xarray.Dataset
    allow_nan_responses : bool
        Accept NaN in ``responses`` (e.g. units not recorded on some trials). Inf is never allowed.
    require_splits : sequence of str
        Splits that must hold at least one stimulus with at least one trial.
    check_values : bool
        Also check values (finite, stimuli within [0, 1]); this reads the arrays, which for a
        large lazy store takes a pass over the data.
    source : str, optional
        File the dataset came from, named in errors.

    Raises
    ------
    DataError
        Naming the variable and what is wrong with it.
    """

    def fail(message: str, variable: str | None = None):
        raise DataError(message, source=source, variable=variable)

    if not isinstance(ds, xr.Dataset):
        fail(f"expected an xarray.Dataset, got {type(ds).__name__}")
    for name in REQUIRED_VARIABLES:
        if name not in ds.variables:
            fail("missing (required by the data model)", name)

    sdims = tuple(ds["stimuli"].dims)
    if sdims not in STIMULUS_LAYOUTS:
        fail(f"has dims {sdims}; expected one of {sorted(STIMULUS_LAYOUTS)}", "stimuli")
    rdims = tuple(ds["responses"].dims)
    if rdims not in RESPONSE_LAYOUTS:
        fail(f"has dims {rdims}; expected (trial, unit) or (trial, unit, time)", "responses")
    if tuple(ds["stimulus_id"].dims) != ("trial",):
        fail(f"has dims {ds['stimulus_id'].dims}; expected ('trial',)", "stimulus_id")
    if tuple(ds["split"].dims) != ("stimulus",):
        fail(f"has dims {ds['split'].dims}; expected ('stimulus',)", "split")
    if "channel" in sdims and ds.sizes["channel"] not in (1, 3):
        fail(f"has {ds.sizes['channel']} channels; expected 1 or 3", "stimuli")
    if ds["responses"].dtype.kind not in "fiu":
        fail(f"has dtype {ds['responses'].dtype}; expected a numeric type", "responses")
    if ds["stimuli"].dtype.kind != "f":
        fail(f"has dtype {ds['stimuli'].dtype}; expected float32 in [0, 1]", "stimuli")
    for dim in ("stimulus", "unit", "trial"):
        if ds.sizes.get(dim, 0) == 0:
            fail(f"dimension '{dim}' is empty", dim)

    for dim in ("stimulus", "unit"):
        if dim in ds.coords:
            labels = ds[dim].values
            if len(np.unique(labels)) != len(labels):
                fail("labels are not unique", dim)

    # Every trial must point at a stimulus that exists.
    stim_labels = ds["stimulus"].values if "stimulus" in ds.coords else np.arange(ds.sizes["stimulus"])
    ids = ds["stimulus_id"].values
    known = np.isin(ids, stim_labels)
    if not known.all():
        bad = np.asarray(ids)[~known]
        fail(
            f"{(~known).sum()} trial(s) refer to stimuli that do not exist "
            f"(e.g. {bad[:3].tolist()}); the 'stimulus' coordinate holds {len(stim_labels)} labels",
            "stimulus_id",
        )

    split = np.asarray(ds["split"].values).astype(str)
    unknown = sorted(set(split.tolist()) - set(SPLITS))
    if unknown:
        fail(f"has values {unknown}; allowed: {list(SPLITS)}", "split")
    for name in require_splits:
        in_split = np.asarray(stim_labels)[split == name]
        if in_split.size == 0:
            fail(f"split '{name}' holds no stimuli", "split")
        if not np.isin(ids, in_split).any():
            fail(f"split '{name}' has stimuli but no trials showing them", "split")

    if "time" in rdims and "sampling_rate" not in ds.attrs:
        fail("responses have a 'time' dim, so attrs['sampling_rate'] (Hz) is required", "sampling_rate")
    modality = ds.attrs.get("modality")
    if modality is not None and modality not in MODALITIES:
        fail(f"is {modality!r}; expected one of {list(MODALITIES)}", "modality")

    grid = voxel_grid_problem(ds)
    if grid:
        fail(*grid)

    if check_values:
        stim = ds["stimuli"]
        if not _finite(stim):
            fail("contains NaN or inf", "stimuli")
        lo, hi = float(stim.min()), float(stim.max())
        if lo < 0.0 or hi > 1.0:
            fail(f"values span [{lo:.3g}, {hi:.3g}]; expected [0, 1]", "stimuli")
        problem = response_problems(np.asarray(ds["responses"].data),
                                    allow_nan_responses or ds.attrs.get("missing_responses") in MISSING_RESPONSES)
        if problem:
            fail(problem, "responses")
    return ds


def voxel_grid_problem(ds: xr.Dataset) -> tuple[str, str] | None:
    """What is wrong with a store's voxel grid, as ``(message, variable)`` (None if it has none or it is
    sound): ``attrs["volume_shape"]`` positive whole sizes, each unit's ``voxel_axis0..`` a whole index
    inside it, no two units on one voxel, ``attrs["affine"]`` a finite, invertible 4 x 4 matrix. Brain-space
    maps of the scores (:mod:`cortexkit.evaluation.brain_maps`) rely on all of it."""
    shape = ds.attrs.get("volume_shape")
    if shape is None:
        return None
    try:
        shape = [int(n) for n in np.atleast_1d(np.asarray(shape, dtype=float)) if float(n) == int(n)]
    except (TypeError, ValueError):
        return f"is {ds.attrs['volume_shape']!r}; expected the voxel grid's sizes", "volume_shape"
    if len(shape) != len(np.atleast_1d(ds.attrs["volume_shape"])) or not shape or min(shape) < 1:
        return f"is {ds.attrs['volume_shape']!r}; expected positive whole sizes of the voxel grid", "volume_shape"
    index = []
    for i, size in enumerate(shape):
        name = f"voxel_axis{i}"
        if name not in ds.coords:
            return f"is missing: a store with a volume_shape gives each unit its voxel index on every axis", name
        v = np.asarray(ds[name].values, dtype=float)
        if not np.isfinite(v).all() or (v != np.round(v)).any():
            return "holds indices that are not whole numbers", name
        outside = (v < 0) | (v >= size)
        if outside.any():
            return (f"holds {int(outside.sum())} index(es) outside the volume's {size} voxels on axis {i} "
                    f"(e.g. {int(v[outside][0])}; volume_shape {shape})", name)
        index.append(v.astype(np.int64))
    flat = np.ravel_multi_index(tuple(index), shape)
    values, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        twice = np.flatnonzero(flat == values[counts > 1][0])
        units = np.asarray(ds["unit"].values)[twice[:2]].tolist()
        return (f"{int((counts > 1).sum())} voxel(s) hold two or more units (e.g. units {units} at index "
                f"{tuple(int(a[twice[0]]) for a in index)}); each unit needs its own voxel"), "voxel_axis0"
    if "affine" in ds.attrs:
        try:
            affine = np.asarray(ds.attrs["affine"], dtype=float)
        except (TypeError, ValueError):
            return f"is {ds.attrs['affine']!r}; expected a 4 x 4 matrix", "affine"
        if affine.shape != (4, 4):
            return f"has shape {affine.shape}; expected 4 x 4", "affine"
        if not np.isfinite(affine).all():
            return "holds NaN or inf", "affine"
        if abs(np.linalg.det(affine)) < 1e-12:
            return "is singular (its voxel-to-scanner map has no inverse)", "affine"
    return None


# Why responses may hold NaN, as a reader declares it in attrs["missing_responses"]; without it, NaN
# is an error. Sensorium pads trials after their end; STSBench/TVSD mark neurons not recorded.
MISSING_RESPONSES = ("padding", "not recorded")
# No modality records responses this large (spike counts, rates, dF/F, betas); such values are a
# corrupt file, and their float32 squares overflow.
MAX_RESPONSE = 1e12


def response_problems(values: np.ndarray, nan_allowed: bool) -> str | None:
    """What is wrong with response values under the NaN policy (None if nothing): counts of inf,
    of NaN (unless ``nan_allowed``) and of magnitudes above :data:`MAX_RESPONSE`."""
    problems = []
    finite = np.isfinite(values)
    n_inf = int(np.isinf(values).sum())
    n_big = int((np.abs(values[finite]) > MAX_RESPONSE).sum())
    if not nan_allowed and not finite.all():
        problems.append(f"{int((~finite).sum())} NaN/inf value(s) (the source declares no missing responses)")
    elif n_inf:
        problems.append(f"inf ({n_inf} value(s))")
    if n_big:
        problems.append(f"{n_big} value(s) beyond +-{MAX_RESPONSE:g}")
    return "contains " + ", ".join(problems) if problems else None


def stimulus_kind(ds: xr.Dataset) -> str:
    """``"image"`` or ``"video"``, from the dims of ``stimuli``."""
    return STIMULUS_LAYOUTS[tuple(ds["stimuli"].dims)]
