"""The Sensorium 2023 competition's metrics of time-resolved predictions (Turishcheva et al. 2023).

Inputs are single trials ``(trial, unit, time)`` with NaN frames after a trial's end; repeats of the
same video share a stimulus label.
"""

from __future__ import annotations

import warnings

import numpy as np

from cortexkit.metrics.encoding import feve, pearson


def sensorium_scores(pred: np.ndarray, y: np.ndarray, stim: np.ndarray, skip: int = 50) -> dict[str, np.ndarray]:
    """Per-unit Sensorium 2023 metrics of time-resolved predictions.

    Parameters
    ----------
    pred : array, shape (trial, unit, time)
        Predicted responses.
    y : array, shape (trial, unit, time)
        Measured responses; NaN where a trial has ended.
    stim : array, shape (trial,)
        Stimulus (video) label of each trial; trials with the same label are repeats.
    skip : int
        Leading frames left out of every score (the competition drops the first 50).

    Returns
    -------
    dict of str to array, each of shape (unit,)
        ``single_trial_correlation``: Pearson r over all trials x frames after ``skip`` (NaN frames
        left out; a NaN score counts as 0). ``correlation_to_average``: r between predictions and
        responses averaged over repeats of the same video, frame by frame. ``feve``: fraction of
        explainable variance explained over repeated videos (NaN with fewer than two repeated
        videos).
    """
    p, r = pred[..., skip:], y[..., skip:]
    units = p.shape[1]
    flat_p = p.transpose(0, 2, 1).reshape(-1, units)
    flat_r = r.transpose(0, 2, 1).reshape(-1, units)
    ok = np.isfinite(flat_r).all(1)
    single = np.nan_to_num(pearson(flat_r[ok], flat_p[ok]))
    stims, inverse = np.unique(stim, return_inverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames after every repeat ended are all NaN
        avg_r = np.stack([np.nanmean(r[inverse == i], axis=0) for i in range(len(stims))])  # (video, unit, time)
    avg_p = np.stack([p[inverse == i].mean(0) for i in range(len(stims))])
    a, b = avg_r.transpose(0, 2, 1).reshape(-1, units), avg_p.transpose(0, 2, 1).reshape(-1, units)
    ok2 = np.isfinite(a).all(1)
    to_avg = np.nan_to_num(pearson(a[ok2], b[ok2]))
    counts = np.bincount(inverse)
    explained = np.full(units, np.nan)
    if (counts >= 2).sum() >= 2:
        rep = [r[inverse == i].transpose(0, 2, 1) for i in range(len(stims)) if counts[i] >= 2]  # (repeat, time, unit)
        n_rep = max(len(x) for x in rep)
        padded = np.full((sum(x.shape[1] for x in rep), n_rep, units), np.nan)
        preds = np.zeros((padded.shape[0], units))
        row = 0
        for i, x in zip([i for i in range(len(stims)) if counts[i] >= 2], rep):
            t = x.shape[1]
            padded[row : row + t, : len(x)] = x.transpose(1, 0, 2)
            preds[row : row + t] = avg_p[i].T
            row += t
        keep = np.isfinite(padded).sum(1).min(1) >= 2
        if keep.sum() >= 2:
            explained = feve(padded[keep], preds[keep])
    return {"single_trial_correlation": single, "correlation_to_average": to_avg, "feve": explained}
