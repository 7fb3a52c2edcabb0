"""Readouts: core feature map -> one prediction per unit, one readout per session."""

from cortexkit.encoding.readouts.base import Readout
from cortexkit.encoding.readouts.factorized import FactorizedReadout
from cortexkit.encoding.readouts.gaussian2d import Gaussian2dReadout
from cortexkit.encoding.readouts.linear import LinearReadout

READOUTS = {"gaussian2d": Gaussian2dReadout, "factorized": FactorizedReadout, "linear": LinearReadout}

__all__ = ["Readout", "Gaussian2dReadout", "FactorizedReadout", "LinearReadout", "READOUTS"]
