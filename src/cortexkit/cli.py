"""The ``cortexkit`` command line: demo, simulate, convert, formats, info, features, compare, fit,
evaluate, report, reconstruct, decode, train, bench.

Every command has ``--help`` with an example. Bad input (a missing or corrupt store, a wrong
config field) ends with one line on stderr naming the file and the field, and exit code 2.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from cortexkit import __version__
from cortexkit.errors import CortexkitError

app = typer.Typer(
    name="cortexkit",
    help="Encoding, decoding and benchmarking models of the visual cortex.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    epilog="Start with: cortexkit demo --out runs/demo",
)
console = Console()
if not console.is_terminal:  # logs and pipes: wide enough for the summary table
    console = Console(width=130)
err_console = Console(stderr=True)

# Short headers of the summary table.
_SUMMARY_HEADERS = {
    "model": "model", "cell_type": "cells", "n_units": "units", "median_pearson": "r",
    "median_ceiling": "ceiling", "median_normalized": "r²/ceiling", "median_feve": "FEVE",
    "median_fev": "FEV", "median_r2": "R²", "median_pearson_true": "r (truth)", "median_rf_corr": "RF |r|",
}


def _friendly_errors(func):
    """Turn user-input errors into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CortexkitError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


def _log(message: str) -> None:
    console.print(f"  {message}", highlight=False)


def _print_summary(summary: pd.DataFrame) -> None:
    table = Table(title="summary (medians over units, test set)", title_justify="left")
    for col in summary.columns:
        numeric = pd.api.types.is_numeric_dtype(summary[col])
        table.add_column(_SUMMARY_HEADERS.get(col, col), justify="right" if numeric else "left")
    for _, row in summary.iterrows():
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def _with_params(specs, layers: Optional[str], params: dict):
    """Copies of ``specs`` with ``layers`` and extractor ``params`` set where the extractor takes them."""
    from cortexkit.features import get_extractor

    out = []
    for spec in specs:
        accepted = get_extractor(spec.name, spec.params).get_params(deep=False)
        new = dict(spec.params)
        if layers is not None and "layers" in accepted:
            new["layers"] = layers if layers in ("all", "last") else [v.strip() for v in layers.split(",")]
        new.update({k: v for k, v in params.items() if k in accepted})
        out.append(spec.model_copy(update={"params": new}))
    return out


def _parse_features(features: Optional[str]):
    from cortexkit.benchmarks import FeatureSpec

    if not features:
        return None
    return [FeatureSpec(name=name.strip()) for name in features.split(",") if name.strip()]


@app.command()
@_friendly_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="run directory to write"),
    seed: int = typer.Option(0, help="seed of the simulation and the cross-validation folds"),
    n_train: int = typer.Option(2000, help="training images (shown once each)"),
    n_test: int = typer.Option(100, help="test images (shown --n-repeats times each)"),
    n_repeats: int = typer.Option(10, help="repeats of each test image"),
    overwrite: bool = typer.Option(False, help="refit models even if the run already has them"),
):
    """Simulate a V1 recording, fit pixel, PCA and Gabor ridge models, score them, write a report.

    The simulated population has simple cells (Gabor filter + rectification) and complex cells
    (Gabor energy) with Poisson spike counts; their true filters and noise-free rates are kept, so
    the report can compare recovered receptive fields and ceilings with the truth. Writes
    OUT/data.zarr, OUT/config.yaml, OUT/models/, OUT/results.csv, OUT/summary.csv,
    OUT/figures/*.png and OUT/report.html. A second run reuses what is already there.

    Example: cortexkit demo --out runs/demo --seed 1
    """
    from cortexkit import data
    from cortexkit.benchmarks import EncodingConfig, evaluate_run, fit_run
    from cortexkit.report import write_report
    from cortexkit.simulate import V1SimulationConfig, simulate_v1

    start = time.time()
    sim = V1SimulationConfig(n_train=n_train, n_test=n_test, n_repeats=n_repeats, seed=seed)
    data_path = out / "data.zarr"
    console.print(f"[bold]1/4 simulate[/] {sim.n_simple} simple + {sim.n_complex} complex V1 cells -> {data_path}")
    existing = None
    if data_path.exists():
        try:
            existing = json.loads(data.open(data_path).attrs.get("simulation", "null"))
        except (CortexkitError, ValueError):
            existing = None
    if existing == sim.model_dump(mode="json"):
        _log("same simulation already on disk, reused")
    else:
        data.save(simulate_v1(sim), data_path)
    console.print("[bold]2/4 fit[/] ridge (5-fold CV, alpha per unit) on pixels, pixel PCA and a Gabor pyramid")
    fit_run(data_path, out, EncodingConfig(seed=seed), overwrite=overwrite,
            extra={"simulation": sim.model_dump(mode="json")}, log=_log)
    console.print("[bold]3/4 evaluate[/] on the test images, with split-half noise ceilings")
    evaluate_run(out, log=_log)
    console.print("[bold]4/4 report[/]")
    report = write_report(out)
    _print_summary(pd.read_csv(out / "summary.csv"))
    console.print(f"report: {report}  ({time.time() - start:.0f} s)")


