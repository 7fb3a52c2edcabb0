"""Tuning curves and receptive fields of every unit of a fitted run, from gratings and sparse noise."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cortexkit._atomic import check_output, claim_output
from cortexkit.evaluation import save_arrays, write_table
from cortexkit.insilico import (
    direction_tuning,
    gradient_maps,
    grating_tuning,
    sparse_noise_maps,
)
from cortexkit.pipelines.insilico.models import response_model


def tuning(run_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None,
           rf_size: int = 2, device: str = "cpu") -> pd.DataFrame:
    """Tuning and receptive fields of every unit of a run's model.

    Image models: orientation tuning (gratings over orientation, wavelength and phase); video models:
    direction tuning (drifting gratings over direction, wavelength and temporal frequency). Both:
    sparse-noise RF maps (squares of ``rf_size`` pixels, held still in videos) and, for differentiable
    image models, the response gradient at mean grey. Writes ``OUT/tuning.csv`` (every response),
    ``OUT/preferred.csv`` (per unit: the preference, its selectivity, and the RF centre ``rf_x``,
    ``rf_y`` in pixels where the sparse-noise response is strongest) and ``OUT/receptive_fields.npz``
    (``sparse_noise`` (unit, ON/OFF, y, x) and ``gradient``); returns the per-unit table.
    """
    out = check_output(out)
    net = response_model(run_dir, model, device)
    claim_output(out)
    responses, preferred = direction_tuning(net) if net.video else grating_tuning(net)
    everyone = range(len(net.units))
    maps = sparse_noise_maps(net, everyone, size=rf_size)
    energy = np.abs(maps).sum(axis=1).reshape(len(net.units), -1)
    peak_y, peak_x = np.unravel_index(energy.argmax(axis=1), maps.shape[2:])
    preferred["rf_x"] = peak_x * rf_size + (rf_size - 1) / 2
    preferred["rf_y"] = peak_y * rf_size + (rf_size - 1) / 2
    arrays = {"units": net.units, "sparse_noise": maps.astype(np.float32), "size": np.int64(rf_size)}
    if net.differentiable and not net.video:
        arrays["gradient"] = gradient_maps(net, everyone).astype(np.float32)
    save_arrays(arrays, out / "receptive_fields.npz")
    write_table(responses, out / "tuning.csv")
    write_table(preferred, out / "preferred.csv")
    return preferred
