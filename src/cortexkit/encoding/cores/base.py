"""The core contract: a torch module from stimuli to a feature map shared by all units.

Images come in as (batch, channels, height, width) and leave as (batch, features, h, w); videos
come in as (batch, channels, frames, height, width) and leave as (batch, features, frames', h, w).
``out_channels`` is the number of feature channels; ``video`` says which kind of input it takes.
Readouts (:mod:`cortexkit.encoding.readouts`) turn the map into one value per unit.
"""

from __future__ import annotations

from torch import nn

from cortexkit.registry import Registry

# Cores by name (a predictor config's `core: {kind: NAME}`); each core file registers its class.
CORES = Registry("core")


class Core(nn.Module):
    """Base class of cores: ``forward(x)`` -> feature map; ``regularizer()`` -> penalty."""

    out_channels: int
    video: bool = False

    def regularizer(self):
        """A penalty added to the loss (0 by default)."""
        return 0.0