@app.command()
@_friendly_errors
def simulate(
    out: Path = typer.Argument(..., help="Zarr store to write (e.g. v1.zarr)"),
    population: str = typer.Option("v1", help="v1 (simple/complex cells, images) or mt (motion-energy units, movies)"),
    config: Optional[Path] = typer.Option(None, help="YAML with the population's config fields"),
    n_train: Optional[int] = typer.Option(None, help="training stimuli"),
    n_test: Optional[int] = typer.Option(None, help="test stimuli"),
    n_repeats: Optional[int] = typer.Option(None, help="repeats per test stimulus"),
    n_simple: Optional[int] = typer.Option(None, help="simple cells (v1)"),
    n_complex: Optional[int] = typer.Option(None, help="complex cells (v1)"),
    n_units: Optional[int] = typer.Option(None, help="units (mt)"),
    size: Optional[int] = typer.Option(None, help="stimulus side in pixels"),
    color: Optional[bool] = typer.Option(None, "--color/--gray", help="RGB or grayscale stimuli (v1)"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
):
    """Simulate an in-silico recording with known ground truth and save it as Zarr.

    v1: simple and complex cells to natural-image crops (V1SimulationConfig). mt: direction-selective
    motion-energy units to drifting gratings and moving natural crops (MTSimulationConfig). Options
    override the config file, which overrides the defaults.

    Example: cortexkit simulate v1.zarr --n-train 1000 --n-simple 20 --n-complex 20 --seed 1
    """
    from cortexkit import data
    from cortexkit.config import load_config
    from cortexkit.errors import ConfigError
    from cortexkit.simulate import MTSimulationConfig, V1SimulationConfig, simulate_mt, simulate_v1

    kinds = {"v1": (V1SimulationConfig, simulate_v1), "mt": (MTSimulationConfig, simulate_mt)}
    if population not in kinds:
        raise ConfigError(f"--population must be one of {list(kinds)}, got {population!r}")
    model, run = kinds[population]
    cfg = load_config(model, config) if config else model()
    overrides = dict(n_train=n_train, n_test=n_test, n_repeats=n_repeats, n_simple=n_simple, n_complex=n_complex,
                     n_units=n_units, size=size, color=color, seed=seed)
    given = {k: v for k, v in overrides.items() if v is not None}
    foreign = sorted(set(given) - set(model.model_fields))
    if foreign:
        raise ConfigError(f"option(s) {foreign} do not apply to --population {population}")
    cfg = model.model_validate({**cfg.model_dump(), **given})
    ds = run(cfg)
    data.save(ds, out)
    console.print(f"wrote {out}: {ds.sizes['unit']} {population.upper()} units, {cfg.n_train} train + {cfg.n_test} test stimuli")


def _parse_options(pairs: list[str] | None) -> dict:
    """``key=value`` strings to a dict; values are read as YAML scalars (numbers, booleans)."""
    import yaml

    from cortexkit.errors import ConfigError

    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option expects key=value, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value) if value else None
    return out


def _formats_help() -> str:
    from cortexkit.data.readers import READERS

    return "Formats: " + "; ".join(f"{name} ({r.summary})" for name, r in sorted(READERS.items()))


