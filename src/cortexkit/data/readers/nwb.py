"""Any NWB 2.x file: spike-sorted units or ophys ROI responses, aligned to a TimeIntervals table.

What DANDI holds (read with pynwb, lazily)::

    units                        spike_times (ragged) per unit; scalar columns (quality metrics,
                                 location, depth, ...) become unit coordinates
    processing/<module>/<container>/<RoiResponseSeries>
                                 (time, rois) dF/F, fluorescence or deconvolved activity; its ROI
                                 table's scalar columns become unit coordinates
    intervals/<table>            TimeIntervals: trials, epochs, or any table (start_time,
                                 stop_time and the experiment's columns)
    stimulus/templates, stimulus/presentation
                                 ImageSeries / OpticalSeries: the images a column indexes

Every row of the chosen interval table (``intervals``) is a trial. Its response is the spike count
of each unit in ``[start + window_start, start + window_end)`` (``window``; by default the whole
interval, ``[start_time, stop_time)``), or the mean of the ROI series' samples in it, optionally in
bins of ``time_bin`` seconds. ``tile`` cuts each window into consecutive trials of that length (an
epoch of spontaneous activity becomes many trials). The column named by ``stimulus`` says which
stimulus a trial showed (trials with equal values are repeats); without it every trial is its own
stimulus. Interval columns that are constant within each stimulus become stimulus coordinates, the
others trial variables: parameter decoding reads either. Pixels come from ``images`` (a ``.npy``
array, or the name of an ImageSeries/OpticalSeries in the file) indexed by the stimulus column (a
negative index is a blank, mid-gray); without images the store holds no pixels (each stimulus a
1 x 1 mid-gray placeholder, ``attrs["pixels"] = "none"``): parameter decoding and the tables of a
recording work, feature extraction refuses it. Ragged columns other than spike times
(``spike_amplitudes``, waveforms, masks) are never read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit.data.model import make_dataset
from cortexkit.data.readers import _nwb
from cortexkit.data.readers._common import check_positive, load_npy, random_split, to_unit_range
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError
from cortexkit.image import resize

# names the data model or the store uses; interval or ROI columns of these names get a prefix
RESERVED = {"stimulus", "unit", "trial", "time", "split", "stimuli", "responses", "stimulus_id", "frame", "y", "x",
            "channel", "area"}
NO_PIXELS = "none"


def _window(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = str(text).split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"reader option window must be START,END in seconds from each interval's start, e.g. 0,0.25; got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ConfigError(f"reader option window must have END > START (seconds); got {text!r}")
    return lo, hi


def _check_window(table: pd.DataFrame, name: str, span, text, path: Path) -> None:
    """A window that starts after every interval has ended (it counts what follows the intervals, not
    them) is refused, naming the option and how long the intervals last."""
    if span is None or "stop_time" not in table:
        return
    length = (table["stop_time"] - table["start_time"]).to_numpy(dtype=np.float64)
    length = length[np.isfinite(length)]
    if len(length) and span[0] >= length.max():
        raise ConfigError(f"{path}: option window={text} starts {span[0]:g} s after each start_time, after the end of every "
                          f"interval of intervals/{name} (they last {length.min():g}-{length.max():g} s); the window is in "
                          "seconds from each interval's start_time")


def _bins(length: np.ndarray, time_bin: float, name: str, fixed: bool, path: Path) -> int:
    """The number of ``time_bin`` bins that tile every trial's window exactly; trials of different
    lengths (interval-relative bins without a window) and bins that do not divide the window are refused."""
    where = "window" if fixed else f"intervals of intervals/{name}"
    if np.ptp(length) > 1e-6 * max(float(length.max()), 1e-9):
        raise ConfigError(f"{path}: option time_bin needs trials of one length, and the {where} last "
                          f"{length.min():g}-{length.max():g} s; give --option window=START,END (the same span from each "
                          "start_time) or tile=SECONDS")
    k = float(length[0]) / time_bin
    if abs(k - round(k)) > 1e-6 or round(k) < 1:
        raise ConfigError(f"{path}: option time_bin={time_bin:g} s does not tile the {float(length[0]):g} s {'window' if fixed else 'intervals'} "
                          f"({k:.3g} bins); choose a bin that divides it (e.g. {float(length[0]) / max(1, round(k)):g} s)")
    return int(round(k))


def _empty(path: Path, what: tuple[str, str], held, edges: np.ndarray, window, time_bin, tile) -> str:
    """Why a conversion would write only zeros or NaN: no ``what`` (singular, plural) in any trial's window,
    and the time range the file holds."""
    options = ", ".join(f"{k}={v}" for k, v in (("window", window), ("time_bin", time_bin), ("tile", tile)) if v is not None)
    asked = f"{edges.min():g}-{edges.max():g} s"
    has = f"span {held[0]:g}-{held[1]:g} s" if held else "are none at all"
    return (f"{path}: no {what[0]} falls in any trial's window ({asked}{'; ' + options if options else ''}); the file's "
            f"{what[1]} {has}, so the store would hold only {'zeros' if what[0] == 'spike' else 'NaN'}")


def _trial_windows(table: pd.DataFrame, name: str, window, tile, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row of the table, start, length) of every trial."""
    start = table["start_time"].to_numpy(dtype=np.float64)
    where = f"intervals/{name}"
    if not np.isfinite(start).all():
        raise DataError(f"start_time is NaN on {int((~np.isfinite(start)).sum())} row(s)", source=str(path), variable=where)
    if window is not None:
        begin, length = start + window[0], np.full(len(start), window[1] - window[0])
    else:
        stop = table["stop_time"].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(stop)
        if bad.any():
            raise DataError(f"stop_time is NaN on {int(bad.sum())} of {len(stop)} rows: give the response window with "
                            "--option window=START,END (seconds from each start_time)", source=str(path), variable=where)
        if (stop <= start).any():
            raise DataError(f"stop_time <= start_time on {int((stop <= start).sum())} row(s)", source=str(path), variable=where)
        begin, length = start, stop - start
    rows = np.arange(len(start))
    if tile is None:
        return rows, begin, length
    pieces = np.floor(length / float(tile) + 1e-9).astype(int)
    if pieces.sum() == 0:
        raise ConfigError(f"{path}: tile={tile:g} s is longer than every interval of {where} (longest {length.max():g} s)")
    rows = np.repeat(rows, pieces)
    offset = np.concatenate([np.arange(k) for k in pieces]) * float(tile)
    return rows, begin[rows] + offset, np.full(len(rows), float(tile))


