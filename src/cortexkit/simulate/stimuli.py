"""Stimuli for in-silico experiments: natural-image crops and sinusoidal gratings.

Natural images come from photographs bundled with scikit-image and scikit-learn, so no download is
needed. All stimuli are float32 in [0, 1], shaped ``(n, size, size)`` (grayscale) or
``(n, size, size, 3)`` (RGB).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from skimage import color as skcolor
from skimage.transform import resize

from cortexkit.data.overlap import copies_of
from cortexkit.errors import ConfigError, listed
from cortexkit.render import drifting_gratings

# Photographs of natural scenes and objects (synthetic images such as text or logos left out).
NATURAL_IMAGE_SOURCES = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "coins",
    "moon",
    "grass",
    "gravel",
    "brick",
    "clock",
    "immunohistochemistry",
    "china",
    "flower",
)
_SKLEARN_SOURCES = {"china": "china.jpg", "flower": "flower.jpg"}


@lru_cache(maxsize=None)
def source_image(name: str) -> np.ndarray:
    """One bundled photograph as float32 RGB in [0, 1], shape (height, width, 3)."""
    if name in _SKLEARN_SOURCES:
        from sklearn.datasets import load_sample_image

        img = load_sample_image(_SKLEARN_SOURCES[name])
    elif name in NATURAL_IMAGE_SOURCES:
        import skimage.data

        img = getattr(skimage.data, name)()
    else:
        raise ConfigError(f"unknown natural image source {name!r}; choose from {listed(NATURAL_IMAGE_SOURCES)}")
    img = np.asarray(img, dtype=np.float32) / 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def natural_image_crops(
    n: int,
    size: int = 32,
    *,
    color: bool = False,
    seed: int = 0,
    sources: Sequence[str] = NATURAL_IMAGE_SOURCES,
    min_crop: int | None = None,
    max_crop_fraction: float = 0.5,
) -> np.ndarray:
    """Random square crops of bundled photographs, resized to ``size`` x ``size``.

    Each crop takes a random source, a random side length between ``min_crop`` (default
    ``size``, i.e. no upsampling) and ``max_crop_fraction`` of the source's shorter side, a random
    position and a random horizontal flip, then is resized with anti-aliasing. Varying the crop
    side varies the spatial scale of the content, as a fixating animal would see.

    Parameters
    ----------
    n : int
        Number of crops.
    size : int
        Output side length in pixels.
    color : bool
        RGB output ``(n, size, size, 3)``; grayscale (luminance, Rec. 709 weights) otherwise.
    seed : int
        Seed of the random generator; the same arguments give the same crops.
    sources : sequence of str
        Names from :data:`NATURAL_IMAGE_SOURCES`.
    """
    if n < 0 or size < 4:
        raise ConfigError(f"need n >= 0 and size >= 4, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    images = [source_image(name) for name in sources]
    min_crop = size if min_crop is None else min_crop
    out = np.empty((n, size, size, 3) if color else (n, size, size), dtype=np.float32)
    for i in range(n):
        img = images[rng.integers(len(images))]
        h, w = img.shape[:2]
        hi = max(min_crop, int(min(h, w) * max_crop_fraction))
        side = int(np.exp(rng.uniform(np.log(min_crop), np.log(hi + 1e-9))))
        side = int(np.clip(side, min_crop, min(h, w)))
        y0 = rng.integers(0, h - side + 1)
        x0 = rng.integers(0, w - side + 1)
        crop = img[y0 : y0 + side, x0 : x0 + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crop = resize(crop, (size, size), anti_aliasing=True, preserve_range=True)
        if not color:
            crop = skcolor.rgb2gray(crop)
        out[i] = np.clip(crop, 0.0, 1.0)
    return out


def _centred_grid(size) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) pixel coordinates from the image centre for ``size`` = side or (height, width)."""
    height, width = (size, size) if np.isscalar(size) else tuple(size)
    return np.meshgrid(np.arange(height, dtype=np.float64) - (height - 1) / 2.0,
                       np.arange(width, dtype=np.float64) - (width - 1) / 2.0, indexing="ij")


