"""Reconstruction metrics, as the decoding literature computes them (numpy only).

Images are float in [0, 1], shaped (n, y, x) or (n, y, x, 3); a reconstruction array matches its
ground truth. Every function returns one value per image unless it says otherwise, so that
summaries and statistics (means, permutation tests) are left to the caller.

Conventions (brain-diffuser / MindEye, and STSBench for PSNR):

- ``pixcorr``: Pearson r between the flattened ground-truth and reconstructed images.
- ``ssim``: on grayscale (Rec. 709 luminance), Gaussian window sigma 1.5 (11 taps), population
  covariance, data range 1 -- scikit-image's ``structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1)``; ``convention="skimage"`` gives
  scikit-image's defaults (7 x 7 uniform window, sample covariance) per channel instead.
- ``psnr``: both images quantised to uint8 first, ``10 log10(255^2 / MSE)``.
- Scores involving a constant reconstruction (a uniform gray image) are NaN: a correlation with it
  is undefined.
- ``identification``: with ``r[i, j] = corr(gt_features_i, rec_features_j)``, reconstruction ``j``
  scores ``#{i : r[i, j] < r[j, j]} / (N - 1)`` (2-way); n-way draws ``n - 1`` distractors.
- Videos (n, frame, y, x[, 3]): per-frame metrics are the image metrics of every frame; the temporal
  ones compare the change between consecutive frames, ``temporal_correlation`` (Pearson r of the
  frame differences of one clip against its reconstruction's) and ``frame_differences`` (the
  features for identification by motion).
"""

from __future__ import annotations

import numpy as np

from cortexkit.errors import DataError

LUMINANCE = np.array([0.2125, 0.7154, 0.0721])


def _pair(gt, rec):
    a = np.asarray(gt, dtype=np.float64)
    b = np.asarray(rec, dtype=np.float64)
    if a.shape != b.shape:
        raise DataError(f"shape {b.shape} does not match the ground truth {a.shape}", variable="reconstructions")
    if a.ndim not in (3, 4) or (a.ndim == 4 and a.shape[-1] not in (1, 3)):
        raise DataError(f"expected (n, y, x[, 1|3]) images, got {a.shape}", variable="images")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataError("contains NaN or inf", variable="images")
    return a, b


def _gray(x: np.ndarray) -> np.ndarray:
    if x.ndim == 4:
        return x[..., 0] if x.shape[-1] == 1 else x @ LUMINANCE
    return x


def pixcorr(gt, rec) -> np.ndarray:
    """Pearson r between each flattened ground truth and its reconstruction."""
    a, b = _pair(gt, rec)
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(1) / den, np.nan)


