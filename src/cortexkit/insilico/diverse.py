"""Diverse exciting inputs: per unit, several images that all drive it to at least a fraction of its
MEI's response while being as unlike each other as the model allows (Cadena et al. 2018, "Diverse
feature visualizations reveal invariances in early layers of deep neural networks"; Ding et al. 2023).

How different they can get measures the unit's invariance: a phase-invariant complex cell admits
gratings of any phase, a simple cell only its one filter.

Procedure: start every copy from the unit's MEI plus seeded noise; then, per step and per image,
ascend the response while it is below ``threshold`` x the MEI response, and otherwise descend the
image's mean cosine similarity to the unit's other images, with the component that would lower the
response removed; project onto the same contrast budget as the MEI. A last few ascent steps lift any
image the final step left just below its target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cortexkit._progress import track
from cortexkit.errors import ConfigError
from cortexkit.insilico.mei import blur_gradient, project_to_budget, most_exciting_inputs


@dataclass
class DiverseResult:
    """Diverse exciting inputs of some units."""

    units: np.ndarray  # unit names
    images: np.ndarray  # (unit, copy, *stimulus shape) in [0, 1]
    responses: np.ndarray  # (unit, copy) predicted responses
    mei_images: np.ndarray  # (unit, *stimulus shape)
    mei_responses: np.ndarray  # (unit,)
    similarity: np.ndarray  # (unit, copy, copy) cosine similarity of the images' deviations from mean grey

    @property
    def fraction(self) -> np.ndarray:
        """Each image's response as a fraction of its unit's MEI response, (unit, copy)."""
        return self.responses / self.mei_responses[:, None]

    @property
    def mean_similarity(self) -> np.ndarray:
        """Mean pairwise cosine similarity of each unit's images (1: all the same), (unit,)."""
        n = self.similarity.shape[1]
        off = ~np.eye(n, dtype=bool)
        return self.similarity[:, off].mean(axis=1)


def _similarity(delta: torch.Tensor) -> torch.Tensor:
    """Cosine similarity (unit, copy, copy) of flattened deviations (unit, copy, ...)."""
    flat = delta.flatten(2)
    unit = flat / (flat.norm(dim=2, keepdim=True) + 1e-12)
    return unit @ unit.transpose(1, 2)


def diverse_exciting_inputs(model, units, *, n: int = 4, threshold: float = 0.9, steps: int = 200,
                            step_size: float = 0.05, contrast: float = 0.2, mean: float = 0.5, blur: float = 0.5,
                            noise: float = 0.5, seed: int = 0, mei_steps: int = 200, mei=None) -> DiverseResult:
    """``n`` dissimilar images per unit of a :class:`ResponseModel`, each driving the unit to at least
    ``threshold`` times its MEI response (when the ascent gets there: check ``fraction``).

    Parameters
    ----------
    n : images per unit (>= 2).
    threshold : the response each image keeps, as a fraction of the unit's MEI response.
    steps, step_size : steps of the diversity phase and their size (fraction of the budget per step).
    contrast, mean, blur : as :func:`cortexkit.insilico.most_exciting_inputs` (the same budget).
    noise : RMS of the seeded start noise added to each copy of the MEI, as a fraction of the budget.
    mei_steps : ascent steps of the MEI each unit starts from.
    mei : the units' :class:`~cortexkit.insilico.mei.MEIResult` when already computed (same units,
        same budget), to start from.
    """
    if n < 2 or not 0 < threshold <= 1 or steps < 1 or step_size <= 0 or noise < 0:
        raise ConfigError(f"diverse inputs need n >= 2, threshold in (0, 1], steps >= 1, step_size > 0, noise >= 0; "
                          f"got n={n}, threshold={threshold}, steps={steps}, step_size={step_size}, noise={noise}")
    model.require_gradients("diverse exciting inputs")
    index = model.unit_index(units)
    if mei is None:
        mei = most_exciting_inputs(model, index, steps=mei_steps, contrast=contrast, mean=mean, blur=blur, seed=seed)
    elif list(mei.units) != list(model.units[index]):
        raise ConfigError("the MEIs given are of other units than those asked for")
    # a unit whose best response is not above its response to grey has nothing to keep
    grey = model.predict(np.full((1,) + tuple(model.image_shape), mean, np.float32))[0, index]
    gen = torch.Generator().manual_seed(seed + 1)
    u, shape = len(index), tuple(model.image_shape)
    start = torch.as_tensor(mei.images - mean)[:, None].expand((u, n) + shape)
    delta = project_to_budget((start + noise * contrast * torch.randn((u, n) + shape, generator=gen)).flatten(0, 1), mean, contrast)
    # both "threshold of the MEI response" and "threshold of its rise above grey" must hold
    target = np.maximum(threshold * mei.responses, grey + threshold * (mei.responses - grey))
    target = torch.as_tensor(target, dtype=torch.float32)[:, None]
    cols = torch.as_tensor(np.repeat(index, n))
    rows = torch.arange(u * n)
    dims = tuple(range(1, delta.ndim))

    def normalized(g):
        g = blur_gradient(g.flatten(0, 1), blur).view_as(g) if model.video else blur_gradient(g, blur)
        return g / (g.pow(2).mean(dims, keepdim=True).sqrt() + 1e-12)

    model.eval()
    for _ in track(range(steps), f"diverse exciting inputs: {n} per unit of {u} unit(s)"):
        x = delta.clone().requires_grad_(True)
        response = model(mean + x)[rows, cols]
        (g_resp,) = torch.autograd.grad(response.sum(), x)
        x2 = delta.clone().requires_grad_(True)
        sim = _similarity(x2.view((u, n) + shape))
        (g_sim,) = torch.autograd.grad(sim.sum(), x2)
        g_resp, away = normalized(g_resp), normalized(-g_sim)
        # away from the others, minus any part that would lower the response
        along = (away * g_resp).flatten(1).sum(1) / (g_resp.flatten(1).pow(2).sum(1) + 1e-12)
        away = normalized(away - torch.clamp(along, max=0.0).view((-1,) + (1,) * len(dims)) * g_resp)
        low = (response.detach().view(u, n) < target).flatten().view((-1,) + (1,) * len(dims))
        delta = project_to_budget(delta + step_size * contrast * torch.where(low, g_resp, away), mean, contrast)
    # The last step may have left an image just below its target: ascend those alone for a while.
    for _ in range(50):
        x = delta.clone().requires_grad_(True)
        response = model(mean + x)[rows, cols]
        low = (response.detach().view(u, n) < target).flatten()
        if not low.any():
            break
        (g_resp,) = torch.autograd.grad(response.sum(), x)
        step = step_size * contrast * normalized(g_resp) * low.view((-1,) + (1,) * len(dims))
        delta = project_to_budget(delta + step, mean, contrast)
    with torch.no_grad():
        final = model(mean + delta)[rows, cols].view(u, n).numpy()
        sim = _similarity(delta.view((u, n) + shape)).numpy()
    return DiverseResult(model.units[index], (mean + delta).view((u, n) + shape).numpy(), final, mei.images,
                         mei.responses, sim)
