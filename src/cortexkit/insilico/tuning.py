"""Tuning measured on a model: responses to full-field gratings over orientation, wavelength and phase
(image models), and to drifting gratings over direction, wavelength and temporal frequency (video models)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit.errors import ConfigError
from cortexkit.simulate.stimuli import drifting_grating_grid, gratings


def default_wavelengths(frame_shape, n: int) -> tuple[float, ...]:
    """``n`` wavelengths (px/cycle) spaced evenly in log from 4 px (near the Nyquist limit) to half the
    frame's shorter side, so that the set scales with the stimulus (32 px: 4, 5.7, 8, 11.3, 16)."""
    top = max(8.0, min(frame_shape[:2]) / 2.0)
    return tuple(float(w) for w in np.round(np.geomspace(4.0, top, n), 2))


def grating_tuning(model, *, orientations=tuple(np.arange(0, 180, 15.0)), wavelengths=None,
                   phases=(0.0, 90.0, 180.0, 270.0), contrast: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responses of every unit of a :class:`ResponseModel` to gratings (any frame shape), and each
    unit's preference. ``wavelengths`` default to five from :func:`default_wavelengths`.

    Returns
    -------
    responses : DataFrame
        One row per (unit, orientation, wavelength, phase) with the predicted ``response``.
    preferred : DataFrame
        One row per unit: ``orientation`` and ``wavelength`` of the largest response (maximum over
        phases, so simple and complex cells alike), that response, and the orientation
        selectivity ``osi`` = 1 - circular variance of the orientation curve (responses above the
        curve's minimum).
    """
    height, width = model.frame_shape[:2]
    wavelengths = default_wavelengths(model.frame_shape, 5) if wavelengths is None else wavelengths
    color = len(model.frame_shape) == 3 and model.frame_shape[-1] == 3
    images, params = gratings((int(height), int(width)), orientations=orientations, wavelengths=wavelengths, phases=phases,
                              contrasts=(contrast,), color=color)
    if len(model.frame_shape) == 3 and model.frame_shape[-1] == 1:
        images = images[..., None]
    pred = model.predict(model.static(images))  # (grating, unit)
    long = pd.concat([params.reset_index(drop=True).assign(unit=u, response=pred[:, i])
                      for i, u in enumerate(model.units)], ignore_index=True)
    best_phase = long.groupby(["unit", "orientation", "wavelength"], sort=False)["response"].max().reset_index()
    rows = []
    for unit, t in best_phase.groupby("unit", sort=False):
        top = t.loc[t["response"].idxmax()]
        curve = t.groupby("orientation")["response"].max()
        w = curve.to_numpy() - curve.min()
        angles = np.deg2rad(2 * curve.index.to_numpy(float))
        osi = float(np.abs((w * np.exp(1j * angles)).sum()) / w.sum()) if w.sum() > 0 else 0.0
        rows.append({"unit": unit, "orientation": float(top["orientation"]), "wavelength": float(top["wavelength"]),
                     "response": float(top["response"]), "osi": osi})
    return long, pd.DataFrame(rows)


def direction_tuning(model, *, directions=tuple(np.arange(0, 360, 30.0)), wavelengths=None,
                     temporal_frequencies=(0.0625, 0.125, 0.25), phases=(0.0, 90.0, 180.0, 270.0),
                     contrast: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responses of every unit of a video :class:`ResponseModel` to drifting gratings
    (:func:`cortexkit.simulate.stimuli.drifting_grating_grid`: 0 deg = rightward, 90 = upward; any frame
    shape), and each unit's preference. ``wavelengths`` default to three from :func:`default_wavelengths`.

    Returns
    -------
    responses : DataFrame
        One row per (unit, direction, wavelength, temporal_frequency, phase) with the ``response``.
    preferred : DataFrame
        One row per unit: ``direction``, ``wavelength``, ``temporal_frequency`` and ``speed`` (px/frame)
        of the largest phase-averaged response, that response, the direction selectivity
        ``dsi`` = (preferred - opposite) / (preferred - minimum) of the direction curve (1: no response
        above the minimum to the opposite direction; 0: none of a preference) and ``vector_dsi``
        = 1 - circular variance over directions.
    """
    if not model.video:
        raise ConfigError("direction tuning needs a video model (stimuli with a frame axis); "
                          "use orientation tuning (grating_tuning) for image models")
    n_frames, height, width = model.image_shape[:3]
    wavelengths = default_wavelengths(model.frame_shape, 3) if wavelengths is None else wavelengths
    color = len(model.image_shape) == 4 and model.image_shape[-1] == 3
    movies, params = drifting_grating_grid((int(height), int(width)), int(n_frames), directions=directions,
                                           wavelengths=wavelengths, temporal_frequencies=temporal_frequencies,
                                           phases=phases, contrast=contrast, color=color)
    if len(model.image_shape) == 4 and model.image_shape[-1] == 1:
        movies = movies[..., None]
    pred = model.predict(movies)
    long = pd.concat([params.reset_index(drop=True).assign(unit=u, response=pred[:, i])
                      for i, u in enumerate(model.units)], ignore_index=True)
    # a drifting grating's phase only shifts when the bars pass: average it out
    mean_phase = long.groupby(["unit", "direction", "wavelength", "temporal_frequency"], sort=False)["response"].mean().reset_index()
    rows = []
    for unit, t in mean_phase.groupby("unit", sort=False):
        top = t.loc[t["response"].idxmax()]
        # the direction curve at the preferred wavelength and temporal frequency
        curve = t[(t["wavelength"] == top["wavelength"]) & (t["temporal_frequency"] == top["temporal_frequency"])]
        curve = curve.set_index("direction")["response"].sort_index()
        opposite = (float(top["direction"]) + 180.0) % 360.0
        null = float(curve.loc[opposite]) if opposite in curve.index else np.nan
        span = float(top["response"]) - float(curve.min())
        w = curve.to_numpy() - curve.min()
        angles = np.deg2rad(curve.index.to_numpy(float))
        rows.append({"unit": unit, "direction": float(top["direction"]), "wavelength": float(top["wavelength"]),
                     "temporal_frequency": float(top["temporal_frequency"]),
                     "speed": float(top["wavelength"] * top["temporal_frequency"]), "response": float(top["response"]),
                     "dsi": (float(top["response"]) - null) / span if span > 0 else 0.0,
                     "vector_dsi": float(np.abs((w * np.exp(1j * angles)).sum()) / w.sum()) if w.sum() > 0 else 0.0})
    return long, pd.DataFrame(rows)
