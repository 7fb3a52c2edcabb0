"""STSBench (dorsal stream, MT/MST) and TVSD (ventral stream, V4) in the STSBench release layout.

Layout (``dataset/`` of the STSBench repository)::

    <name>_dataset.pickle        dict: train_stimuli / test_stimuli (video names), train_activity /
                                 test_activity (stimuli x neurons, repeat-averaged; NaN = not
                                 recorded), optionally reliability (STSBench) or reliab (TVSD),
                                 per neuron
    <name>_neuron_table.pickle   optional pandas DataFrame, one row per neuron (neuron_uid = column)
    <name>/<stimulus>.mp4        the stimuli (TVSD images are single-frame-per-image videos)

``name`` is ``dorsal_stream`` (STSBench) or ``ventral_stream`` (TVSD). Videos are decoded with PyAV,
optionally cropped (STSBench's models crop the dorsal videos to 150 x 150 at top 115, left 260),
resampled to ``frame_rate`` and resized to ``size``. Activity is repeat-averaged upstream, so each
stimulus has one trial; the source's train/test split is kept. Pickles execute code when loaded:
only convert files from a source you trust.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import pandas as pd

from cortexkit.data.model import make_dataset
from cortexkit.data.readers._common import load_pickle
from cortexkit.data.readers._video import read_video
from cortexkit.data.readers.registry import register
from cortexkit.errors import DataError, listed

VIDEO_CHUNK = 16
DORSAL_CROP = (115, 260, 150, 150)


def _crop(value) -> tuple[int, int, int, int] | None:
    if value in (None, "none", ""):
        return None
    parts = [int(v) for v in (value.split(",") if isinstance(value, str) else value)]
    if len(parts) != 4:
        raise DataError(f"expected 'top,left,height,width', got {value!r}", variable="crop")
    return tuple(parts)


def _read(path, *, name, frames, frame_rate, size, crop, grayscale, source, license, citation):
    path = Path(path)
    pickle_file = path / f"{name}_dataset.pickle"
    blob = load_pickle(pickle_file, "dataset pickle")
    if not isinstance(blob, dict):
        raise DataError(f"expected a dict, got {type(blob).__name__}", source=str(pickle_file))
    for key in ("train_stimuli", "test_stimuli", "train_activity", "test_activity"):
        if key not in blob:
            raise DataError(f"missing key {key!r} (has {listed(sorted(blob))})", source=str(pickle_file))
    parts = {}
    for split in ("train", "test"):
        names = [str(s) for s in np.asarray(blob[f"{split}_stimuli"]).ravel()]
        activity = np.asarray(blob[f"{split}_activity"], dtype=np.float64)
        if activity.ndim != 2 or activity.shape[0] != len(names):
            raise DataError(f"shape {activity.shape} does not match {len(names)} {split} stimuli",
                            source=str(pickle_file), variable=f"{split}_activity")
        parts[split] = (names, activity)
    if parts["train"][1].shape[1] != parts["test"][1].shape[1]:
        raise DataError("train and test activity have different numbers of neurons", source=str(pickle_file))
    names = parts["train"][0] + parts["test"][0]
    if len(set(names)) != len(names):
        dup = pd.Series(names)[pd.Series(names).duplicated()].iloc[0]
        raise DataError(f"stimulus {dup!r} is listed twice", source=str(pickle_file), variable="train_stimuli/test_stimuli")
    activity = np.concatenate([parts["train"][1], parts["test"][1]])
    n_units = activity.shape[1]

    video_dir = path / name
    files = _video_files(video_dir, names)
    crop = _crop(crop)
    first = read_video(files[0], n_frames=frames, frame_rate=frame_rate, size=size, crop=crop, grayscale=grayscale)

    def load(a, b):
        return np.stack([read_video(f, n_frames=frames, frame_rate=frame_rate, size=size, crop=crop,
                                    grayscale=grayscale) for f in files[a:b]])

    blocks = [
        dsa.from_delayed(dask.delayed(load)(a, min(len(names), a + VIDEO_CHUNK)),
                         shape=(min(len(names), a + VIDEO_CHUNK) - a,) + first.shape, dtype=np.float32)
        for a in range(0, len(names), VIDEO_CHUNK)
    ]
    stimuli = dsa.concatenate(blocks, axis=0)
    if first.shape[0] == 1:  # one frame per stimulus: images
        stimuli = stimuli[:, 0]
    dims = ("stimulus",) + (("frame",) if first.shape[0] > 1 else ()) + ("y", "x") + (() if grayscale else ("channel",))

    unit_coords = {}
    table_file = path / f"{name}_neuron_table.pickle"
    if table_file.exists():
        table = load_pickle(table_file, "neuron table")
        if not isinstance(table, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(table).__name__}", source=str(table_file))
        if "neuron_uid" in table:
            table = table.sort_values("neuron_uid")
        if len(table) != n_units:
            raise DataError(f"has {len(table)} rows but the activity has {n_units} neurons", source=str(table_file))
        for col in table.columns:
            values = table[col].to_numpy()
            if values.dtype.kind in "biuf":
                unit_coords[str(col)] = values
            elif values.dtype.kind == "O" and all(isinstance(v, str) for v in values):
                unit_coords[str(col)] = values.astype(str)
    # STSBench's preprocessing writes the neurons' reliability as "reliability", TVSD's as "reliab"
    key = next((k for k in ("reliability", "reliab") if k in blob), None)
    if key is not None:
        if np.size(blob[key]) != n_units:
            raise DataError(f"has {np.size(blob[key])} values for {n_units} neurons", source=str(pickle_file), variable=key)
        unit_coords["reliability"] = np.asarray(blob[key], dtype=np.float32).ravel()

    attrs = {"modality": "spikes", "missing_responses": "not recorded", "source": source, "license": license, "citation": citation,
             "repeat_averaged": 1, "response_window": "repeat-averaged activity as released"}
    if first.shape[0] > 1:
        attrs["frame_rate"] = float(frame_rate) if frame_rate else "as encoded"
    return make_dataset(
        stimuli,
        activity,
        names,
        ["train"] * len(parts["train"][0]) + ["test"] * len(parts["test"][0]),
        stimulus=names,
        unit=np.arange(n_units),
        unit_coords=unit_coords,
        stimulus_dims=dims,
        attrs=attrs,
        validate_result=False,
    )


_OPTIONS = {
    "frames": "frames per stimulus (default 5, as STSBench's video models; 1 gives images)",
    "frame_rate": "resample videos to this rate in Hz (default: as encoded)",
    "size": "pixels per side after cropping (default 64)",
    "crop": "'top,left,height,width' in source pixels, or 'none'",
    "grayscale": "luminance instead of RGB (default false)",
}


def _video_files(video_dir: Path, names: list[str]) -> list[Path]:
    """The ``.mp4`` of every stimulus name. Upstream pickles store names as fixed-width unicode, so a
    long THINGS name can arrive truncated: it then matches the one video whose name starts with it;
    a truncated name that matches none or several is an error naming it."""
    if not video_dir.is_dir():
        raise DataError("missing (the folder of stimulus videos)", source=str(video_dir))
    stems = sorted(p.stem for p in video_dir.glob("*.mp4"))
    files, missing = [], []
    for n in names:
        exact = video_dir / f"{n}.mp4"
        if exact.is_file():
            files.append(exact)
            continue
        lo = np.searchsorted(stems, n)
        candidates = [s for s in stems[lo:lo + 3] if s.startswith(n)]
        if len(candidates) == 1:
            files.append(video_dir / f"{candidates[0]}.mp4")
        elif candidates:
            raise DataError(f"stimulus name {n!r} (truncated?) matches several videos: {candidates}", source=str(video_dir))
        else:
            missing.append(n)
    if missing:
        raise DataError(f"{len(missing)} stimulus video(s) missing, e.g. {missing[0]}.mp4", source=str(video_dir))
    return files


@register(
    "stsbench",
    summary="STSBench dorsal stream (MT/MST): dataset pickle + neuron table pickle + mp4 videos",
    example="cortexkit data convert ~/stsbench/dataset stsbench.zarr --format stsbench --option size=64",
    options={**_OPTIONS, "crop": _OPTIONS["crop"] + " (default 115,260,150,150 as STSBench)"},
)
def read_stsbench(path, *, frames: int = 5, frame_rate: float | None = None, size: int = 64,
                  crop: str | None = "115,260,150,150", grayscale: bool = False):
    """Read STSBench's dorsal-stream release: dataset pickle, neuron table and ``.mp4`` videos."""
    return _read(path, name="dorsal_stream", frames=frames, frame_rate=frame_rate, size=size, crop=crop,
                 grayscale=grayscale, source="STSBench dorsal stream (dorsal_stream_dataset.pickle)",
                 license="MIT (code); dataset terms on Kaggle (ethantrepka1/stsbench)",
                 citation="Trepka et al., STSBench: a large-scale dataset for modeling neuronal activity in the dorsal stream")


@register(
    "tvsd",
    summary="TVSD ventral stream (V4) in STSBench's layout: ventral_stream_dataset.pickle + THINGS images as mp4",
    example="cortexkit data convert ~/stsbench/dataset tvsd.zarr --format tvsd --option size=64",
    options={**_OPTIONS, "frames": "frames per stimulus (default 1: the THINGS image)", "crop": _OPTIONS["crop"] + " (default none)"},
)
def read_tvsd(path, *, frames: int = 1, frame_rate: float | None = None, size: int = 64, crop: str | None = None,
              grayscale: bool = False):
    """Read TVSD V4 in STSBench's release layout (same files as :func:`read_stsbench`)."""
    return _read(path, name="ventral_stream", frames=frames, frame_rate=frame_rate, size=size, crop=crop,
                 grayscale=grayscale, source="TVSD V4 subset (ventral_stream_dataset.pickle)",
                 license="CC BY 4.0 (TVSD)", citation="Papale et al. (2025) Neuron, THINGS Ventral Stream Spiking Dataset")
