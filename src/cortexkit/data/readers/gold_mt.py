"""Gold-lab macaque MT units to random-dot motion (direction tuning and a coherence task).

Layout (``zpsheldon/Visual_Cortical_Neuron_Analysis``, ``HW5_data.mat``), MATLAB v5::

    cellArrayOfCells (5 cells x 2 experiments): struct {header, ecodes{name, data}, spikes}
      experiment 1: direction tuning (8 directions, 99.9% coherence)
      experiment 2: coherence task (2 directions x 7 coherences, monkey's choice correct or not)
      ecodes.name = dot_on, dot_off, dot_dir, dot_coh, task, correct; times in ms
      spikes: per trial, spike times in ms on the same clock as dot_on / dot_off

Each trial's dots are rendered with :func:`cortexkit.render.random_dots` (signal dots at the
trial's coherence move in its direction at ``speed`` deg/s, the rest are replotted; motion lasts
the trial's dots window, blank after). With ``stimulus_per="trial"`` (default) every trial has its
own movie; with ``"condition"`` trials of one direction x coherence share one movie, so repeats
exist. Responses are firing rates in the dots window (spikes/s), or spike counts.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as dsa
import numpy as np

from cortexkit.data.model import make_dataset
from cortexkit.data.readers._common import check_positive, load_mat_variable, random_split
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.render import random_dots

EXPERIMENTS = {"tuning": 0, "coherence": 1}
ECODES = ("dot_on", "dot_off", "dot_dir", "dot_coh", "task", "correct")
RENDER_CHUNK = 32


def _file(path: Path) -> Path:
    return path / "HW5_data.mat" if path.is_dir() else path


def cell_count(path: str | Path) -> int:
    """Number of cells in a gold_mt file (or the folder holding ``HW5_data.mat``)."""
    return int(_cells(_file(Path(path))).shape[0])


def _cells(path: Path):
    cells = load_mat_variable(path, "cellArrayOfCells")
    if cells.ndim != 2 or cells.shape[1] != 2:
        raise DataError(f"expected (cells, 2 experiments), got shape {cells.shape}", source=str(path), variable="cellArrayOfCells")
    return cells


def _cell(path: Path, cell: int, experiment: str):
    cells = _cells(path)
    if not 0 <= cell < cells.shape[0]:
        raise ConfigError(f"{path}: cell must be 0..{cells.shape[0] - 1}, got {cell}")
    return cells[cell, EXPERIMENTS[experiment]]


@register(
    "gold_mt",
    summary="macaque MT (Gold lab): random-dot direction tuning and coherence task, MATLAB v5, rendered to dot movies",
    example="cortexkit data convert ../shared/data/gold_mt_dots/HW5_data.mat mt_cell0.zarr --format gold_mt --option cell=0 --option experiment=coherence",
    options={
        "cell": "cell index 0-4 (default 0)",
        "experiment": "'tuning' or 'coherence' (default tuning)",
        "stimulus_per": "'trial' (a movie per trial, default) or 'condition' (shared per direction x coherence)",
        "measure": "'rate' (spikes/s in the dots window, default) or 'count'",
        "size": "pixels per side (default 32)",
        "field_deg": "aperture diameter in degrees (default 5; not recorded in the file)",
        "speed": "dot speed in deg/s (default 5; not recorded in the file)",
        "frame_rate": "frames per second (default 30)",
        "test_fraction": "fraction of stimuli held out (default 0.2)",
        "seed": "seed of the dots and the split (default 0)",
    },
)
def read_gold_mt(
    path,
    *,
    cell: int = 0,
    experiment: str = "tuning",
    stimulus_per: str = "trial",
    measure: str = "rate",
    size: int = 32,
    field_deg: float = 5.0,
    speed: float = 5.0,
    frame_rate: float = 30.0,
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """Read one MT cell's random-dot experiment, rendering each trial's (or condition's) kinematogram."""
    path = _file(Path(path))
    check_positive(size=size, frame_rate=frame_rate)
    if experiment not in EXPERIMENTS:
        raise ConfigError(f"experiment must be one of {listed(EXPERIMENTS)}, got {experiment!r}")
    if stimulus_per not in ("trial", "condition") or measure not in ("rate", "count"):
        raise ConfigError("stimulus_per must be 'trial' or 'condition' and measure 'rate' or 'count'")
    rec = _cell(path, int(cell), experiment)
    for field in ("ecodes", "spikes", "header"):
        if not hasattr(rec, field):
            raise DataError(f"cell {cell} {experiment}: missing field {field!r}", source=str(path))
    names = [str(n) for n in np.atleast_1d(rec.ecodes.name)]
    missing = [n for n in ECODES if n not in names]
    if missing:
        raise DataError(f"cell {cell} {experiment}: ecodes lack {listed(missing)}", source=str(path), variable="ecodes.name")
    table = np.atleast_2d(np.asarray(rec.ecodes.data, dtype=np.float64))
    codes = {n: table[:, names.index(n)] for n in ECODES}
    spikes = list(np.atleast_1d(rec.spikes))
    n_trials = table.shape[0]
    if len(spikes) != n_trials:
        raise DataError(f"{len(spikes)} spike trains for {n_trials} trials", source=str(path), variable="spikes")
    on, off = codes["dot_on"], codes["dot_off"]
    window_s = (off - on) / 1000.0
    if (window_s <= 0).any() or not np.isfinite(window_s).all():
        raise DataError("dot_off must follow dot_on on every trial", source=str(path), variable="ecodes.data")
    counts = np.array([((np.atleast_1d(s) >= a) & (np.atleast_1d(s) < b)).sum() for s, a, b in zip(spikes, on, off)])
    responses = (counts / window_s if measure == "rate" else counts).astype(np.float32)[:, None]
    direction = np.mod(codes["dot_dir"], 360.0) + 0.0  # -0 -> 0
    coherence = codes["dot_coh"] / 100.0

    if stimulus_per == "trial":
        labels = np.array([f"t{i:04d}" for i in range(n_trials)])
        stim_of_trial = labels
        stim_dir, stim_coh, stim_dur = direction, coherence, window_s
    else:
        cond = np.array([f"dir{d:g}_coh{c * 100:g}" for d, c in zip(direction, coherence)])
        labels, first = np.unique(cond, return_index=True)
        labels, first = labels[np.argsort(first)], np.sort(first)
        stim_of_trial = cond
        stim_dir, stim_coh = direction[first], coherence[first]
        stim_dur = np.array([window_s[cond == c].max() for c in labels])
    n_stim = len(labels)
    total = float(np.ceil(stim_dur.max() * frame_rate) / frame_rate)
    n_frames = int(round(total * frame_rate))

    def render(a, b):
        movies = random_dots(stim_dir[a:b], stim_coh[a:b], duration=stim_dur[a:b], total_duration=total,
                             size=size, field_deg=field_deg, speed=speed, frame_rate=frame_rate, seed=seed + a)
        return movies

    # Each chunk seeds its movies from (seed + chunk start, index), so chunks render independently.
    blocks = [
        dsa.from_delayed(dask.delayed(render)(a, min(n_stim, a + RENDER_CHUNK)),
                         shape=(min(n_stim, a + RENDER_CHUNK) - a, n_frames, size, size), dtype=np.float32)
        for a in range(0, n_stim, RENDER_CHUNK)
    ]
    header = rec.header
    unit = Path(str(getattr(header, "filename", f"cell{cell}"))).stem.removesuffix("_MT")
    ds = make_dataset(
        dsa.concatenate(blocks, axis=0),
        responses,
        stim_of_trial,
        random_split(n_stim, test_fraction, seed),
        stimulus=labels,
        unit=[unit],
        unit_coords={"area": ["MT"]},
        stimulus_coords={"direction": stim_dir.astype(np.float32), "coherence": stim_coh.astype(np.float32),
                         "motion_duration": stim_dur.astype(np.float32)},
        stimulus_dims=("stimulus", "frame", "y", "x"),
        attrs={
            "modality": "spikes",
            "source": f"gold_mt cell {cell} {experiment} ({unit})",
            "license": "none stated upstream (Gold lab data shared for teaching)",
            "frame_rate": frame_rate,
            "field_deg": field_deg,
            "dot_speed_deg_s": speed,
            "response_window": f"{'firing rate (spikes/s)' if measure == 'rate' else 'spike count'} between dot_on and dot_off",
            "split_seed": seed,
        },
        validate_result=False,
    )
    ds["trial_direction"] = ("trial", direction.astype(np.float32))
    ds["trial_coherence"] = ("trial", coherence.astype(np.float32))
    ds["correct"] = ("trial", codes["correct"].astype(np.float32))
    return ds
