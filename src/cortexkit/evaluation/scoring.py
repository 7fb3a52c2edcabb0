"""Scoring predictions against measured responses, with noise ceilings, into tidy tables.

One function, :func:`score_predictions`, scores every kind of model (ridge on fixed features,
trained predictors, benchmark entries) so that their numbers are comparable.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit import data, metrics
from cortexkit.errors import DataError

# Below this median split-half reliability the test responses are mostly noise: scores divided by
# the ceiling are dominated by its estimation error.
LOW_CEILING = 0.2


def ceiling_warning(ceiling: np.ndarray | None) -> str | None:
    """A warning when the median ceiling (split-half reliability) is too low to interpret; else None."""
    if ceiling is None or not np.isfinite(ceiling).any():
        return None
    median = float(np.nanmedian(ceiling))
    if median < LOW_CEILING:
        return (f"median noise ceiling {median:.3f} is below {LOW_CEILING}: the test responses "
                "are mostly noise, and ceiling-normalised scores are unreliable")
    return None


SIGNIFICANCE = 0.05  # the false discovery rate at which summaries count a unit as explained
SUMMARY_METRICS = ("pearson", "ceiling", "normalized", "feve", "fev", "r2", "pearson_true", "rf_corr")


def noise_ceiling(test: xr.Dataset, n_splits: int = 50, seed: int = 0, log=None) -> np.ndarray | None:
    """The noise ceiling of each unit's repeat-averaged test responses (a ceiling on r²).

    fMRI recordings (``modality: fmri``) use NSD's definition: the NCSNR of the single trials and
    NC = ncsnr² / (ncsnr² + mean(1/n)) over the test stimuli's trial counts n
    (:func:`cortexkit.metrics.ncsnr_ceiling`). Other recordings use the split-half reliability of
    the test repeats, Spearman-Brown corrected (:func:`cortexkit.metrics.split_half_reliability`).

    Parameters
    ----------
    test : xarray.Dataset
        The test split of a recording.
    n_splits, seed :
        Random split-halves and their seed (split-half reliability).
    log : callable, optional
        Told why, when there is no ceiling.

    Returns
    -------
    array of shape (unit,), or None
        None when the test stimuli are not repeated.
    """
    try:
        rep = data.repeats(test).values
    except DataError as exc:
        if log is not None:
            log(f"no noise ceiling: {exc}")
        return None
    if test.attrs.get("modality") == "fmri":
        counts = data.repeat_counts(test).values
        return metrics.ncsnr_ceiling(metrics.ncsnr(rep), counts[counts > 0])
    return on_repeated_units(lambda r: _split_half(r, n_splits, seed), rep)


def _split_half(rep: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Split-half reliability per unit; units missing different repeats (declared missing responses)
    are split in groups of one NaN pattern each, since one split serves all units of a group."""
    valid = np.isfinite(rep)
    groups: dict[bytes, list[int]] = {}
    for u in range(rep.shape[-1]):
        groups.setdefault(valid[..., u].tobytes(), []).append(u)
    if len(groups) == 1:  # a population recorded together: one split for all, as usual
        return metrics.split_half_reliability(rep, n_splits=n_splits, seed=seed)
    out = np.full(rep.shape[-1], np.nan)
    for units in groups.values():
        out[units] = metrics.split_half_reliability(rep[..., units], n_splits=n_splits, seed=seed)
    return out


def on_repeated_units(fn, rep: np.ndarray, *paired: np.ndarray) -> np.ndarray:
    """``fn(rep, *paired)`` for the units with at least two valid repeats of every stimulus they were
    recorded on, NaN for the others (a unit not recorded on some repeats has no noise estimate; the
    rest still do). Units recorded on different stimuli (pooled sessions) are scored on their own
    stimuli, one call per group of units sharing them.

    ``rep`` and each of ``paired`` are (stimulus, repeat, unit) arrays; ``fn`` returns one value per unit.
    """
    recorded = np.isfinite(rep).any(axis=1)  # (stimulus, unit)
    if recorded.all():
        return _on_complete_units(fn, rep, *paired)
    out = np.full(rep.shape[-1], np.nan)
    for rows, units in metrics.recorded_groups(np.where(recorded, 0.0, np.nan)):
        if rows.sum() >= 2:
            out[units] = _on_complete_units(fn, rep[rows][..., units], *(p[rows][..., units] for p in paired))
    return out


