"""Zarr storage of datasets: :func:`save` (atomic) and :func:`open` (validated, lazy)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from cortexkit._atomic import atomic_path, check_output
from cortexkit.data.model import validate
from cortexkit.errors import DataError


def _recast(ds: xr.Dataset, kinds: str, cast) -> xr.Dataset:
    """Apply ``cast`` to the values of every variable whose dtype kind is in ``kinds``."""
    fixes = {
        name: (var.dims, cast(np.asarray(var.values)), var.attrs)
        for name, var in ds.variables.items()
        if var.dtype.kind in kinds
    }
    coords = {k: v for k, v in fixes.items() if k in ds.coords}
    data = {k: v for k, v in fixes.items() if k not in ds.coords}
    return ds.assign_coords(coords).assign(data) if fixes else ds


# Zarr v3 specifies a variable-length string type but none for numpy's fixed-width unicode, so
# text is written as Python objects and read back (as numpy StringDType) into plain unicode.
def strings_to_objects(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with fixed-width string arrays as object arrays (how Zarr writes variable-length text)."""
    return _recast(ds, "U", lambda a: a.astype(object))


def _strings_to_unicode(ds: xr.Dataset) -> xr.Dataset:
    return _recast(ds, "TO", lambda a: a.astype(object).astype(str))


def _sorted_coords(ds: xr.Dataset) -> xr.Dataset:
    """Non-index coordinates in alphabetical order. xarray writes each variable's coordinate list
    from a set, so the order they are read back in depends on the writing process's hash seed;
    a fixed order keeps results tables (one column per unit coordinate) identical across runs."""
    names = [c for c in ds.coords if c not in ds.indexes]
    if names == sorted(names):
        return ds
    return ds.drop_vars(names).assign_coords({n: ds[n].variable for n in sorted(names)})


def _check_chunks(path: Path, ds: xr.Dataset) -> None:
    """A DataError naming the array when chunks are missing from the store (a damaged or incomplete
    copy): Zarr would otherwise read them as NaN. Responses are exempt where the reader declared
    missing responses, since an all-NaN chunk of them is not written."""
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r")
        names = ["stimuli"] + ([] if ds.attrs.get("missing_responses") else ["responses"])
        for name in names:
            arr = group[name]
            missing = arr.nchunks - arr.nchunks_initialized
            if missing:
                raise DataError(f"{missing} of {arr.nchunks} chunk(s) are missing from the store (a damaged or "
                                "incomplete copy)", source=str(path), variable=name)
    except DataError:
        raise
    except Exception:  # an older layout without these properties: nothing to check
        return


def save(ds: xr.Dataset, path: str | os.PathLike, *, validate_first: bool = True) -> Path:
    """Write ``ds`` to a Zarr store at ``path``, atomically.

    The store is written beside ``path`` and moved into place once complete, replacing a store
    cortexkit wrote there before; an interrupted save leaves the previous store (or nothing) behind.
    Anything else at ``path`` (a file, a folder of other files) is refused: nothing cortexkit did not
    write is replaced.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset in the data model (checked with :func:`~cortexkit.data.validate` unless
        ``validate_first`` is False).
    path : path-like
        Destination directory, conventionally ending in ``.zarr``.
    """
    path = Path(path)
    if validate_first:
        validate(ds, allow_nan_responses=True, source=str(path))
    check_output(path)
    with atomic_path(path) as tmp:
        strings_to_objects(ds.assign_attrs(written_by="cortexkit")).to_zarr(tmp, mode="w", consolidated=False)
    return path


def open(  # noqa: A001 - mirrors xarray.open_zarr / builtins.open naming
    path: str | os.PathLike,
    *,
    validate_store: bool = True,
    allow_nan_responses: bool = True,
    check_values: bool = False,
) -> xr.Dataset:
    """Open a cortexkit Zarr store lazily (arrays are Dask-backed until read).

    Parameters
    ----------
    path : path-like
        A store written by :func:`save` or ``cortexkit data convert``.
    validate_store : bool
        Check the structure against the data model (dims, ids, splits); cheap.
    allow_nan_responses : bool
        Passed to :func:`~cortexkit.data.validate`.
    check_values : bool
        Also scan the values (NaN/inf, stimulus range): a full pass over the data.

    Raises
    ------
    DataError
        If the path is missing, is not a Zarr store, cannot be read, or breaks the data model.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or directory", source=str(path))
    if not path.is_dir() or not any((path / m).exists() for m in ("zarr.json", ".zgroup")):
        inside = sorted(p.name for p in path.iterdir() if p.is_dir() and any((p / m).exists() for m in ("zarr.json", ".zgroup"))) \
            if path.is_dir() else []
        if inside:  # e.g. `data simulate --population fmri OUT` writes one store per subject into OUT
            shown = ", ".join(inside[:5]) + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
            raise DataError(f"is a folder of {len(inside)} store{'s' * (len(inside) > 1)} ({shown}), not a store: "
                            f"name one, e.g. {path / inside[0]}", source=str(path))
        raise DataError("not a Zarr store (no zarr.json or .zgroup metadata)", source=str(path))
    try:
        ds = xr.open_zarr(path, consolidated=False)
        ds = _strings_to_unicode(_sorted_coords(ds))
        ds.attrs.pop("written_by", None)  # where the store came from, not part of the recording
    except Exception as exc:  # zarr/json/codec errors all mean the same thing to the user
        raise DataError(f"cannot read the Zarr store ({type(exc).__name__}: {exc})", source=str(path)) from None
    if validate_store:
        _check_chunks(path, ds)
        try:
            validate(ds, allow_nan_responses=allow_nan_responses, check_values=check_values, source=str(path))
        except DataError:
            raise
        except Exception as exc:  # a chunk that is missing or corrupt surfaces on first read
            raise DataError(f"cannot read the Zarr store ({type(exc).__name__}: {exc})", source=str(path)) from None
    return ds


def load(path: str | os.PathLike, **kwargs) -> xr.Dataset:
    """:func:`open` a store and read it fully into memory."""
    ds = open(path, **kwargs)
    try:
        return ds.load()
    except Exception as exc:
        raise DataError(f"cannot read the Zarr store ({type(exc).__name__}: {exc})", source=str(path)) from None

