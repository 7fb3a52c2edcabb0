"""In-silico V1: simple and complex cells with known Gabor receptive fields.

- **Simple cell**: linear Gabor filter, then rectification,
  ``g = max(0, L / sd(L) - threshold)`` where ``L = <filter, stimulus>`` and ``threshold`` is in
  units of the drive's standard deviation over natural images (negative = the cell fires to most
  images, as a cell with spontaneous activity does; positive = sparse).
- **Complex cell**: Gabor energy, ``g = sqrt(L_even^2 + L_odd^2)`` over a quadrature pair
  (Adelson & Bergen 1985), phase-invariant.

The nonlinear output is scaled so that each unit's mean rate over natural images equals its
``mean_rate`` (spikes per trial), drawn log-normally around the population mean so that
signal-to-noise varies across units. Trials are Poisson draws from the rates, so the noise variance
of a unit on a stimulus equals its rate there: noise ceilings are known exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.filters import gabor_pair
from cortexkit.image import LUMINANCE, to_grayscale
from cortexkit.simulate.stimuli import natural_image_crops, replace_copies



class V1SimulationConfig(BaseModel):
    """Settings of :func:`simulate_v1`; every field has a default that makes the demo dataset."""

    model_config = ConfigDict(extra="forbid")

    n_train: int = Field(2000, ge=1, description="training stimuli, shown once each")
    n_test: int = Field(100, ge=1, description="test stimuli, shown n_repeats times each")
    n_repeats: int = Field(10, ge=2, description="repeats of each test stimulus")
    n_simple: int = Field(50, ge=0, description="simple cells")
    n_complex: int = Field(50, ge=0, description="complex cells")
    size: int = Field(32, ge=8, description="stimulus side in pixels")
    color: bool = Field(False, description="RGB stimuli (units see their luminance)")
    mean_rate: float = Field(5.0, gt=0, description="population median of the mean spike count per trial")
    rate_spread: float = Field(0.5, ge=0, description="SD of log mean rate across units")
    threshold: float = Field(-0.5, description="simple-cell rectification threshold, in drive SDs")
    wavelength_range: tuple[float, float] = Field((4.0, 16.0), description="preferred wavelengths, pixels/cycle")
    sigma_per_wavelength: float = Field(0.5, gt=0, description="envelope SD as a fraction of the wavelength")
    eye_shift: float = Field(0.0, ge=0, le=8, description="SD of each trial's gaze offset in pixels: the image lands "
                                                           "shifted by it on the receptive fields; `pupil_center` "
                                                           "records it (0: fixation is perfect)")
    behavior_gain: float = Field(0.0, ge=0, le=2, description="SD across units of the log gain per SD of a behavioural "
                                                               "variable (running speed) drawn per trial; `behavior` "
                                                               "records it (0: no modulation)")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")

    @model_validator(mode="after")
    def _some_cells(self):
        if self.n_simple + self.n_complex == 0:
            raise ValueError("n_simple + n_complex must be at least 1")
        return self


@dataclass
class V1Population:
    """A population of model V1 units: parameters, filters and response calibration.

    Build one with :meth:`sample`; compute noise-free rates with :meth:`rates` and Poisson trials
    with :meth:`spikes`. ``filters`` has shape (2, n_units, height, width): the unit's own-phase
    Gabor and its quadrature partner (only the first is used by simple cells).
    """

    params: pd.DataFrame
    filters: np.ndarray
    drive_scale: np.ndarray
    rate_scale: np.ndarray
    threshold: float

    @classmethod
    def sample(
        cls,
        n_simple: int,
        n_complex: int,
        size: int,
        *,
        seed: int = 0,
        mean_rate: float = 5.0,
        rate_spread: float = 0.5,
        threshold: float = -0.5,
        wavelength_range: tuple[float, float] = (4.0, 16.0),
        sigma_per_wavelength: float = 0.5,
        n_calibration: int = 1000,
    ) -> "V1Population":
        """Draw units at random and calibrate their output on natural images.

        Positions are uniform in the central region where the envelope (2 SD) fits in the image;
        orientations and phases uniform; wavelengths log-uniform in ``wavelength_range``.
        """
        rng = np.random.default_rng(seed)
        n = n_simple + n_complex
        lam = np.exp(rng.uniform(*np.log(wavelength_range), size=n))
        sigma = sigma_per_wavelength * lam
        margin = np.minimum(2.0 * sigma, size / 2.0 - 1.0)
        params = pd.DataFrame(
            {
                "cell_type": ["simple"] * n_simple + ["complex"] * n_complex,
                "rf_x": rng.uniform(margin, size - 1 - margin),
                "rf_y": rng.uniform(margin, size - 1 - margin),
                "orientation": rng.uniform(0.0, 180.0, size=n),
                "wavelength": lam,
                "sigma": sigma,
                "phase": rng.uniform(0.0, 360.0, size=n),
                "mean_rate": mean_rate * np.exp(rate_spread * rng.standard_normal(n)),
            }
        )
        filters = np.stack(
            [
                gabor_pair(
                    (size, size), p.rf_x, p.rf_y, np.deg2rad(p.orientation), p.wavelength, p.sigma,
                    np.deg2rad(p.phase),
                )
                for p in params.itertuples()
            ],
            axis=1,
        )
        pop = cls(params, filters, np.ones(n, np.float32), np.ones(n, np.float32), threshold)
        # Calibrate on crops that are independent of any experiment's stimuli (own seed).
        calib = natural_image_crops(n_calibration, size, seed=seed + 7919)
        drive = pop._drive(calib)
        pop.drive_scale = drive[0].std(axis=0).astype(np.float32) + 1e-8
        g = pop._nonlinearity(drive)
        pop.rate_scale = (params["mean_rate"].to_numpy() / (g.mean(axis=0) + 1e-8)).astype(np.float32)
        return pop

    @property
    def n_units(self) -> int:
        return len(self.params)

    def _drive(self, stimuli: np.ndarray) -> np.ndarray:
        """Linear drive of both filters, shape (2, n_stimuli, n_units), in raw units."""
        s = to_grayscale(stimuli)  # colour stimuli are seen through their luminance
        flat = s.reshape(len(s), -1)
        return np.einsum("sp,fup->fsu", flat, self.filters.reshape(2, self.n_units, -1))

    def _nonlinearity(self, drive: np.ndarray) -> np.ndarray:
        z = drive / self.drive_scale
        simple = (self.params["cell_type"] == "simple").to_numpy()
        return np.where(
            simple,
            np.maximum(z[0] - self.threshold, 0.0),
            np.sqrt(z[0] ** 2 + z[1] ** 2),
        )

    def rates(self, stimuli: np.ndarray) -> np.ndarray:
        """Noise-free mean spike counts, shape (n_stimuli, n_units)."""
        return (self._nonlinearity(self._drive(stimuli)) * self.rate_scale).astype(np.float32)

    def spikes(self, rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Poisson spike counts for the given rates (same shape)."""
        return rng.poisson(rates).astype(np.float32)

    def true_filters(self, color: bool) -> np.ndarray:
        """Own-phase filters in stimulus layout: (n_units, y, x) or (n_units, y, x, 3)."""
        f = self.filters[0]
        return f[..., None] * LUMINANCE if color else f


