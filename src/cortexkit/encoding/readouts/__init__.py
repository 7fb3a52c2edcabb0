"""Readouts: core feature map -> one prediction per unit, one readout per session."""

from cortexkit.encoding.readouts.base import READOUTS, Readout
from cortexkit.encoding.readouts.factorized import FactorizedReadout
from cortexkit.encoding.readouts.gaussian2d import Gaussian2dReadout
from cortexkit.encoding.readouts.linear import LinearReadout

__all__ = ["Readout", "Gaussian2dReadout", "FactorizedReadout", "LinearReadout", "READOUTS"]
