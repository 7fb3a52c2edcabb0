"""Scores and noise ceilings: pure array functions (numpy/scipy), each documented with the convention
it follows. Nothing here reads files or builds tables; :mod:`cortexkit.evaluation` does.
"""

from cortexkit.metrics.dimensionality import effective_dimensionality
from cortexkit.metrics.ceilings import ncsnr, ncsnr_ceiling, spearman_brown, split_half_reliability
from cortexkit.metrics.sensorium import sensorium_scores
from cortexkit.metrics.significance import fdr_bh, permutation_p
from cortexkit.metrics.rsa import compare_representations, linear_cka, rdm, rsa
from cortexkit.metrics.encoding import (
    ceiling_normalized,
    correlation_to_average,
    fev,
    feve,
    on_recorded,
    pearson,
    pearson_squared,
    r2,
    r2_split,
    recorded_groups,
    single_trial_correlation,
)

__all__ = [
    "effective_dimensionality",
    "pearson",
    "permutation_p",
    "fdr_bh",
    "recorded_groups",
    "on_recorded",
    "r2",
    "r2_split",
    "pearson_squared",
    "fev",
    "feve",
    "correlation_to_average",
    "single_trial_correlation",
    "sensorium_scores",
    "ceiling_normalized",
    "spearman_brown",
    "split_half_reliability",
    "ncsnr",
    "ncsnr_ceiling",
    "rdm",
    "rsa",
    "linear_cka",
    "compare_representations",
]