@app.command()
@_friendly_errors
def convert(
    source: Path = typer.Argument(..., help="source file or folder"),
    out: Path = typer.Argument(..., help="Zarr store to write (e.g. recording.zarr)"),
    format: str = typer.Option(..., "--format", "-f", help="source format (see the list below)"),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o", help="reader option key=value (repeatable)"),
):
    """Convert a dataset in a source format into a cortexkit Zarr store.

    Large sources are streamed chunk by chunk with a progress bar; a killed conversion resumes
    from OUT.partial when run again with the same source and options. Each format's options are
    listed by `cortexkit formats`.

    Example: cortexkit convert ../shared/data/cowley2023_v4 v4_210325.zarr --format cowley2023 --option session=210325
    """
    from cortexkit.data import convert as run_convert

    run_convert(source, out, format, _parse_options(option), log=_log)
    console.print(f"wrote {out}; next: cortexkit info {out}")


@app.command()
@_friendly_errors
def formats():
    """List the source formats `cortexkit convert` reads, with their options and an example.

    Example: cortexkit formats
    """
    from cortexkit.data.readers import READERS

    for name, reader in sorted(READERS.items()):
        console.print(f"[bold]{name}[/]: {reader.summary}", highlight=False)
        for opt, text in reader.options.items():
            console.print(f"    {opt}: {text}", highlight=False)
        console.print(f"    e.g. {reader.example}", highlight=False)


def _load_split(store: Path, split: str):
    from cortexkit import data

    ds = data.load(store)
    return ds, (ds if split == "all" else data.select(ds, split))


@app.command()
@_friendly_errors
def features(
    store: Optional[Path] = typer.Argument(None, help="Zarr store in the cortexkit data model (omit to list extractors)"),
    model: str = typer.Option("gabor", help="feature extractor name"),
    layers: Optional[str] = typer.Option(None, help="'all' or a comma list of layers (multi-layer extractors)"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="extractor parameter key=value (repeatable)"),
    out: Optional[Path] = typer.Option(None, help="write the features here (Zarr); else only cache and summarise"),
):
    """Extract features of every stimulus of a dataset (fitted on the train split), with caching.

    Features are cached by a hash of the extractor's settings and weights and of the stimuli, so a
    later `fit` reuses them. Without STORE, lists the extractors and their parameters.

    Example: cortexkit features runs/demo/data.zarr --model alexnet --layers conv2,conv5 --out alexnet.zarr
    """
    import xarray as xr

    from cortexkit._atomic import atomic_path
    from cortexkit.benchmarks import FeatureSpec
    from cortexkit.features import EXTRACTORS, get_extractor
    from cortexkit.features.cache import FeatureCache

    if store is None:
        for name, factory in sorted(EXTRACTORS.items()):
            params = factory().get_params(deep=False)
            console.print(f"[bold]{name}[/]: " + ", ".join(f"{k}={v!r}" for k, v in params.items()), highlight=False)
        return
    spec = _with_params([FeatureSpec(name=model)], layers, _parse_options(param))[0]
    ds, train = _load_split(store, "train")
    extractor = get_extractor(spec.name, spec.params)
    cache = FeatureCache()
    feats = cache.features(extractor, np.asarray(ds["stimuli"].values), np.asarray(train["stimuli"].values))
    table = Table(title=f"{model} features of {store}", title_justify="left")
    for col in ("layer", "stimuli", "features"):
        table.add_column(col)
    for layer, arr in feats.items():
        table.add_row(layer, str(arr.shape[0]), str(arr.shape[1]))
    console.print(table)
    console.print(f"cache: {cache.root} ({'hit' if cache.hits else 'computed'})")
    if out:
        result = xr.Dataset(
            {f"features_{i}": (("stimulus", f"feature_{i}"), arr) for i, arr in enumerate(feats.values())},
            coords={"stimulus": ds["stimulus"].values, "split": ("stimulus", ds["split"].values.astype(object))},
            attrs={"extractor": model, "params": json.dumps(spec.params, default=str), "layers": json.dumps(list(feats))},
        )
        with atomic_path(out) as tmp:
            result.to_zarr(tmp, consolidated=False)
        console.print(f"wrote {out}")


