"""Allen Brain Observatory Visual Coding Neuropixels: natural scenes from a session NWB file.

Layout (``session_<id>.nwb`` of the Visual Coding Neuropixels release, read with pynwb)::

    units                        spike_times per unit; peak_channel_id, quality, snr, isi_violations,
                                 amplitude_cutoff, presence_ratio, ... columns
    electrodes                   one row per channel (id = channel id), ``location`` = structure
                                 acronym, ``valid_data``
    intervals/natural_scenes_presentations
                                 start_time, stop_time, frame (image index 0-117, -1 = blank)

The scene images are not stored in session files; pass them with ``images`` (a ``.npy`` array of
the 118 templates, (118, height, width) uint8 as the AllenSDK provides them), or they are taken
from ``stimulus/templates/natural_scenes`` when the file has them. Responses are spike counts in
``[start + latency, start + latency + window)`` of each presentation (``window`` defaults to the
presentation's duration), or counts per ``time_bin`` within it. Units pass AllenSDK's default
quality filter unless ``qc=none`` (checked against the file listing of DANDI:000021, the release's
NWB files: ``frame`` is float64 with -1 for the blank, metric columns on ``units``). Every
presentation is a trial; the blank is one stimulus (mid-gray). Scenes are repeated ~50 times, so
the seeded split over scenes leaves repeats in the test set for noise ceilings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit.data.model import make_dataset
from cortexkit.data.readers import _nwb
from cortexkit.data.readers._common import load_npy, random_split, to_unit_range
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.image import resize, to_grayscale

TABLE = "natural_scenes_presentations"
# AllenSDK's EcephysSession returns only units passing these quality metrics by default
# (amplitude_cutoff_maximum, presence_ratio_minimum, isi_violations_maximum, bounds included, as in
# its `units[(amplitude_cutoff <= max) & ...]`); counting the others too would make cortexkit's unit
# count differ from what every AllenSDK user sees. A missing metric (NaN) fails, as it does there.
ALLENSDK_QC = {"isi_violations": ("<=", 0.5), "amplitude_cutoff": ("<=", 0.1), "presence_ratio": (">=", 0.9)}
QC_FILTERS = ("allensdk", "none")


def _allensdk_filter(units, valid_channels):
    keep = np.ones(len(units), bool)
    for col, (op, limit) in ALLENSDK_QC.items():
        if col in units:
            values = units[col].to_numpy(dtype=float)
            keep &= values <= limit if op == "<=" else values >= limit
    if valid_channels is not None:
        keep &= np.array([bool(valid_channels.get(c, True)) for c in units["peak_channel_id"]])
    return units[keep]


def _templates(nwb, images: str | None, path: Path) -> np.ndarray:
    if images:
        return load_npy(Path(images), "scene templates")
    templates = getattr(nwb, "stimulus_template", {}) or {}
    if "natural_scenes" in templates:  # an ImageSeries of (n, height, width) templates
        return np.asarray(templates["natural_scenes"].data)
    raise ConfigError(f"{path}: the file has no natural-scene templates; pass them with --option images=templates.npy")


@register(
    "allen_nwb",
    summary="Allen Brain Observatory Visual Coding Neuropixels session NWB: natural-scene spike counts (pynwb)",
    example="cortexkit data convert session_715093703.nwb allen_715093703.zarr --format allen_nwb --option images=natural_scenes.npy --option areas=VISp,VISl",
    options={
        "images": ".npy of the 118 scene templates (n, height, width), if the NWB lacks them",
        "areas": "comma-separated structure acronyms to keep, e.g. VISp,VISl (default: all)",
        "quality": "keep units whose 'quality' column equals this (default good; 'all' keeps every unit)",
        "qc": "allensdk (default): AllenSDK's default unit filter (isi_violations <= 0.5, amplitude_cutoff <= 0.1, presence_ratio >= 0.9, peak channel valid); none: no filter",
        "latency": "seconds from presentation onset to the response window (default 0)",
        "window": "response window in seconds (default: each presentation's duration)",
        "time_bin": "count spikes in bins of this many seconds within the window (default: one count)",
        "image_size": "resize scenes to this height in pixels, keeping the aspect (default 64)",
        "test_fraction": "fraction of scenes held out (default 0.2)",
        "seed": "seed of the split (default 0)",
    },
)
def read_allen_nwb(
    path,
    *,
    images: str | None = None,
    areas: str | None = None,
    quality: str = "good",
    qc: str = "allensdk",
    latency: float = 0.0,
    window: float | None = None,
    time_bin: float | None = None,
    image_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """Read natural-scene presentations of an Allen Visual Coding Neuropixels session (NWB) as spike-count trials."""
    path = Path(path)
    if qc not in QC_FILTERS:
        raise ConfigError(f"qc must be one of {listed(sorted(QC_FILTERS))}, got {qc!r}")
    # Read lazily: the units' scalar columns and one unit's spike times at a time, never the ragged
    # spike_amplitudes / waveform_mean columns (GBs in a real session).
    with _nwb.open_nwb(path) as nwb:
        if nwb.units is None:
            raise DataError("has no units table", source=str(path), variable="units")
        if TABLE not in (nwb.intervals or {}):
            raise DataError(f"has no intervals/{TABLE} (has {sorted(nwb.intervals or {})}); for other NWB files "
                            "use --format nwb", source=str(path))
        _, pres = _nwb.interval_table(nwb, TABLE, path)
        if "frame" not in pres:
            raise DataError("lacks column 'frame'", source=str(path), variable=f"intervals/{TABLE}")
        units = _nwb.unit_table(nwb, path)
        units["row"] = np.arange(len(units))
        if qc == "allensdk":
            valid = None
            if nwb.electrodes is not None and "valid_data" in nwb.electrodes.colnames and "peak_channel_id" in units:
                valid = pd.Series(np.asarray(nwb.electrodes["valid_data"].data[:]).astype(bool),
                                  index=np.asarray(nwb.electrodes.id.data[:]))
            units = _allensdk_filter(units, valid)
        if quality != "all" and "quality" in units:
            units = units[units["quality"].astype(str) == quality]
        if areas:
            wanted = [a.strip() for a in str(areas).split(",")]
            units = units[units["area"].isin(wanted)]
        if units.empty:
            raise DataError(f"no units left after the filters (areas={areas}, quality={quality})", source=str(path), variable="units")
        templates = _templates(nwb, images, path)
        frame = pres["frame"].to_numpy().astype(int)
        if frame.max() >= len(templates):
            raise DataError(f"presentations show image {frame.max()} but there are {len(templates)} templates",
                            source=str(images or path), variable="frame")
        start = pres["start_time"].to_numpy() + float(latency)
        length = pres["stop_time"].to_numpy() - pres["start_time"].to_numpy() if window is None else np.full(len(pres), float(window))
        if time_bin:
            n_bins = int(round(np.median(length) / float(time_bin)))
            edges = start[:, None] + np.arange(n_bins + 1)[None, :] * float(time_bin)
        else:
            edges = np.stack([start, start + length], axis=1)
        responses = _nwb.count_spikes(nwb.units, units["row"].to_numpy(), edges)
    units = units.drop(columns="row")
    if not time_bin:
        responses = responses[..., 0]

    shown = np.unique(frame)
    labels = np.array(["blank" if f < 0 else f"scene{f:03d}" for f in shown])
    imgs = to_unit_range(np.asarray(templates))
    if imgs.ndim == 4:  # colour templates: the recordings' scenes were shown in grayscale
        imgs = to_grayscale(imgs[..., :3])
    h = int(image_size)
    w = int(round(h * imgs.shape[2] / imgs.shape[1]))
    small = resize(imgs, (h, w))
    stimuli = np.stack([np.full((h, w), 0.5, np.float32) if f < 0 else small[f] for f in shown])
    split = np.full(len(shown), "train", dtype="<U5")
    scenes = shown >= 0
    split[scenes] = random_split(int(scenes.sum()), test_fraction, seed)

    unit_coords = {"area": units["area"].to_numpy().astype(str)}
    for col in units.columns:
        if col != "area":
            values = units[col].to_numpy()
            unit_coords[str(col)] = values.astype(str) if values.dtype.kind == "O" else values
    attrs = {
        "modality": "spikes",
        "source": f"Allen Brain Observatory Visual Coding Neuropixels {path.name}",
        "license": "Allen Institute terms of use",
        "citation": "Siegle et al. (2021) Survey of spiking in the mouse visual system reveals functional hierarchy. Nature 592:86-92",
        "response_window": f"spike counts from onset + {latency:g} s over " + (f"{window:g} s" if window else "the presentation"),
        "split_seed": seed,
    }
    if time_bin:
        attrs["sampling_rate"] = 1.0 / float(time_bin)
    lookup = {f: lab for f, lab in zip(shown, labels)}
    return make_dataset(
        stimuli,
        responses,
        np.array([lookup[f] for f in frame]),
        split,
        stimulus=labels,
        unit=units.index.to_numpy(),
        unit_coords=unit_coords,
        attrs=attrs,
        validate_result=False,
    )
