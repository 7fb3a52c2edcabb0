"""What a recording holds, in one table: dims, units, splits, repeats and noise ceilings."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cortexkit import data, metrics
from cortexkit.data.model import REQUIRED_VARIABLES
from cortexkit.errors import CortexkitError, DataError
from cortexkit.evaluation import ceiling_warning, noise_ceiling


def _read(ds, names: tuple[str, ...], store):
    """``ds`` with the arrays ``names`` read into memory; a chunk that cannot be decoded is named."""
    for name in names:
        try:
            ds[name] = ds[name].load()
        except Exception as exc:
            raise DataError(f"cannot read this array ({type(exc).__name__}: {exc})", source=str(store),
                            variable=name) from None
    return ds


def _pixel_range(ds, store) -> str:
    """The stimuli's smallest and largest value, read chunk by chunk: the summary covers every chunk
    of the arrays it describes, so a missing or truncated chunk is found here, not by the next fit."""
    if ds.attrs.get("pixels") == "none":
        return "none"
    try:
        lo, hi = (float(v) for v in __import__("dask").compute(ds["stimuli"].data.min(), ds["stimuli"].data.max()))
    except Exception as exc:
        raise DataError(f"cannot read this array ({type(exc).__name__}: {exc})", source=str(store), variable="stimuli") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
        raise DataError(f"values span [{lo:.3g}, {hi:.3g}]; expected [0, 1]", source=str(store), variable="stimuli")
    return f"{lo:.3g} to {hi:.3g}"


def describe_dataset(store: str | os.PathLike) -> list[tuple[str, str]]:
    """(property, value) rows describing a recording, as ``cortexkit data info`` prints them.

    Rows: source, modality, stimuli, splits, trials, responses, units, unit and stimulus
    coordinates, areas, repeats per split, the noise ceiling evaluation uses (NCSNR for fMRI, else
    split-half reliability) and FEV on the test split (or why there is no ceiling), other variables.
    """
    ds = _read(data.open(store), ("stimulus_id", "split"), store)
    pixels = _pixel_range(ds, store)
    split = ds["split"].values
    counts = data.repeat_counts(ds).values
    rows = [
        ("source", ds.attrs.get("source", "?")),
        ("modality", ds.attrs.get("modality", "?")),
        ("stimuli", f"{ds.sizes['stimulus']} stimuli without pixels (the source gave no images)"
         if ds.attrs.get("pixels") == "none" else f"{ds.sizes['stimulus']} {data.stimulus_kind(ds)}s, "
                    + ", ".join(f"{d}={ds.sizes[d]}" for d in ds['stimuli'].dims[1:])),
        ("pixel values", pixels),
        ("splits", ", ".join(f"{s}: {(split == s).sum()}" for s in data.SPLITS if (split == s).any())),
        ("trials", str(ds.sizes["trial"])),
        ("responses", ", ".join(f"{d}={ds.sizes[d]}" for d in ds["responses"].dims)),
        ("units", str(ds.sizes["unit"])),
        ("unit coordinates", ", ".join(c for c in ds.coords if ds[c].dims == ("unit",) and c != "unit") or "-"),
        ("stimulus coordinates", ", ".join(c for c in ds.coords if ds[c].dims == ("stimulus",) and c != "stimulus") or "-"),
    ]
    if "area" in ds.coords:
        areas = pd.Series(ds["area"].values).value_counts()
        rows.append(("areas", ", ".join(f"{a}: {n}" for a, n in areas.items())))
    for name in data.SPLITS:
        sel = split == name
        if sel.any():
            c = counts[sel]
            spread = f"{c.min()}" if c.min() == c.max() else f"{c.min()}-{c.max()} (median {np.median(c):g})"
            rows.append((f"repeats ({name})", spread))
    test = _read(data.select(ds, "test"), ("responses",), store)  # only the test trials' responses
    try:
        repeats = data.repeats(test).values
        # The ceiling evaluation divides by (NCSNR for fMRI, else split-half): one function for both.
        ceiling = noise_ceiling(test)
        kind = "NCSNR" if test.attrs.get("modality") == "fmri" else "split-half"
        if not np.isfinite(ceiling).any():
            raise DataError(f"the {kind} ceiling is undefined for every unit (too few repeated test stimuli, or "
                            "responses that do not vary)", variable="responses")
        rows.append((f"noise ceiling (test, {kind})", f"median {np.nanmedian(ceiling):.3f}, "
                     f"IQR {np.nanpercentile(ceiling, 25):.3f}-{np.nanpercentile(ceiling, 75):.3f}"))
        rows.append(("FEV (test)", f"median {np.nanmedian(metrics.fev(repeats)):.3f}"))
        warning = ceiling_warning(ceiling)
        if warning:
            rows.append(("warning", warning))
    except CortexkitError as exc:
        rows.append(("noise ceiling", f"not available ({exc.problem})"))
    extra = sorted(v for v in ds.data_vars if v not in REQUIRED_VARIABLES)  # zarr lists in no fixed order
    rows.append(("other variables", ", ".join(extra) or "-"))
    return rows