def _labels(values: np.ndarray) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
            v = int(v)
        text = str(v).strip()
        out.append(text if text and text != "nan" else "n/a")
    return np.array(out, dtype=object)


def _images(nwb, images: str, path: Path) -> tuple[np.ndarray, str]:
    """The image array named by ``images``: a series in the file, or a .npy file."""
    from pynwb.image import ImageSeries

    series = {}
    for group in (nwb.stimulus_template, nwb.stimulus, nwb.acquisition):
        for key, obj in (group or {}).items():
            if isinstance(obj, ImageSeries) and obj.data is not None:
                series[key] = obj
    if images in series:
        data = series[images].data
        if len(getattr(data, "shape", ())) not in (3, 4):
            raise DataError(f"has shape {getattr(data, 'shape', None)}; expected (n, height, width[, 3])", source=str(path), variable=images)
        return np.asarray(data[:]), f"{path}:{images}"
    if images.endswith(".npy") or Path(images).exists():
        return load_npy(Path(images), "images"), images
    raise ConfigError(f"{path}: images={images!r} is neither a .npy file nor an image series in the file"
                      + (f" (series: {', '.join(sorted(series))})" if series else " (the file holds no ImageSeries)"))


def _roi_units(series, path: Path) -> tuple[np.ndarray, dict]:
    """ROI ids and the scalar columns of the ROI table a series points at."""
    rois = series.rois
    rows = np.asarray(rois.data[:], dtype=np.int64)
    table, _ = _nwb.scalar_columns(rois.table)
    table = table.iloc[rows]
    coords = {str(c): table[c].to_numpy() for c in table.columns}
    return table.index.to_numpy(), coords


