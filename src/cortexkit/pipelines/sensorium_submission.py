"""Predictions of a trained run in the Sensorium 2023 submission layout.

The competition scores predictions for the trials of its test tiers (``live_test_main``,
``final_test_main``, ``live_test_bonus``, ``final_test_bonus``), whose responses were withheld, so
they are not in a converted store: their videos, behaviour and pupil positions are read from the
mouse folder itself and prepared exactly as the run's training data (the store's frame count and
size, the config's grayscale and resizing, behaviour standardised with the store's statistics, or
left raw for a loaded ViV1T, which scales it with its own).
One parquet file per tier, named as the starter kit names it
(``predictions_file_{tier}_{track}_track.parquet.brotli``, e.g.
``predictions_file_live_test_main_main_track.parquet.brotli``; brotli-compressed): a row per trial with
``mouse`` (the folder's name), ``trial_indices`` (the trial's file number), ``prediction`` (neurons
x frames after the first ``skip`` frames, as nested lists) and ``neuron_ids``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cortexkit._atomic import atomic_path
from cortexkit.data.readers._common import load_npy
from cortexkit.data.readers.sensorium2023 import video_duration
from cortexkit.encoding.predictor.training import core_input, raw_behaviour, standardiser, trial_variable
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.image import resize

TIERS = ("live_test_main", "final_test_main", "live_test_bonus", "final_test_bonus")


def session_predictions(run, key: str, folder: str | os.PathLike, tier: str, skip: int | None = None) -> pd.DataFrame:
    """The submission rows of session ``key`` of a trained ``run`` for the ``tier`` trials of the
    Sensorium 2023 mouse ``folder``."""
    folder = Path(folder)
    if key not in run.sessions:
        raise ConfigError(f"the run has no session {key!r}; its sessions: {listed(run.sessions)}")
    sess = run.sessions[key]
    if not sess.time_resolved:
        raise ConfigError(f"session {key!r} is not time-resolved: the Sensorium 2023 submission needs per-frame predictions")
    ds = sess.dataset
    skip = run.config.skip_frames if skip is None else int(skip)
    tiers_file = folder / "meta" / "trials" / "tiers.npy"
    tiers = load_npy(tiers_file, "trial tiers").astype(str)
    trials = np.flatnonzero(tiers == tier)
    if trials.size == 0:
        raise DataError(f"no trials of tier {tier!r} (tiers here: {listed(sorted(set(tiers)))})", source=str(tiers_file))
    ids_file = folder / "meta" / "neurons" / "unit_ids.npy"
    neuron_ids = np.asarray(load_npy(ids_file, "unit ids") if ids_file.exists() else np.asarray(ds["unit"].values))
    if len(neuron_ids) != sess.n_units or not np.array_equal(neuron_ids.astype(str), np.asarray(ds["unit"].values).astype(str)):
        raise DataError(f"its neurons are not session {key!r}'s ({len(neuron_ids)} against {sess.n_units}); "
                        "is this the folder the session was converted from?", source=str(ids_file))
    n_frames, out_h, out_w = (ds.sizes[d] for d in ("frame", "y", "x"))
    steps = sess.responses.shape[2]
    # behaviour standardised as in training, with the store's statistics
    stats = {name: trial_variable(ds, name, folder) for name in ("behavior", "pupil_center")}
    def scaler(arr):  # a loaded ViV1T scales them itself, with its training statistics
        return (lambda a: np.asarray(a, np.float32)) if raw_behaviour(run.config) else standardiser(arr)

    std_behavior, std_pupil = (None if stats[n] is None else scaler(stats[n]) for n in ("behavior", "pupil_center"))
    rows = []
    device = run.device
    for t in trials:
        vfile = folder / "data" / "videos" / f"{t}.npy"
        video = load_npy(vfile, "video")
        if video.ndim != 3:
            raise DataError(f"expected (height, width, frames), got {video.shape}", source=str(vfile))
        d = video_duration(video)
        if d > min(n_frames, steps):
            raise ConfigError(f"trial {t} has {d} frames but the run was trained on {min(n_frames, steps)}; convert the "
                              f"store with --option frames={d} and train again")
        if d <= skip:
            raise DataError(f"has {d} frames, not more than the {skip} skipped", source=str(vfile))
        frames = np.moveaxis(video[..., :d], -1, 0) / 255.0
        frames = resize(frames, (out_h, out_w)) if frames.shape[1:] != (out_h, out_w) else np.clip(frames, 0, 1)
        x = core_input(torch.from_numpy(np.ascontiguousarray(frames[None], dtype=np.float32)), run.config, True)
        extras = {}
        for name, std in (("behavior", std_behavior), ("pupil_center", std_pupil)):
            if std is None:
                continue
            f = folder / "data" / name / f"{t}.npy"
            a = load_npy(f, name)
            if a.ndim != 2 or a.shape[1] < d:
                raise DataError(f"expected (variables, frames >= {d}), got {a.shape}", source=str(f))
            extras[name] = torch.from_numpy(std(a[:, :d].T[None])).to(device)
        with torch.no_grad():
            pred = run.model(x.to(device), key, time_resolved=True, **extras).float().cpu().numpy()[0]
        rows.append({"mouse": folder.name, "trial_indices": int(t), "prediction": pred[:, skip:d].tolist(),
                     "neuron_ids": neuron_ids.astype(np.uint32)})
    return pd.DataFrame(rows)


def write_submission(run_dir: str | os.PathLike, folders: dict[str, str], out: str | os.PathLike, *,
                     tier: str = "live_test_main", skip: int | None = None, log=print) -> Path:
    """Write ``OUT/predictions_file_{tier}_{track}_track.parquet.brotli`` for the sessions of a trained run,
    each predicted for the ``tier`` trials of its mouse folder (``{session key: folder}``)."""
    from cortexkit.pipelines.predictor import load_trained

    if tier not in TIERS and tier != "oracle":
        raise ConfigError(f"tier must be one of {listed(TIERS)} (or oracle, to compare with the scored test trials), got {tier!r}")
    if not folders:
        raise ConfigError("name the mouse folder of each session: KEY=FOLDER")
    run = load_trained(run_dir)
    frames = []
    for key, folder in folders.items():
        frame = session_predictions(run, key, folder, tier, skip)
        log(f"{key}: {len(frame)} {tier} trials of {Path(folder).name}")
        frames.append(frame)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    track = tier.rsplit("_", 1)[1] if tier in TIERS else None  # the starter kit repeats the track in the name
    path = out / (f"predictions_file_{tier}_{track}_track.parquet.brotli" if track else f"predictions_file_{tier}.parquet.brotli")
    with atomic_path(path) as tmp:
        pd.concat(frames, ignore_index=True).to_parquet(tmp, compression="brotli", engine="pyarrow", index=False)
    return path