def gratings(
    size: int | tuple[int, int] = 32,
    *,
    orientations: Sequence[float] = tuple(np.arange(0, 180, 22.5)),
    wavelengths: Sequence[float] = (4.0, 8.0, 16.0),
    phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    contrasts: Sequence[float] = (1.0,),
    color: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Full-field sinusoidal gratings on every combination of the given parameters.

    ``0.5 + 0.5 * contrast * cos(2 pi u / wavelength + phase)`` with ``u = x cos(theta) +
    y sin(theta)`` measured in pixels from the image centre (x to the right, y downwards).

    Parameters
    ----------
    size : side of square images, or (height, width)
    orientations : degrees (0 = carrier varies along x, i.e. vertical bars)
    wavelengths : pixels per cycle
    phases : degrees
    contrasts : Michelson contrast in [0, 1]

    Returns
    -------
    stimuli : float32 array, (n, height, width) or (n, height, width, 3)
    params : DataFrame with one row per stimulus: orientation, wavelength, phase, contrast
    """
    yy, xx = _centred_grid(size)
    rows, images = [], []
    for ori in orientations:
        t = np.deg2rad(ori)
        u = xx * np.cos(t) + yy * np.sin(t)
        for lam in wavelengths:
            for ph in phases:
                for c in contrasts:
                    images.append(0.5 + 0.5 * c * np.cos(2 * np.pi * u / lam + np.deg2rad(ph)))
                    rows.append({"orientation": ori, "wavelength": lam, "phase": ph, "contrast": c})
    stim = np.clip(np.stack(images), 0, 1).astype(np.float32)
    if color:
        stim = np.repeat(stim[..., None], 3, axis=-1)
    return stim, pd.DataFrame(rows)


def drifting_grating_grid(size: int | tuple[int, int] = 24, n_frames: int = 12, *, directions: Sequence[float] = tuple(np.arange(0, 360, 30.0)),
                      wavelengths: Sequence[float] = (4.0, 8.0, 12.0),
                      temporal_frequencies: Sequence[float] = (0.0625, 0.125, 0.25),
                      phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0), contrast: float = 1.0,
                      color: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """Drifting gratings (:func:`cortexkit.render.drifting_gratings`: wavelengths in pixels, temporal
    frequencies in cycles per frame, phases in degrees) on every combination of the given parameters:
    movies (n, frames, height, width[, 3]) and one row per movie (direction, wavelength,
    temporal_frequency, speed in px/frame, phase in degrees, contrast)."""
    rows = [{"direction": float(d), "wavelength": float(lam), "temporal_frequency": float(tf), "speed": float(lam * tf),
             "phase": float(ph), "contrast": float(contrast)}
            for d in directions for lam in wavelengths for tf in temporal_frequencies for ph in phases]
    table = pd.DataFrame(rows)
    stim = drifting_gratings(table["direction"], table["wavelength"], table["temporal_frequency"], table["phase"],
                             table["contrast"], size=size, n_frames=n_frames)
    return (np.repeat(stim[..., None], 3, axis=-1) if color else stim), table


def replace_copies(reference: np.ndarray, candidates: np.ndarray, draw, seed: int, *, video: bool = False,
                   max_rounds: int = 50) -> np.ndarray:
    """``candidates`` with every stimulus that copies one of ``reference``
    (:func:`cortexkit.data.overlap.copies_of`: identical, or nearly so) replaced by a fresh draw, so
    that a simulation's held-out stimuli are never (near-)copies of its training stimuli.

    ``draw(k, seed)`` returns ``k`` new stimuli; its seeds come from ``seed`` and are separate from
    the simulation's other draws, so a recording without copies is unchanged.
    """
    out = np.array(candidates, copy=True)
    for round_ in range(max_rounds):
        bad = np.flatnonzero(copies_of(reference, out, video=video))
        if not len(bad):
            return out
        out[bad] = draw(len(bad), seed + 104729 * (round_ + 1))
    raise ConfigError("could not draw held-out stimuli distinct from the training ones; use larger or more varied stimuli")
