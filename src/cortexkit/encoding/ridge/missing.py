"""Ridge on targets not recorded on every sample: one fit per pattern of recorded samples.

Real releases pool units from many sessions (STSBench, TVSD): each unit has responses only to the
stimuli its session showed, NaN elsewhere. Units that share a pattern of recorded stimuli (a
session) are fitted together on exactly those stimuli, so a pooled store of S sessions costs S
solves, not one per unit, and each unit's fit equals the fit of its session alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cortexkit.metrics.encoding import recorded_groups


def fit_per_pattern(
    fit_group: Callable[[np.ndarray, np.ndarray], dict],
    y: np.ndarray,
    min_samples: int,
) -> tuple[list[tuple[np.ndarray, np.ndarray, dict]], dict[int, str]]:
    """Call ``fit_group(rows, units)`` for each group of :func:`recorded_groups` with enough samples.

    Returns the fitted groups as ``(rows, units, result)`` and, for the units left out, the reason
    (``{unit index: why}``): recorded on fewer than ``min_samples`` samples (the folds of the
    cross-validation need that many).
    """
    fitted, left_out = [], {}
    for rows, units in recorded_groups(y):
        n = int(rows.sum())
        if n < min_samples:
            why = ("not recorded on any training stimulus" if n == 0 else
                   f"recorded on {n} training stimuli, fewer than the {min_samples} the cross-validation needs")
            left_out.update({int(u): why for u in units})
            continue
        fitted.append((rows, units, fit_group(rows, units)))
    return fitted, left_out
