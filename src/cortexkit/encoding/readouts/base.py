"""The readout contract: a core's feature map (B, C, H, W) -> one value per unit (B, n_units).

One readout per recording session (``data_key``) sits on a shared core. ``shift`` (B, 2), from a
shifter network, moves receptive fields with the eyes (readouts that have positions use it).
``regularizer()`` returns the penalty added to the loss; ``initialize_bias(mean)`` sets the bias
so that the initial prediction is each unit's mean response.
"""

from __future__ import annotations

import torch
from torch import nn


class Readout(nn.Module):
    def regularizer(self):
        return 0.0

    @torch.no_grad()
    def initialize_bias(self, mean_response: torch.Tensor, inverse=None) -> None:
        if getattr(self, "bias", None) is not None:
            self.bias.copy_(inverse(mean_response) if inverse else mean_response)
