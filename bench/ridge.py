"""Ridge benchmark: cortexkit RidgeCV against himalaya and scikit-learn, in one process.

Prints wall time, peak memory (resident set growth during the fit, sampled every few ms) and the
ratio to cortexkit, the agreement of the chosen alphas and of held-out R², a scaling curve, and a
many-target run whose targets are read lazily from a Zarr store under a ``max_memory`` budget.

    python bench/ridge.py                      # default: 3000 samples x 1000 features x 10000 targets
    python bench/ridge.py --quick              # a smaller problem, for a smoke test
    python bench/ridge.py --device cuda        # cortexkit on a GPU (references stay on the CPU)
    python bench/ridge.py --big-targets 100000 --max-memory 1.5GB

Everyone gets the same seeded float32 data, the same 15 alphas and (cortexkit, himalaya) the same
5 shuffled folds, scored by mean squared error (himalaya's criterion). scikit-learn's RidgeCV with
``alpha_per_target=True`` only offers efficient leave-one-out, so its alphas answer a different
question; its held-out R² is still comparable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


class PeakMemory:
    """Peak growth of this process's resident memory inside a ``with`` block (bytes)."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def __enter__(self):
        self.start = self._rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.used = self.peak - self.start


def make_data(n, p, t, n_test, seed=0):
    """Targets with a spread of signal-to-noise: a few strong, most weak."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, p), dtype=np.float32)
    W = rng.standard_normal((p, t), dtype=np.float32) * (0.1 * rng.random(t, dtype=np.float32) ** 2)
    Y = X @ W + rng.standard_normal((n + n_test, t), dtype=np.float32)
    return X[:n], Y[:n], X[n:], Y[n:]


def r2(y, pred):
    return 1 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def run(name, fit, predict, Xte, Yte):
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        alphas = fit()
        wall = time.perf_counter() - t0
    return {"name": name, "time": wall, "memory": mem.used, "alphas": np.asarray(alphas), "r2": r2(Yte, predict(Xte))}


def arithmetic_floor(n, p, t, n_folds, device="cpu"):
    """The least time the exact K-fold computation can take on this machine, from measured GEMM rates.

    Target-dependent work of the primal solver (p <= n; k = p eigenvectors), counted in multiply-adds
    x 2: X^T Y once (2 n p t); per fold, the projection of X^T Y on the fold's eigenvectors (2 k p t),
    the validation cross-products A^T Y_v (2 k n_v t) and the validation-norm quadratic over all alphas
    at once (2 k^2 t, in float64: its partial-fraction terms cancel); the refit on all rows (2 k p t to
    project, 2 p k t for the weights). Target-independent: one p x p eigendecomposition per fold and one
    for the refit (timed), their Gram matrices (2 n p^2 each). Everything else is O(t (k + alphas)).
    """
    import torch

    n_val = n // n_folds
    f32 = 2 * n * p * t + n_folds * (2 * p * p * t + 2 * p * n_val * t) + 2 * (2 * p * p * t) + (n_folds + 1) * 2 * n * p * p
    f64 = n_folds * 2 * p * p * t

    def rate(dtype, m, k, cols):
        a = torch.randn(m, k, dtype=dtype, device=device)
        b = torch.randn(k, cols, dtype=dtype, device=device)
        a @ b
        t0 = time.perf_counter()
        for _ in range(3):
            a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        return 3 * 2 * m * k * cols / (time.perf_counter() - t0)

    r32 = rate(torch.float32, p, n, min(t, 10000))
    r64 = rate(torch.float64, p, p, min(t, 10000))
    gram = torch.randn(p, p, device=device)
    gram = gram @ gram.T
    torch.linalg.eigh(gram)
    t0 = time.perf_counter()
    torch.linalg.eigh(gram)
    eig = (time.perf_counter() - t0) * (n_folds + 1)
    floor = f32 / r32 + f64 / r64 + eig
    return {"gflop32": f32 / 1e9, "gflop64": f64 / 1e9, "rate32": r32 / 1e9, "rate64": r64 / 1e9, "eigh": eig,
            "floor": floor}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--test-samples", type=int, default=1000)
    ap.add_argument("--alphas", type=int, default=15)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip", default="", help="comma list of: sklearn, himalaya, scaling, big")
    ap.add_argument("--himalaya-backends", default="numpy,torch")
    ap.add_argument("--big-targets", type=int, default=100000)
    ap.add_argument("--max-memory", default="1.5GB")
    ap.add_argument("--quick", action="store_true", help="1000 x 300 x 2000, no scaling curve, 20000 big targets")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples, args.features, args.targets, args.big_targets = 1000, 300, 2000, 20000
        args.skip += ",scaling"
    skip = set(filter(None, args.skip.split(",")))

    import torch
    from sklearn.model_selection import KFold

    from cortexkit.encoding import RidgeCV

    print(f"# ridge benchmark: {args.samples} samples x {args.features} features x {args.targets} targets, "
          f"{args.alphas} alphas, {args.folds} folds, float32; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    Xtr, Ytr, Xte, Yte = make_data(args.samples, args.features, args.targets, args.test_samples)
    alphas = np.logspace(-1, 6, args.alphas)
    cv = KFold(args.folds, shuffle=True, random_state=0)
    results = []

    ck = RidgeCV(alphas=alphas, cv=cv, scoring="neg_mse", device=args.device)
    results.append(run("cortexkit", lambda: ck.fit(Xtr, Ytr).alpha_, ck.predict, Xte, Yte))

    if "himalaya" not in skip:
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV

        for backend in args.himalaya_backends.split(","):
            set_backend(backend, on_error="raise")
            hm = HimalayaRidgeCV(alphas=alphas, cv=cv, fit_intercept=True)

            def fit_h():
                hm.fit(Xtr, Ytr)
                return np.asarray(hm.best_alphas_)

            def predict_h(X):
                return np.asarray(hm.predict(X))

            results.append(run(f"himalaya ({backend})", fit_h, predict_h, Xte, Yte))
        set_backend("numpy")
    if "sklearn" not in skip:
        from sklearn.linear_model import RidgeCV as SklearnRidgeCV

        sk = SklearnRidgeCV(alphas=alphas, alpha_per_target=True)
        results.append(run("scikit-learn (LOO)", lambda: sk.fit(Xtr, Ytr).alpha_, sk.predict, Xte, Yte))

    ours = results[0]
    print("\n| method | wall time (s) | ratio to cortexkit | peak memory (MiB) | same alpha as cortexkit | mean test R² | max abs test R² diff |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        same = np.mean(np.isclose(r["alphas"], ours["alphas"], rtol=1e-4))
        print(f"| {r['name']} | {r['time']:.1f} | {r['time'] / ours['time']:.2f} | {r['memory'] / 2**20:.0f} | "
              f"{100 * same:.1f}% | {np.mean(r['r2']):.4f} | {np.max(np.abs(r['r2'] - ours['r2'])):.2e} |")
    others = [r["time"] for r in results[1:]]
    if others:
        print(f"\ncortexkit is {min(others) / ours['time']:.2f}x faster than the fastest reference")
    if args.features <= args.samples:
        f = arithmetic_floor(args.samples, args.features, args.targets, args.folds, args.device)
        print(f"\n# arithmetic floor (primal, exact {args.folds}-fold): {f['gflop32']:.0f} GFLOP float32 at "
              f"{f['rate32']:.0f} GFLOP/s + {f['gflop64']:.0f} GFLOP float64 at {f['rate64']:.0f} GFLOP/s "
              f"+ {args.folds + 1} eigendecompositions {f['eigh']:.2f} s = {f['floor']:.2f} s; "
              f"cortexkit {ours['time']:.2f} s = {ours['time'] / f['floor']:.2f}x the floor")

    if "scaling" not in skip:
        def timed(X, Y):
            m = RidgeCV(alphas=alphas, cv=cv, device=args.device)
            t0 = time.perf_counter()
            m.fit(X, Y)
            return time.perf_counter() - t0

        def table(label, sizes, times):
            print(f"| {label} | time (s) |\n|---|---|")
            for size, t in zip(sizes, times):
                print(f"| {size} | {t:.2f} |")
            slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
            print(f"fitted exponent (time ~ {label}^a): a = {slope:.2f}")

        sizes = (1000, 2500, 5000, 10000)
        print("\n# scaling (cortexkit): time vs targets (samples and features as above)")
        table("targets", sizes, [timed(Xtr, Ytr[:, :t]) for t in sizes])
        sizes = (1000, 2000, 4000, 8000)
        print("\n# scaling (cortexkit): time vs samples (1000 features, 2000 targets)")
        table("samples", sizes, [timed(*make_data(n, args.features, 2000, 0, seed=1)[:2]) for n in sizes])
        sizes = (250, 500, 1000, 2000)
        print("\n# scaling (cortexkit): time vs features (4000 samples, 2000 targets)")
        table("features", sizes, [timed(*make_data(4000, p, 2000, 0, seed=2)[:2]) for p in sizes])

    if "big" not in skip:
        import dask.array as da
        import zarr

        from cortexkit.memory import parse_memory

        budget = parse_memory(args.max_memory)
        with tempfile.TemporaryDirectory() as tmp:
            store = Path(tmp) / "targets.zarr"
            chunk = 2000
            arr = zarr.create_array(str(store), shape=(args.samples, args.big_targets), chunks=(args.samples, chunk), dtype="float32")
            rng = np.random.default_rng(2)
            for a in range(0, args.big_targets, chunk):  # written block by block: never all in memory
                w = rng.standard_normal((args.features, min(chunk, args.big_targets - a)), dtype=np.float32) * 0.05
                arr[:, a : a + w.shape[1]] = Xtr @ w + rng.standard_normal((args.samples, w.shape[1]), dtype=np.float32)
            lazy = da.from_zarr(str(store))
            big = RidgeCV(alphas=alphas, cv=cv, max_memory=budget, device=args.device)
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                big.fit(Xtr, lazy)
                wall = time.perf_counter() - t0
            data_size = args.samples * args.big_targets * 4
            print(f"\n# {args.big_targets} targets read lazily from Zarr ({data_size / 2**30:.2f} GiB of targets), "
                  f"max_memory={budget / 2**20:.0f} MiB: {wall:.1f} s, peak memory growth {mem.used / 2**20:.0f} MiB "
                  f"({'within' if mem.used <= budget else 'OVER'} the budget), {big.block_size_} targets per block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
