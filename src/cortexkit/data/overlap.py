"""Stimuli that are copies of each other: exact copies and near-identical ones (a mean absolute pixel
difference at most ``tolerance`` of the [0, 1] range, and pixels correlated at r >= 0.95, so that two
different but nearly blank images, whose small differences are uncorrelated, are not copies).

A held-out stimulus that is a copy of a training stimulus leaks the test set into the fit: its
response is predicted from its own training response. :func:`split_overlap` finds such pairs in a
store (convert and fit refuse them unless asked to keep them); :func:`duplicate_groups` groups a
recording's copies so that a reader's seeded split keeps each group on one side
(:func:`grouped_split`).

Comparisons run on thumbnails first (grayscale, block means of at most 16 x 16 per frame):
the mean absolute difference of block means is never larger than that of the pixels, so a pair
whose thumbnails differ by more than the tolerance cannot be near-identical, and only the remaining
candidates are compared in full.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.spatial.distance import cdist

from cortexkit.errors import ConfigError

TOLERANCE = 0.01  # mean absolute pixel difference (of the [0, 1] range) below which two stimuli may be copies
MIN_CORRELATION = 0.95  # ... if their pixels also correlate this well (or are identical)
_CHUNK = 256


def _gray(x: np.ndarray, color: bool) -> np.ndarray:
    """Grayscale stimuli (n, [frame], y, x), every frame kept: two movies are copies only frame by frame."""
    x = np.asarray(x, dtype=np.float32)
    return x.mean(-1) if color else x


def _thumbnail(stimuli: np.ndarray, side: int = 16) -> np.ndarray:
    """Block means of (n, [frame], y, x) stimuli on an (at most) side x side grid per frame, flattened."""
    n, h, w = stimuli.shape[0], stimuli.shape[-2], stimuli.shape[-1]
    by, bx = max(1, h // side), max(1, w // side)
    h2, w2 = (h // by) * by, (w // bx) * bx
    lead = stimuli.shape[1:-2]
    blocks = stimuli[..., :h2, :w2].reshape(n, *lead, h2 // by, by, w2 // bx, bx)
    return blocks.mean((-3, -1)).reshape(n, -1)


def _rows(stimuli, index: np.ndarray, video: bool, color: bool) -> np.ndarray:
    """Full-resolution gray images (frames averaged) of the stimuli at ``index``."""
    part = stimuli.isel(stimulus=index).values if isinstance(stimuli, xr.DataArray) else stimuli[index]
    return _gray(part, color)


def _thumbnails(stimuli, video: bool, color: bool) -> np.ndarray:
    n = len(stimuli)
    out = []
    for start in range(0, n, _CHUNK):  # lazy (Dask) stimuli are read a block at a time
        index = np.arange(start, min(n, start + _CHUNK))
        out.append(_thumbnail(_rows(stimuli, index, video, color)))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / norm if norm > 0 else float("nan")


def _close_pairs(stimuli, a: np.ndarray, b: np.ndarray, thumbs: np.ndarray, tolerance: float, video: bool,
                 color: bool, same: bool) -> list[tuple[int, int, float]]:
    """(i, j, difference) for stimuli i in ``a`` and j in ``b`` at most ``tolerance`` apart."""
    if tolerance < 0 or not np.isfinite(tolerance):
        raise ConfigError(f"the overlap tolerance must be a finite number >= 0, got {tolerance}")
    pairs = []
    for start in range(0, len(a), _CHUNK):
        rows = a[start:start + _CHUNK]
        d = cdist(thumbs[rows], thumbs[b], "cityblock") / thumbs.shape[1]
        for i, j in zip(*np.nonzero(d <= tolerance)):
            ai, bj = int(rows[i]), int(b[j])
            if same and bj <= ai:
                continue
            x = _rows(stimuli, np.array([ai]), video, color).ravel()
            y = _rows(stimuli, np.array([bj]), video, color).ravel()
            full = float(np.abs(x - y).mean())
            if full == 0 or (full <= tolerance and _correlation(x, y) >= MIN_CORRELATION):
                pairs.append((ai, bj, full))
    return pairs


def copies_of(reference, candidates, tolerance: float = TOLERANCE, *, video: bool = False) -> np.ndarray:
    """Which of ``candidates`` copy a stimulus of ``reference`` (arrays (stimulus, [frame], y, x,
    [channel]), movies with ``video=True``): a boolean mask over ``candidates``."""
    reference, candidates = np.asarray(reference), np.asarray(candidates)
    both = np.concatenate([reference, candidates])
    color = both.ndim == (5 if video else 4)
    thumbs = _thumbnails(both, video, color)
    pairs = _close_pairs(both, np.arange(len(reference), len(both)), np.arange(len(reference)), thumbs, tolerance,
                         video, color, same=False)
    mask = np.zeros(len(candidates), dtype=bool)
    mask[[i - len(reference) for i, _, _ in pairs]] = True
    return mask


_THUMBS: dict = {}  # key -> thumbnails of a store's stimuli (copied_in: each source once per process)


def copied_in(held, sources: list, tolerance: float = TOLERANCE, *, keys: list | None = None) -> np.ndarray:
    """Which ``held`` stimuli copy a stimulus of any of ``sources``: a boolean mask over ``held``.

    ``held`` and each source are stimulus arrays or (lazy) DataArrays ``(stimulus, [frame], y, x,
    [channel])`` of one shape; thumbnails are compared first and only candidate pairs at full
    resolution, so a source is read once. ``keys`` (one per source, e.g. its store's content stamp)
    keep each source's thumbnails for the rest of the process.
    """
    if tolerance < 0 or not np.isfinite(tolerance):
        raise ConfigError(f"the overlap tolerance must be a finite number >= 0, got {tolerance}")
    dims = getattr(held, "dims", None)
    video = "frame" in dims if dims else np.ndim(held) == 5 or (np.ndim(held) == 4 and np.shape(held)[-1] not in (1, 3))
    color = "channel" in dims if dims else np.ndim(held) == (5 if video else 4)
    held_thumbs = _thumbnails(held, video, color)
    mask = np.zeros(len(held), dtype=bool)
    for k, source in enumerate(sources):
        if tuple(source.shape[1:]) != tuple(held.shape[1:]):
            continue  # stimuli of another shape cannot be pixel copies
        key = None if keys is None else keys[k]
        thumbs = _THUMBS.get(key) if key is not None else None
        if thumbs is None:
            thumbs = _thumbnails(source, video, color)
            if key is not None:
                _THUMBS[key] = thumbs
        for start in range(0, len(held), _CHUNK):
            rows = np.arange(start, min(len(held), start + _CHUNK))
            d = cdist(held_thumbs[rows], thumbs, "cityblock") / held_thumbs.shape[1]
            for i, j in zip(*np.nonzero(d <= tolerance)):
                hi = int(rows[i])
                if mask[hi]:
                    continue
                x = _rows(held, np.array([hi]), video, color).ravel()
                y = _rows(source, np.array([int(j)]), video, color).ravel()
                full = float(np.abs(x - y).mean())
                if full == 0 or (full <= tolerance and _correlation(x, y) >= MIN_CORRELATION):
                    mask[hi] = True
    return mask


def duplicate_groups(stimuli, tolerance: float = TOLERANCE, *, video: bool = False) -> np.ndarray:
    """A group id per stimulus: stimuli that are copies (directly or through other copies) share one.

    Parameters
    ----------
    stimuli : array (stimulus, [frame], y, x, [channel])
        Images, or movies with ``video=True``; a trailing channel axis is averaged.
    tolerance : float
        Largest mean absolute pixel difference of two copies.

    Returns
    -------
    array of int, shape (stimulus,)
        ``0 .. n_groups - 1`` in order of first appearance; all distinct when there are no copies.
    """
    stimuli = np.asarray(stimuli)
    color = stimuli.ndim == (5 if video else 4)
    n = len(stimuli)
    thumbs = _thumbnails(stimuli, video, color)
    everyone = np.arange(n)
    parent = np.arange(n)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in _close_pairs(stimuli, everyone, everyone, thumbs, tolerance, video, color, same=True):
        parent[root(j)] = root(i)
    roots = np.array([root(i) for i in range(n)])
    _, first = np.unique(roots, return_index=True)
    order = {r: k for k, r in enumerate(roots[np.sort(first)])}
    return np.array([order[r] for r in roots], dtype=np.int64)


def grouped_split(groups: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """A seeded train/test split of stimuli that keeps each group of copies on one side: groups in a
    seeded random order go to test until ``round(test_fraction * n)`` stimuli are there. With no
    copies (every group one stimulus) it is exactly the ungrouped split of the same seed."""
    groups = np.asarray(groups)
    n = len(groups)
    n_test = max(1, int(round(test_fraction * n)))
    split = np.full(n, "train", dtype="<U5")
    rng = np.random.default_rng(seed)
    ids, sizes = np.unique(groups, return_counts=True)
    if (sizes == 1).all():
        split[rng.permutation(n)[:n_test]] = "test"
        return split
    taken = 0
    for g in ids[rng.permutation(len(ids))]:
        if taken >= n_test:
            break
        members = groups == g
        split[members] = "test"
        taken += int(members.sum())
    return split


def split_overlap(ds: xr.Dataset, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Held-out stimuli (test or validation) that are copies of training stimuli.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``held_out`` and ``train`` stimulus labels, the ``split`` of the held-out
        one and their mean absolute pixel ``difference``; empty when the splits share no stimulus.
    """
    split = np.asarray(ds["split"].values)
    held, train = np.flatnonzero(split != "train"), np.flatnonzero(split == "train")
    columns = ["held_out", "train", "split", "difference"]
    if not len(held) or not len(train) or ds.attrs.get("pixels") == "none":  # no pixels: nothing to compare
        return pd.DataFrame(columns=columns)
    stimuli = ds["stimuli"]
    video, color = "frame" in stimuli.dims, "channel" in stimuli.dims
    thumbs = _thumbnails(stimuli, video, color)
    labels = np.asarray(ds["stimulus"].values)
    pairs = _close_pairs(stimuli, held, train, thumbs, tolerance, video, color, same=False)
    return pd.DataFrame([(labels[i], labels[j], split[i], d) for i, j, d in pairs], columns=columns)


def describe_overlap(pairs: pd.DataFrame) -> str:
    """One sentence about the copies :func:`split_overlap` found."""
    first = pairs.iloc[0]
    return (f"{pairs['held_out'].nunique()} held-out stimuli are copies of training stimuli (identical, or within a "
            f"mean pixel difference of {TOLERANCE:g} with pixels correlated at r >= {MIN_CORRELATION}; e.g. "
            f"{first['held_out']!s} ~ {first['train']!s}, difference {first['difference']:.4f}), so their scores would "
            "be leaked from training")
