"""Most exciting inputs (MEIs): per unit, the image that maximises the model's predicted response
under a contrast budget, by gradient ascent (Walker et al. 2019; Bashivan et al. 2019), and the
most exciting images of a pool.

The image is ``mean + delta``. Each step: a random shift of the image (jitter, so that the optimum
does not exploit single-pixel aliasing), the gradient of the unit's response, smoothed by a
Gaussian (preconditioning towards low spatial frequencies), a step along the normalised gradient,
then projection onto the budget (the RMS contrast of ``delta`` at most ``contrast``) and the
stimulus range [0, 1]. All units are optimised together, one image each, in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cortexkit._progress import track
from cortexkit.errors import ConfigError


@dataclass
class MEIResult:
    """Most exciting inputs of some units."""

    units: np.ndarray  # unit names
    images: np.ndarray  # (unit, y, x[, channel]) in [0, 1]
    responses: np.ndarray  # (unit,) predicted response of each unit to its MEI
    history: np.ndarray  # (step, unit) predicted response during the ascent


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    half = max(1, int(np.ceil(3 * sigma)))
    x = torch.arange(-half, half + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def blur_gradient(g: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (n, y, x[, c]) over y and x."""
    if sigma <= 0:
        return g
    k = _gaussian_kernel(sigma).to(g)
    color = g.ndim == 4
    x = g.movedim(-1, 1) if color else g[:, None]
    c = x.shape[1]
    pad = len(k) // 2
    x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return x.movedim(1, -1) if color else x[:, 0]


def project_to_budget(delta: torch.Tensor, mean: float, budget: float) -> torch.Tensor:
    """Onto RMS(delta) <= budget per image, then into [0, 1] - mean."""
    dims = tuple(range(1, delta.ndim))
    rms = delta.pow(2).mean(dims, keepdim=True).sqrt()
    delta = delta * torch.clamp(budget / (rms + 1e-12), max=1.0)
    return delta.clamp(-mean, 1 - mean)


def most_exciting_inputs(model, units, *, steps: int = 200, step_size: float = 0.1, contrast: float = 0.2,
                         mean: float = 0.5, blur: float = 0.5, jitter: int = 0, seed: int = 0,
                         least: bool = False) -> MEIResult:
    """Gradient-ascent MEIs of ``units`` (names or output indices) of a :class:`ResponseModel`
    (with ``least``, gradient descent: the least exciting, most suppressive inputs).

    Parameters
    ----------
    steps, step_size :
        Ascent steps, and each step's size as a fraction of the budget (the RMS change per step).
    contrast :
        The budget: root-mean-square deviation of the image from ``mean`` (natural images at 0.2-0.3).
    mean :
        The background grey the image starts from (plus a small seeded noise).
    blur :
        SD in pixels of the Gaussian smoothing of each gradient (0 for none).
    jitter :
        Largest random shift in pixels of the image at each step (0 for none). 1-2 px keeps deep
        CNN features from high-frequency solutions; it blurs the phase of fine Gabor-like optima
        (on simulated V1 simple cells the MEI's correlation with the true filter drops from 0.88
        to 0.84 with 1 px), hence off by default.
    seed :
        Seed of the start noise and the jitter.
    least :
        Minimise the response instead.
    """
    if steps < 1 or step_size <= 0 or not 0 < contrast <= 0.5 or not 0 < mean < 1 or jitter < 0 or blur < 0:
        raise ConfigError(f"MEI settings out of range: steps={steps} (>= 1), step_size={step_size} (> 0), "
                          f"contrast={contrast} (in (0, 0.5]), mean={mean} (in (0, 1)), jitter={jitter}, blur={blur} (>= 0)")
    model.require_gradients("most exciting inputs")
    index = model.unit_index(units)
    gen = torch.Generator().manual_seed(seed)
    space = (2, 3) if model.video else (1, 2)  # the y and x axes of a batch
    shape = (len(index),) + tuple(model.image_shape)
    delta = project_to_budget(0.01 * torch.randn(shape, generator=gen), mean, contrast)
    rows = torch.arange(len(index))
    history = np.empty((steps, len(index)), dtype=np.float32)
    model.eval()
    for step in track(range(steps), f"most exciting inputs of {len(index)} unit(s)"):
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist() if jitter else (0, 0))
        x = delta.clone().requires_grad_(True)
        shifted = torch.roll(mean + x, shifts=(dy, dx), dims=space)
        response = model(shifted)[rows, torch.as_tensor(index)]
        history[step] = response.detach().numpy()
        (grad,) = torch.autograd.grad(-response.sum() if least else response.sum(), x)
        grad = blur_gradient(grad.flatten(0, 1), blur).view_as(grad) if model.video else blur_gradient(grad, blur)
        dims = tuple(range(1, grad.ndim))
        grad = grad / (grad.pow(2).mean(dims, keepdim=True).sqrt() + 1e-12)
        delta = project_to_budget(delta + step_size * contrast * grad, mean, contrast)
    with torch.no_grad():
        final = model(mean + delta)[rows, torch.as_tensor(index)].numpy()
    return MEIResult(model.units[index], (mean + delta).numpy(), final, history)


def top_images(model, pool: np.ndarray, units, k: int = 5, least: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` pool images that drive each unit most (``least``: least): ``(indices (unit, k),
    responses (unit, k))``, most extreme first."""
    index = model.unit_index(units)
    pool = np.asarray(pool, dtype=np.float32)
    if pool.shape[1:] != tuple(model.image_shape):
        raise ConfigError(f"pool images have shape {pool.shape[1:]}; the model takes {tuple(model.image_shape)}")
    responses = model.predict(pool)[:, index].T  # (unit, image)
    order = np.argsort(responses if least else -responses, axis=1)[:, :k]
    return order, np.take_along_axis(responses, order, axis=1)
