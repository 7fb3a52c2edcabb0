"""GPU benchmark: every CUDA path of cortexkit against the CPU in one process, with timings.

For each part, the same seeded work runs on the CPU and on ``cuda`` and the script prints the wall
times, their ratio and the agreement of the results:

- ridge: RidgeCV (5-fold CV over 15 alphas) on 4000 samples x 2000 features x 20000 targets in
  float32: chosen alphas equal, held-out R² difference;
- features: the expansion model and the Gabor bank on 128 images: largest relative difference;
- trained predictors: the shipped CPU configs (conv2d on simulated V1, conv3d and transformer on
  simulated MT): the steady time of one epoch (a 4-epoch run minus a 1-epoch run, after a warm-up
  run, so loading and one-time costs are left out), on the CPU for one epoch, on CUDA in float32 and in bf16; two seeded CUDA
  runs compared for reproducibility; the test score of a short CUDA run;
- GPU-sized configs: ``configs/sensorium_gpu.yaml`` on two Sensorium 2023 mice written here in the
  release layout at the release's frame size and length (36 x 64 px, 300 frames; the neuron and
  trial counts are given below: the time per trial scales to the real ones), and
  ``configs/v4_transfer_gpu.yaml`` on the real V4 sessions (VGG16 initialised at random: the
  ImageNet weights cost the same time), one epoch each, with peak GPU memory;
- ViV1T's options on ``configs/sensorium_gpu.yaml`` (parallel attention, gradient checkpointing,
  the GRU modulator, the exponential output): time per epoch and peak memory against the config;
- DorsalNet: training on 3000 rendered self-motion clips (12 epochs), and its validation errors;
- hyperparameter search: two trials of ``train --search`` on CUDA.

    python bench/gpu.py --out runs/gpu --v4-data ../shared/data     # a few minutes on one GPU
    python bench/gpu.py --out runs/gpu --quick                       # smaller, a smoke run

Results go to ``OUT/gpu.json`` and ``OUT/gpu.md`` (the table the docs show).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
GPU = "cuda"  # --device cpu runs every part on the CPU twice: a dry run of the script without a GPU
RESULTS: dict = {}
LINES: list[str] = []
OUT: Path | None = None


def say(line: str = "", item: bool = True) -> None:
    """Print and keep a line of the report (a list item unless a heading or ``item`` is False)."""
    if item and line and not line.lstrip("\n").startswith("**"):
        line = f"- {line}"
    print(line, flush=True)
    LINES.append(line)
    if OUT is not None:  # written as it goes: a run stopped at a time limit keeps what it measured
        (OUT / "gpu.md").write_text("\n".join(LINES) + "\n")
        (OUT / "gpu.json").write_text(json.dumps(RESULTS, indent=1, default=float))


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _reset_peak():
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _peak() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def timed(fn):
    sync()
    t = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - t


def part(name):
    """Run one part; a failure is reported and the other parts still run."""
    def wrap(fn):
        def run(*args, **kwargs):
            say(f"\n**{name}**\n")
            try:
                fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the report names the failure, the next part runs
                RESULTS[name] = {"error": f"{type(err).__name__}: {err}"}
                say(f"FAILED: {type(err).__name__}: {err}")
                traceback.print_exc()
        return run
    return wrap


@part("ridge")
def ridge(args):
    from cortexkit.encoding.ridge import RidgeCV

    n, p, t = (1000, 500, 2000) if args.quick else (4000, 2000, 20000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n + 500, p), dtype=np.float32)
    W = rng.standard_normal((p, t), dtype=np.float32) * rng.uniform(0, 0.1, t).astype(np.float32)
    Y = X @ W + rng.standard_normal((n + 500, t), dtype=np.float32)
    alphas = np.logspace(-2, 6, 15)
    fits = {}
    for device in ("cpu", GPU):
        model = RidgeCV(alphas=alphas, cv=5, device=device)
        model.fit(X[:120], Y[:120, :50])  # warm-up (CUDA context, kernels)
        _, seconds = timed(lambda: model.fit(X[:n], Y[:n]))
        fits[device] = (model, seconds, model.score(X[n:], Y[n:]))
    (cpu, tc, rc), (gpu, tg, rg) = fits["cpu"], fits[GPU]
    same = float(np.mean(np.isclose(cpu.alpha_, gpu.alpha_)))
    diff = float(np.max(np.abs(np.asarray(rc) - np.asarray(rg))))
    RESULTS["ridge"] = {"shape": [n, p, t], "cpu_s": tc, "cuda_s": tg, "speedup": tc / tg, "same_alpha": same,
                        "max_abs_r2_diff": diff}
    say(f"{n} x {p} x {t} targets, 15 alphas, 5 folds, float32: CPU ({torch.get_num_threads()} threads) {tc:.2f} s, "
        f"CUDA {tg:.2f} s ({tc / tg:.1f}x); alphas equal for {same:.1%} of targets; largest held-out R² "
        f"difference {diff:.1e}")


@part("features")
def features(args):
    from cortexkit.features import get_extractor

    rng = np.random.default_rng(0)
    images = rng.random((64 if args.quick else 128, 96, 96), dtype=np.float32)
    rows = {}
    for name, params in (("expansion", {"image_size": 140}), ("gabor", {})):
        outs = {}
        for device in ("cpu", GPU):
            ex = get_extractor(name, {**params, "device": device}).fit(images[:8])
            ex.extract(images[:8])
            feats, seconds = timed(lambda: ex.extract(images))
            outs[device] = (feats, seconds)
        (fc, tc), (fg, tg) = outs["cpu"], outs[GPU]
        a = np.concatenate([np.asarray(v).reshape(len(images), -1) for v in fc.values()], 1)
        b = np.concatenate([np.asarray(v).reshape(len(images), -1) for v in fg.values()], 1)
        rel = float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12))
        rows[name] = {"cpu_s": tc, "cuda_s": tg, "speedup": tc / tg, "max_rel_diff": rel, "features": a.shape[1]}
        say(f"{name}: {a.shape[1]} features of {len(images)} images: CPU {tc:.2f} s, CUDA {tg:.2f} s "
            f"({tc / tg:.1f}x); largest difference {rel:.1e} of the largest feature")
    RESULTS["features"] = rows


def _train(cfg, out, epochs, **changes):
    from cortexkit.pipelines.predictor import train_predictor

    cfg = cfg.model_copy(update={"epochs": epochs, "patience": None, "lr_patience": None, **changes})
    run, seconds = timed(lambda: train_predictor(cfg, out, log=lambda m: None))
    return run, seconds


def _epoch_time(cfg, out, **changes):
    """Steady seconds per epoch: a 4-epoch run minus a 1-epoch run (loading cancels), after a 1-epoch
    run that takes the one-time costs (CUDA context, kernel choice, thread pools, file caches)."""
    _train(cfg, out / "warm", 1, **changes)
    _, one = _train(cfg, out / "one", 1, **changes)
    run, four = _train(cfg, out / "three", 4, **changes)
    return (four - one) / 3, run


@part("trained predictors")
def predictors(args, work):
    from cortexkit import data
    from cortexkit.pipelines import predictor_config
    from cortexkit.pipelines.predictor import evaluate_predictor
    from cortexkit.simulate import simulate_mt, simulate_v1

    stores = {"v1": data.save(simulate_v1(seed=0, **({"n_train": 400} if args.quick else {})), work / "v1.zarr"),
              "mt": data.save(simulate_mt(seed=0, **({"n_train": 200} if args.quick else {})), work / "mt.zarr")}
    rows = {}
    configs = (("v1_conv2d", "v1"), ("mt_conv3d", "mt"), ("mt_transformer", "mt"))
    short_epochs = 2 if args.quick else 10
    for name, store in configs[:1] if args.quick else configs:
        cfg = predictor_config(ROOT / "configs" / f"{name}.yaml", data=[str(stores[store])])
        cpu, _ = _epoch_time(cfg, work / name / "cpu", device="cpu")
        fp32, _ = _epoch_time(cfg, work / name / "fp32", device=GPU, bf16=False)
        bf16, _ = _epoch_time(cfg, work / name / "bf16", device=GPU, bf16=True)
        again, _ = _train(cfg, work / name / "again", 4, device=GPU, bf16=False)
        a = [h["val"] for h in _history(work / name / "fp32" / "three")]
        b = [h["val"] for h in _history(work / name / "again")]
        short, _ = _train(cfg, work / name / "short", short_epochs, device=GPU, bf16=True)
        summary = evaluate_predictor(short, work / name / "short")
        score = float(summary["median_pearson"].iloc[0])
        rows[name] = {"cpu_epoch_s": cpu, "cuda_fp32_epoch_s": fp32, "cuda_bf16_epoch_s": bf16,
                      "speedup_fp32": cpu / fp32, "speedup_bf16": cpu / bf16, "reproducible": a == b,
                      "val_runs": [a, b], f"test_median_r_{short_epochs}_epochs_bf16": score}
        say(f"{name}: epoch CPU {cpu:.2f} s, CUDA fp32 {fp32:.2f} s ({cpu / fp32:.1f}x), bf16 {bf16:.2f} s "
            f"({cpu / bf16:.1f}x); two seeded CUDA runs {'identical' if a == b else 'differ: validation r ' + _rounded(a) + ' vs ' + _rounded(b)}; "
            f"test median r after {short_epochs} bf16 epochs {score:.3f}")
    RESULTS["trained predictors"] = rows


def _rounded(values) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def _history(run_dir):
    from cortexkit.training_loop import load_checkpoint

    return load_checkpoint(Path(run_dir) / "checkpoint.pt")["history"]


def _mouse(root, neurons, train, oracle, seed):
    """A Sensorium 2023 mouse folder in the release layout: 36 x 64 px, 300 frames per trial."""
    rng = np.random.default_rng(seed)
    for d in ("videos", "responses", "behavior", "pupil_center"):
        (root / "data" / d).mkdir(parents=True, exist_ok=True)
    (root / "meta" / "trials").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "neurons").mkdir(parents=True, exist_ok=True)
    tiers = ["train"] * train + ["oracle"] * oracle
    np.save(root / "meta" / "trials" / "tiers.npy", np.array(tiers))
    np.save(root / "meta" / "neurons" / "cell_motor_coordinates.npy", rng.random((neurons, 3)) * 100)
    np.save(root / "meta" / "neurons" / "unit_ids.npy", np.arange(neurons) + 1)
    for t in range(len(tiers)):
        src = train + (t - train) % 2 if t >= train else t  # oracle clips shown twice
        clip = np.random.default_rng([seed, src]).integers(0, 256, (36, 64, 300)).astype(np.float32)
        np.save(root / "data" / "videos" / f"{t}.npy", clip)
        np.save(root / "data" / "responses" / f"{t}.npy", rng.gamma(1.0, 1.0, (neurons, 300)).astype(np.float32))
        np.save(root / "data" / "behavior" / f"{t}.npy", rng.standard_normal((2, 300)).astype(np.float32))
        np.save(root / "data" / "pupil_center" / f"{t}.npy", rng.standard_normal((2, 300)).astype(np.float32))


@part("GPU-sized configs")
def gpu_configs(args, work):
    from cortexkit import data
    from cortexkit.pipelines import predictor_config

    rows = {}
    neurons, train, oracle = (200, 8, 4) if args.quick else (2000, 64, 8)
    paths = []
    for i, key in enumerate("AB"):
        _mouse(work / f"mouse{key}", neurons, train, oracle, seed=i)
        paths.append(f"{key}={data.convert(work / f'mouse{key}', work / f'mouse{key}.zarr', 'sensorium2023', log=lambda m: None)}")
    cfg = predictor_config(ROOT / "configs" / "sensorium_gpu.yaml", data=paths)
    cfg = cfg.model_copy(update={"device": GPU})
    _reset_peak()
    epoch, _ = _epoch_time(cfg, work / "sensorium")
    peak = _peak()
    rows["sensorium_gpu"] = {"mice": 2, "neurons": neurons, "train_trials": train, "epoch_s": epoch,
                             "s_per_train_trial": epoch / (2 * train), "peak_gib": peak}
    say(f"sensorium_gpu.yaml (transformer, shifter, modulator, bf16, batch 16): 2 mice x {neurons} neurons x "
        f"{train} training trials of 300 frames: {epoch:.2f} s per epoch ({epoch / (2 * train) * 1000:.1f} ms per "
        f"trial), peak GPU memory {peak:.1f} GiB")
    if args.v4_data:
        from cortexkit.benchmarks.definition import get_benchmark
        from cortexkit.benchmarks.recordings import prepare_stores

        stores = prepare_stores(get_benchmark("cowley2023-v4"), args.v4_data, work / "bench", log=lambda m: None)
        cfg = predictor_config(ROOT / "configs" / "v4_transfer_gpu.yaml", data=[f"{k}={v}" for k, v in stores.items()])
        cfg = cfg.model_copy(update={"core": {**cfg.core, "weights": "random"}, "device": GPU})
        _reset_peak()
        epoch, _ = _epoch_time(cfg, work / "v4")
        peak = _peak()
        rows["v4_transfer_gpu"] = {"sessions": len(stores), "epoch_s": epoch, "peak_gib": peak}
        say(f"v4_transfer_gpu.yaml (VGG16 to conv4_1 at 224 px, fine-tuned, bf16, batch 128): {len(stores)} V4 "
            f"sessions: {epoch:.2f} s per epoch, peak GPU memory {peak:.1f} GiB")
    RESULTS["GPU-sized configs"] = rows


@part("ViV1T options")
def viv1t_options(args, work):
    """sensorium_gpu.yaml with each of ViV1T's options: time per epoch and peak memory against the config as shipped."""
    from cortexkit import data
    from cortexkit.pipelines import predictor_config

    neurons, train, oracle = (200, 8, 4) if args.quick else (2000, 64, 8)
    paths = []
    for i, key in enumerate("AB"):
        if not (work / f"mouse{key}.zarr").exists():
            _mouse(work / f"mouse{key}", neurons, train, oracle, seed=i)
            data.convert(work / f"mouse{key}", work / f"mouse{key}.zarr", "sensorium2023", log=lambda m: None)
        paths.append(f"{key}={work / f'mouse{key}.zarr'}")
    base = predictor_config(ROOT / "configs" / "sensorium_gpu.yaml", data=paths).model_copy(update={"device": GPU})
    variants = {"as shipped": {}, "attention: parallel": {"core": {**base.core, "attention": "parallel"}},
                "grad_checkpointing: true": {"core": {**base.core, "grad_checkpointing": True}},
                "modulator: gru": {"modulator": "gru"}, "nonlinearity: exp": {"nonlinearity": "exp"}}
    rows = {}
    for name, change in variants.items():
        _reset_peak()
        epoch, _ = _epoch_time(base.model_copy(update=change), work / "viv1t" / name.split(":")[0].replace(" ", "_"))
        rows[name] = {"epoch_s": epoch, "peak_gib": _peak()}
        say(f"{name}: {epoch:.2f} s per epoch, peak GPU memory {rows[name]['peak_gib']:.1f} GiB")
    RESULTS["ViV1T options"] = rows


