"""Rendering of parametric movie stimuli: drifting (compound) gratings, random-dot motion and
self-motion through a dot cloud (with its optic flow).

Used by the simulators, the in-silico tuning experiments and by readers that regenerate a
recording's stimuli from the parameters stored with it. Coordinates: the image centre is the
origin, x to the right, y *upwards* (visual angle convention), so a direction of 90 degrees is
upward motion. Output is float32 in [0, 1], shaped (n, frames, height, width).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def _grid(size: int, field_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in degrees (x right, y up) and the circular aperture mask."""
    c = (np.arange(size) - (size - 1) / 2.0) * (field_deg / size)
    x = c[None, :]
    y = -c[:, None]
    inside = (x**2 + y**2) <= (field_deg / 2.0) ** 2
    return x, y, inside


def drifting_gratings(
    direction,
    wavelength,
    temporal_frequency,
    phase,
    contrast,
    *,
    size: int | tuple[int, int] = 32,
    n_frames: int = 12,
    aperture: bool = False,
) -> np.ndarray:
    r"""Sums of drifting sinusoidal gratings, in pixels and frames: the one grating renderer.

    .. math::

        L(x, y, t) = \tfrac12 + \tfrac12 \sum_k c_k \cos\big(2\pi [(x\cos\theta_k +
        y\sin\theta_k) / \lambda_k - \omega_k t] + \phi_k\big)

    with ``x``, ``y`` in pixels from the image centre (x right, y up) and ``t`` the frame index, so
    component ``k`` drifts towards :math:`\theta_k` (0 = rightward, 90 = upward) at
    :math:`\omega_k \lambda_k` pixels per frame. Values are clipped to [0, 1] (component contrasts
    summing to more than 1 saturate, as on a monitor). A recording described in degrees and hertz
    converts first: :math:`\lambda` = pixels per degree / cycles per degree, :math:`\omega` = Hz /
    frame rate.

    Parameters
    ----------
    direction : (n, k) or (n,) degrees
    wavelength : (n, k) or (n,) pixels per cycle
    temporal_frequency : (n, k) or (n,) cycles per frame
    phase : (n, k) or (n,) degrees, at the centre in frame 0
    contrast : (n, k) or (n,) Michelson contrast; NaN (or 0) components are absent
    size : pixels per side, or (height, width)
    n_frames : frames per movie
    aperture : outside the circle inscribed in the frame, a mid-gray screen

    Returns
    -------
    float32 array, shape (n, n_frames, height, width)
    """
    theta, lam, tf, ph, con = (np.asarray(a, dtype=np.float64).reshape(len(np.atleast_1d(a)), -1) for a in
                               (direction, wavelength, temporal_frequency, phase, contrast))
    height, width = (size, size) if np.isscalar(size) else tuple(size)
    y = -(np.arange(height, dtype=np.float64) - (height - 1) / 2.0)[:, None]
    x = (np.arange(width, dtype=np.float64) - (width - 1) / 2.0)[None, :]
    inside = (x**2 + y**2) <= (min(height, width) / 2.0) ** 2
    t = np.arange(n_frames)[:, None, None]
    present = np.isfinite(con) & (con > 0)
    out = np.full((theta.shape[0], n_frames, height, width), 0.5, dtype=np.float32)
    for i in range(theta.shape[0]):
        lum = np.zeros((n_frames, height, width))
        for k in np.flatnonzero(present[i]):
            th = np.deg2rad(theta[i, k])
            u = x * np.cos(th) + y * np.sin(th)
            lum += con[i, k] * np.cos(2 * np.pi * (u / lam[i, k] - tf[i, k] * t) + np.deg2rad(ph[i, k]))
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


def self_motion_parameters(n: int, rng: np.random.Generator, *, max_speed: float = 0.3, max_elevation: float = 30.0,
                           max_rotation: float = 1.5) -> dict[str, np.ndarray]:
    """``n`` random self-motions: headings uniform in azimuth (all 360 degrees) and in elevation
    (within +-``max_elevation``), speeds uniform in 0.1-1 of ``max_speed``, yaw and pitch uniform."""
    return {"heading_azimuth": rng.uniform(0, 360, n), "heading_elevation": rng.uniform(-max_elevation, max_elevation, n),
            "speed": rng.uniform(0.1, 1.0, n) * max_speed, "yaw": rng.uniform(-max_rotation, max_rotation, n),
            "pitch": rng.uniform(-max_rotation, max_rotation, n)}


