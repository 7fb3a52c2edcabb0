"""Streaming, resumable conversion of a source dataset into a cortexkit Zarr store.

A reader returns a (possibly lazy, Dask-backed) dataset in the data model. :func:`convert` writes
it in chunks along ``stimulus`` / ``trial``: small variables go into a store skeleton at once, the
large ones (``stimuli``, ``responses`` and anything over :data:`STREAM_BYTES`) chunk by chunk, each
chunk recorded in a progress file as it lands. The store is built at ``DST.partial``; a conversion
that is killed resumes there (when the source and options are unchanged) and the finished store
is moved to ``DST`` only once complete, so ``DST`` is never half-written. Progress is kept in
``DST.partial.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from cortexkit._atomic import atomic_path, check_output, exclusive, write_text
from cortexkit._progress import progress_bar
from cortexkit.data.model import MISSING_RESPONSES, response_problems, validate
from cortexkit.data.overlap import describe_overlap, split_overlap
from cortexkit.data.store import strings_to_objects
from cortexkit.errors import ConfigError, CortexkitError, DataError

STREAM_BYTES = 16 * 2**20  # variables larger than this are written chunk by chunk
CHUNK_BYTES = 16 * 2**20  # target size of one chunk of a streamed variable


def source_fingerprint(src: str | os.PathLike, format: str, options: dict[str, Any]) -> str:
    """Hash of the reader, its options and the source files' names, sizes and mtimes."""
    src = Path(src)
    h = hashlib.sha1(json.dumps({"format": format, "options": options}, sort_keys=True, default=str).encode())
    files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(src) if src.is_dir() else p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _streamed(ds: xr.Dataset) -> list[str]:
    """Variables written chunk by chunk: the big ones and every lazy one along stimulus/trial."""
    names = []
    for name, var in ds.data_vars.items():
        if var.dims and var.dims[0] in ("stimulus", "trial") and (
            name in ("stimuli", "responses") or var.nbytes > STREAM_BYTES or isinstance(var.data, dsa.Array)
        ):
            names.append(name)
    return names


