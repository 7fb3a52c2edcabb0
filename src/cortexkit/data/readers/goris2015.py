"""Goris, Simoncelli & Movshon (2015) macaque V1/V2 units to drifting compound gratings.

Layout (``lacerbi/infbench``, ``matlab/problems/goris2015``), MATLAB v5::

    <unit>_tp.mat   S.tp.exp: aperture (size, xPos, yPos in deg), sf (cpd), and trial: per-trial
                    spikeTimes (s from onset), spikeCount, duration, and 9 components' ori (deg,
                    drift direction), tf (Hz), ph (deg), sf (cpd), con (Michelson); blank trials
                    have every component NaN
    dataList.mat    N.unitName / N.unitType (V1, V2) / N.isolation / N.comment

Each trial's movie is regenerated from its parameters with
:func:`cortexkit.render.drifting_gratings`: the image spans the aperture diameter (``size`` deg
in the file) with ``size`` pixels, ``frame_rate`` frames per second over ``duration`` seconds,
mid-gray outside the circular aperture. Trials showing the same components share a stimulus (the
blank is one stimulus shown on many trials; components of zero contrast are not shown, and their
order does not matter). Responses are spike counts over the stimulus, or,
with ``time_bin``, counts per time bin (``sampling_rate = 1 / time_bin``). The grating parameters
are kept per stimulus and component (``grating_*`` variables). The source has no train/test split:
a seeded one is drawn over the non-blank stimuli (the blank is always in train), copies of a
movie (:func:`cortexkit.data.overlap.duplicate_groups`) kept on one side.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as dsa
import numpy as np

from cortexkit.data.model import make_dataset
from cortexkit.data.overlap import duplicate_groups
from cortexkit.data.readers._common import check_positive, choose, load_mat_variable, random_split
from cortexkit.data.readers.registry import register
from cortexkit.errors import DataError
from cortexkit.render import drifting_gratings

COMPONENT_FIELDS = {"ori": "orientation", "sf": "spatial_frequency", "tf": "temporal_frequency", "ph": "phase", "con": "contrast"}
CITATION = "Goris, Simoncelli & Movshon (2015) Origin and function of tuning diversity in macaque visual cortex. Neuron 88:819-831."
RENDER_CHUNK = 64  # stimuli rendered per task


def units(path: str | Path) -> list[str]:
    """Names of the recorded units in the Goris et al. (2015) folder (one ``.mat`` file each)."""
    return sorted(p.name.removesuffix("_tp.mat") for p in Path(path).glob("*_tp.mat"))


def _field(struct, name: str, path: Path, where: str):
    if not hasattr(struct, name):
        raise DataError(f"missing field {where}.{name}", source=str(path))
    return getattr(struct, name)


def _unit_info(path: Path, unit: str) -> dict:
    info_file = path / "dataList.mat"
    if not info_file.exists():
        return {}
    n = load_mat_variable(info_file, "N")
    names = list(np.atleast_1d(n.unitName))
    if unit not in names:
        return {}
    i = names.index(unit)
    comment = np.atleast_1d(n.comment)[i]
    return {
        "area": str(np.atleast_1d(n.unitType)[i]),
        "isolation": float(np.atleast_1d(n.isolation)[i]),
        "comment": comment if isinstance(comment, str) else "",
    }


@register(
    "goris2015",
    summary="macaque V1/V2 (Goris et al. 2015): per-unit MATLAB structs of drifting compound gratings, rendered to movies",
    example="cortexkit data convert ../shared/data/goris2015_v1v2 goris_m620r35.zarr --format goris2015 --option unit=m620r35",
    options={
        "unit": "unit name, e.g. m620r35 (required when the folder has several)",
        "size": "pixels per side of the rendered movies (default 32)",
        "frame_rate": "frames per second (default 40; temporal frequencies reach ~13 Hz)",
        "duration": "seconds rendered (default 1.0, the stimulus duration)",
        "time_bin": "bin spike times into bins of this many seconds (default: one count per trial)",
        "test_fraction": "fraction of stimuli held out (default 0.2)",
        "seed": "seed of the split (default 0)",
    },
)
def read_goris2015(
    path,
    *,
    unit: str | None = None,
    size: int = 32,
    frame_rate: float = 40.0,
    duration: float = 1.0,
    time_bin: float | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """Read one unit of Goris et al. (2015): each trial's drifting-grating mixture re-rendered as a movie
    (``size`` px at ``frame_rate`` Hz), with spike counts (or ``time_bin`` counts) and the grating parameters."""
    path = Path(path)
    check_positive(size=size, frame_rate=frame_rate, duration=duration, time_bin=time_bin)
    unit = choose(units(path), unit, "unit", path, "no <unit>_tp.mat files")
    mat = path / f"{unit}_tp.mat"
    s = load_mat_variable(mat, "S")
    exp = _field(_field(s, "tp", mat, "S"), "exp", mat, "S.tp")
    trial = _field(exp, "trial", mat, "S.tp.exp")
    counts = np.asarray(_field(trial, "spikeCount", mat, "S.tp.exp.trial"), dtype=np.float64)
    n_trials = counts.size
    comps = {}
    for src_name, name in COMPONENT_FIELDS.items():
        raw = _field(trial, src_name, mat, "S.tp.exp.trial")
        try:
            arr = np.stack([np.asarray(c, dtype=np.float64) for c in np.atleast_1d(raw)], axis=1)
        except ValueError:
            raise DataError("components have different trial counts", source=str(mat), variable=f"trial.{src_name}") from None
        if arr.shape[0] != n_trials:
            raise DataError(f"has {arr.shape[0]} trials, spikeCount has {n_trials}", source=str(mat), variable=f"trial.{src_name}")
        comps[name] = arr  # (trial, component)
    spike_times = np.atleast_1d(_field(trial, "spikeTimes", mat, "S.tp.exp.trial"))
    if len(spike_times) != n_trials:
        raise DataError(f"has {len(spike_times)} trials, spikeCount has {n_trials}", source=str(mat), variable="trial.spikeTimes")
    spike_times = [np.atleast_1d(np.asarray(t, dtype=np.float64)) for t in spike_times]
    trial_dur = np.atleast_1d(np.asarray(_field(trial, "duration", mat, "S.tp.exp.trial"), dtype=np.float64))
    # spikeCount counts the spikes before the end of the trial (a few are logged just after it).
    recount = np.array([(t < d).sum() for t, d in zip(spike_times, trial_dur)]) if len(trial_dur) == n_trials else None
    if recount is None or (recount != counts).any():
        raise DataError("spikeTimes (before each trial's duration) and spikeCount disagree", source=str(mat),
                        variable="trial.spikeTimes")

    # Stimuli: unique sets of the components shown. A component with zero (or NaN) contrast is not
    # on the screen, whatever its other parameters, and the components are summed, so their order
    # does not matter: trials differing only there showed the same movie and share a stimulus (else
    # the same movie could land on both sides of the split).
    blank = ~(np.nan_to_num(comps["contrast"], nan=0.0) > 0).any(axis=1)
    table = np.stack([comps[n] for n in COMPONENT_FIELDS.values()], axis=-1).round(6)  # trial, component, field
    shown = np.nan_to_num(comps["contrast"], nan=0.0) > 0
    table = np.where(shown[..., None], table, -1.0)
    table = np.take_along_axis(table, np.lexsort(table.transpose(2, 0, 1)[::-1])[..., None], axis=1)
    key = table.reshape(len(table), -1)
    uniq, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # stimuli in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    stim_of_trial = rank[inverse.ravel()]
    rep_trial = first[order]
    labels = np.array(["blank" if blank[t] else f"s{i:04d}" for i, t in enumerate(rep_trial)])
    params = {n: comps[n][rep_trial] for n in COMPONENT_FIELDS.values()}
    field_deg = float(_field(exp, "size", mat, "S.tp.exp"))
    n_stim = len(labels)

    n_frames = int(round(duration * frame_rate))

    def render(a, b):
        # the recording's degrees and hertz in the renderer's pixels and frames (the image spans the aperture)
        orientation, sf, tf, phase, contrast = (params[n][a:b] for n in COMPONENT_FIELDS.values())
        return drifting_gratings(orientation, size / (field_deg * sf), tf / frame_rate, phase, contrast, size=size,
                                 n_frames=n_frames, aperture=True)

    blocks = [
        dsa.from_delayed(dask.delayed(render)(a, min(n_stim, a + RENDER_CHUNK)),
                         shape=(min(n_stim, a + RENDER_CHUNK) - a, n_frames, size, size), dtype=np.float32)
        for a in range(0, n_stim, RENDER_CHUNK)
    ]
    stimuli = dsa.concatenate(blocks, axis=0)

    if time_bin:
        edges = np.arange(0.0, duration + 1e-9, float(time_bin))
        responses = np.stack([np.histogram(t, edges)[0] for t in spike_times]).astype(np.float32)[:, None, :]
    else:
        responses = counts[:, None].astype(np.float32)

    split = np.full(n_stim, "train", dtype="<U5")
    real = labels != "blank"
    # Movies that render (nearly) the same (a component's frequency jittered by a few percent,
    # opposite directions aliased at the frame rate) stay on one side of the split.
    split[real] = random_split(int(real.sum()), test_fraction, seed,
                               groups=duplicate_groups(stimuli[np.flatnonzero(real)], video=True))
    info = _unit_info(path, unit)
    attrs = {
        "modality": "spikes",
        "source": f"goris2015 unit {unit}",
        "license": "GPL-3.0 (upstream repository); data reproduced with R. Goris's permission",
        "citation": CITATION,
        "field_deg": field_deg,
        "frame_rate": frame_rate,
        "rf_position_deg": [float(_field(exp, "xPos", mat, "S.tp.exp")), float(_field(exp, "yPos", mat, "S.tp.exp"))],
        "response_window": f"spike counts over {duration:g} s from stimulus onset",
        "split_seed": seed,
    }
    if time_bin:
        attrs["sampling_rate"] = 1.0 / float(time_bin)
    ds = make_dataset(
        stimuli,
        responses,
        labels[stim_of_trial],
        split,
        stimulus=labels,
        unit=[unit],
        unit_coords={"area": [info.get("area", "unknown")], "isolation": [info.get("isolation", np.nan)],
                     "comment": [info.get("comment", "")]},
        stimulus_dims=("stimulus", "frame", "y", "x"),
        attrs=attrs,
        validate_result=False,
    )
    for name, values in params.items():
        ds[f"grating_{name}"] = (("stimulus", "component"), values.astype(np.float32))
    ds["trial_number"] = ("trial", np.asarray(_field(trial, "num", mat, "S.tp.exp.trial"), dtype=np.int64))
    return ds
