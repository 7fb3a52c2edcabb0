"""Receptive-field maps measured on a model: the response gradient at a mean image, and sparse noise."""

from __future__ import annotations

import numpy as np
import torch

from cortexkit.errors import ConfigError


def gradient_maps(model, units, *, mean: float = 0.5, noise: float = 0.05, n_samples: int = 16,
                  seed: int = 0) -> np.ndarray:
    """Each unit's linear receptive field around a mean image: the gradient of its response with
    respect to the pixels, averaged over ``n_samples`` images of mean grey plus Gaussian noise of SD
    ``noise`` (the average smooths over the kinks of rectifying models). Shape (unit, y, x[, channel])."""
    if n_samples < 1 or noise < 0 or not 0 < mean < 1:
        raise ConfigError(f"gradient_maps needs n_samples >= 1, noise >= 0, mean in (0, 1); got {n_samples}, {noise}, {mean}")
    model.require_gradients("gradient receptive-field maps")
    index = torch.as_tensor(model.unit_index(units))
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros((len(index),) + tuple(model.image_shape))
    for _ in range(n_samples):
        x = (mean + noise * torch.randn(tuple(model.image_shape), generator=gen)).clamp(0, 1)
        x = x.expand((len(index),) + x.shape).clone().requires_grad_(True)
        response = model(x)[torch.arange(len(index)), index]
        (grad,) = torch.autograd.grad(response.sum(), x)
        total += grad
    return (total / n_samples).numpy()


def sparse_noise_maps(model, units, *, size: int = 2, contrast: float = 0.5, mean: float = 0.5) -> np.ndarray:
    """Responses to single bright (ON) and dark (OFF) squares of ``size`` pixels on mean grey at
    every position, minus the response to the blank grey screen, as in a sparse-noise mapping
    experiment (held still over a video model's frames): shape (unit, 2, y', x') with ON first, on the grid of square positions (one per
    ``size`` pixels). A simple cell's ON and OFF maps have opposite signs where its subregions are;
    a complex cell answers both, so ``|ON| + |OFF|`` locates every kind of cell."""
    height, width = model.frame_shape[:2]
    if size < 1 or size > min(height, width) or not 0 < contrast <= 0.5:
        raise ConfigError(f"sparse noise needs 1 <= size <= {min(height, width)} and contrast in (0, 0.5]")
    index = model.unit_index(units)
    ys, xs = np.arange(0, height - size + 1, size), np.arange(0, width - size + 1, size)
    frames = []
    for sign in (1.0, -1.0):
        for y in ys:
            for x in xs:
                img = np.full(model.frame_shape, mean, dtype=np.float32)
                img[y:y + size, x:x + size] = mean + sign * contrast
                frames.append(img)
    frames.append(np.full(model.frame_shape, mean, dtype=np.float32))
    pred = model.predict(model.static(np.stack(frames)))[:, index]  # (2 * positions + blank, unit)
    maps = pred[:-1] - pred[-1]
    return maps.T.reshape(len(index), 2, len(ys), len(xs))