@part("dorsalnet")
def dorsalnet(args, work):
    from cortexkit.features.dorsalnet import train_dorsalnet

    clips, epochs = (300, 2) if args.quick else (3000, 12)
    metrics, seconds = timed(lambda: train_dorsalnet(work / "dorsalnet", n_clips=clips, epochs=epochs, device=GPU,
                                                     log=lambda m: None))
    RESULTS["dorsalnet"] = {"seconds": seconds, "clips": clips, "epochs": epochs, **metrics}
    say(f"DorsalNet ({clips} rendered clips, {epochs} epochs, rendering included): {seconds:.1f} s; validation heading "
        f"error {metrics['median_heading_error_deg']:.1f} deg (shuffled {metrics['median_heading_error_shuffled_deg']:.1f}), "
        f"speed R² {metrics['speed_r2']:.3f}")


@part("hyperparameter search")
def search(args, work):
    from cortexkit.pipelines import predictor_config
    from cortexkit.pipelines.predictor_search import run_search

    cfg = predictor_config(ROOT / "configs" / "v1_conv2d.yaml", data=[str(work / "v1.zarr")], device=GPU, epochs=3)
    result, seconds = timed(lambda: run_search(cfg, ROOT / "configs" / "spaces" / "predictor.yaml", work / "search",
                                               trials=2, log=lambda m: None))
    table = result["trials"]
    RESULTS["hyperparameter search"] = {"seconds": seconds, "scores": table["validation score"].tolist()}
    say(f"2 trials of 3 epochs of v1_conv2d on CUDA: {seconds:.1f} s; validation scores "
        f"{', '.join(f'{s:.3f}' for s in table['validation score'])}; best.yaml written: "
        f"{(work / 'search' / 'best.yaml').is_file()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gpu", help="folder for gpu.json, gpu.md and the runs")
    parser.add_argument("--v4-data", default=None, help="folder holding cowley2023_v4 (e.g. ../shared/data)")
    parser.add_argument("--quick", action="store_true", help="smaller problems, a smoke run")
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a dry run of the script without a GPU")
    parser.add_argument("--only", default=None, help="comma-separated parts: ridge,predictors,features,gpu,viv1t,dorsalnet,search")
    args = parser.parse_args(argv)
    global GPU
    GPU = args.device
    if GPU.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark compares the CPU with a GPU")
    out = Path(args.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name(0) if GPU.startswith("cuda") else "the CPU (dry run)"
    RESULTS["environment"] = {"gpu": name, "torch": torch.__version__,
                              "cpu_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    say(f"cortexkit on {name} (torch {torch.__version__}) against "
        f"{torch.get_num_threads()} CPU threads", item=False)
    global OUT
    OUT = out
    only = set((args.only or "ridge,predictors,features,gpu,viv1t,dorsalnet,search").split(","))
    if "ridge" in only:
        ridge(args)
    if "predictors" in only:
        predictors(args, work)
    if "features" in only:
        features(args)
    if "gpu" in only:
        gpu_configs(args, work)
    if "viv1t" in only:
        viv1t_options(args, work)
    if "dorsalnet" in only:
        dorsalnet(args, work)
    if "search" in only:
        search(args, work)
    (out / "gpu.json").write_text(json.dumps(RESULTS, indent=1, default=float))
    (out / "gpu.md").write_text("\n".join(LINES) + "\n")


if __name__ == "__main__":
    main()
