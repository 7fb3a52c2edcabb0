"""Shifter and modulator: eye position moves the readout, behaviour scales the response.

- :class:`Shifter` (Sinz et al. 2018): an MLP from the pupil centre (x, y) to a shift of every
  unit's readout position (in feature-map coordinates), shared by the units of a session.
- :class:`Modulator`: an MLP from behavioural variables (running speed, pupil size, ...) to a
  positive multiplicative gain per unit, ``exp(mlp(behaviour))``; its last layer starts at zero,
  so the gain starts at 1.
- :class:`RecurrentModulator` (ViV1T's option): the behaviour passes through a GRU over the frames
  of a trial first, so a gain can depend on how behaviour evolved (running onset, pupil dilation
  history), not only on the current frame; causal in time.
"""

from __future__ import annotations

import torch
from torch import nn


class Shifter(nn.Module):
    """Pupil centre (B, 2) -> readout shift (B, 2) in grid units, bounded by ``max_shift``."""
    def __init__(self, hidden: int = 8, max_shift: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.max_shift = max_shift

    def forward(self, pupil_center: torch.Tensor) -> torch.Tensor:
        """Readout shifts (B, 2) from pupil centres (B, 2)."""
        return self.max_shift * torch.tanh(self.net(pupil_center))


class Modulator(nn.Module):
    """Behaviour (B, n_behaviors) -> a positive gain per unit (B, n_units)."""
    def __init__(self, n_behaviors: int, n_units: int, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_behaviors, hidden), nn.ELU(), nn.Linear(hidden, n_units))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, behavior: torch.Tensor) -> torch.Tensor:
        """Gains (B, n_units) from behaviour (B, n_behaviors)."""
        return torch.exp(self.net(behavior))


class RecurrentModulator(nn.Module):
    """Behaviour over frames (B, T, n_behaviors) -> gains (B, T, n_units) through a GRU (causal)."""

    recurrent = True

    def __init__(self, n_behaviors: int, n_units: int, hidden: int = 16):
        super().__init__()
        self.gru = nn.GRU(n_behaviors, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_units)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, behavior: torch.Tensor) -> torch.Tensor:
        """Gains (B, T, n_units) from behaviour (B, T, n_behaviors); (B, n_behaviors) is one frame."""
        one = behavior.ndim == 2
        h, _ = self.gru(behavior[:, None] if one else behavior)
        gains = torch.exp(self.out(h))
        return gains[:, 0] if one else gains
