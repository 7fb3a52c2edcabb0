"""Tuning measured on a model: responses to full-field gratings over orientation, wavelength and phase."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit.errors import ConfigError
from cortexkit.simulate.stimuli import gratings


def grating_tuning(model, *, orientations=tuple(np.arange(0, 180, 15.0)), wavelengths=(4.0, 5.7, 8.0, 11.3, 16.0),
                   phases=(0.0, 90.0, 180.0, 270.0), contrast: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responses of every unit of a :class:`ResponseModel` to gratings, and each unit's preference.

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
    height, width = model.image_shape[:2]
    if height != width:
        raise ConfigError(f"grating tuning needs square images; the model takes {height} x {width}")
    color = len(model.image_shape) == 3 and model.image_shape[-1] == 3
    images, params = gratings(int(height), orientations=orientations, wavelengths=wavelengths, phases=phases,
                              contrasts=(contrast,), color=color)
    if len(model.image_shape) == 3 and model.image_shape[-1] == 1:
        images = images[..., None]
    pred = model.predict(images)  # (grating, unit)
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