def simulate_v1(config: V1SimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate a V1 recording to natural-image crops, in the cortexkit data model.

    Training stimuli are shown once, test stimuli ``n_repeats`` times. Besides the data-model
    variables the dataset holds the ground truth:

    - ``true_rate`` (stimulus, unit): the noise-free mean spike count of each unit per stimulus;
    - ``true_filter`` (unit, y, x[, channel]): each unit's own-phase Gabor filter;
    - ``true_filter_quadrature``: its quadrature partner (complex cells use both);
    - unit coordinates ``cell_type``, ``rf_x``, ``rf_y``, ``orientation`` (deg), ``wavelength``
      (px/cycle), ``sigma`` (px), ``phase`` (deg), ``mean_rate``;
    - with ``eye_shift``: ``pupil_center`` (trial, axis), each trial's gaze offset in pixels (x, y),
      the image landing shifted by it; with ``behavior_gain``: ``behavior`` (trial,
      behavior_variable), a running speed in SDs, and the unit coordinate ``behavior_coefficient``
      (rates scale by ``exp(coefficient * speed)``); with either, ``true_trial_rate`` (trial, unit).
      ``true_rate`` stays the rate at zero offset and mean speed.

    Parameters
    ----------
    config : V1SimulationConfig, optional
    **overrides
        Fields of the config to change, e.g. ``simulate_v1(n_train=500, seed=3)``.
    """
    cfg = with_overrides(V1SimulationConfig, config, overrides)
    pop = V1Population.sample(
        cfg.n_simple,
        cfg.n_complex,
        cfg.size,
        seed=cfg.seed,
        mean_rate=cfg.mean_rate,
        rate_spread=cfg.rate_spread,
        threshold=cfg.threshold,
        wavelength_range=cfg.wavelength_range,
        sigma_per_wavelength=cfg.sigma_per_wavelength,
    )
    n_stim = cfg.n_train + cfg.n_test
    stimuli = natural_image_crops(n_stim, cfg.size, color=cfg.color, seed=cfg.seed)
    # a test crop that (nearly) copies a training crop would leak: drawn again
    stimuli[cfg.n_train:] = replace_copies(stimuli[:cfg.n_train], stimuli[cfg.n_train:],
                                           lambda k, s: natural_image_crops(k, cfg.size, color=cfg.color, seed=s),
                                           seed=cfg.seed)
    rates = pop.rates(stimuli)
    split = np.array(["train"] * cfg.n_train + ["test"] * cfg.n_test)
    stimulus_id = np.concatenate(
        [np.arange(cfg.n_train), np.repeat(np.arange(cfg.n_train, n_stim), cfg.n_repeats)]
    )
    rng = np.random.default_rng([cfg.seed, 1])
    trial_rates, extras, unit_extras = _trial_conditions(cfg, pop, stimuli, rates, stimulus_id)
    responses = pop.spikes(trial_rates, rng)
    p = pop.params
    ds = make_dataset(
        stimuli,
        responses,
        stimulus_id,
        split,
        unit_coords={
            "area": np.array(["V1"] * pop.n_units),
            **{c: (p[c].to_numpy() if c == "cell_type" else p[c].to_numpy(np.float32)) for c in p.columns},
            **unit_extras,
        },
        attrs={
            "modality": "spikes",
            "source": "cortexkit.simulate.v1",
            "license": "CC0-1.0",
            "description": "in-silico V1 simple/complex cells, Poisson spike counts per trial",
            "simulation": json.dumps(cfg.model_dump(mode="json")),
        },
    )
    spatial = ("y", "x", "channel") if cfg.color else ("y", "x")
    ds["true_rate"] = (("stimulus", "unit"), rates)
    ds["true_filter"] = (("unit",) + spatial, pop.true_filters(cfg.color))
    quad = pop.filters[1][..., None] * LUMINANCE if cfg.color else pop.filters[1]
    ds["true_filter_quadrature"] = (("unit",) + spatial, quad)
    for name, value in extras.items():
        ds[name] = value
    return ds


def _shifted(stimuli: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each image translated by its (dx, dy) pixels (bilinear, edges extended): what lands on the
    receptive fields when the gaze is off by that much."""
    from scipy.ndimage import shift

    out = np.empty_like(stimuli)
    for i, (dx, dy) in enumerate(shifts):
        offset = (dy, dx) + (0,) * (stimuli.ndim - 3)  # rows, columns[, channel]
        out[i] = shift(stimuli[i], offset, order=1, mode="nearest")
    return out


def _trial_conditions(cfg: V1SimulationConfig, pop: V1Population, stimuli, rates, stimulus_id):
    """Per-trial rates under gaze shifts (``eye_shift``) and behavioural gain (``behavior_gain``),
    with what the store records of them: ``pupil_center`` (trial, axis: the offset in pixels, x
    then y), ``behavior`` (trial, behavior_variable), the per-trial truth ``true_trial_rate`` and
    each unit's ``behavior_coefficient`` (log gain per SD). Without either, the stimulus rates and
    nothing more (and no random draw, so the default simulation is unchanged)."""
    trial_rates, extras, unit_extras = rates[stimulus_id], {}, {}
    if cfg.eye_shift > 0:
        shifts = np.random.default_rng([cfg.seed, 2]).normal(0.0, cfg.eye_shift, (len(stimulus_id), 2))
        trial_rates = np.concatenate([pop.rates(_shifted(stimuli[stimulus_id[a:a + 512]], shifts[a:a + 512]))
                                      for a in range(0, len(stimulus_id), 512)])
        extras["pupil_center"] = (("trial", "axis"), shifts.astype(np.float32))
    if cfg.behavior_gain > 0:
        rng = np.random.default_rng([cfg.seed, 3])
        coefficient = rng.normal(0.0, cfg.behavior_gain, pop.n_units)
        running = rng.standard_normal(len(stimulus_id))
        trial_rates = (trial_rates * np.exp(running[:, None] * coefficient[None])).astype(np.float32)
        extras["behavior"] = (("trial", "behavior_variable"), running[:, None].astype(np.float32))
        unit_extras["behavior_coefficient"] = coefficient.astype(np.float32)
    if extras:
        extras["true_trial_rate"] = (("trial", "unit"), trial_rates.astype(np.float32))
    return trial_rates, extras, unit_extras
