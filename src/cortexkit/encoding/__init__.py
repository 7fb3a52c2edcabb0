"""Encoding models: predict each unit's response from stimulus features."""

from cortexkit.encoding.ridge import DEFAULT_ALPHAS, BandedRidgeCV, RidgeCV

__all__ = ["RidgeCV", "BandedRidgeCV", "DEFAULT_ALPHAS"]
