"""Running :func:`~cortexkit.encoding.ridge._solvers.fit_target_block` over blocks of targets.

Targets are independent given the decompositions of ``X``, so a fit with many targets is a loop
over blocks of columns of ``Y``, sized to a memory budget. The loop runs in this process, or as one
Dask task per block on a ``distributed`` cluster (``scheduler``): ``X`` and the decompositions are
sent to every worker once, and a lazily loaded ``Y`` (a Dask array over a shared Zarr store) is read
by the workers themselves, block by block. Both give the same blocks, so the same results.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from cortexkit._progress import progress_bar
from cortexkit.encoding.ridge import _solvers
from cortexkit.errors import ConfigError, DataError

# Blocks larger than this are no faster (the products are already large) and use more memory.
DEFAULT_BLOCK = 2048

def block_size(
    *,
    n_samples: int,
    n_features: int,
    n_targets: int,
    n_alphas: int,
    folds: list[_solvers.FoldDecomposition],
    full: _solvers.Decomposition,
    alphas: torch.Tensor,
    itemsize: int,
    chunk_size: int | None,
    max_memory: int | None,
    alpha_batch: int | None,
) -> tuple[int, int]:
    """(targets per block, alphas per batch) within ``max_memory`` (or ``chunk_size`` if given).

    The budget covers ``X``, the decompositions, the outputs (weights, intercepts and the score of
    every alpha for every target) and one block's temporaries. Also precomputes the folds' alpha
    stacks when the budget allows (always without a budget).
    """
    alpha_batch = min(alpha_batch or n_alphas, n_alphas)
    k = max(f.evals.numel() for f in [*folds, full])
    n_val = max(len(f.val) for f in folds)
    # Scoring cost per target and fold: k^2 float64 multiply-adds with the partial-fraction form,
    # n_alphas * n_val * k float32 ones with the direct products (float64 counts double).
    spectral = 2 * k < n_alphas * n_val
    if max_memory is None:
        if spectral:
            _solvers.attach_quadratics(folds)
        else:
            _solvers.stack_alphas(folds, alphas, alpha_batch)
        return min(n_targets, chunk_size or DEFAULT_BLOCK), alpha_batch
    fixed = _solvers.fixed_bytes(n_samples, n_features, folds, full, itemsize)
    outputs = n_targets * (n_features * 4 + n_alphas * 8 + 16)  # coef_ float32, cv_scores_ float64
    free = max_memory - fixed - outputs
    # The precomputed forms save work on every block; keep them when they take under half the rest.
    if spectral and _solvers.quadratic_bytes(folds) <= free // 2:
        _solvers.attach_quadratics(folds)
        free -= _solvers.quadratic_bytes(folds)
    elif _solvers.stack_bytes(folds, n_alphas, itemsize) <= free // 4:
        _solvers.stack_alphas(folds, alphas, alpha_batch)
        free -= _solvers.stack_bytes(folds, n_alphas, itemsize)
    while alpha_batch > 1 and free < _solvers.bytes_per_target(n_samples, n_features, k, n_val, alpha_batch, itemsize):
        alpha_batch = max(1, alpha_batch // 2)
    per_target = _solvers.bytes_per_target(n_samples, n_features, k, n_val, alpha_batch, itemsize)
    if free < per_target:
        raise ConfigError(
            f"max_memory={max_memory / 2**20:.0f} MiB is too small: X, its decompositions and the outputs for "
            f"{n_targets} targets take {(fixed + outputs) / 2**20:.0f} MiB"
        )
    size = int(min(n_targets, free // per_target, chunk_size or DEFAULT_BLOCK))
    return size, alpha_batch


def _as_tensor(block, dtype: torch.dtype, device, first: int) -> tuple[torch.Tensor, np.ndarray]:
    """The block divided by each target's largest absolute value, and those scales (float64).

    Ridge is solved on targets of unit magnitude and the weights scaled back, so that what it
    chooses does not depend on the units of the responses (spike counts, or 1e30 times them, whose
    float32 sums of squares overflow). All-zero targets keep a scale of 1.
    """
    arr = np.asarray(block)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        col = first + int(np.flatnonzero(bad.any(axis=0))[0])
        raise DataError(f"contains NaN/inf (first in target {col})", variable="y")
    scale = np.maximum(arr.max(axis=0), -arr.min(axis=0)).astype(np.float64)  # no |arr| temporary
    scale[~(scale > 0)] = 1.0
    work = np.float64 if dtype == torch.float64 else np.float32
    return torch.as_tensor((arr / scale.astype(arr.dtype)).astype(work, copy=False), device=device), scale


def _block_task(X, folds, full, alphas, y_block, first, scoring, alpha_batch, device, threads):
    """One block of targets, as a (possibly remote) task; returns numpy arrays in the targets' units."""
    if threads:
        torch.set_num_threads(threads)
    Y, scale = _as_tensor(y_block, X.dtype, device, first)
    out = _solvers.fit_target_block(X, Y, folds, full, alphas, scoring=scoring, alpha_batch=alpha_batch)
    out = {k: v.cpu().numpy() for k, v in out.items()}
    out["coef"] = (out["coef"] * scale).astype(out["coef"].dtype)
    out["intercept"] = (out["intercept"] * scale).astype(out["intercept"].dtype)
    if scoring == "neg_mse":  # the other scores are scale-free
        out["scores"] = (out["scores"] * scale**2).astype(out["scores"].dtype)
    return out


def run_blocks(
    X: torch.Tensor,
    y,
    folds: list[_solvers.FoldDecomposition],
    full: _solvers.Decomposition,
    alphas: torch.Tensor,
    *,
    size: int,
    scoring: str,
    alpha_batch: int,
    scheduler=None,
    description: str = "ridge",
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """Yield ``(target slice, results)`` for consecutive blocks of ``size`` columns of ``y``.

    ``y`` is any 2-D array-like that supports ``y[:, a:b]`` (numpy, Dask, Zarr). With a
    ``scheduler`` (a ``distributed.Client`` or its address) blocks run as Dask tasks.
    """
    n_targets = y.shape[1]
    slices = [slice(a, min(n_targets, a + size)) for a in range(0, n_targets, size)]
    device = X.device
    with progress_bar(f"{description} ({len(slices)} target blocks)", len(slices)) as advance:
        if scheduler is None:
            for s in slices:
                yield s, _block_task(X, folds, full, alphas, y[:, s], s.start, scoring, alpha_batch, device, None)
                advance()
            return
        import dask
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            shared = client.scatter([X.cpu(), [_to_cpu(f) for f in folds], _to_cpu(full), alphas.cpu()], broadcast=True)
            tasks = [
                dask.delayed(_block_task, pure=False)(*shared, y[:, s], s.start, scoring, alpha_batch, "cpu", None)
                for s in slices
            ]
            futures = client.compute(tasks)
            where = {f.key: s for f, s in zip(futures, slices)}
            for future in as_completed(futures):
                yield where[future.key], future.result()
                advance()
        finally:
            if not isinstance(scheduler, Client):
                client.close()


def _to_cpu(d):
    """A decomposition with its tensors on the CPU (what a remote worker can receive)."""
    fields = {k: (v.cpu() if isinstance(v, torch.Tensor) else v) for k, v in vars(d).items()}
    return type(d)(**fields)