def heading_vectors(azimuth, elevation) -> np.ndarray:
    """Unit heading vectors (n, 3) in camera coordinates (x right, y up, z forward) from degrees."""
    az, el = np.deg2rad(np.asarray(azimuth, float)), np.deg2rad(np.asarray(elevation, float))
    return np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], axis=-1)


def _rotations(yaw, pitch) -> np.ndarray:
    """Per-movie camera rotation matrices (n, 3, 3): yaw about the y axis, then pitch about x."""
    a, b = np.deg2rad(np.asarray(yaw, float)), np.deg2rad(np.asarray(pitch, float))
    ry = np.zeros((len(a), 3, 3))
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = np.cos(a), np.sin(a), 1, -np.sin(a), np.cos(a)
    rx = np.zeros((len(b), 3, 3))
    rx[:, 0, 0], rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = 1, np.cos(b), np.sin(b), -np.sin(b), np.cos(b)
    return ry @ rx


def _step(points: np.ndarray, translation: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Points (n, dots, 3) in camera coordinates after the camera moves by ``translation`` (n, 3) and
    turns by ``rotation`` (n, 3, 3): the world moves the other way."""
    return np.einsum("nij,ndi->ndj", rotation, points - translation[:, None, :])


def render_self_motion(params: dict[str, np.ndarray], *, size: int = 32, n_frames: int = 8, n_dots: int = 400,
                       fov: float = 90.0, depth=(2.0, 8.0), flow_grid: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Movies (n, frame, y, x) in [0, 1] and optic-flow fields (n, flow_grid, flow_grid, 2) of the
    self-motions ``params`` (see :func:`self_motion_parameters`)."""
    n = len(params["speed"])
    rng = np.random.default_rng([seed, 29])
    near, far = float(depth[0]), float(depth[1])
    focal = 1.0 / np.tan(np.deg2rad(fov) / 2)  # image coordinates in [-1, 1] span the field of view
    half_width = far / focal * 1.2  # the cloud is a little wider than the view at its far end
    translation = heading_vectors(params["heading_azimuth"], params["heading_elevation"]) * np.asarray(params["speed"])[:, None]
    rotation = _rotations(params["yaw"], params["pitch"])
    points = np.stack([rng.uniform(-half_width, half_width, (n, n_dots)), rng.uniform(-half_width, half_width, (n, n_dots)),
                       rng.uniform(near, far, (n, n_dots))], axis=-1)
    low, span = np.array([-half_width, -half_width, near]), np.array([2 * half_width, 2 * half_width, far - near])
    movies = np.empty((n, n_frames, size, size), dtype=np.float32)
    rows = np.arange(n)[:, None]
    for t in range(n_frames):
        x = focal * points[..., 0] / points[..., 2]
        y = focal * points[..., 1] / points[..., 2]
        col = (x + 1) / 2 * size - 0.5
        row = (1 - y) / 2 * size - 0.5
        frame = np.zeros((n, size + 2, size + 2))
        c0, r0 = np.floor(col), np.floor(row)
        fc, fr = col - c0, row - r0
        inside = (c0 >= -1) & (c0 < size) & (r0 >= -1) & (r0 < size)
        for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
            rr = np.where(inside, r0 + dr + 1, 0).astype(int)
            cc = np.where(inside, c0 + dc + 1, 0).astype(int)
            np.add.at(frame, (np.broadcast_to(rows, rr.shape), rr, cc), np.where(inside, w, 0.0))
        frame = gaussian_filter(frame[:, 1:-1, 1:-1], (0, 0.5, 0.5))
        movies[:, t] = 0.05 + 0.9 * np.clip(frame * 1.5, 0, 1)
        points = _step(points, translation, rotation)
        points = low + np.mod(points - low, span)  # the cloud wraps around: constant density
    # Flow truth: grid positions at the cloud's mean depth, moved by one frame of the same update.
    g = (np.arange(flow_grid) + 0.5) / flow_grid * 2 - 1
    gx, gy = np.meshgrid(g, -g)  # rows from the top of the image (y up in camera coordinates)
    z = (near + far) / 2
    grid = np.broadcast_to(np.stack([gx * z / focal, gy * z / focal, np.full_like(gx, z)], -1).reshape(1, -1, 3),
                           (n, flow_grid * flow_grid, 3))
    moved = _step(grid, translation, rotation)
    dx = (focal * moved[..., 0] / moved[..., 2] - focal * grid[..., 0] / grid[..., 2]) * size / 2
    dy = -(focal * moved[..., 1] / moved[..., 2] - focal * grid[..., 1] / grid[..., 2]) * size / 2  # image rows go down
    flow = np.stack([dx, dy], -1).reshape(n, flow_grid, flow_grid, 2).astype(np.float32)
    return movies, flow
