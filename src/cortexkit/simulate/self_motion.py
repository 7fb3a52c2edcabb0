"""Self-motion movies (an observer moving through a cloud of dots) and MSTd-like units tuned to them.

**Movies** (rendered by :func:`cortexkit.render.render_self_motion`). A pinhole camera (field of view ``fov`` degrees) moves through a cloud of ``n_dots``
points at depths ``depth`` (near, far; the cloud wraps around so that its density stays constant).
Each movie has one self-motion, constant over its frames: a translation of ``speed`` units per frame
along the heading (azimuth: 0 = straight ahead, 90 = rightward, 180 = backward; elevation: positive
upward) and a rotation of the camera (``yaw``: positive to the right, ``pitch``: positive upward,
degrees per frame). Dots are splatted with bilinear weights and blurred slightly; frames are bright
dots on a dark ground in [0, 1].

**Optic flow.** The truth kept with each movie is its instantaneous flow field on a ``flow_grid`` x
``flow_grid`` grid of image positions (pixels per frame, x rightward, y downward as image rows),
for points at the cloud's mean depth, computed by moving such points with the same update that
renders the dots: translation makes the flow expand from the focus of expansion (the heading), and
rotation adds a depth-independent field.

**Units** (MSTd-like, Duffy & Wurtz 1991; Gu et al. 2006). Unit ``i`` prefers a heading direction
``p_i`` drawn uniformly over the sphere with tuning ``exp(kappa_i (h . p_i - 1))`` (a von Mises-Fisher
curve of the movie's heading ``h``), scaled by a monotonic speed gain ``(speed / max_speed) **
beta_i``, plus a rectified cosine tuning to the rotation's direction in the (yaw, pitch) plane of
weight ``w_i`` (some units are mostly rotation-selective, as MSTd's spiral / rotation cells).
Counts are Poisson with a mean of ``baseline + peak_rate`` times that drive.

Stimulus coordinates ``heading_azimuth``, ``heading_elevation`` (deg), ``speed`` (units per frame),
``yaw``, ``pitch`` (deg per frame); variable ``optic_flow`` (stimulus, flow_y, flow_x,
flow_component: dx, dy); unit coordinates of the tuning (``pref_azimuth``, ``pref_elevation``,
``kappa``, ``rotation_weight``); ``true_rate`` (stimulus, unit).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.render import heading_vectors, render_self_motion, self_motion_parameters

PARAMETERS = ("heading_azimuth", "heading_elevation", "speed", "yaw", "pitch")


class SelfMotionSimulationConfig(BaseModel):
    """Settings of :func:`simulate_self_motion` (``cortexkit data simulate --population self-motion``)."""

    model_config = ConfigDict(extra="forbid")

    n_train: int = Field(1000, ge=20, description="training movies (each shown once)")
    n_test: int = Field(100, ge=5, description="test movies (each shown n_repeats times)")
    n_repeats: int = Field(4, ge=2)
    n_units: int = Field(60, ge=1)
    size: int = Field(32, ge=8, le=128, description="frame side in pixels")
    n_frames: int = Field(8, ge=2, le=64)
    n_dots: int = Field(400, ge=10, le=20000)
    fov: float = Field(90.0, gt=10, lt=170, description="horizontal and vertical field of view (deg)")
    depth: list[float] = Field([2.0, 8.0], min_length=2, max_length=2, description="near and far depth of the cloud")
    max_speed: float = Field(0.3, gt=0, description="largest translation per frame (speeds are uniform in 0.1-1 of it)")
    max_elevation: float = Field(30.0, ge=0, le=90, description="headings' elevations are uniform within +-this (deg)")
    max_rotation: float = Field(1.5, ge=0, description="yaw and pitch are uniform within +-this (deg per frame)")
    flow_grid: int = Field(8, ge=2, le=32, description="the optic-flow truth's grid side")
    peak_rate: float = Field(20.0, gt=0, description="mean count of a unit's best stimulus above baseline")
    baseline: float = Field(2.0, ge=0)
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")


def simulate_self_motion(config: SelfMotionSimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate MSTd-like units seeing self-motion movies (see the module docstring), in the
    cortexkit data model."""
    cfg = with_overrides(SelfMotionSimulationConfig, config, overrides)
    rng = np.random.default_rng([cfg.seed, 31])
    n = cfg.n_train + cfg.n_test
    params = self_motion_parameters(n, rng, max_speed=cfg.max_speed, max_elevation=cfg.max_elevation,
                                    max_rotation=cfg.max_rotation)
    movies, flow = render_self_motion(params, size=cfg.size, n_frames=cfg.n_frames, n_dots=cfg.n_dots, fov=cfg.fov,
                                      depth=cfg.depth, flow_grid=cfg.flow_grid, seed=cfg.seed)
    # Units: preferred headings uniform on the sphere, von Mises-Fisher tuning, speed gain, rotation.
    pref = rng.standard_normal((cfg.n_units, 3))
    pref /= np.linalg.norm(pref, axis=1, keepdims=True)
    kappa = rng.uniform(1.5, 4.0, cfg.n_units)
    beta = rng.uniform(0.3, 1.0, cfg.n_units)
    rot_weight = rng.beta(1.0, 2.5, cfg.n_units)
    rot_pref = rng.uniform(0, 2 * np.pi, cfg.n_units)
    heading = heading_vectors(params["heading_azimuth"], params["heading_elevation"])
    translation = np.exp(kappa * (heading @ pref.T - 1)) * (params["speed"][:, None] / cfg.max_speed) ** beta
    rot = np.stack([params["yaw"], params["pitch"]], -1) / max(cfg.max_rotation, 1e-9)
    rotation = np.maximum(0, rot @ np.stack([np.cos(rot_pref), np.sin(rot_pref)]))
    drive = (1 - rot_weight) * translation + rot_weight * rotation
    rate = cfg.baseline + cfg.peak_rate * drive
    order = rng.permutation(n)
    split = np.where(np.isin(np.arange(n), order[: cfg.n_test]), "test", "train")
    reps = np.where(split == "test", cfg.n_repeats, 1)
    stimulus_id = np.repeat(np.arange(n), reps)
    counts = rng.poisson(rate[stimulus_id]).astype(np.float32)
    pref_el = np.rad2deg(np.arcsin(np.clip(pref[:, 1], -1, 1)))
    pref_az = np.rad2deg(np.arctan2(pref[:, 0], pref[:, 2])) % 360
    ds = make_dataset(
        movies, counts, stimulus_id, split,
        stimulus_coords={k: np.asarray(v, dtype=np.float64) for k, v in params.items()},
        unit_coords={"pref_azimuth": pref_az, "pref_elevation": pref_el, "kappa": kappa, "rotation_weight": rot_weight},
        attrs={"modality": "spikes", "source": "cortexkit.simulate.self_motion", "license": "CC0-1.0",
               "description": "in-silico MSTd-like units tuned to heading, speed and rotation of self-motion movies",
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds["optic_flow"] = (("stimulus", "flow_y", "flow_x", "flow_component"), flow)
    ds = ds.assign_coords(flow_component=["dx", "dy"])
    ds["true_rate"] = (("stimulus", "unit"), rate.astype(np.float32))
    return ds
