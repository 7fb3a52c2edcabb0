"""Scores back in brain space: each model's per-voxel scores as NIfTI volumes a viewer opens.

An fMRI store that keeps its voxel grid (``attrs["volume_shape"]`` in the HDF5 axis order of NSD's
betas, the voxels' ``voxel_axis0..2`` coordinates, and ``attrs["affine"]`` when the source had a
NIfTI file) gets ``maps/<model>.<metric>.nii.gz`` for r, r²/ceiling, p and q: the voxel at NIfTI
index (i, j, k) = (voxel_axis2, voxel_axis1, voxel_axis0) holds that voxel's row of results.csv,
every other voxel NaN. Without an affine the volumes use the identity (indices as coordinates).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit._atomic import atomic_path

MAPS_DIR = "maps"
MAP_METRICS = ("pearson", "normalized", "p", "q")


def has_volume(ds: xr.Dataset) -> bool:
    """Whether ``ds`` keeps the voxel grid of its source (shape and each unit's voxel indices)."""
    shape = ds.attrs.get("volume_shape")
    return shape is not None and all(f"voxel_axis{i}" in ds.coords for i in range(len(shape)))


def write_score_maps(ds: xr.Dataset, results: pd.DataFrame, out: str | Path, log=None) -> list[Path]:
    """Write each model's scores (:data:`MAP_METRICS` present in ``results``) as NIfTI volumes under
    ``out/maps``; returns the files written (none when ``ds`` has no voxel grid or nibabel is absent).

    ``results`` holds one row per model x unit, units in the order of ``ds.unit`` within each model.
    """
    if not has_volume(ds):
        return []
    try:
        import nibabel
    except ImportError:
        if log is not None:
            log("score maps not written: NIfTI output needs nibabel (pip install nibabel)")
        return []
    shape = tuple(int(n) for n in ds.attrs["volume_shape"])
    index = tuple(np.asarray(ds[f"voxel_axis{i}"].values, dtype=np.int64) for i in range(len(shape)))
    affine = np.asarray(ds.attrs.get("affine", np.eye(4)), dtype=float)
    folder = Path(out) / MAPS_DIR
    folder.mkdir(exist_ok=True)
    written = []
    for model, rows in results.groupby("model", sort=False):
        for metric in (m for m in MAP_METRICS if m in rows):
            volume = np.full(shape, np.nan, dtype=np.float32)
            volume[index] = rows[metric].to_numpy(dtype=np.float32)
            image = nibabel.Nifti1Image(volume.transpose(tuple(range(len(shape)))[::-1]), affine)  # HDF5 -> NIfTI axes
            path = folder / f"{model}.{metric}.nii.gz"
            with atomic_path(path) as tmp:
                tmp.write_bytes(gzip.compress(image.to_bytes(), mtime=0))  # mtime 0: the same scores, the same bytes
            written.append(path)
    return written
