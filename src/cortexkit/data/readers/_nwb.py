"""Reading NWB 2.x files lazily: the pieces the NWB readers share.

pynwb opens an NWB file without reading its datasets; what is read here is read column by column.
A units table's ragged columns (``spike_amplitudes``, ``waveform_mean`` in Allen sessions: hundreds
of millions of values) are never touched, and spike times are read one unit at a time through
their ``spike_times_index``, so counting spikes costs memory in proportion to one unit's spikes,
not the file's. ``DynamicTable.to_dataframe()`` is never called: it reads every column.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit.data.readers._common import require_file
from cortexkit.errors import DataError


def _nwb_version(path: Path) -> str:
    """The file's NWB version, from the root attribute (2.x) or the root dataset (1.x)."""
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            version = fh.attrs.get("nwb_version")
            if version is None and "nwb_version" in fh:  # NWB 1.x keeps it as a dataset
                version = fh["nwb_version"][()]
    except Exception as exc:
        raise DataError(f"cannot read the NWB file ({type(exc).__name__}: {exc})", source=str(path)) from None
    if isinstance(version, bytes):
        version = version.decode()
    if isinstance(version, np.ndarray):
        version = str(version.ravel()[0])
    return "" if version is None else str(version)


@contextlib.contextmanager
def open_nwb(path: Path):
    """The NWBFile object of ``path``, read lazily; NWB 1.x and non-NWB files refused in one line."""
    from pynwb import NWBHDF5IO

    require_file(path, "NWB file")
    version = _nwb_version(path)
    if not version:
        raise DataError("is not an NWB file (its HDF5 root has no nwb_version)", source=str(path), variable="nwb_version")
    if not version.removeprefix("NWB-").startswith("2"):
        raise DataError(f"is NWB {version}; cortexkit reads NWB 2.x files (convert NWB 1.x files to 2.x first, "
                        "e.g. with the Allen Institute's or DANDI's conversion tools)", source=str(path), variable="nwb_version")
    try:
        io = NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:
        raise DataError(f"cannot read the NWB file ({type(exc).__name__}: {exc})", source=str(path)) from None
    try:
        yield nwb
    finally:
        io.close()


def _text(values) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode(errors="replace")
        out.append(str(getattr(v, "name", v)))  # a referenced container (electrode group) by its name
    return np.array(out, dtype=object)


def scalar_columns(table, skip=()) -> tuple[pd.DataFrame, list[str]]:
    """The scalar columns of an hdmf DynamicTable, read one by one; the names of those left unread.

    Ragged columns (with a ``*_index``), multi-dimensional ones (waveforms) and table references
    are not read: their size is unknown until read. A ragged column of strings (epoch ``tags``) is
    read and joined with ``;``, since it is small by nature. ``skip`` names columns not to read.
    """
    from hdmf.common.table import DynamicTableRegion, VectorIndex

    ids = np.asarray(table.id.data[:])
    columns, unread = {}, []
    for name in table.colnames:
        if name in skip:
            continue
        col = table[name]
        if isinstance(col, VectorIndex):
            target = col.target
            dtype = getattr(target.data, "dtype", None)
            if dtype is not None and dtype.kind in "OSU" and len(target.data) <= 100 * max(1, len(ids)):
                columns[name] = np.array([";".join(_text(col[i])) for i in range(len(ids))], dtype=object)
            else:
                unread.append(name)
            continue
        if isinstance(col, DynamicTableRegion):
            unread.append(name)
            continue
        data = col.data
        shape = getattr(data, "shape", None)
        if shape is not None and len(shape) != 1:
            unread.append(name)
            continue
        values = data[:] if hasattr(data, "__getitem__") else list(data)
        arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if arr.dtype.kind in "biuf":
            columns[name] = arr
        elif arr.ndim == 1:
            columns[name] = _text(values)
        else:
            unread.append(name)
    return pd.DataFrame(columns, index=pd.Index(ids, name="id")), unread


def interval_table(nwb, name: str | None, path: Path) -> tuple[str, pd.DataFrame]:
    """The TimeIntervals table ``name`` (trials, epochs or any under ``intervals/``) as a frame of
    its scalar columns; with no name, the file's only table."""
    tables = dict(nwb.intervals) if nwb.intervals else {}
    if not tables:
        raise DataError("has no TimeIntervals table under intervals/ (no trials, epochs or other table): "
                        "cortexkit needs one to know when each stimulus or trial was", source=str(path), variable="intervals")
    if name is None:
        if len(tables) > 1:
            raise DataError(f"has several interval tables; choose one with --option intervals=NAME: {', '.join(sorted(tables))}",
                            source=str(path), variable="intervals")
        name = next(iter(tables))
    if name not in tables:
        raise DataError(f"has no table {name!r}; interval tables: {', '.join(sorted(tables))}", source=str(path), variable="intervals")
    frame, _ = scalar_columns(tables[name])
    for col in ("start_time", "stop_time"):
        if col not in frame:
            raise DataError(f"lacks column {col!r}", source=str(path), variable=f"intervals/{name}")
    if len(frame) == 0:
        raise DataError("has no rows", source=str(path), variable=f"intervals/{name}")
    return name, frame


