"""Brain-Score / BrainIO neural assemblies (e.g. MajajHong2015), netCDF plus a stimulus set.

Layout (BrainIO packaging)::

    assy_<identifier>.nc   a DataArray (presentation x neuroid x time_bin) whose MultiIndex levels
                           are stored as coordinates: stimulus_id or image_id and repetition on
                           presentation; neuroid_id, region, animal, arr, ... on neuroid;
                           time_bin_start / time_bin_end (ms) on time_bin
    <stimulus set>.csv     one row per image: stimulus_id or image_id, and the file's path inside
                           the zip in filename (or image_file_name / image_path)
    <stimulus set>.zip     the images (or a folder of them)

Checked against BrainIO's packaging code (brain-score/brainio ``packaging.py``: ``write_netcdf``
resets the MultiIndexes and writes a zlib-compressed dataset whose one variable is ``data``, with
optional metadata groups; ``package_stimulus_set`` writes ``stimulus_<id>.csv`` with a
``filename`` column naming each file in ``stimulus_<id>.zip``) and its loader (``open_dataarray``).

Each presentation is a trial. Responses are averaged over the time bins in ``time_window``
(``start,stop`` in ms; default all bins), or kept per bin with ``keep_time``. Neuroid coordinates
become unit coordinates (``region`` is also stored as ``area``); stimulus-set columns become
stimulus coordinates. No split is stored in the assembly: a seeded one is drawn over images.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit.data.model import make_dataset
from cortexkit.data.overlap import duplicate_groups
from cortexkit.data.readers._common import random_split, read_zip_images, require_file, to_unit_range
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.image import resize

ID_COLUMNS = ("stimulus_id", "image_id")
FILE_COLUMNS = ("filename", "image_file_name", "image_path", "file_name")


def _first(names, options, what, source):
    for n in options:
        if n in names:
            return n
    raise DataError(f"has none of the {what} columns {listed(options)} (has {sorted(names)[:12]})", source=str(source))


def _load_images(files: list[str], images: Path) -> np.ndarray:
    if images.is_dir():
        import imageio.v3 as iio

        out = []
        for f in files:
            p = images / f
            require_file(p, "stimulus image")
            out.append(iio.imread(p))
        return to_unit_range(np.stack(out))
    try:
        with zipfile.ZipFile(images) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, FileNotFoundError) as exc:
        raise DataError(f"cannot open the image archive ({exc})", source=str(images)) from None
    # BrainIO's `filename` is the path inside the zip (flat, or under stimulus_path_within_store
    # folders); older archives nest the files in one folder, so a unique base name also matches.
    exact = set(names)
    by_base: dict[str, list[str]] = {}
    for n in names:
        by_base.setdefault(Path(n).name, []).append(n)
    members, missing, ambiguous = [], [], []
    for f in files:
        if f in exact:
            members.append(f)
        elif len(by_base.get(Path(f).name, [])) == 1:
            members.append(by_base[Path(f).name][0])
        elif Path(f).name in by_base:
            ambiguous.append(f)
        else:
            missing.append(f)
    if missing:
        raise DataError(f"{len(missing)} image(s) listed in the stimulus set are missing, e.g. {missing[0]}", source=str(images))
    if ambiguous:
        raise DataError(f"{len(ambiguous)} image name(s) match several files in different folders, e.g. "
                        f"{ambiguous[0]}: give the path inside the archive in the csv", source=str(images))
    return read_zip_images(images, members)[1]


@register(
    "brainscore",
    summary="Brain-Score/BrainIO assembly (.nc: presentation x neuroid x time_bin) + stimulus set csv + images (e.g. MajajHong2015)",
    example="cortexkit data convert assy_dicarlo_MajajHong2015_public.nc majajhong.zarr --format brainscore --option stimuli=image_dicarlo_hvm-public.csv --option region=IT",
    options={
        "stimuli": "stimulus-set csv (default: the only .csv beside the .nc)",
        "images": "zip or folder of the images (default: the .zip named like the csv)",
        "region": "keep neuroids of this region, e.g. V4 or IT (default: all)",
        "time_window": "'start,stop' in ms: average the time bins inside it (default: all bins)",
        "keep_time": "keep time bins as a time dim instead of averaging (default false)",
        "image_size": "resize images to this many pixels (default 64)",
        "test_fraction": "fraction of images held out (default 0.2)",
        "seed": "seed of the split (default 0)",
    },
)
def read_brainscore(
    path,
    *,
    stimuli: str | None = None,
    images: str | None = None,
    region: str | None = None,
    time_window: str | None = None,
    keep_time: bool = False,
    image_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """Read a Brain-Score / BrainIO assembly (``.nc`` presentation x neuroid x time_bin, stimulus csv, image zip)."""
    nc = Path(path)
    require_file(nc, "assembly netCDF")
    try:
        assembly = xr.load_dataarray(nc, engine="h5netcdf")
    except Exception:
        try:
            assembly = xr.load_dataarray(nc)
        except Exception as exc:
            raise DataError(f"cannot read the netCDF assembly ({type(exc).__name__}: {exc})", source=str(nc)) from None
    for dim in ("presentation", "neuroid"):
        if dim not in assembly.dims:
            raise DataError(f"has dims {assembly.dims}; expected presentation, neuroid[, time_bin]", source=str(nc))
    if region is not None:
        if "region" not in assembly.coords:
            raise DataError("has no 'region' coordinate to filter on", source=str(nc), variable="region")
        assembly = assembly.isel(neuroid=np.flatnonzero(assembly["region"].values.astype(str) == region))
        if assembly.sizes["neuroid"] == 0:
            raise DataError(f"no neuroids in region {region!r}", source=str(nc), variable="region")
    if time_window and "time_bin" not in assembly.dims:
        raise DataError("has no time_bin dim, so time_window does not apply (the responses are already one "
                        "window); leave the option out", source=str(nc), variable="time_bin")
    if "time_bin" in assembly.dims:
        if time_window:
            lo, hi = (float(v) for v in str(time_window).split(","))
            # BrainIO names the bin edges time_bin_start / time_bin_end (ms)
            missing = [c for c in ("time_bin_start", "time_bin_end") if c not in assembly.coords]
            if missing:
                raise DataError(f"has no {' or '.join(missing)} coordinate for time_window", source=str(nc),
                                variable="time_bin")
            start, stop = assembly["time_bin_start"].values, assembly["time_bin_end"].values
            assembly = assembly.isel(time_bin=np.flatnonzero((start >= lo) & (stop <= hi)))
            if assembly.sizes["time_bin"] == 0:
                raise DataError(f"no time bins inside {time_window} ms", source=str(nc), variable="time_bin")
        if not keep_time:
            assembly = assembly.mean("time_bin")
    id_coord = _first(assembly.coords, ID_COLUMNS, "stimulus id", nc)
    trial_ids = assembly[id_coord].values.astype(str)

    csv = Path(stimuli) if stimuli else None
    if csv is None:
        found = sorted(nc.parent.glob("*.csv"))
        if len(found) != 1:
            raise ConfigError(f"{nc.parent}: pass the stimulus set with --option stimuli=FILE.csv (found {len(found)} csv files)")
        csv = found[0]
    require_file(csv, "stimulus set")
    try:
        table = pd.read_csv(csv)
    except Exception as exc:
        raise DataError(f"cannot read the stimulus set ({exc})", source=str(csv)) from None
    sid = _first(table.columns, ID_COLUMNS, "stimulus id", csv)
    fcol = _first(table.columns, FILE_COLUMNS, "file name", csv)
    table[sid] = table[sid].astype(str)
    unknown = sorted(set(trial_ids) - set(table[sid]))
    if unknown:
        raise DataError(f"{len(unknown)} presented stimulus id(s) are not in the stimulus set, e.g. {unknown[0]}",
                        source=str(csv), variable=sid)
    table = table[table[sid].isin(set(trial_ids))].drop_duplicates(sid).reset_index(drop=True)
    img_path = Path(images) if images else csv.with_suffix(".zip")
    pixels = _load_images(table[fcol].astype(str).tolist(), img_path)
    if pixels.ndim == 4 and pixels.shape[-1] == 4:
        pixels = pixels[..., :3]
    pixels = resize(pixels, int(image_size))

    order = ["presentation", "neuroid"] + (["time_bin"] if "time_bin" in assembly.dims else [])
    values = assembly.transpose(*order).values
    unit_coords = {}
    for name, coord in assembly.coords.items():
        if coord.dims == ("neuroid",) and name != "neuroid":
            unit_coords[str(name)] = coord.values
    if "region" in unit_coords:
        unit_coords["area"] = unit_coords["region"].astype(str)
    units = unit_coords.pop("neuroid_id", np.arange(assembly.sizes["neuroid"]))
    stim_coords = {c: table[c].to_numpy() for c in table.columns
                   if c not in (sid, fcol) and table[c].dtype.kind in "biufO"
                   and not (table[c].dtype.kind == "O" and not all(isinstance(v, str) for v in table[c]))}
    attrs = {"modality": "spikes", "source": f"Brain-Score assembly {nc.name}", "license": "see the assembly's release",
             "citation": assembly.attrs.get("citation", f"Brain-Score assembly {assembly.attrs.get('identifier', nc.stem)}"),
             "split_seed": seed}
    if keep_time and "time_bin" in assembly.dims:
        starts = assembly["time_bin_start"].values
        attrs["sampling_rate"] = 1000.0 / float(np.median(np.diff(starts))) if len(starts) > 1 else 1.0
    return make_dataset(
        pixels,
        values,
        trial_ids,
        random_split(len(table), test_fraction, seed, groups=duplicate_groups(pixels)),
        stimulus=table[sid].to_numpy(),
        unit=np.asarray(units),
        unit_coords=unit_coords,
        stimulus_coords=stim_coords,
        attrs=attrs,
        validate_result=False,
    )
