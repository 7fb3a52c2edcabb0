"""Paired comparison of two models on the same test stimuli: is A better than B, by how much, and
could the difference be chance?

Both models are scored on the same held-out stimuli, so their errors are correlated; comparing two
medians from separate tables ignores that. Here every statistic is paired:

- per unit, the difference in Pearson r (A - B) against the repeat-averaged responses, with a
  bootstrap confidence interval that resamples test *stimuli* (the same draw for both models), so
  that it reflects which images happened to be held out. With single trials, each resampled
  stimulus also resamples its repeats (a hierarchical bootstrap), so trial noise is in the interval
  too: a difference inside it is one the split-half noise allows;
- across units, the median difference with the same bootstrap (slightly conservative: on simulated
  recordings its 95% interval excluded 0 in under 5% of equal-model cases), a swap-permutation test
  (each test stimulus's two predictions exchanged at random; exact under the null that the models
  are exchangeable, so its p-value is uniform), a Wilcoxon signed-rank test over units and the
  fraction of units where A beats B;
- with repeats, the difference in ceiling-normalised score, sign(r)·r²/ceiling;
- across sessions (:func:`combine_sessions`), one number per session, so that the units of one
  session, which share its images, are not counted as independent evidence;
- per stimulus (:func:`paired_per_stimulus`), any score two methods get on each of the same stimuli
  (e.g. the 2-way identification of two reconstructions of each test image).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cortexkit import metrics
from cortexkit.errors import ConfigError, DataError

N_BOOTSTRAP = 1000
N_PERMUTATIONS = 1000
CONFIDENCE = 0.95


def _check(name: str, a: np.ndarray, shape: tuple) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.shape != shape:
        raise DataError(f"has shape {a.shape}; expected {shape} (stimulus, unit)", variable=name)
    if not np.isfinite(a).all():
        raise DataError(f"has {int((~np.isfinite(a)).sum())} non-finite value(s)", variable=name)
    return a


def columnwise_r(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pearson r over the stimulus axis (-2) for stacked draws: y, p of shape (..., stimulus, unit).
    Where ``y`` is NaN (a unit not recorded on a stimulus) that stimulus is left out of the unit's r."""
    mask = np.isfinite(y)
    if not mask.all():
        n = mask.sum(-2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            y0, p0 = np.where(mask, y, 0.0), np.where(mask, p, 0.0)
            yc = np.where(mask, y0 - y0.sum(-2, keepdims=True) / n, 0.0)
            pc = np.where(mask, p0 - p0.sum(-2, keepdims=True) / n, 0.0)
    else:
        yc = y - y.mean(-2, keepdims=True)
        pc = p - p.mean(-2, keepdims=True)
    denom = np.sqrt((yc**2).sum(-2) * (pc**2).sum(-2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, (yc * pc).sum(-2) / denom, np.nan)


def _targets_per_draw(responses: np.ndarray, repeats: np.ndarray | None, draws: np.ndarray, rng) -> np.ndarray:
    """(draw, stimulus, unit) targets: resampled stimuli, and within each its repeats when given."""
    if repeats is None:
        return responses[draws]
    n_rep = np.maximum((~np.isnan(repeats)).any(-1).sum(1), 1)  # repeats recorded per stimulus
    picks = rng.random(draws.shape + (repeats.shape[1],))
    idx = np.floor(picks * n_rep[draws][..., None]).astype(int)  # repeats drawn among the recorded ones
    # NaN padding sits after the recorded repeats (data.repeats), so indices < n_rep are all real.
    chosen = repeats[draws[..., None], idx]  # (draw, stimulus, repeat, unit)
    with np.errstate(all="ignore"):
        return np.nanmean(chosen, axis=-2)


def paired_comparison(
    responses,
    prediction_a,
    prediction_b,
    *,
    repeats=None,
    ceiling=None,
    units=None,
    n_bootstrap: int = N_BOOTSTRAP,
    n_permutations: int = N_PERMUTATIONS,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Compare two models' test predictions unit by unit and overall.

    Parameters
    ----------
    responses : array (stimulus, unit)
        Repeat-averaged test responses.
    prediction_a, prediction_b : array (stimulus, unit)
        The two models' predictions of the same stimuli, rows in the order of ``responses``.
    repeats : array (stimulus, repeat, unit), optional
        Single trials, NaN-padded after the recorded repeats (:func:`cortexkit.data.repeats`); with
        them the bootstrap also resamples repeats, so trial noise widens the intervals.
    ceiling : array (unit,), optional
        Split-half reliability per unit; adds the difference of ceiling-normalised scores.
    units : array (unit,), optional
        Unit labels for the table.
    n_bootstrap : int
        Bootstrap draws over test stimuli.
    n_permutations : int
        Random swaps of the two models' predictions for the permutation p-value.
    confidence : float
        Level of the percentile intervals.
    seed : int

    Returns
    -------
    table : pandas.DataFrame
        One row per unit: ``r_a``, ``r_b``, ``diff`` (r_a - r_b), ``ci_low``, ``ci_high``,
        ``a_better`` (the interval is above 0), ``b_better`` (below 0), and with a ceiling
        ``normalized_a``, ``normalized_b``, ``normalized_diff``.
    summary : dict
        ``n_units``, ``n_stimuli``, ``median_r_a``, ``median_r_b``, ``ratio`` (median r_a / median r_b),
        ``median_diff`` with ``ci_low`` / ``ci_high`` (bootstrap over stimuli), ``permutation_p``
        (two-sided swap test of the median difference), ``wilcoxon_p``
        (two-sided signed-rank test of the per-unit differences), ``fraction_a_better`` (of units with
        r_a > r_b), ``n_a_better`` / ``n_b_better`` (units whose own interval excludes 0), and with a
        ceiling ``median_normalized_diff``.
    """
    y = np.asarray(responses, dtype=np.float64)
    if y.ndim != 2:
        raise DataError(f"has shape {y.shape}; expected (stimulus, unit)", variable="responses")
    a = _check("prediction_a", prediction_a, y.shape)
    b = _check("prediction_b", prediction_b, y.shape)
    n_stim, n_units = y.shape
    if n_stim < 3:
        raise DataError(f"has {n_stim} test stimuli; a paired comparison needs at least 3", variable="responses")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    if n_bootstrap < 1 or n_permutations < 1:
        raise ConfigError(f"n_bootstrap and n_permutations must be >= 1, got {n_bootstrap} and {n_permutations}")
    rep = None
    if repeats is not None:
        rep = np.asarray(repeats, dtype=np.float64)
        if rep.ndim != 3 or rep.shape[0] != n_stim or rep.shape[2] != n_units:
            raise DataError(f"has shape {rep.shape}; expected ({n_stim}, repeat, {n_units})", variable="repeats")

    r_a, r_b = columnwise_r(y, a), columnwise_r(y, b)  # each unit over the stimuli it was recorded on
    diff = r_a - r_b
    rng = np.random.default_rng(seed)
    boot = np.empty((n_bootstrap, n_units))
    block = max(1, int(2e7 // max(1, n_stim * n_units * (rep.shape[1] if rep is not None else 1))))
    for start in range(0, n_bootstrap, block):  # draws in blocks bounded in memory
        draws = rng.integers(0, n_stim, size=(min(block, n_bootstrap - start), n_stim))
        target = _targets_per_draw(y, rep, draws, rng)
        boot[start:start + len(draws)] = columnwise_r(target, a[draws]) - columnwise_r(target, b[draws])
    tail = 100 * (1 - confidence) / 2
    with np.errstate(all="ignore"):
        lo, hi = np.nanpercentile(boot, [tail, 100 - tail], axis=0)
        med_boot = np.nanmedian(boot, axis=1)
    table = pd.DataFrame({"r_a": r_a, "r_b": r_b, "diff": diff, "ci_low": lo, "ci_high": hi,
                          "a_better": lo > 0, "b_better": hi < 0})
    if units is not None:
        table.insert(0, "unit", np.asarray(units))
    observed = float(np.nanmedian(diff))
    exceed = 0
    for start in range(0, n_permutations, block):
        swap = rng.random((min(block, n_permutations - start), n_stim, 1)) < 0.5
        pa, pb = np.where(swap, b, a), np.where(swap, a, b)
        with np.errstate(all="ignore"):
            null = np.nanmedian(columnwise_r(y, pa) - columnwise_r(y, pb), axis=1)
        exceed += int((np.abs(null) >= abs(observed) - 1e-12).sum())
    valid = np.isfinite(diff)
    nonzero = valid & (diff != 0)
    wilcoxon_p = float(stats.wilcoxon(diff[nonzero]).pvalue) if nonzero.sum() >= 2 else np.nan
    summary = {
        "n_units": int(valid.sum()),
        "n_stimuli": n_stim,
        "median_r_a": float(np.nanmedian(r_a)),
        "median_r_b": float(np.nanmedian(r_b)),
        "median_diff": float(np.nanmedian(diff)),
        "ci_low": float(np.nanpercentile(med_boot, tail)),
        "ci_high": float(np.nanpercentile(med_boot, 100 - tail)),
        "permutation_p": (1 + exceed) / (1 + n_permutations),
        "wilcoxon_p": wilcoxon_p,
        "fraction_a_better": float((diff[valid] > 0).mean()) if valid.any() else np.nan,
        "n_a_better": int(table["a_better"].sum()),
        "n_b_better": int(table["b_better"].sum()),
    }
    summary["ratio"] = summary["median_r_a"] / summary["median_r_b"] if summary["median_r_b"] else np.nan
    if ceiling is not None:
        c = np.asarray(ceiling, dtype=np.float64)
        if c.shape != (n_units,):
            raise DataError(f"has shape {c.shape}; expected ({n_units},)", variable="ceiling")
        table["normalized_a"] = metrics.ceiling_normalized(r_a, c)
        table["normalized_b"] = metrics.ceiling_normalized(r_b, c)
        table["normalized_diff"] = table["normalized_a"] - table["normalized_b"]
        summary["median_normalized_diff"] = float(np.nanmedian(table["normalized_diff"]))
    summary["bootstrap_medians"] = med_boot  # kept for combine_sessions
    return table, summary


def combine_sessions(summaries: dict[str, dict], confidence: float = CONFIDENCE) -> dict:
    """Across sessions: one median difference per session, their mean with a bootstrap interval built
    from each session's own stimulus bootstrap (draw k of every session averaged), and a Wilcoxon
    test over sessions. Units of a session share its test images, so they are not independent
    evidence; sessions are.

    Parameters
    ----------
    summaries : dict
        Session name -> the summary of :func:`paired_comparison` (with ``bootstrap_medians``).

    Returns
    -------
    dict
        ``n_sessions``, ``mean_median_diff``, ``ci_low``, ``ci_high``, ``wilcoxon_p`` (over session
        medians), ``n_sessions_a_better`` (session interval above 0), ``n_sessions_b_better``,
        ``median_ratio`` (median over sessions of median r_a / median r_b), ``min_ratio``.
    """
    if not summaries:
        raise ConfigError("no sessions to combine")
    diffs = np.array([s["median_diff"] for s in summaries.values()])
    draws = [np.asarray(s["bootstrap_medians"]) for s in summaries.values()]
    n = min(len(d) for d in draws)
    pooled = np.nanmean(np.stack([d[:n] for d in draws]), axis=0)
    tail = 100 * (1 - confidence) / 2
    nonzero = diffs[np.isfinite(diffs) & (diffs != 0)]
    ratios = np.array([s["ratio"] for s in summaries.values()])
    return {
        "n_sessions": len(summaries),
        "mean_median_diff": float(np.nanmean(diffs)),
        "ci_low": float(np.nanpercentile(pooled, tail)),
        "ci_high": float(np.nanpercentile(pooled, 100 - tail)),
        "wilcoxon_p": float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else np.nan,
        "n_sessions_a_better": int(sum(s["ci_low"] > 0 for s in summaries.values())),
        "n_sessions_b_better": int(sum(s["ci_high"] < 0 for s in summaries.values())),
        "median_ratio": float(np.nanmedian(ratios)),
        "min_ratio": float(np.nanmin(ratios)),
    }


def paired_per_stimulus(a, b, *, n_bootstrap: int = 2000, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """Two methods' scores on each of the same stimuli (NaN where a score is undefined, dropped in pairs).

    Returns
    -------
    dict
        ``a``, ``b`` (means), ``difference`` (mean of a - b) with ``ci_low`` / ``ci_high`` (bootstrap over
        stimuli), ``wilcoxon_p`` (two-sided signed-rank test; NaN with fewer than two non-zero
        differences) and ``n_stimuli``.
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise DataError(f"score arrays differ in length ({len(a)} vs {len(b)}); they must be paired by stimulus")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        raise DataError(f"{int(keep.sum())} stimuli have both scores; a paired test needs at least 2")
    a, b = a[keep], b[keep]
    diff = a - b
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, len(diff), size=(n_bootstrap, len(diff)))].mean(1)
    tail = 100 * (1 - confidence) / 2
    nonzero = diff[diff != 0]
    return {"a": float(a.mean()), "b": float(b.mean()), "difference": float(diff.mean()),
            "ci_low": float(np.percentile(boot, tail)), "ci_high": float(np.percentile(boot, 100 - tail)),
            "wilcoxon_p": float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else float("nan"),
            "n_stimuli": int(len(diff))}
