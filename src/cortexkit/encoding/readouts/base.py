"""The readout contract: a core's feature map (B, C, H, W) -> one value per unit (B, n_units).

One readout per recording session (``data_key``) sits on a shared core. ``shift`` (B, 2), from a
shifter network, moves receptive fields with the eyes (readouts that have positions use it).
``regularizer()`` returns the penalty added to the loss; ``initialize_bias(mean)`` sets the bias
so that the initial prediction is each unit's mean response.
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.registry import Registry

# Readouts by name (a predictor config's `readout: {kind: NAME}`); each readout file registers its class.
READOUTS = Registry("readout")


class Readout(nn.Module):
    """Base class of readouts: ``forward(feature_map, shift)`` -> (B, n_units)."""

    def regularizer(self):
        """A penalty added to the loss (0 by default)."""
        return 0.0

    @torch.no_grad()
    def initialize_bias(self, mean_response: torch.Tensor, inverse=None) -> None:
        """Set the bias so that the first predictions are each unit's mean response (through the
        inverse of the output nonlinearity, when given)."""
        if getattr(self, "bias", None) is not None:
            self.bias.copy_(inverse(mean_response) if inverse else mean_response)