@app.command()
@_friendly_errors
def compare(
    store: Path = typer.Argument(..., help="Zarr store in the cortexkit data model"),
    features: str = typer.Option("pixels,gabor", help="comma-separated feature spaces"),
    layers: Optional[str] = typer.Option(None, help="'all' or comma list of layers of multi-layer spaces"),
    split: str = typer.Option("test", help="stimuli to compare on: train, test or all"),
    method: str = typer.Option("cka", help="cka (linear CKA) or rsa (Spearman correlation of correlation-distance RDMs)"),
    out: Path = typer.Option(Path("comparison"), help="folder for comparison.csv and comparison.png"),
):
    """Compare representations of feature spaces with each other and with the neural responses.

    Linear CKA or RSA between every pair of feature spaces (each layer of multi-layer ones) and the
    repeat-averaged responses ("neural") on the chosen stimuli: how the dorsal-vs-ventral style
    comparison is done.

    Example: cortexkit compare runs/demo/data.zarr --features pixels,gabor,alexnet --layers conv2,conv5
    """
    from cortexkit import data, metrics
    from cortexkit.benchmarks.runner import model_names
    from cortexkit.errors import ConfigError
    from cortexkit.features import get_extractor
    from cortexkit.features.cache import FeatureCache
    from cortexkit.report.figures import similarity_matrix
    from cortexkit._atomic import atomic_path

    if method not in ("cka", "rsa"):
        raise ConfigError(f"--method must be cka or rsa, got {method!r}")
    ds, sel = _load_split(store, split)
    train = data.select(ds, "train")
    cache = FeatureCache()
    spaces = {"neural": data.repeat_average(sel).values.reshape(sel.sizes["stimulus"], -1)}
    for spec in _with_params(_parse_features(features), layers, {}):
        feats = cache.features(get_extractor(spec.name, spec.params), np.asarray(sel["stimuli"].values),
                               np.asarray(train["stimuli"].values))
        for layer, name in model_names(spec):
            spaces[name] = feats[layer]
    matrix = metrics.compare_representations(spaces, method=method)
    frame = pd.DataFrame(matrix, index=list(spaces), columns=list(spaces))
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "comparison.csv") as tmp:
        frame.to_csv(tmp)
    fig = similarity_matrix(frame, title=f"{method.upper()} on {sel.sizes['stimulus']} {split} stimuli")
    with atomic_path(out / "comparison.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    console.print(frame.round(3).to_string())
    console.print(f"wrote {out / 'comparison.csv'} and {out / 'comparison.png'}")


@app.command()
@_friendly_errors
def info(store: Path = typer.Argument(..., help="Zarr store in the cortexkit data model")):
    """Summarise a dataset: dims, units, splits, repeats and noise ceilings.

    Example: cortexkit info runs/demo/data.zarr
    """
    from cortexkit import data, metrics

    ds = data.open(store)
    split = ds["split"].values
    counts = data.repeat_counts(ds).values
    table = Table(title=str(store), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("source", ds.attrs.get("source", "?")),
        ("modality", ds.attrs.get("modality", "?")),
        ("stimuli", f"{ds.sizes['stimulus']} {data.stimulus_kind(ds)}s, "
                    + ", ".join(f"{d}={ds.sizes[d]}" for d in ds['stimuli'].dims[1:])),
        ("splits", ", ".join(f"{s}: {(split == s).sum()}" for s in data.SPLITS if (split == s).any())),
        ("trials", str(ds.sizes["trial"])),
        ("responses", ", ".join(f"{d}={ds.sizes[d]}" for d in ds["responses"].dims)),
        ("units", str(ds.sizes["unit"])),
        ("unit coordinates", ", ".join(c for c in ds.coords if ds[c].dims == ("unit",) and c != "unit") or "-"),
        ("stimulus coordinates", ", ".join(c for c in ds.coords if ds[c].dims == ("stimulus",) and c != "stimulus") or "-"),
    ]
    if "area" in ds.coords:
        areas = pd.Series(ds["area"].values).value_counts()
        rows.append(("areas", ", ".join(f"{a}: {n}" for a, n in areas.items())))
    for name in data.SPLITS:
        sel = split == name
        if sel.any():
            c = counts[sel]
            spread = f"{c.min()}" if c.min() == c.max() else f"{c.min()}-{c.max()} (median {np.median(c):g})"
            rows.append((f"repeats ({name})", spread))
    test = data.select(ds, "test")
    try:
        rel = metrics.split_half_reliability(data.repeats(test).values)
        rows.append(("split-half reliability (test)", f"median {np.nanmedian(rel):.3f}, "
                     f"IQR {np.nanpercentile(rel, 25):.3f}-{np.nanpercentile(rel, 75):.3f}"))
        rows.append(("FEV (test)", f"median {np.nanmedian(metrics.fev(data.repeats(test).values)):.3f}"))
    except CortexkitError as exc:
        rows.append(("noise ceiling", f"not available ({exc.problem})"))
    extra = [v for v in ds.data_vars if v not in ("stimuli", "responses", "stimulus_id", "split")]
    rows.append(("other variables", ", ".join(extra) or "-"))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


@app.command()
@_friendly_errors
def fit(
    store: Path = typer.Argument(..., help="Zarr store in the cortexkit data model"),
    out: Path = typer.Option(..., help="run directory to write"),
    features: Optional[str] = typer.Option(None, help="comma-separated feature spaces (see `cortexkit features --help`)"),
    layers: Optional[str] = typer.Option(None, help="layers of multi-layer feature spaces: 'all' or a comma list (one model per layer)"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="extractor parameter key=value for every feature space that takes it (repeatable)"),
    config: Optional[Path] = typer.Option(None, help="YAML with EncodingConfig fields (features, ridge, seed)"),
    seed: Optional[int] = typer.Option(None, help="seed of the cross-validation folds"),
    device: Optional[str] = typer.Option(None, help="torch device for ridge (cpu, cuda)"),
    max_memory: Optional[str] = typer.Option(None, help="memory budget of each ridge fit, e.g. 4GB"),
    scheduler: Optional[str] = typer.Option(None, help="run ridge target blocks on a Dask cluster: tcp://HOST:PORT"),
    overwrite: bool = typer.Option(False, help="refit models already in the run directory"),
):
    """Fit a cross-validated ridge encoding model per feature space on the train split.

    Writes OUT/config.yaml and OUT/models/NAME.npz (weights, alphas, test predictions). Models
    already in OUT are kept, so an interrupted run resumes.

    With --layers, multi-layer feature spaces (alexnet, vgg16, efficientnet_lite0, expansion) give
    one model per layer, and the report plots score against layer depth. With --scheduler the ridge
    fits run as Dask tasks (blocks of units) on that cluster.

    Example: cortexkit fit runs/demo/data.zarr --out runs/mine --features pixel_pca,gabor
    """
    from cortexkit.benchmarks import EncodingConfig, fit_run
    from cortexkit.config import load_config

    cfg = load_config(EncodingConfig, config) if config else EncodingConfig()
    specs = _parse_features(features) or cfg.features
    specs = _with_params(specs, layers, _parse_options(param))
    update = {"features": specs}
    if seed is not None:
        update["seed"] = seed
    ridge = {k: v for k, v in {"device": device, "max_memory": max_memory, "scheduler": scheduler}.items() if v is not None}
    if ridge:
        update["ridge"] = cfg.ridge.model_copy(update=ridge)
    cfg = EncodingConfig.model_validate({**cfg.model_dump(), **{k: v for k, v in update.items()}})
    fit_run(store, out, cfg, overwrite=overwrite, log=_log)
    console.print(f"models in {out / 'models'}; next: cortexkit evaluate {out}")


@app.command()
@_friendly_errors
def train(
    config: Path = typer.Argument(..., help="YAML with PredictorConfig fields (data, core, readout, training)"),
    out: Path = typer.Option(..., help="run directory (resumed if it holds a checkpoint of the same config)"),
    epochs: Optional[int] = typer.Option(None, help="override the config's epochs"),
    device: Optional[str] = typer.Option(None, help="override the config's device (cpu, cuda)"),
    data: Optional[str] = typer.Option(None, help="replace the config's stores: comma-separated PATH or KEY=PATH"),
):
    """Train a neural predictor end to end (core + per-session readouts), then score the test split.

    Checkpoints every epoch to OUT/checkpoint.pt and resumes from it; writes OUT/model.pt,
    OUT/results.csv and OUT/summary.csv. For several GPUs or processes:
    torchrun --nproc_per_node=N -m cortexkit.encoding.trainer CONFIG.yaml OUT.

    Example: cortexkit train configs/v1_conv2d.yaml --out runs/v1_trained --data v1.zarr
    """
    from cortexkit.config import load_config
    from cortexkit.encoding.trainer import PredictorConfig, evaluate_predictor, train_predictor

    cfg = load_config(PredictorConfig, config)
    update = {k: v for k, v in {"epochs": epochs, "device": device}.items() if v is not None}
    if data:
        update["data"] = [dict(zip(("key", "path"), item.split("=", 1))) if "=" in item else {"path": item}
                          for item in data.split(",")]
    cfg = PredictorConfig.model_validate({**cfg.model_dump(), **update})
    run = train_predictor(cfg, out, log=_log)
    console.print(evaluate_predictor(run, out).round(3).to_string(index=False))
    from cortexkit.report.trained import write_predictor_report

    console.print(f"report: {write_predictor_report(out)}")


@app.command()
@_friendly_errors
def evaluate(run: Path = typer.Argument(..., help="run directory written by `cortexkit fit` or `cortexkit train`")):
    """Score a run's test predictions: Pearson, R², FEVE and noise ceilings per unit.

    Writes RUN/results.csv (one row per model x unit) and RUN/summary.csv. A trained-predictor run
    (from `cortexkit train`) is re-scored from its saved model and its report redrawn.

    Example: cortexkit evaluate runs/demo
    """
    from cortexkit.benchmarks import evaluate_run

    if _is_trained_run(run):
        from cortexkit.encoding.trainer import evaluate_predictor, load_trained
        from cortexkit.report.trained import write_predictor_report

        console.print(evaluate_predictor(load_trained(run), run).round(3).to_string(index=False))
        console.print(f"report: {write_predictor_report(run)}")
        return
    evaluate_run(run, log=_log)
    _print_summary(pd.read_csv(run / "summary.csv"))


@app.command()
@_friendly_errors
def report(run: Path = typer.Argument(..., help="evaluated run directory")):
    """Draw the figures of an evaluated run and write RUN/report.html.

    Example: cortexkit report runs/demo
    """
    from cortexkit.report import write_report
    from cortexkit.report.trained import write_predictor_report

    console.print(f"wrote {(write_predictor_report if _is_trained_run(run) else write_report)(run)}")


def _is_trained_run(run: Path) -> bool:
    """A run written by `cortexkit train` (its config holds the training settings)."""
    from cortexkit.config import load_yaml

    cfg_file = run / "config.yaml"
    return cfg_file.is_file() and "training" in load_yaml(cfg_file)


@app.command()
@_friendly_errors
def reconstruct(
    store: Path = typer.Argument(..., help="Zarr store in the cortexkit data model"),
    out: Path = typer.Option(..., help="run directory to write"),
    decoder: str = typer.Option("pca,retrieval,autoencoder,diffusion,search", help="comma-separated decoders"),
    image_size: int = typer.Option(64, help="decode and score at this many pixels"),
    config: Optional[Path] = typer.Option(None, help="YAML with ReconstructionConfig fields (decoders with params, ...)"),
    quick: bool = typer.Option(False, help="short training (a smoke run, not for results)"),
    permutations: int = typer.Option(1000, help="permutations for the identification p-value"),
):
    """Reconstruct held-out stimuli from responses with each decoder; score them against nulls.

    Decoders: pca (ridge to pixel PCs), autoencoder (ridge to VAE latents), diffusion
    (response-conditioned latent diffusion), retrieval (nearest test image in latent space), search
    (brain-optimised search over diffusion samples with an encoding model as critic). Writes
    OUT/metrics.csv (decoders and null models: shuffled reconstructions, mean image, gray), the
    reconstruction grid, GIFs for videos and OUT/report.html. Generative decoders checkpoint their
    training in OUT/checkpoints and resume after an interruption.

    Example: cortexkit reconstruct runs/demo/data.zarr --out runs/recon --decoder pca,autoencoder --image-size 32
    """
    from cortexkit.benchmarks.reconstruction import DecoderSpec, ReconstructionConfig, run_reconstruction
    from cortexkit.config import load_config

    cfg = load_config(ReconstructionConfig, config) if config else ReconstructionConfig(
        decoders=[DecoderSpec(name=n.strip()) for n in decoder.split(",") if n.strip()])
    cfg = cfg.model_copy(update={"image_size": image_size, "n_permutations": permutations})
    if quick:
        short = {"autoencoder": dict(epochs=3, extra_images=200), "diffusion": dict(epochs=3, extra_images=200, diffusion_epochs=10),
                 "search": dict(n_candidates=4, rounds=2, generator_epochs=3, generator_extra_images=200, generator_diffusion_epochs=10)}
        cfg = cfg.model_copy(update={"decoders": [d.model_copy(update={"params": {**short.get(d.name, {}), **d.params}})
                                                  for d in cfg.decoders]})
    table = run_reconstruction(store, out, cfg, log=_log)
    rich_table = Table(title="reconstruction metrics (test set means; null rows marked)", title_justify="left")
    columns = [c for c in table.columns if c != "kind"]
    for col in columns:
        rich_table.add_column(col.replace("alexnet_", "alex ").replace("_", " "), justify="left" if col == "method" else "right")
    for _, row in table.iterrows():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        rich_table.add_row(*cells, style="dim" if row["kind"] == "null" else None)
    console.print(rich_table)
    console.print(f"report: {out / 'report.html'}")


@app.command()
@_friendly_errors
def decode(
    store: Path = typer.Argument(..., help="Zarr store in the cortexkit data model"),
    parameter: str = typer.Option(..., help="stimulus coordinate or trial variable to decode, e.g. direction"),
    by: Optional[str] = typer.Option(None, help="split by this parameter for a neurometric curve, e.g. coherence"),
    bins: Optional[int] = typer.Option(None, help="bin a continuous angle (degrees) into this many classes"),
    out: Path = typer.Option(Path("decoding"), help="folder for decoding.csv and figures"),
    permutations: int = typer.Option(200, help="label shuffles for the p-value"),
):
    """Decode a stimulus parameter (e.g. motion direction) from single-trial population responses.

    Cross-validated multinomial logistic regression (or ridge for continuous values) on z-scored
    responses, with the chance level, a permutation p-value and the confusion matrix; with --by, the
    accuracy at each level of another parameter (a neurometric curve).

    Example: cortexkit decode mt_cell0.zarr --parameter trial_direction --by trial_coherence
    """
    from cortexkit.benchmarks.parameters import run_parameter_decoding

    res = run_parameter_decoding(store, parameter, out, by=by, bins=bins, n_permutations=permutations)
    console.print(res["table"].round(3).to_string(index=False))
    console.print(f"wrote {out}")


@app.command()
@_friendly_errors
def bench(
    name: Optional[str] = typer.Argument(None, help="benchmark name (omit to list them)"),
    data_root: Path = typer.Option(Path("../shared/data"), help="folder holding the benchmark's source data"),
    out: Optional[Path] = typer.Option(None, help="output folder (default runs/bench/NAME)"),
    features: Optional[str] = typer.Option(None, help="comma-separated feature spaces instead of the benchmark's"),
    recordings: Optional[str] = typer.Option(None, help="comma-separated subset of recordings"),
):
    """Run a named benchmark on real data: convert, fit, score every recording; print the table.

    Writes OUT/<recording>/ (store, models, results) and OUT/table.csv + OUT/table.md. An
    interrupted benchmark resumes. Without NAME, lists the benchmarks.

    Example: cortexkit bench cowley2023-v4 --data-root ../shared/data --out runs/bench/cowley2023-v4
    """
    from cortexkit.benchmarks import BENCHMARKS, run_benchmark

    if name is None:
        for b in BENCHMARKS.values():
            console.print(f"[bold]{b.name}[/]: {b.description} (data: DATA_ROOT/{b.folder})", highlight=False)
        return
    table = run_benchmark(
        name, data_root, out or Path("runs/bench") / name, features=_parse_features(features),
        recordings=[r.strip() for r in recordings.split(",")] if recordings else None, log=_log,
    )
    rich_table = Table(title=f"{name}: median Pearson r on held-out images", title_justify="left")
    for col in table.columns:
        rich_table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(table[col]) else "left")
    for row in table.itertuples(index=False):
        rich_table.add_row(*["" if isinstance(v, float) and np.isnan(v) else f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(rich_table)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="print the version and exit")):
    if version:
        console.print(f"cortexkit {__version__}")
        raise typer.Exit()


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
