"""Encoding models: predict each unit's response from stimulus features."""

from cortexkit.encoding.ridge import DEFAULT_ALPHAS, RidgeCV

__all__ = ["RidgeCV", "DEFAULT_ALPHAS"]
