"""A recording whose variance splits over two feature spaces in known proportions, to check
variance partitioning (``cortexkit analyze partition``).

Each grey-level image has two halves. The left half shows ``n_latents`` smooth patterns weighted
by latents ``u_left``, the right half another set weighted by ``u_right``, and both halves show
further patterns driven by one set of shared latents ``s`` (each half its own patterns of the same
``s``). All latents are independent standard normals. Unit ``i`` responds with
``u_left @ a_i + u_right @ b_i + s @ c_i`` plus Gaussian trial noise, its weights drawn so that the
three parts carry fractions ``(p_left, p_right, p_shared)`` of its signal variance (Dirichlet(1, 1,
1) per unit). So the pixels of the left half (feature space ``left``: ``pixels`` with ``region:
[0, 1, 0, 0.5]``) explain ``p_left + p_shared``, the right half's ``p_right + p_shared``, and only
``p_shared`` is common to both: the set-theoretic unique and shared variance are known per unit.

The truth is kept per unit as ``true_partition.left``, ``true_partition.right`` and
``true_partition.left&right``: the R² that a perfect model of that part reaches on the
repeat-averaged test responses, i.e. the fraction divided by ``1 + noise² / n_repeats``.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field
from scipy.ndimage import gaussian_filter

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset


class PartitionSimulationConfig(BaseModel):
    """Settings of :func:`simulate_partition` (``cortexkit data simulate --population partition``)."""

    model_config = ConfigDict(extra="forbid")

    n_train: int = Field(1200, ge=20)
    n_test: int = Field(150, ge=5)
    n_repeats: int = Field(4, ge=2, description="trials per test image (training images are shown once)")
    n_units: int = Field(40, ge=1)
    size: int = Field(16, ge=8, le=128, description="image side in pixels (even)")
    n_latents: int = Field(6, ge=1, le=32, description="latents of each part (left, right, shared)")
    noise: float = Field(0.5, ge=0, description="trial noise sd (the signal has variance 1)")
    mix: list[float] | None = Field(None, min_length=3, max_length=3,
                                    description="the same (left, right, shared) fractions for every unit, summing to 1 "
                                                "(default: drawn per unit from Dirichlet(1, 1, 1))")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")


REGIONS = {"left": [0.0, 1.0, 0.0, 0.5], "right": [0.0, 1.0, 0.5, 1.0]}


def _patterns(n: int, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """``n`` smooth orthonormal patterns (n, pixels) of an image part of ``shape``."""
    raw = np.stack([gaussian_filter(rng.standard_normal(shape), 1.0).ravel() for _ in range(n)])
    q, _ = np.linalg.qr(raw.T)
    return q.T[:n]


def simulate_partition(config: PartitionSimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate units whose signal splits over the two halves of the image in known proportions (see
    the module docstring), in the cortexkit data model."""
    cfg = with_overrides(PartitionSimulationConfig, config, overrides)
    if cfg.size % 2:
        raise ValueError(f"size must be even (two halves), got {cfg.size}")
    rng = np.random.default_rng([cfg.seed, 11])
    half = (cfg.size, cfg.size // 2)
    k = cfg.n_latents
    p_left, p_right, s_left, s_right = (_patterns(k, half, rng) for _ in range(4))
    n = cfg.n_train + cfg.n_test
    u_left, u_right, shared = (rng.standard_normal((n, k)) for _ in range(3))
    # Patterns are unit-norm over a half's pixels: 2k latents give each pixel a variance of about
    # 2k / pixels; scale it to an sd of 0.14 around grey, so clipping to [0, 1] is rare.
    gain = 0.14 / np.sqrt(2 * k / (cfg.size * cfg.size / 2))
    left = u_left @ p_left + shared @ s_left
    right = u_right @ p_right + shared @ s_right
    images = 0.5 + gain * np.concatenate([left.reshape(n, *half), right.reshape(n, *half)], axis=2)
    images += 0.005 * rng.standard_normal(images.shape)
    images = np.clip(images, 0, 1).astype(np.float32)

    fractions = rng.dirichlet(np.ones(3), cfg.n_units)  # (unit, [left, right, shared])
    if cfg.mix is not None:
        mix = np.asarray(cfg.mix, dtype=float)
        if (mix < 0).any() or abs(mix.sum() - 1) > 1e-6:
            raise ValueError(f"mix must be 3 non-negative fractions summing to 1, got {cfg.mix}")
        fractions = np.tile(mix, (cfg.n_units, 1))
    weights = [rng.standard_normal((k, cfg.n_units)) for _ in range(3)]
    weights = [w / np.linalg.norm(w, axis=0) * np.sqrt(fractions[:, j]) for j, w in enumerate(weights)]
    signal = u_left @ weights[0] + u_right @ weights[1] + shared @ weights[2]
    order = rng.permutation(n)  # test images anywhere in the sequence
    split = np.where(np.isin(np.arange(n), order[: cfg.n_test]), "test", "train")
    reps = np.where(split == "test", cfg.n_repeats, 1)
    stimulus_id = np.repeat(np.arange(n), reps)
    responses = signal[stimulus_id] + cfg.noise * rng.standard_normal((len(stimulus_id), cfg.n_units))
    scale = 1.0 / (1.0 + cfg.noise**2 / cfg.n_repeats)
    truth = {"true_partition.left": fractions[:, 0] * scale, "true_partition.right": fractions[:, 1] * scale,
             "true_partition.left&right": fractions[:, 2] * scale}
    ds = make_dataset(
        images, responses.astype(np.float32), stimulus_id, split, unit_coords=truth,
        attrs={"modality": "spikes", "source": "cortexkit.simulate.partition", "license": "CC0-1.0",
               "description": "in-silico units whose variance splits over the two image halves in known proportions",
               "feature_regions": json.dumps(REGIONS),
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds["true_signal"] = (("stimulus", "unit"), signal.astype(np.float32))
    return ds