def _chunk_length(var: xr.DataArray) -> int:
    per_item = max(1, var.nbytes // max(1, var.shape[0]))
    return int(max(1, min(var.shape[0], CHUNK_BYTES // per_item)))


def _check_chunk(name: str, values: np.ndarray, source: str) -> None:
    if name == "stimuli":
        if not np.isfinite(values).all():
            raise DataError("contains NaN or inf", source=source, variable=name)
        lo, hi = float(values.min()), float(values.max())
        if lo < 0 or hi > 1:
            raise DataError(f"values span [{lo:.3g}, {hi:.3g}]; expected [0, 1]", source=source, variable=name)


def write_streaming(
    ds: xr.Dataset,
    dst: str | os.PathLike,
    *,
    fingerprint: str,
    source: str = "",
    log=None,
) -> Path:
    """Write ``ds`` to ``dst`` chunk by chunk, resuming a matching ``dst.partial`` store."""
    dst = Path(dst)
    partial = dst.with_name(dst.name + ".partial")
    progress_path = dst.with_name(dst.name + ".partial.json")  # beside the store, not inside it
    done: dict[str, list[int]] = {}
    if partial.exists() and not progress_path.is_file():
        raise ConfigError(f"{partial}: exists but is no conversion cortexkit started; move it away (nothing was changed)")
    if partial.exists():
        try:
            state = json.loads(progress_path.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("fingerprint") == fingerprint:
            done = {k: list(v) for k, v in state.get("done", {}).items()}
            if log and done:
                log(f"resuming the conversion in {partial}")
        else:
            shutil.rmtree(partial)
            progress_path.unlink(missing_ok=True)

    # the data model's NaN policy: NaN responses only where the reader declares missing responses
    nan_allowed = ds.attrs.get("missing_responses") in MISSING_RESPONSES
    ds = strings_to_objects(ds.assign_attrs(written_by="cortexkit"))
    streamed = _streamed(ds)
    # Streamed variables are Dask-chunked along their leading dim so the skeleton holds only their
    # metadata; everything else is small and is written with the skeleton.
    lengths = {name: _chunk_length(ds[name]) for name in streamed}
    plan = ds.copy()
    for name, var in ds.variables.items():  # anything else lazy is small: read it now
        if name not in streamed and isinstance(var.data, dsa.Array):
            plan[name] = var.load()
    for name in streamed:
        var = ds[name]
        data = var.data if isinstance(var.data, dsa.Array) else dsa.from_array(var.data, chunks=-1)
        plan[name] = (var.dims, data.rechunk((lengths[name],) + (-1,) * (var.ndim - 1)), var.attrs)
        plan[name].encoding = {"chunks": (lengths[name],) + tuple(var.shape[1:])}
    if not partial.exists():
        plan.to_zarr(partial, mode="w", compute=False, consolidated=False)
        write_text(progress_path, json.dumps({"fingerprint": fingerprint, "done": {}}))

    todo = [(name, start) for name in streamed for start in range(0, ds[name].shape[0], lengths[name])
            if start not in done.get(name, [])]
    with progress_bar(f"converting to {dst.name}", len(todo)) as advance:
        for name, start in todo:
            dim = ds[name].dims[0]
            stop = min(ds[name].shape[0], start + lengths[name])
            try:
                piece = plan[[name]].isel({dim: slice(start, stop)})
                piece = piece.drop_vars(list(piece.coords))
                values = np.asarray(piece[name].values)
                _check_chunk(name, values, source)
                problem = response_problems(values, nan_allowed) if name == "responses" else None
                if problem:
                    raise DataError(problem, source=source, variable=name)
            except Exception as exc:
                # Bad input (a CortexkitError: NaN, inf or absurd values, a corrupt chunk of the source)
                # stays bad on a rerun, so the partial store goes; another error (a full disk, a broken
                # mount) keeps the finished chunks to resume from, unless there are none.
                if isinstance(exc, CortexkitError) or not any(done.values()):
                    shutil.rmtree(partial, ignore_errors=True)
                    progress_path.unlink(missing_ok=True)
                if isinstance(exc, CortexkitError):
                    raise
                raise DataError(f"cannot convert {name}[{start}:{stop}] ({type(exc).__name__}: {exc})",
                                source=source, variable=name) from None
            piece[name] = (piece[name].dims, values)
            piece.to_zarr(partial, region={dim: slice(start, stop)}, consolidated=False)
            done.setdefault(name, []).append(start)
            write_text(progress_path, json.dumps({"fingerprint": fingerprint, "done": done}))
            advance()

    with atomic_path(dst) as tmp:
        os.replace(partial, tmp)
    progress_path.unlink()
    return dst


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    format: str,
    options: dict[str, Any] | None = None,
    *,
    allow_overlap: bool = False,
    log=None,
) -> Path:
    """Read ``src`` with the reader ``format`` and write it to the Zarr store ``dst``.

    Parameters
    ----------
    src : path
        The source file or folder, as the reader expects it.
    dst : path
        The store to write (conventionally ``.zarr``); replaced if it exists.
    format : str
        A registered reader (``cortexkit data convert --help`` lists them).
    options : dict
        Keyword options of the reader.
    allow_overlap : bool
        Keep a split whose held-out stimuli include copies of training stimuli
        (:func:`cortexkit.data.split_overlap`); by default such a source is refused, naming a pair. The
        store records what was allowed (``attrs["split_overlap"]``), and fits honour it.
    """
    from cortexkit.data.readers import get_reader

    reader = get_reader(format)
    options = reader.check_options(dict(options or {}))
    src = Path(src)
    if not src.exists():
        raise DataError("no such file or directory", source=str(src))
    check_output(dst)  # before any work: a folder of other files there is refused, never replaced
    try:
        ds = reader.read(src, **options)
    except DataError as exc:  # errors raised by the data model's checks inside a reader name no file
        if exc.source:
            raise
        raise exc.with_source(str(src)) from None
    validate(ds, allow_nan_responses=True, check_values=False, source=str(src))
    pairs = split_overlap(ds)
    if len(pairs):
        if not allow_overlap:
            raise DataError(f"{describe_overlap(pairs)}; convert with --allow-overlap to keep this split",
                            source=str(src), variable="split")
        ds.attrs["split_overlap"] = json.dumps({"allowed": True, "pairs": len(pairs)})
        if log:
            log(f"kept as asked: {describe_overlap(pairs)}")
    # How the store was made, so that it can be recognised (and reused) later.
    ds.attrs["conversion"] = json.dumps({"format": format, "options": options}, sort_keys=True, default=str)
    dst = Path(dst)
    with exclusive(dst.with_name(dst.name + ".lock"), str(dst)):  # a second conversion to the same store is refused
        return write_streaming(ds, dst, fingerprint=source_fingerprint(src, format, options), source=str(src), log=log)