def _gaussian_blur(x: np.ndarray, sigma: float, truncate: float = 3.5) -> np.ndarray:
    """Separable Gaussian filter of the last two axes, scipy.ndimage's 'reflect' border."""
    r = int(truncate * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    for axis in (-2, -1):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        p = np.pad(x, pad, mode="symmetric")  # = ndimage 'reflect' (edge sample repeated)
        n = x.shape[axis]
        x = sum(w * np.take(p, np.arange(i, i + n), axis=axis) for i, w in enumerate(k))
    return x


def _box_blur(x: np.ndarray, size: int) -> np.ndarray:
    r = size // 2
    for axis in (-2, -1):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        p = np.pad(x, pad, mode="symmetric")
        n = x.shape[axis]
        x = sum(np.take(p, np.arange(i, i + n), axis=axis) for i in range(size)) / size
    return x


def _ssim_maps(a: np.ndarray, b: np.ndarray, *, gaussian: bool, sample_covariance: bool, data_range: float) -> np.ndarray:
    """Mean SSIM of each (n, y, x) pair, following Wang et al. (2004) and scikit-image's cropping."""
    win = 2 * int(3.5 * 1.5 + 0.5) + 1 if gaussian else 7
    if min(a.shape[-2:]) < win:
        raise DataError(f"images of {a.shape[-2:]} px are smaller than the {win}-px SSIM window", variable="images")

    def blur(x):
        return _gaussian_blur(x, 1.5) if gaussian else _box_blur(x, 7)

    norm = win**2 / (win**2 - 1) if sample_covariance else 1.0
    ux, uy = blur(a), blur(b)
    vx = norm * (blur(a * a) - ux * ux)
    vy = norm * (blur(b * b) - uy * uy)
    vxy = norm * (blur(a * b) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return s[..., pad:-pad, pad:-pad].mean(axis=(-2, -1))


def ssim(gt, rec, convention: str = "brain-diffuser") -> np.ndarray:
    """Structural similarity per image (see the module docstring for the two conventions).

    Parameters
    ----------
    gt, rec : arrays, shape (n, y, x[, channel])
        Ground truth and reconstructions in [0, 1]; colour images are converted to grayscale.
    convention : {"brain-diffuser", "skimage"}
        Gaussian window (sigma 1.5, population covariance, data range 1), or scikit-image's defaults.

    Returns
    -------
    array, shape (n,)
    """
    a, b = _pair(gt, rec)
    if convention == "brain-diffuser":
        return _ssim_maps(_gray(a), _gray(b), gaussian=True, sample_covariance=False, data_range=1.0)
    if convention == "skimage":
        if a.ndim == 4:  # per channel, averaged (scikit-image's channel_axis behaviour)
            a, b = np.moveaxis(a, -1, 1), np.moveaxis(b, -1, 1)
            return _ssim_maps(a, b, gaussian=False, sample_covariance=True, data_range=1.0).mean(1)
        return _ssim_maps(a, b, gaussian=False, sample_covariance=True, data_range=1.0)
    raise ValueError(f"convention must be 'brain-diffuser' or 'skimage', got {convention!r}")


def to_uint8(x) -> np.ndarray:
    """[0, 1] floats to uint8, rounded and clipped."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def psnr(gt, rec, cap: float | None = None) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB, on uint8-quantised images (STSBench).

    Identical images have an infinite PSNR (summarise with a median, or give ``cap``).

    Parameters
    ----------
    gt, rec : arrays, shape (n, ...)
        Images in [0, 1].
    cap : float, optional
        Largest value returned, in dB.

    Returns
    -------
    array, shape (n,)
    """
    a, b = _pair(gt, rec)
    a, b = to_uint8(a).astype(np.float64), to_uint8(b).astype(np.float64)
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        out = np.where(mse > 0, 10 * np.log10(255.0**2 / np.maximum(mse, 1e-300)), np.inf)
    return np.minimum(out, cap) if cap is not None else out


def _unit_rows(gt_features, rec_features) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets as rows centred and scaled to unit norm (NaN rows for constant images)."""
    # Private float64 copies, centred and scaled in place: feature maps are large.
    a = np.array(gt_features, dtype=np.float64).reshape(len(gt_features), -1)
    b = np.array(rec_features, dtype=np.float64).reshape(len(rec_features), -1)
    if a.shape != b.shape:
        raise DataError(f"shape {b.shape} does not match the ground-truth features {a.shape}", variable="rec_features")
    for x in (a, b):
        x -= x.mean(1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            x /= np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    return a, b


def _feature_corr(gt_features, rec_features) -> np.ndarray:
    if len(gt_features) < 2:
        raise DataError("identification needs at least 2 images", variable="gt_features")
    a, b = _unit_rows(gt_features, rec_features)
    return a @ b.T  # r[i, j] = corr(gt_i, rec_j); NaN for a constant image


def feature_distance(gt_features, rec_features) -> np.ndarray:
    """Correlation distance ``1 - r`` between each reconstruction's features and its ground truth's
    (brain-diffuser's EfficientNet/SwAV distances; lower is better), shape (n,)."""
    a, b = _unit_rows(gt_features, rec_features)
    return 1.0 - (a * b).sum(1)  # paired rows only: no n x n matrix


def identification(gt_features, rec_features, n_way: int = 2, *, n_draws: int = 100, seed: int = 0) -> np.ndarray:
    """n-way identification accuracy of each reconstruction (chance = 1 / n_way).

    2-way (brain-diffuser): the fraction of the other N - 1 ground truths whose correlation with
    reconstruction ``j`` is below that of its own ground truth. n-way (MindEye): the fraction of
    ``n_draws`` random draws of ``n_way - 1`` distractors that all correlate less.

    Parameters
    ----------
    gt_features, rec_features : arrays, shape (n, features)
        Features of the ground truths and of their reconstructions, rows paired.
    n_way : int
        2 for the exhaustive two-way test, more for random n-way draws.
    n_draws, seed :
        Random distractor sets per reconstruction (n-way only) and their seed.

    Returns
    -------
    array, shape (n,)
        Accuracy of each reconstruction in [0, 1].
    """
    r = _feature_corr(gt_features, rec_features)
    n = len(r)
    own = np.diag(r)
    undefined = np.isnan(own)  # a constant reconstruction correlates with nothing: no score
    wins = r < own[None, :]  # wins[i, j]: ground truth i correlates less with rec j than gt j does
    if n_way == 2:
        return np.where(undefined, np.nan, wins.sum(0) / (n - 1))  # the diagonal is never below itself
    if not 2 < n_way <= n:
        raise DataError(f"n_way must be between 2 and the number of images ({n}), got {n_way}", variable="n_way")
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    for j in range(n):
        others = np.delete(np.arange(n), j)
        draws = np.stack([rng.choice(others, n_way - 1, replace=False) for _ in range(n_draws)])
        out[j] = wins[draws, j].all(1).mean()
    return np.where(undefined, np.nan, out)


def identification_from_similarity(similarity: np.ndarray) -> np.ndarray:
    """2-way identification per row of a (n, n) similarity matrix whose diagonal holds the true pairs:
    the share of the other columns scoring below the true one (ties count half)."""
    s = np.asarray(similarity, float)
    n = len(s)
    if s.shape != (n, n) or n < 2:
        raise DataError(f"expected a square similarity matrix of 2 or more stimuli, got shape {s.shape}")
    true = np.diag(s)[:, None]
    below = (s < true).sum(1) + 0.5 * ((s == true).sum(1) - 1)
    return below / (n - 1)


def identification_pvalue_from_similarity(similarity: np.ndarray, n_permutations: int = 1000, seed: int = 0) -> float:
    """Permutation p-value of the mean 2-way identification: the columns (candidates) shuffled."""
    observed = identification_from_similarity(similarity).mean()
    rng = np.random.default_rng(seed)
    null = [identification_from_similarity(similarity[:, rng.permutation(len(similarity))]).mean()
            for _ in range(n_permutations)]
    return float((1 + np.sum(np.asarray(null) >= observed)) / (1 + n_permutations))


def retrieval_top1(gt_features, rec_features) -> np.ndarray:
    """1 where reconstruction ``j`` correlates best with its own ground truth among all N, else 0."""
    r = _feature_corr(gt_features, rec_features)
    hit = (np.argmax(np.nan_to_num(r, nan=-np.inf), axis=0) == np.arange(len(r))).astype(float)
    return np.where(np.isnan(np.diag(r)), np.nan, hit)


def identification_pvalue(gt_features, rec_features, *, n_permutations: int = 1000, seed: int = 0) -> float:
    """Permutation p-value of the mean 2-way identification against chance.

    The reconstructions are re-paired with random ground truths; p = (1 + #{permuted mean >=
    observed mean}) / (1 + n_permutations). NaN when every reconstruction is the same (a mean or
    gray image): its score is chance by construction, and permuting it would only rank
    floating-point noise.
    """
    rec = np.asarray(rec_features, dtype=float).reshape(len(rec_features), -1)
    if np.allclose(rec, rec[:1], rtol=1e-5, atol=1e-8):
        return float("nan")
    r = _feature_corr(gt_features, rec_features)
    n = len(r)

    def score(rr):
        return ((rr < np.diag(rr)[None, :]).sum(0) / (n - 1)).mean()

    observed = score(r)
    rng = np.random.default_rng(seed)
    count = sum(score(r[rng.permutation(n)]) >= observed for _ in range(n_permutations))
    return float((1 + count) / (1 + n_permutations))


def frame_differences(videos) -> np.ndarray:
    """Consecutive-frame differences of videos (n, frame, y, x[, 3]), flattened per clip: the
    temporal features of identification by motion."""
    v = np.asarray(videos, dtype=np.float64)
    if v.ndim < 4 or v.shape[1] < 2:
        raise DataError(f"expected videos (n, frame >= 2, y, x[, 3]), got {v.shape}", variable="videos")
    return np.diff(v, axis=1).reshape(len(v), -1)


def temporal_correlation(gt, rec) -> np.ndarray:
    """Per clip, the Pearson r between the frame differences of the ground truth and of the
    reconstruction (how well the reconstruction moves as the clip does); NaN where either is static."""
    g, r = frame_differences(gt), frame_differences(rec)
    if g.shape != r.shape:
        raise DataError(f"reconstructions {np.shape(rec)} do not match ground truth {np.shape(gt)}", variable="reconstructions")
    g = g - g.mean(1, keepdims=True)
    r = r - r.mean(1, keepdims=True)
    norm = np.sqrt((g**2).sum(1) * (r**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 1e-12, (g * r).sum(1) / norm, np.nan)
