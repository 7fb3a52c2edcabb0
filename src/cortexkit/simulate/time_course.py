"""Time-resolved responses with a known latency and temporal kernel per unit.

:func:`with_time_course` turns a simulated recording (any with ``true_rate``, stimulus x unit) into
post-stimulus time histograms: unit u's expected count in bin k is
``baseline + true_rate[stimulus, u] * kernel((t_k - latency_u) / width_u)`` with a gamma-shaped
kernel peaking at the unit's latency (``t_k`` the bin's centre), and each trial's counts are Poisson
draws of it. The latency of each unit is kept (``latency``, seconds, and ``latency_bin``) as ground
truth for time-resolved encoding: the stimulus explains a unit's responses best in the bin of its
latency.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cortexkit.errors import DataError


def _kernel(t: np.ndarray, latency: np.ndarray, width: np.ndarray) -> np.ndarray:
    """A gamma(3)-shaped bump rising after ``latency - 2 width`` and peaking at ``latency`` (max 1)."""
    x = (t[None, :] - latency[:, None]) / width[:, None] + 2.0  # peak of x^2 e^-x is at x = 2
    x = np.clip(x, 0.0, None)
    return (x**2 * np.exp(-x)) / (4.0 * np.exp(-2.0))


def with_time_course(ds: xr.Dataset, n_bins: int = 10, bin_width: float = 0.02, latency_range=(0.04, 0.14),
                     width: float = 0.015, baseline: float = 0.2, seed: int = 0) -> xr.Dataset:
    """``ds`` with time-resolved Poisson responses (trial, unit, time) and each unit's latency.

    Parameters
    ----------
    ds : xarray.Dataset
        A simulated recording with ``true_rate`` (stimulus, unit), e.g. from :func:`simulate_v1`.
    n_bins, bin_width :
        Bins from stimulus onset and their width in seconds (``sampling_rate`` = 1 / bin_width).
    latency_range : (float, float)
        Latencies are drawn uniformly in this range, each rounded to a bin centre.
    width : float
        Time scale of the kernel in seconds (its rise from 0 to the peak takes about 2 widths).
    baseline : float
        Expected count per bin with no stimulus drive.
    seed : int
    """
    if "true_rate" not in ds:
        raise DataError("needs the ground-truth rates (a simulated recording)", variable="true_rate")
    rng = np.random.default_rng(seed)
    n_units = ds.sizes["unit"]
    centres = (np.arange(n_bins) + 0.5) * bin_width
    lo, hi = latency_range
    candidates = np.flatnonzero((centres >= lo) & (centres <= hi))
    if candidates.size == 0:
        raise DataError(f"no bin centre lies in the latency range {latency_range}", variable="latency_range")
    latency_bin = rng.choice(candidates, n_units)
    latency = centres[latency_bin]
    shape = _kernel(centres, latency, np.full(n_units, float(width)))  # (unit, time)
    index = {s: i for i, s in enumerate(ds["stimulus"].values)}
    rate = ds["true_rate"].transpose("stimulus", "unit").values[[index[s] for s in ds["stimulus_id"].values]]
    expected = baseline + rate[:, :, None] * shape[None]
    out = ds.drop_vars("responses")
    out["responses"] = (("trial", "unit", "time"), rng.poisson(expected).astype(np.float32))
    out = out.assign_coords(time=np.round(centres - bin_width / 2, 9), latency=("unit", latency), latency_bin=("unit", latency_bin))
    out["true_time_course"] = (("unit", "time"), shape.astype(np.float32))
    out.attrs = {**ds.attrs, "sampling_rate": 1.0 / bin_width,
                 "response_window": f"spike counts in {n_bins} bins of {bin_width * 1000:g} ms from onset"}
    return out