@register(
    "nwb",
    summary="Any NWB 2.x file (DANDI): spike-sorted units or ophys ROI responses per interval of a trials/epochs table (pynwb, lazy)",
    example="cortexkit data convert sub-01_ses-01.nwb sub01.zarr --format nwb --option intervals=trials --option stimulus=stimulus_name --option window=0,0.5",
    options={
        "intervals": "the TimeIntervals table whose rows are trials: trials, epochs or any table under intervals/ (default: the only one)",
        "stimulus": "the interval column saying which stimulus a trial showed; equal values are repeats (default: each trial its own stimulus)",
        "window": "START,END in seconds from each interval's start_time (default: the interval, start_time to stop_time)",
        "time_bin": "responses in bins of this many seconds that tile the window exactly (default: one value per trial)",
        "tile": "cut each window into consecutive trials of this many seconds (e.g. a long epoch into 1 s trials)",
        "responses": "units (spike counts; the default when the file has units) or an ROI response series by name or path, e.g. ophys/DfOverF/RoiResponseSeries",
        "images": "the images the stimulus column indexes: an ImageSeries/OpticalSeries in the file, or a .npy (n, height, width[, 3]); default: no pixels",
        "image_size": "height in pixels of the stored images, keeping the aspect (default 64)",
        "test_fraction": "fraction of stimuli held out (default 0.2)",
        "seed": "seed of the split (default 0)",
    },
)
def read_nwb(
    path,
    *,
    intervals: str | None = None,
    stimulus: str | None = None,
    window: str | None = None,
    time_bin: float | None = None,
    tile: float | None = None,
    responses: str | None = None,
    images: str | None = None,
    image_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """Read an NWB 2.x file's units or ROI responses per interval of a TimeIntervals table."""
    path = Path(path)
    check_positive(time_bin=time_bin, tile=tile, image_size=image_size)
    span = _window(window)
    with _nwb.open_nwb(path) as nwb:
        name, table = _nwb.interval_table(nwb, intervals, path)
        if stimulus is not None and stimulus not in table:
            raise DataError(f"has no column {stimulus!r}; columns: {', '.join(table.columns)}", source=str(path),
                            variable=f"intervals/{name}")
        rows, begin, length = _trial_windows(table, name, span, tile, path)
        _check_window(table, name, span, window, path)
        if time_bin:
            n_bins = _bins(length, float(time_bin), name, span is not None or tile is not None, path)
            edges = begin[:, None] + np.arange(n_bins + 1)[None, :] * float(time_bin)
        else:
            edges = np.stack([begin, begin + length], axis=1)

        series_by_name = _nwb.roi_series(nwb)
        has_units = nwb.units is not None and "spike_times" in nwb.units.colnames
        choice = responses or ("units" if has_units else None)
        if choice is None:
            paths = sorted(k for k in series_by_name if "/" in k)
            if len(paths) != 1:
                raise DataError("has no units table with spike_times and " + (
                    f"several ROI response series; choose one with --option responses=NAME: {', '.join(paths)}" if paths
                    else "no ROI response series: nothing to read responses from"), source=str(path), variable="units")
            choice = paths[0]
        if choice == "units":
            if not has_units:
                raise DataError("has no units table with spike_times", source=str(path), variable="units")
            units = _nwb.unit_table(nwb, path)
            values = _nwb.count_spikes(nwb.units, np.arange(len(units)), edges)
            if not values.any():  # no spike in any window: the options point outside the recording
                held = _nwb.spike_time_range(nwb.units, np.arange(len(units)))
                raise ConfigError(_empty(path, ("spike", "spikes"), held, edges, window, time_bin, tile))
            unit_ids = units.index.to_numpy()
            unit_coords = {str(c): units[c].to_numpy() for c in units.columns}
            modality, what = "spikes", "spike counts"
        else:
            if choice not in series_by_name:
                raise DataError(f"has no ROI response series {choice!r}; series: {', '.join(sorted(series_by_name)) or 'none'}",
                                source=str(path), variable="responses")
            series = series_by_name[choice]
            times = _nwb.series_times(series, path)
            values = _nwb.average_samples(series, times, edges)
            if not np.isfinite(values).any():  # no imaging sample in any window
                held = (float(times.min()), float(times.max())) if len(times) else None
                raise ConfigError(_empty(path, (f"sample of {choice}", f"samples of {choice}"), held, edges, window, time_bin,
                                         tile))
            unit_ids, unit_coords = _roi_units(series, path)
            unit_coords.setdefault("area", np.array(["unknown"] * len(unit_ids), dtype=object))
            modality, what = "calcium", f"mean of {choice} ({series.unit or 'a.u.'})"
        pixels = _images(nwb, str(images), path) if images else None

    trials = table.iloc[rows].reset_index()
    if stimulus is not None:
        stim_of_trial = _labels(trials[stimulus].to_numpy())
    else:
        ids = trials["id"].to_numpy()
        stim_of_trial = np.array([f"{name}{i}" for i in ids], dtype=object)
        if tile is not None:  # the same interval cut into pieces: each piece its own stimulus
            piece = trials.groupby("id").cumcount().to_numpy()
            stim_of_trial = np.array([f"{s}_{k}" for s, k in zip(stim_of_trial, piece)], dtype=object)
    labels, first = np.unique(stim_of_trial.astype(str), return_index=True)
    order = np.argsort(first)
    labels, first = labels[order], first[order]
    if len(labels) < 2:
        raise DataError(f"its {len(trials)} trial(s) show {len(labels)} stimulus: a train/test split needs at least 2 "
                        "(cut long intervals into trials with --option tile=SECONDS, or name a stimulus column)",
                        source=str(path), variable=f"intervals/{name}")

    # Interval columns: constant within each stimulus -> stimulus coordinates; the others -> trial variables.
    stimulus_coords, trial_vars = {}, {}
    group = pd.Series(stim_of_trial.astype(str))
    taken = RESERVED | set(unit_coords)
    for col in table.columns:
        values_ = trials[col]
        key = f"interval_{col}" if col in taken else str(col)
        constant = values_.groupby(group.values).nunique(dropna=False).max() <= 1
        if constant and col not in ("start_time", "stop_time"):
            stimulus_coords[key] = values_.to_numpy()[first]
        else:
            trial_vars[key] = values_.to_numpy()
    trial_vars["window_start"] = begin

    if pixels is not None:
        stimuli = _pixel_stimuli(pixels, stimulus, labels, int(image_size), path)
        pixel_attr = {}
    else:
        stimuli = np.full((len(labels), 1, 1), 0.5, dtype=np.float32)
        pixel_attr = {"pixels": NO_PIXELS}
    unit_coords = {k: (np.asarray(v).astype(str) if np.asarray(v).dtype.kind == "O" else v) for k, v in unit_coords.items()}
    window_text = (f"[start_time{span[0]:+g} s, start_time{span[1]:+g} s)" if span else "[start_time, stop_time)")
    attrs = {
        "modality": modality,
        "source": f"NWB {path.name}, intervals/{name}",
        "license": "as stated by the file's source (DANDI dandisets carry theirs)",
        "response_window": f"{what} in {window_text} of each row of intervals/{name}"
                           + (f", cut into {tile:g} s trials" if tile else "") + (f", in {time_bin:g} s bins" if time_bin else ""),
        "split_seed": seed,
        **pixel_attr,
    }
    if time_bin:
        attrs["sampling_rate"] = 1.0 / float(time_bin)
    if not np.isfinite(values).all():
        attrs["missing_responses"] = "not recorded"  # windows outside the imaging: no sample to average
    ds = make_dataset(
        stimuli,
        values if time_bin else values[..., 0],
        stim_of_trial.astype(str),
        random_split(len(labels), test_fraction, seed),
        stimulus=labels,
        unit=unit_ids,
        unit_coords=unit_coords,
        stimulus_coords={k: (np.asarray(v).astype(str) if np.asarray(v).dtype.kind == "O" else v) for k, v in stimulus_coords.items()},
        attrs=attrs,
        validate_result=False,
    )
    for key, v in trial_vars.items():
        v = np.asarray(v)
        ds[key] = ("trial", v.astype(str) if v.dtype.kind == "O" else v)
    return ds


def _pixel_stimuli(pixels, column, labels, size: int, path: Path) -> np.ndarray:
    array, where = pixels
    if column is None:
        raise ConfigError(f"{path}: images need --option stimulus=COLUMN, the interval column indexing them")
    try:
        index = np.array([int(float(v)) for v in labels])
    except ValueError:
        raise DataError(f"column {column!r} holds non-integer values ({labels[:3].tolist()}); images are indexed by integers",
                        source=str(path)) from None
    if index.max() >= len(array):
        raise DataError(f"trials show image {index.max()} but there are {len(array)} images", source=where, variable=column)
    imgs = to_unit_range(np.asarray(array))
    if imgs.ndim == 4 and imgs.shape[-1] not in (1, 3):
        imgs = imgs[..., :3]
    w = int(round(size * imgs.shape[2] / imgs.shape[1]))
    small = resize(imgs, (size, w))
    blank = np.full(small.shape[1:], 0.5, dtype=np.float32)
    return np.stack([blank if i < 0 else small[i] for i in index])
