"""Gabor functions (2D, and 3D spatio-temporal), shared by the simulated V1 and MT units and the
Gabor and motion-energy feature pyramids.

Coordinates are pixels with x to the right and y downwards; the pixel grid has centres at
0 .. size-1. Orientation ``theta`` is the direction in which the carrier varies (0 = vertical
bars), measured from the x axis towards y.
"""

from __future__ import annotations

import numpy as np


def gabor(
    shape: tuple[int, int],
    x0: float,
    y0: float,
    theta: float,
    wavelength: float,
    sigma: float,
    phase: float = 0.0,
    aspect: float = 1.0,
) -> np.ndarray:
    r"""A zero-mean, unit-norm Gabor function sampled on a pixel grid.

    .. math::

        g(x, y) = \exp\left(-\frac{u^2 + \gamma^2 v^2}{2\sigma^2}\right)
                  \cos\left(\frac{2\pi u}{\lambda} + \phi\right) - c\,\mathrm{env}(x, y)

    with :math:`u = (x-x_0)\cos\theta + (y-y_0)\sin\theta`,
    :math:`v = -(x-x_0)\sin\theta + (y-y_0)\cos\theta`, and :math:`c` chosen so that
    :math:`\sum g = 0` (even Gabors have a DC component otherwise); then scaled to unit L2 norm.

    Parameters
    ----------
    shape : (height, width)
    x0, y0 : centre in pixels
    theta : orientation in radians
    wavelength : pixels per cycle of the carrier
    sigma : standard deviation of the Gaussian envelope along the carrier, in pixels
    phase : carrier phase in radians (0 = even/cosine, pi/2 = odd/sine)
    aspect : envelope aspect ratio gamma (1 = circular)
    """
    yy, xx = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    dx, dy = xx - x0, yy - y0
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    env = np.exp(-(u**2 + (aspect * v) ** 2) / (2.0 * sigma**2))
    g = env * np.cos(2.0 * np.pi * u / wavelength + phase)
    g = g - env * (g.sum() / env.sum())
    norm = np.linalg.norm(g)
    return (g / norm if norm > 0 else g).astype(np.float32)


def gabor_pair(shape, x0, y0, theta, wavelength, sigma, phase=0.0, aspect=1.0):
    """The Gabor at ``phase`` and its quadrature partner at ``phase + pi/2``.

    Parameters
    ----------
    shape : (int, int)
        (h, w) in pixels.
    x0, y0 : float
        Centre in pixels (x right, y down).
    theta, wavelength, sigma, phase, aspect :
        Orientation (radians), carrier wavelength and envelope SD (pixels), phase (radians) and
        the envelope's aspect ratio, as :func:`gabor`.

    Returns
    -------
    array, shape (2, h, w)
    """
    return np.stack(
        [
            gabor(shape, x0, y0, theta, wavelength, sigma, phase, aspect),
            gabor(shape, x0, y0, theta, wavelength, sigma, phase + np.pi / 2, aspect),
        ]
    )


def curvature(size: int, theta: float, curvature: float, frequency: float = 1.2, sigma_x: float = 1.0,
              sigma_y: float = 5.0, gamma: float = 1.0) -> np.ndarray:
    r"""A curved ("banana") Gabor-like filter, the first layer of the expansion model.

    With :math:`u = x\cos\theta + y\sin\theta`, :math:`v = -x\sin\theta + y\cos\theta` and
    the bent coordinate :math:`k = u + c v^2`:

    .. math::

        f = \gamma\, e^{-\frac{f_0^2}{2}\left((k/\sigma_x)^2 + (v/\sigma_y)^2\right)}
            \left(\cos(f_0 k) - e^{-\sigma_x/2}\right), \quad \text{minus its mean}

    (Kazemian et al.'s curvature filters: ``sigma_y`` is their Gaussian size times ``sigma_y``).
    ``size`` x ``size`` pixels centred on the middle pixel.
    """
    half = size // 2
    coords = np.arange(-half, size - half, dtype=np.float64)
    yy, xx = np.meshgrid(-coords, coords, indexing="ij")
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    k = u + curvature * v**2
    envelope = np.exp(-(frequency**2) / 2 * ((k / sigma_x) ** 2 + (v / sigma_y) ** 2))
    f = gamma * envelope * (np.cos(frequency * k) - np.exp(-sigma_x / 2))
    return (f - f.mean()).astype(np.float32)


def gabor3d(size: int, frames: int, theta: float, wavelength: float, sigma: float, tf: float, t_sigma: float,
            phase: float) -> np.ndarray:
    """One spatio-temporal Gabor, zero-mean and unit-norm.

    Parameters
    ----------
    size, frames : int
        Spatial side and temporal extent.
    theta : float
        Direction of motion (radians) in the visual convention of :mod:`cortexkit.render` (x right,
        y up: pi/2 is upward motion on the screen, i.e. towards row 0).
    wavelength, sigma : float
        Carrier wavelength and Gaussian envelope SD, in pixels.
    tf, t_sigma : float
        Temporal frequency (cycles/frame) and temporal envelope SD (frames).
    phase : float
        Carrier phase (radians).

    Returns
    -------
    array, shape (frames, size, size), float32
    """
    half, thalf = size // 2, frames // 2
    t, rows, x = np.meshgrid(np.arange(frames) - thalf, np.arange(size) - half, np.arange(size) - half, indexing="ij")
    y = -rows
    u = x * np.cos(theta) + y * np.sin(theta)
    env = np.exp(-(x**2 + y**2) / (2 * sigma**2) - t**2 / (2 * t_sigma**2))
    g = env * np.cos(2 * np.pi * (u / wavelength - tf * t) + phase)
    g -= env * (g.sum() / env.sum())
    return (g / np.linalg.norm(g)).astype(np.float32)
