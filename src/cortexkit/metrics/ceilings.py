"""Noise ceilings: how well any model could do, given the trial-to-trial variability.

Inputs are single trials stacked as ``(stimulus, repeat, unit)``, NaN-padded where a stimulus has
fewer repeats (see :func:`cortexkit.data.repeats`).
"""

from __future__ import annotations

import numpy as np

from cortexkit.errors import DataError
from cortexkit.metrics.encoding import check_repeats, pearson


def spearman_brown(r, factor: float = 2.0) -> np.ndarray:
    r"""Spearman-Brown prophecy: reliability of a ``factor``-times longer average.

    :math:`\rho_k = k r / (1 + (k - 1) r)`; with ``factor=2`` the split-half correction
    :math:`2r/(1+r)`.
    """
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def split_half_reliability(
    repeats,
    *,
    n_splits: int = 50,
    seed: int = 0,
    corrected: bool = True,
) -> np.ndarray:
    r"""Split-half reliability of the repeat-averaged responses, per unit.

    For each of ``n_splits`` random splits, each stimulus's repeats are shuffled and divided into
    two halves (the odd one out of an odd count goes to the second half); the two half-averages are
    correlated across stimuli (Pearson). The correlations are averaged over splits and, when
    ``corrected``, stepped up with Spearman-Brown :math:`2r/(1+r)` to the reliability of the
    average of all repeats: the expected correlation between two independent full averages, i.e.
    the ceiling of r² for a model scored against the average (the ceiling of r is its square root).
    The Brain-Score convention, with the correction applied to the split-averaged r.

    Parameters
    ----------
    repeats : (stimulus, repeat, unit), at least 2 valid repeats per stimulus
    n_splits : int
    seed : int
    corrected : bool
        Apply the Spearman-Brown correction.
    """
    r = check_repeats(repeats)
    flat = r.reshape(r.shape[0], r.shape[1], -1)  # (stimulus, repeat, units)
    valid = np.isfinite(flat)
    if not (valid == valid[:, :, :1]).all():
        # One trial split serves all units of a stimulus, as in a population recording.
        raise DataError("units of one stimulus have different repeats (NaN patterns differ)", variable="repeats")
    valid = valid[:, :, 0]
    counts = valid.sum(1)
    values = np.nan_to_num(flat)
    rng = np.random.default_rng(seed)
    total = np.zeros(flat.shape[2])
    for _ in range(n_splits):
        keys = np.where(valid, rng.random(valid.shape), np.inf)
        rank = keys.argsort(1).argsort(1)  # a random order of each stimulus's valid repeats
        in_a = rank < (counts // 2)[:, None]
        in_b = valid & ~in_a
        a = np.einsum("sr,sru->su", in_a, values) / in_a.sum(1)[:, None]
        b = np.einsum("sr,sru->su", in_b, values) / in_b.sum(1)[:, None]
        total += pearson(a, b)
    mean_r = (total / n_splits).reshape(r.shape[2:])
    return spearman_brown(mean_r) if corrected else mean_r


def ncsnr(repeats) -> np.ndarray:
    r"""Noise-ceiling signal-to-noise ratio per unit (NSD, Allen et al. 2022).

    :math:`\sigma_{noise}^2` is the mean over stimuli of the across-repeat variance (ddof=1);
    :math:`\sigma_{signal}^2 = \max(0, \mathrm{Var}_{total} - \sigma_{noise}^2)` with
    :math:`\mathrm{Var}_{total}` the variance of all single trials (for NSD's z-scored betas
    :math:`\mathrm{Var}_{total} = 1`); :math:`ncsnr = \sigma_{signal} / \sigma_{noise}`.
    """
    r = check_repeats(repeats)
    flat = r.reshape((-1,) + r.shape[2:])
    total = np.nanvar(flat, axis=0, ddof=1)
    noise = np.nanmean(np.nanvar(r, axis=1, ddof=1), axis=0)
    signal = np.maximum(total - noise, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(signal) / np.sqrt(noise)


def ncsnr_ceiling(snr, n_trials) -> np.ndarray:
    r"""Noise ceiling (fraction of variance, 0-1) of trial averages (NSD, Allen et al. 2022).

    :math:`NC = ncsnr^2 / (ncsnr^2 + 1/n)` for averages of ``n_trials`` trials. Given the number of
    trials of each stimulus (an array), :math:`1/n` is their mean of :math:`1/n_i`, NSD's form for
    images seen once, twice or three times: :math:`(A/3 + B/2 + C/1) / (A + B + C)`. NSD reports
    it in percent (``100 * NC``).
    """
    s2 = np.asarray(snr, dtype=np.float64) ** 2
    n = np.asarray(n_trials, dtype=np.float64)
    if n.ndim and (n.size == 0 or (n < 1).any()):
        raise DataError("trial counts must be >= 1 for every stimulus", variable="n_trials")
    inverse = float(np.mean(1.0 / n)) if n.ndim else 1.0 / float(n)
    return s2 / (s2 + inverse)
