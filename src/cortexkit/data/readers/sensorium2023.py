"""Sensorium 2023 (mouse V1 two-photon to natural movies), one mouse folder.

Layout (one unzipped ``dynamic<...>-Video-<hash>`` folder of the release)::

    data/videos/<trial>.npy        (36, 64, 324) frames last, 0-255
    data/responses/<trial>.npy     (n_neurons, 324) deconvolved activity at the frame rate (30 Hz)
    data/behavior/<trial>.npy      (2, 324) pupil dilation, running speed
    data/pupil_center/<trial>.npy  (2, 324) x, y
    meta/trials/tiers.npy          per trial: train, oracle, live_test_main, live_test_bonus,
                                   final_test_main, final_test_bonus, none
    meta/neurons/cell_motor_coordinates.npy (n_neurons, 3) int; meta/neurons/unit_ids.npy

Every trial array holds 324 samples, of which the first 300 are valid for train and oracle trials
and 240-324 for the bonus tiers: videos and responses are NaN after that, behaviour is valid for
all 324 samples and pupil_center for 300 (facts of the release, checked on mouse A's metadata:
740 trials, 20 of them in no tier; 7,440 neurons whose ids run non-contiguously from 1 to 8195).
A trial's length is where its video turns NaN, and every array of the trial is cut there: every
valid sample is kept and nothing past it (not the behaviour's extra samples).

Trials of the ``train`` tier form the train split and ``oracle`` trials (repeated videos) the test
split (``tiers`` maps others, e.g. the test tiers of a release that has their responses); trials in
no tier are skipped. Identical videos are one stimulus (found by content hash), so the oracle
repeats give noise ceilings. Trials are padded to ``frames`` frames (default: the longest kept
trial): stimuli with mid-gray, responses and behaviour with NaN (declared as padding).
``sampling_rate`` is 30 Hz and every response bin has one frame.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dask
import dask.array as dsa
import numpy as np

from cortexkit._progress import track
from cortexkit.data.model import make_dataset
from cortexkit.data.readers._common import load_npy
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError
from cortexkit.image import resize

FRAME_RATE = 30.0
TIER_SPLITS = {"train": "train", "oracle": "test"}
TIERS = ("train", "oracle", "live_test_main", "live_test_bonus", "final_test_main", "final_test_bonus")


def _tier_splits(text: str | None) -> dict[str, str]:
    """``"train=train,oracle=test"`` -> {tier: split}; None -> :data:`TIER_SPLITS`."""
    if text is None:
        return dict(TIER_SPLITS)
    out = {}
    for part in str(text).split(","):
        tier, sep, split = (p.strip() for p in part.partition("="))
        if not sep or tier not in TIERS or split not in ("train", "val", "test"):
            raise ConfigError(f"reader option tiers takes tier=split pairs (tiers: {', '.join(TIERS)}; splits: train, val, "
                              f"test), e.g. train=train,oracle=test; got {part!r}")
        out[tier] = split
    return out
CHUNK = 16


def video_duration(video: np.ndarray) -> int:
    """Frames before the first NaN frame (the padding convention of the release)."""
    nan = np.flatnonzero(~np.isfinite(video[0, 0, :]))
    return int(nan[0]) if nan.size else video.shape[-1]


@register(
    "sensorium2023",
    summary="Sensorium 2023 mouse V1 movies: per-trial .npy folders (videos, responses, behavior, pupil_center) + meta",
    example="cortexkit data convert ~/sensorium/dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce mouseA.zarr --format sensorium2023",
    options={
        "frames": "frames kept per trial (default: the longest kept trial; shorter ones are NaN-padded)",
        "tiers": "tier=split pairs of the trials to read (default train=train,oracle=test)",
        "size": "resize frames to size x (size * 64/36) pixels (default: native 36 x 64)",
        "max_trials": "read only the first N train/oracle trials (for a quick look)",
    },
)
def read_sensorium2023(path, *, frames: int | None = None, size: int | None = None, max_trials: int | None = None,
                       tiers: str | None = None):
    """Read a Sensorium 2023 mouse folder: per-trial videos, responses, behaviour and pupil position."""
    root = Path(path)
    tiers_file = root / "meta" / "trials" / "tiers.npy"
    splits = _tier_splits(tiers)
    tiers = load_npy(tiers_file, "trial tiers").astype(str)
    coords_file = root / "meta" / "neurons" / "cell_motor_coordinates.npy"
    xyz = load_npy(coords_file, "neuron coordinates")
    ids_file = root / "meta" / "neurons" / "unit_ids.npy"
    unit_ids = load_npy(ids_file, "unit ids") if ids_file.exists() else np.arange(len(xyz))
    if len(unit_ids) != len(xyz):
        raise DataError(f"has {len(unit_ids)} ids for {len(xyz)} neurons in {coords_file.name}", source=str(ids_file))
    keep = np.flatnonzero(np.isin(tiers, list(splits)))
    if max_trials:
        keep = keep[: int(max_trials)]
    if keep.size == 0:
        raise DataError(f"no trials in tiers {', '.join(splits)}", source=str(tiers_file))

    data_dir = root / "data"

    def trial_file(kind: str, trial: int) -> Path:
        return data_dir / kind / f"{trial}.npy"

    # One pass over the videos: their length and a content hash to find repeated videos.
    hashes, durations, shape = [], [], None
    for t in track(keep, "indexing Sensorium videos"):
        video = load_npy(trial_file("videos", t), "video")
        if video.ndim != 3 or (shape is not None and video.shape != shape):
            raise DataError(f"expected (height, width, frames) like {shape}, got {video.shape}", source=str(trial_file("videos", t)))
        shape = video.shape
        d = video_duration(video)
        durations.append(d)
        hashes.append(hashlib.sha1(np.ascontiguousarray(video[..., :d]).tobytes()).hexdigest())
    durations = np.asarray(durations)
    n_frames = int(frames or durations.max())
    if n_frames > shape[-1]:
        raise ConfigError(f"frames={n_frames} exceeds the {shape[-1]} frames stored per trial")
    n_units = len(xyz)

    labels, first, stim_of_trial = np.unique(np.asarray(hashes), return_index=True, return_inverse=True)
    order = np.argsort(first)  # stimuli in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    stim_index = rank[stim_of_trial.ravel()]
    rep_trial = keep[first[order]]
    stim_labels = np.array([f"video_{h[:12]}" for h in labels[order]])
    split_of_stim = np.array([splits[tiers[t]] for t in rep_trial])
    mixed = {stim_labels[i] for i in range(len(stim_labels))
             if len({splits[x] for x in tiers[keep[stim_index == i]]}) > 1}
    if mixed:
        raise DataError(f"{len(mixed)} video(s) appear in tiers of different splits ({', '.join(f'{k}={v}' for k, v in splits.items())})",
                        source=str(tiers_file))
    out_h, out_w = (shape[0], shape[1]) if not size else (int(size), int(round(size * shape[1] / shape[0])))

    def videos(trials):
        out = np.full((len(trials), n_frames, out_h, out_w), 0.5, dtype=np.float32)
        for i, t in enumerate(trials):
            v = np.load(trial_file("videos", t))[..., :n_frames]
            d = min(video_duration(v), n_frames)
            frames_ = np.moveaxis(v[..., :d], -1, 0) / 255.0
            out[i, :d] = resize(frames_, (out_h, out_w)) if size else np.clip(frames_, 0, 1)
        return out

    def per_trial(kind, rows, trials):
        out = np.full((len(trials), rows, n_frames), np.nan, dtype=np.float32)
        for i, t in enumerate(trials):
            f = trial_file(kind, t)
            a = load_npy(f, kind)
            if a.ndim != 2 or a.shape[0] != rows:
                raise DataError(f"expected ({rows}, frames), got {a.shape}", source=str(f))
            d = min(durations[np.searchsorted(keep, t)], n_frames, a.shape[1])
            out[i, :, :d] = a[:, :d]
        return out

    def lazy(fn, shape_tail, items, *args):
        return dsa.concatenate(
            [dsa.from_delayed(dask.delayed(fn)(*args, items[a : a + CHUNK]), shape=(len(items[a : a + CHUNK]),) + shape_tail,
                              dtype=np.float32) for a in range(0, len(items), CHUNK)], axis=0)

    ds = make_dataset(
        lazy(videos, (n_frames, out_h, out_w), rep_trial),
        lazy(per_trial, (n_units, n_frames), keep, "responses", n_units),
        stim_labels[stim_index],
        split_of_stim,
        stimulus=stim_labels,
        unit=np.asarray(unit_ids),
        unit_coords={"cortex_x": xyz[:, 0], "cortex_y": xyz[:, 1], "cortex_z": xyz[:, 2], "area": ["V1"] * n_units},
        stimulus_dims=("stimulus", "frame", "y", "x"),
        attrs={
            "modality": "calcium",
            "sampling_rate": FRAME_RATE,
            "frame_rate": FRAME_RATE,
            "source": f"Sensorium 2023 {root.name}",
            "license": "CC BY-NC 4.0 (Sensorium 2023 data)",
            "citation": "Turishcheva et al. (2023) The Dynamic Sensorium competition for predicting large-scale mouse visual cortex activity from videos",
            "response_window": "deconvolved activity per 30 Hz frame; NaN after a trial ends",
            "missing_responses": "padding",
        },
        validate_result=False,
    )
    ds["behavior"] = (("trial", "time", "behavior_variable"),
                      lazy(per_trial, (2, n_frames), keep, "behavior", 2).transpose(0, 2, 1))
    ds["pupil_center"] = (("trial", "time", "axis"), lazy(per_trial, (2, n_frames), keep, "pupil_center", 2).transpose(0, 2, 1))
    ds = ds.assign_coords(behavior_variable=["pupil_dilation", "running_speed"], axis=["x", "y"])
    ds["tier"] = ("trial", tiers[keep])
    ds["source_trial"] = ("trial", keep.astype(np.int64))
    return ds