def _on_complete_units(fn, rep: np.ndarray, *paired: np.ndarray) -> np.ndarray:
    ok = (np.isfinite(rep).sum(axis=1) >= 2).all(axis=0)
    if ok.all():
        return fn(rep, *paired)
    out = np.full(rep.shape[-1], np.nan)
    if ok.any():
        out[ok] = fn(rep[..., ok], *(p[..., ok] for p in paired))
    return out


def unit_table(ds: xr.Dataset) -> pd.DataFrame:
    """Unit coordinates (1-D, along ``unit``) as a table with one row per unit, in dataset order."""
    cols = {"unit": np.asarray(ds["unit"].values)}
    for name, coord in ds.coords.items():
        if name != "unit" and coord.dims == ("unit",):
            cols[name] = np.asarray(coord.values)
    return pd.DataFrame(cols)


def score_predictions(
    test: xr.Dataset,
    prediction: np.ndarray,
    stimulus: np.ndarray,
    ceiling: np.ndarray | None,
    n_permutations: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-unit metrics of test-set predictions (rows in the order of ``test.unit``).

    Parameters
    ----------
    test : xarray.Dataset
        The test split (single trials; repeats share a ``stimulus_id``).
    prediction : array, shape (stimulus, unit)
        One prediction per test stimulus, rows labelled by ``stimulus``.
    stimulus : array, shape (stimulus,)
        Labels of the rows of ``prediction``; must cover every test stimulus.
    ceiling : array of shape (unit,), or None
        Split-half reliability per unit (:func:`noise_ceiling`).
    n_permutations, seed :
        Shuffles of the test stimuli for each unit's permutation p-value of its Pearson r (``p``;
        the smallest possible is ``1 / (1 + n_permutations)``), and their seed; ``q`` is the
        Benjamini-Hochberg q-value over the units. 0 skips the test.

    Returns
    -------
    pandas.DataFrame
        One row per unit. ``pearson`` (r against the repeat-averaged responses), ``r2``,
        ``pearson_squared``, ``single_trial_pearson``, ``fev``, ``feve``, ``ceiling`` (the ceiling
        of r²), ``normalized`` (r²/ceiling), and ``pearson_true`` (r against the noise-free rates)
        when the dataset is simulated; ``p`` and ``q`` (see above). Units without a correlation (a constant prediction, as for a
        unit constant in the training split, or constant test responses) have every metric NaN and
        the reason in ``not_scored`` (a column present only then).
    """
    avg = data.repeat_average(test)
    order = pd.Index(stimulus).get_indexer(avg["stimulus"].values)
    if (order < 0).any():
        raise DataError("predictions do not cover every test stimulus", variable="stimulus")
    pred = prediction[order]
    # units not recorded on every test stimulus are scored on the stimuli they have
    table = {
        "pearson": metrics.on_recorded(metrics.pearson, avg.values, pred),
        "r2": metrics.on_recorded(metrics.r2, avg.values, pred),
        "pearson_squared": metrics.on_recorded(metrics.pearson_squared, avg.values, pred),
    }
    nan = np.full(pred.shape[1], np.nan)
    try:
        rep = data.repeats(test)
    except DataError:  # no repeated test stimuli: no noise ceiling
        rep = None
    if rep is not None:
        rep_pred = pred[pd.Index(avg["stimulus"].values).get_indexer(rep["stimulus"].values)]
        table["single_trial_pearson"] = on_repeated_units(metrics.single_trial_correlation, rep.values, rep_pred)
        table["fev"] = on_repeated_units(metrics.fev, rep.values)
        table["feve"] = on_repeated_units(metrics.feve, rep.values, rep_pred)
    else:
        table.update(single_trial_pearson=nan, fev=nan, feve=nan)
    if n_permutations:
        table["p"] = metrics.permutation_p(avg.values, pred, n_permutations, seed)
        table["q"] = metrics.fdr_bh(table["p"])
    table["ceiling"] = nan if ceiling is None else ceiling
    table["normalized"] = metrics.ceiling_normalized(table["pearson"], table["ceiling"])
    if "true_rate" in test:
        truth = test["true_rate"].transpose("stimulus", "unit").values
        table["pearson_true"] = metrics.on_recorded(metrics.pearson, np.where(np.isfinite(avg.values), truth[order], np.nan), pred)
    frame = pd.DataFrame(table)
    # A unit whose prediction or test response is constant has no correlation: it is not scored at
    # all (every metric NaN, the reason said), so that no summary mixes it in through another metric.
    scored = np.isfinite(frame["pearson"].to_numpy())
    if not scored.all():
        frame.loc[~scored, list(table)] = np.nan
        recorded = np.isfinite(avg.values).sum(axis=0)
        with warnings.catch_warnings():  # all-NaN columns: units never recorded, or left out of the fit
            warnings.simplefilter("ignore", RuntimeWarning)
            flat_resp = ~(np.nanmax(avg.values, axis=0) > np.nanmin(avg.values, axis=0))
            flat_pred = ~(np.nanmax(pred, axis=0) > np.nanmin(pred, axis=0))
        frame["not_scored"] = np.where(
            scored, "", np.where(recorded < 2, "recorded on fewer than 2 test stimuli",
                                 np.where(~np.isfinite(pred).all(axis=0), "no prediction (left out of the fit)",
                                          np.where(flat_resp, "constant test responses",
                                                   np.where(flat_pred, "constant prediction", "no valid responses")))))
    return frame


def rf_correlation(rf: np.ndarray, true_filter: np.ndarray) -> np.ndarray:
    """|Pearson r| between recovered and true receptive fields.

    Parameters
    ----------
    rf, true_filter : arrays, shape (unit, y, x[, channel])

    Returns
    -------
    array, shape (unit,)
        NaN for every unit when the shapes differ.
    """
    a = rf.reshape(len(rf), -1).astype(np.float64)
    b = true_filter.reshape(len(true_filter), -1).astype(np.float64)
    if a.shape != b.shape:
        return np.full(len(a), np.nan)
    return np.abs(metrics.pearson(a.T, b.T))


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Median of each metric per model, and per model x cell type, per model x area (brain region,
    e.g. an fMRI ROI) and per model x time bin when units have a ``cell_type``, more than one
    ``area`` or more than one ``time`` (time-resolved responses, one target per unit and bin).

    Parameters
    ----------
    results : pandas.DataFrame
        Per-unit rows with a ``model`` column and any of :data:`SUMMARY_METRICS`.

    Returns
    -------
    pandas.DataFrame
        ``model`` [, ``cell_type``] [, ``area``], ``n_units``, ``n_scored`` (units with a finite
        Pearson r: the only ones any median covers), ``n_significant`` (units with q < 0.05, when
        the results have q-values), ``median_<metric>``, and where units were left
        out ``left_out`` (how many, and why); rows over all units say ``all`` in the grouping columns.
    """
    if "pearson" in results:  # medians over scored units only, whatever the metric
        unscored = ~np.isfinite(results["pearson"].to_numpy(float))
        if unscored.any():
            results = results.copy()
            results.loc[unscored, [m for m in SUMMARY_METRICS if m in results]] = np.nan
    cols = [m for m in SUMMARY_METRICS if m in results and results[m].notna().any()]
    by = [c for c in ("cell_type", "area", "time") if c in results and (c == "cell_type" or results[c].nunique() > 1)]
    parts = []
    for keys in [["model"]] + [["model", c] for c in by]:
        g = results.groupby(keys, sort=False)
        part = g[cols].median().add_prefix("median_")
        part.insert(0, "n_units", g.size())
        part.insert(1, "n_scored", g["pearson"].count() if "pearson" in results else g.size())
        if "q" in results:  # units whose test r is significant at a false discovery rate of 5%
            part.insert(2, "n_significant", g["q"].agg(lambda q: int((q < SIGNIFICANCE).sum())))
        if "not_scored" in results and (results["not_scored"].fillna("") != "").any():
            part["left_out"] = g["not_scored"].agg(_left_out)
        part = part.reset_index()
        for pos, c in enumerate(by, start=1):
            if c not in keys:
                part.insert(pos, c, "all")
        parts.append(part[["model", *by, *[c for c in part.columns if c not in ("model", *by)]]])
    return pd.concat(parts, ignore_index=True)


def _left_out(reasons: pd.Series) -> str:
    """How many units a group's medians leave out, and why: ``2 (constant prediction)``."""
    counts = reasons[reasons.fillna("") != ""].value_counts()
    return "; ".join(f"{n} ({why})" for why, n in counts.items())
