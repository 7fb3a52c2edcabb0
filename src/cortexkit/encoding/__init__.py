"""Encoding models: predict each unit's response from stimulus features."""

from cortexkit.encoding.delays import Delayer, delay_features, per_delay
from cortexkit.encoding.ridge import DEFAULT_ALPHAS, BandedRidgeCV, RidgeCV
from cortexkit.encoding.transfer import PopulationEmbedding

__all__ = ["RidgeCV", "BandedRidgeCV", "DEFAULT_ALPHAS", "Delayer", "delay_features", "per_delay", "PopulationEmbedding"]
