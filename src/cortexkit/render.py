"""Rendering of parametric movie stimuli: drifting (compound) gratings and random-dot motion.

Used by the simulator and by readers that regenerate a recording's stimuli from the parameters
stored with it. Coordinates: the image centre is the origin, x to the right, y *upwards* (visual
angle convention), so a direction of 90 degrees is upward motion; frame ``t`` shows time
``t / frame_rate`` seconds after onset. Output is float32 in [0, 1], shaped (n, frames, size, size).
"""

from __future__ import annotations

import numpy as np


def _grid(size: int, field_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in degrees (x right, y up) and the circular aperture mask."""
    c = (np.arange(size) - (size - 1) / 2.0) * (field_deg / size)
    x = c[None, :]
    y = -c[:, None]
    inside = (x**2 + y**2) <= (field_deg / 2.0) ** 2
    return x, y, inside


def drifting_gratings(
    orientation: np.ndarray,
    spatial_frequency: np.ndarray,
    temporal_frequency: np.ndarray,
    phase: np.ndarray,
    contrast: np.ndarray,
    *,
    size: int = 32,
    field_deg: float = 1.0,
    frame_rate: float = 40.0,
    duration: float = 1.0,
    aperture: bool = True,
) -> np.ndarray:
    r"""Sums of drifting sinusoidal gratings seen through a circular aperture.

    .. math::

        L(x, y, t) = \tfrac12 + \tfrac12 \sum_k c_k \cos\big(2\pi [f_k (x\cos\theta_k +
        y\sin\theta_k) - \omega_k t] + \phi_k\big)

    Component ``k`` drifts in direction :math:`\theta_k` at :math:`\omega_k / f_k` deg/s. Outside
    the aperture (diameter ``field_deg``, the full image width) the screen is mid-gray. Values are
    clipped to [0, 1] (component contrasts summing to more than 1 would saturate, as on a monitor).

    Parameters
    ----------
    orientation : (n, k) drift direction of each component, degrees
    spatial_frequency : (n, k) cycles per degree
    temporal_frequency : (n, k) Hz
    phase : (n, k) degrees, at the centre at t = 0
    contrast : (n, k) Michelson contrast of each component; NaN components are absent
    size : pixels per side
    field_deg : degrees of visual angle spanned by the image
    frame_rate : frames per second
    duration : seconds
    """
    params = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in
              (orientation, spatial_frequency, temporal_frequency, phase, contrast)]
    ori, sf, tf, ph, con = params
    present = np.isfinite(con) & (con > 0)
    n_frames = int(round(duration * frame_rate))
    x, y, inside = _grid(size, field_deg)
    t = np.arange(n_frames)[:, None, None] / frame_rate
    out = np.full((ori.shape[0], n_frames, size, size), 0.5, dtype=np.float32)
    for i in range(ori.shape[0]):
        lum = np.zeros((n_frames, size, size))
        for k in np.flatnonzero(present[i]):
            th = np.deg2rad(ori[i, k])
            u = x * np.cos(th) + y * np.sin(th)
            lum += con[i, k] * np.cos(2 * np.pi * (sf[i, k] * u - tf[i, k] * t) + np.deg2rad(ph[i, k]))
        frame = 0.5 + 0.5 * lum
        out[i] = np.where(inside, frame, 0.5) if aperture else frame
    return np.clip(out, 0.0, 1.0)


def random_dots(
    direction: np.ndarray,
    coherence: np.ndarray,
    *,
    duration: np.ndarray | float = 1.0,
    total_duration: float | None = None,
    size: int = 32,
    field_deg: float = 5.0,
    speed: float = 5.0,
    density: float = 2.0,
    frame_rate: float = 30.0,
    dot_size: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Random-dot kinematograms, one per row of ``direction`` / ``coherence``.

    On every frame a fraction ``coherence`` of the dots (chosen anew each frame) steps
    ``speed / frame_rate`` degrees in ``direction``; the others are replotted at random positions,
    as in the classic MT motion-discrimination stimulus (Britten et al. 1992). Dots leaving the
    circular aperture wrap around. White dots on black inside the aperture, black outside.

    Parameters
    ----------
    direction : (n,) degrees (0 = rightward, 90 = upward)
    coherence : (n,) fraction of signal dots, 0-1
    duration : seconds of motion, per movie or one value; later frames are blank
    total_duration : seconds rendered (default: the longest ``duration``)
    density : dots per square degree (2 keeps a 32 px rendering sparse; lab RDKs use ~17 dots/deg²/s)
    speed : degrees per second of the signal dots
    seed : base seed; movie ``i`` uses ``(seed, i)`` so each movie is reproducible on its own
    """
    direction = np.atleast_1d(np.asarray(direction, dtype=np.float64))
    coherence = np.atleast_1d(np.asarray(coherence, dtype=np.float64))
    durations = np.broadcast_to(np.asarray(duration, dtype=np.float64), direction.shape)
    total = float(total_duration if total_duration is not None else durations.max())
    n_frames = int(round(total * frame_rate))
    radius = field_deg / 2.0
    n_dots = max(1, int(round(density * np.pi * radius**2)))
    step = speed / frame_rate
    x, y, inside = _grid(size, field_deg)
    px = field_deg / size
    out = np.zeros((len(direction), n_frames, size, size), dtype=np.float32)
    for i in range(len(direction)):
        rng = np.random.default_rng([seed, i])
        pos = _uniform_disc(rng, n_dots, radius)
        th = np.deg2rad(direction[i])
        move = np.array([np.cos(th), np.sin(th)]) * step
        for f in range(min(n_frames, int(round(durations[i] * frame_rate)))):
            if f > 0:
                signal = rng.random(n_dots) < coherence[i]
                pos[signal] += move
                pos[~signal] = _uniform_disc(rng, int((~signal).sum()), radius)
                out_of = (pos**2).sum(1) > radius**2
                pos[out_of] = -pos[out_of]  # wrap: re-enter on the opposite side of the aperture
            frame = np.zeros((size, size), dtype=np.float32)
            cols = np.clip(((pos[:, 0] + radius) / px).astype(int), 0, size - 1)
            rows = np.clip(((radius - pos[:, 1]) / px).astype(int), 0, size - 1)
            frame[rows, cols] = 1.0
            if dot_size > 1:
                from scipy.ndimage import maximum_filter

                frame = maximum_filter(frame, size=int(dot_size))
            out[i, f] = np.where(inside, frame, 0.0)
    return out


def _uniform_disc(rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
    r = radius * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