def unit_table(nwb, path: Path) -> pd.DataFrame:
    """The units table's scalar columns, plus ``area`` (from ``location``, or the electrodes table's
    ``location`` through ``peak_channel_id`` or the units' first electrode) when the file says."""
    units = nwb.units
    if units is None or "spike_times" not in units.colnames:
        raise DataError("has no units table with spike_times", source=str(path), variable="units")
    frame, _ = scalar_columns(units)
    electrodes = nwb.electrodes
    locations = None
    if electrodes is not None and "location" in electrodes.colnames:
        ids = np.asarray(electrodes.id.data[:])
        locations = pd.Series(_text(electrodes["location"].data[:]), index=ids)
    if "location" in frame:
        frame["area"] = [str(v).strip() or "unknown" for v in frame["location"]]
    elif locations is not None and "peak_channel_id" in frame:
        frame["area"] = [str(locations.get(c, "unknown")) for c in frame["peak_channel_id"]]
    elif locations is not None and "electrodes" in units.colnames:
        # the first electrode each unit came from (a ragged region: its index gives the row offsets)
        from hdmf.common.table import VectorIndex

        region = units["electrodes"]
        if isinstance(region, VectorIndex):
            ends = np.asarray(region.data[:], dtype=np.int64)
            rows = np.asarray(region.target.data[:], dtype=np.int64)
            starts = np.concatenate([[0], ends[:-1]])
            first = [int(rows[s]) if e > s else -1 for s, e in zip(starts, ends)]
        else:  # one electrode per unit
            first = [int(r) for r in np.asarray(region.data[:]).ravel()]
        if len(first) == len(frame):
            frame["area"] = [str(locations.iloc[r]) if 0 <= r < len(locations) else "unknown" for r in first]
    if "area" not in frame:
        frame["area"] = "unknown"
    return frame


def count_spikes(units, rows: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Spike counts of the units at table ``rows`` between consecutive ``edges``.

    ``edges`` is (n_trials, n_bins + 1) in seconds; bins are ``[edge_k, edge_k+1)``. Spike times are
    read one unit at a time, through ``spike_times_index``; nothing else of the table is read.
    """
    index = units["spike_times"]  # VectorIndex: the end offset of each unit's spikes
    ends = np.asarray(index.data[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    times = index.target.data
    out = np.empty((edges.shape[0], len(rows), edges.shape[1] - 1), dtype=np.float32)
    for j, row in enumerate(rows):
        spikes = np.sort(np.asarray(times[starts[row] : ends[row]], dtype=np.float64))
        idx = np.searchsorted(spikes, edges, side="left")
        out[:, j, :] = np.diff(idx, axis=1)
    return out


def spike_time_range(units, rows: np.ndarray) -> tuple[float, float] | None:
    """(earliest, latest) spike time of the units at table ``rows`` (each unit's spikes are read in turn,
    one unit in memory at a time); None when they have no spikes."""
    index = units["spike_times"]
    ends = np.asarray(index.data[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    times = index.target.data
    lo, hi = np.inf, -np.inf
    for row in rows:
        if ends[row] > starts[row]:
            spikes = np.asarray(times[starts[row] : ends[row]], dtype=np.float64)
            lo, hi = min(lo, float(spikes.min())), max(hi, float(spikes.max()))
    return (lo, hi) if np.isfinite(lo) else None


def roi_series(nwb) -> dict[str, object]:
    """Every RoiResponseSeries in the file's processing modules and acquisition, by path
    (``ophys/DfOverF/RoiResponseSeries``) and, where unambiguous, by its own name."""
    from pynwb.ophys import RoiResponseSeries

    found = {}
    for obj in nwb.objects.values():
        if isinstance(obj, RoiResponseSeries):
            parts, node = [obj.name], obj.parent
            while node is not None and node is not nwb:
                parts.append(node.name)
                node = node.parent
            found["/".join(reversed(parts))] = obj
    by_name: dict[str, list[str]] = {}
    for key, obj in found.items():
        by_name.setdefault(obj.name, []).append(key)
    aliases = {name: found[keys[0]] for name, keys in by_name.items() if len(keys) == 1 and name not in found}
    return {**found, **aliases}


def series_times(series, path: Path) -> np.ndarray:
    """The sample times of a TimeSeries: its timestamps, or starting_time + k / rate."""
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=np.float64)
    if series.rate is None:
        raise DataError("has neither timestamps nor a rate", source=str(path), variable=series.name)
    n = series.data.shape[0]
    return float(series.starting_time or 0.0) + np.arange(n) / float(series.rate)


def average_samples(series, times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of a (time, rois) series over samples with time in ``[edge_k, edge_k+1)``, per trial and
    bin; NaN where a bin holds no sample. Each trial reads only its own rows of the series."""
    data = series.data
    n_rois = 1 if len(data.shape) == 1 else data.shape[1]
    out = np.full((edges.shape[0], n_rois, edges.shape[1] - 1), np.nan, dtype=np.float32)
    bounds = np.searchsorted(times, edges, side="left")
    for i, b in enumerate(bounds):
        if b[-1] <= b[0]:
            continue
        block = np.asarray(data[b[0] : b[-1]], dtype=np.float64).reshape(b[-1] - b[0], n_rois)
        sums = np.add.reduceat(block, np.minimum(b[:-1] - b[0], len(block) - 1), axis=0)
        counts = np.diff(b)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, None]
        means[counts == 0] = np.nan
        out[i] = means.T
    return out
