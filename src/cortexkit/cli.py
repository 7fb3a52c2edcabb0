"""The ``cortexkit`` command line: each command parses, calls a pipeline (and a report), prints a table.
Bad input ends with one line on stderr naming the file and the field, exit code 2. Imports sit
inside the commands so that ``--help`` stays instant."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from cortexkit import __version__
from cortexkit.config import parse_key_values as options
from cortexkit.errors import ConfigError, CortexkitError
from cortexkit.terminal import (SUMMARY_HEADERS, console, err_console, example_block, log, print_table as show,
                                reconstruction_headers)

app = typer.Typer(name="cortexkit", help="Encoding, decoding and benchmarking models of the visual cortex.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, epilog="Start with: cortexkit demo --out runs/demo")
Opt, Arg = typer.Option, typer.Argument
OInt, OStr, OPath = Optional[int], Optional[str], Optional[Path]
STORE = Arg(..., help="Zarr store in the cortexkit data model")
SUMMARY = "summary (medians over units, test set)"


def command(func=None, *, group: typer.Typer | None = None, name: str | None = None):
    """Register a command (on ``group``, default the top level) whose user-input errors become one
    line on stderr and exit code 2."""
    if func is None:
        return lambda f: command(f, group=group, name=name)
    func.__doc__ = example_block(func.__doc__ or "")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (CortexkitError, OSError) as exc:  # bad input, or a path that cannot be read or written
            text = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
            err_console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
    return (group or app).command(name)(wrapper)


@command
def demo(out: Path = Opt(Path("runs/demo"), help="run directory to write"), seed: int = Opt(0, help="seed of simulation and CV"),
         n_train: int = Opt(2000, help="training images (shown once each)"), n_test: int = Opt(100, help="test images"),
         n_repeats: int = Opt(10, help="repeats of each test image"), overwrite: bool = Opt(False, help="refit models")):
    """Simulate V1 cells with known filters, fit pixel, PCA and Gabor ridge models, score, report.

    Example: cortexkit demo --out runs/demo --seed 1
    """
    from cortexkit import pipelines, report, simulate

    start = time.time()
    sim = simulate.V1SimulationConfig(n_train=n_train, n_test=n_test, n_repeats=n_repeats, seed=seed)
    pipelines.run_demo(out, sim, overwrite=overwrite, step=console.print, log=log)
    console.print("[bold]4/4 report[/]")
    page = report.write_report(out)
    show(pd.read_csv(out / "summary.csv"), SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {page}  ({time.time() - start:.0f} s)")


@command
def simulate(out: Path = Arg(..., help="Zarr store to write (fmri: a folder of one store per subject)"),
             population: str = Opt("v1", help="v1 (images), mt (movies), fmri (NSD-like voxels, several subjects) or streams (dorsal + ventral units, the same movies)"),
             config: OPath = Opt(None, help="YAML with the population's config fields"), n_train: OInt = Opt(None),
             n_test: OInt = Opt(None), n_repeats: OInt = Opt(None, help="per test stimulus (fmri: per image)"),
             n_simple: OInt = Opt(None), n_complex: OInt = Opt(None), n_units: OInt = Opt(None, help="mt units"),
             n_subjects: OInt = Opt(None, help="fmri subjects"), n_shared: OInt = Opt(None, help="fmri test images every subject sees"),
             size: OInt = Opt(None, help="pixels"), color: Optional[bool] = Opt(None, "--color/--gray", help="RGB or grayscale (v1, fmri)"),
             seed: OInt = Opt(None)):
    """Simulate a recording with known ground truth (V1SimulationConfig, MTSimulationConfig, FMRISimulationConfig,
    StreamsSimulationConfig) as Zarr.

    Example: cortexkit simulate v1.zarr --n-train 1000 --n-simple 20 --n-complex 20 --seed 1

    Example: cortexkit simulate runs/fmri --population fmri --n-subjects 2 --n-train 600 --n-shared 100
    """
    from cortexkit import config as configs, data, simulate as sim

    if population not in sim.POPULATIONS:
        raise ConfigError(f"--population must be one of {list(sim.POPULATIONS)}, got {population!r}")
    model, run = sim.POPULATIONS[population]
    given = dict(n_train=n_train, n_test=n_test, n_repeats=n_repeats, n_simple=n_simple, n_complex=n_complex,
                 n_units=n_units, n_subjects=n_subjects, n_shared=n_shared, size=size, color=color, seed=seed)
    cfg = configs.resolve_config(model, config, given, context=f"--population {population}")
    result = run(cfg)
    if isinstance(result, dict):  # several subjects: one store each
        for subject, ds in result.items():
            data.save(ds, out / f"{subject}.zarr")
            areas = ", ".join(f"{a} {n}" for a, n in pd.Series(ds["area"].values).value_counts(sort=False).items())
            console.print(f"wrote {out / f'{subject}.zarr'}: {ds.sizes['unit']} voxels ({areas}), "
                          f"{ds.sizes['trial']} trials of {ds.sizes['stimulus']} images")
        return
    data.save(result, out)
    split = pd.Series(result["split"].values).value_counts()
    console.print(f"wrote {out}: {result.sizes['unit']} {population.upper()} units, {split.get('train', 0)} train + "
                  f"{split.get('test', 0)} test stimuli")


@command
def convert(source: Path = Arg(..., help="source file or folder"), out: Path = Arg(..., help="Zarr store to write"),
            format: str = Opt(..., "--format", "-f", help="source format (`cortexkit formats` lists them)"),
            option: Optional[list[str]] = Opt(None, "--option", "-o", help="reader option key=value (repeatable)")):
    """Convert a dataset in a source format into a Zarr store (streamed; a killed conversion resumes).

    Example: cortexkit convert ../shared/data/cowley2023_v4 v4_210325.zarr --format cowley2023 --option session=210325
    """
    from cortexkit import data

    data.convert(source, out, format, options(option), log=log)
    console.print(f"wrote {out}; next: cortexkit info {out}")


@command
def merge(out: Path = Arg(..., help="Zarr store to write"),
          recordings: list[str] = Arg(..., help="AREA=STORE, two or more: each recording and the area its units get"),
          match: str = Opt("stimulus", help="match stimuli by label (stimulus) or by pixel content (content)"),
          pixel_tolerance: float = Opt(0.05, help="largest mean absolute pixel difference of matched stimuli")):
    """Merge recordings of different regions that saw the same stimuli into one (pseudo-trials paired per stimulus).

    Example: cortexkit merge both.zarr dorsal=stsbench.zarr ventral=tvsd.zarr && cortexkit streams both.zarr --out runs/streams
    """
    from cortexkit import data

    stores = {}
    for item in recordings:
        area, sep, path = item.partition("=")
        if not sep or not area or not path:
            raise ConfigError(f"expected AREA=STORE, got {item!r}")
        if area in stores:
            raise ConfigError(f"area {area!r} given twice")
        stores[area] = data.load(path)
    merged = data.merge_regions(stores, match=match, pixel_tolerance=pixel_tolerance)
    data.save(merged, out)
    units = ", ".join(f"{a} {n}" for a, n in pd.Series(merged["area"].values).value_counts(sort=False).items())
    console.print(f"wrote {out}: {merged.sizes['unit']} units ({units}), {merged.sizes['stimulus']} shared stimuli, "
                  f"{merged.sizes['trial']} pseudo-trials")


@command
def formats():
    """List the source formats `cortexkit convert` reads, with their options and an example.

    Example: cortexkit formats
    """
    from cortexkit.data.readers import READERS

    for name, reader in sorted(READERS.items()):
        lines = [f"[bold]{name}[/]: {reader.summary}"] + [f"    {k}: {v}" for k, v in reader.options.items()]
        console.print("\n".join(lines + [f"    e.g. {reader.example}"]), highlight=False)


@command
def info(store: Path = STORE):
    """Summarise a dataset: dims, units, splits, repeats and noise ceilings.

    Example: cortexkit info runs/demo/data.zarr
    """
    from cortexkit import pipelines

    show(pd.DataFrame(pipelines.describe_dataset(store), columns=["", "value"]), str(store), header=False)


@command
def features(store: OPath = Arg(None, help="Zarr store (omit to list the extractors)"), model: str = Opt("gabor", help="extractor"),
             layers: OStr = Opt(None, help="'all' or a comma list of layers (multi-layer extractors)"),
             param: Optional[list[str]] = Opt(None, "--param", "-p", help="extractor parameter key=value (repeatable)"),
             out: OPath = Opt(None, help="write the features here (Zarr); else only cache and summarise")):
    """Extract (and cache) features of every stimulus, fitted on the train split; without STORE, list the
    extractors and whether well-known library models' weights are on this machine.

    Example: cortexkit features runs/demo/data.zarr --model alexnet --layers conv2,conv5 --out alexnet.zarr

    Example: cortexkit features data.zarr --model timm:resnet50 --layers layer2,layer3 -p weights=resnet50.safetensors
    """
    from cortexkit import pipelines
    from cortexkit.features import EXTRACTORS
    from cortexkit.features.cache import FeatureCache

    if store is None:
        from cortexkit.features.library_models import catalogue

        for name, factory in sorted(EXTRACTORS.items()):
            params = ", ".join(f"{k}={v!r}" for k, v in factory().get_params(deep=False).items())
            console.print(f"[bold]{name}[/]: {params}", highlight=False)
        rows = catalogue()
        show(pd.DataFrame([(r["name"], "yes" if r["installed"] else "no (pip install \"cortexkit[zoo]\")",
                            r["weights"], r["where"]) for r in rows], columns=["model", "library", "weights", "where"]),
             "models by name (any timm/torchvision/open_clip model works the same way; weights: PATH for a file)")
        return
    cache = FeatureCache()
    feats = pipelines.export_features(store, pipelines.feature_specs(model, layers=layers, params=options(param))[0], out, cache)
    show(pd.DataFrame([(k, str(len(a)), str(a.shape[1])) for k, a in feats.items()], columns=["layer", "stimuli", "features"]),
         f"{model} features of {store}")
    console.print(f"cache: {cache.root} ({'hit' if cache.hits else 'computed'})" + (f"; wrote {out}" if out else ""))


@command
def compare(store: Path = STORE, features: str = Opt("pixels,gabor", help="comma-separated feature spaces"),
            layers: OStr = Opt(None, help="'all' or comma list of layers"), split: str = Opt("test", help="train, test or all"),
            method: str = Opt("cka", help="cka (linear CKA) or rsa (Spearman correlation of RDMs)"),
            out: Path = Opt(Path("comparison"), help="folder for comparison.csv and comparison.png")):
    """Linear CKA or RSA between every pair of feature spaces (each layer) and the neural responses.

    Example: cortexkit compare runs/demo/data.zarr --features pixels,gabor,alexnet --layers conv2,conv5
    """
    from cortexkit import pipelines, report

    frame = pipelines.compare_representations(store, pipelines.feature_specs(features, layers=layers), out, split=split,
                                              method=method)
    report.write_comparison_figure(frame, out)
    show(frame.reset_index(names=""), frame.attrs["title"])
    console.print(f"wrote {out / 'comparison.csv'} and {out / 'comparison.png'}")


@command
def fit(store: Path = STORE, out: Path = Opt(..., help="run directory to write"),
        features: OStr = Opt(None, help="comma-separated feature spaces (`cortexkit features` lists them)"),
        layers: OStr = Opt(None, help="multi-layer feature spaces: 'all' or a comma list (one model per layer)"),
        param: Optional[list[str]] = Opt(None, "--param", "-p", help="extractor parameter key=value (repeatable)"),
        config: OPath = Opt(None, help="YAML with EncodingConfig fields"), seed: OInt = Opt(None, help="seed of the CV folds"),
        device: OStr = Opt(None, help="device of the ridge and of the feature networks (cpu, cuda)"),
        max_memory: OStr = Opt(None, help="budget per fit, e.g. 4GB"),
        scheduler: OStr = Opt(None, help="Dask scheduler tcp://HOST:PORT"), overwrite: bool = Opt(False, help="refit")):
    """Fit a cross-validated ridge model per feature space (and layer) on the train split; resumes.

    Example: cortexkit fit runs/demo/data.zarr --out runs/mine --features pixel_pca,gabor

    Example: cortexkit fit v4.zarr --out runs/r50 --features timm:resnet50 --layers layer2,layer3 --device cuda
    """
    from cortexkit import config as configs, pipelines
    from cortexkit.features import get_extractor

    default = configs.resolve_config(pipelines.EncodingConfig, config).features
    specs = pipelines.feature_specs(features, layers=layers, params=options(param), default=default)
    if device:  # the networks run where the ridge does, unless a --param says otherwise
        specs = [s.model_copy(update={"params": {"device": device, **s.params}})
                 if "device" in get_extractor(s.name, s.params).get_params(deep=False) else s for s in specs]
    ridge = {"device": device, "max_memory": max_memory, "scheduler": scheduler}
    cfg = configs.resolve_config(pipelines.EncodingConfig, config, {"features": specs, "seed": seed, "ridge": ridge})
    pipelines.fit_run(store, out, cfg, overwrite=overwrite, log=log)
    console.print(f"models in {out / 'models'}; next: cortexkit evaluate {out}")


@command
def train(config: Path = Arg(..., help="YAML with PredictorConfig fields"), out: Path = Opt(..., help="run directory (resumed)"),
          epochs: OInt = Opt(None, help="override the config's epochs"), device: OStr = Opt(None, help="cpu or cuda"),
          data: OStr = Opt(None, help="replace the config's stores: comma-separated PATH or KEY=PATH")):
    """Train a core + per-session readouts end to end (resumable), score the test split, write the report.

    Example: cortexkit train configs/v1_conv2d.yaml --out runs/v1_trained --data v1.zarr
    """
    from cortexkit import config as configs, pipelines, report
    from cortexkit.encoding.predictor_run import PredictorConfig

    stores = [dict(zip(("key", "path"), s.split("=", 1))) if "=" in s else {"path": s} for s in data.split(",")] if data else None
    cfg = configs.resolve_config(PredictorConfig, config, {"epochs": epochs, "device": device, "data": stores})
    show(pipelines.run_trained_predictor(cfg, out, log=log), SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {report.write_predictor_report(out)}")


@command
def evaluate(run: Path = Arg(..., help="run directory written by `cortexkit fit` or `cortexkit train`")):
    """Score a run's test predictions (Pearson, R², FEVE, ceilings per unit): results.csv, summary.csv.

    Example: cortexkit evaluate runs/demo
    """
    from cortexkit import pipelines, report

    kind, summary = pipelines.evaluate_any_run(run, log=log)
    show(summary, SUMMARY, SUMMARY_HEADERS if kind == "encoding" else None)
    if kind == "training":
        console.print(f"report: {report.write_predictor_report(run)}")


@command
def report(run: Path = Arg(..., help="evaluated run directory (fit, train or reconstruct)")):
    """Draw the figures of an evaluated run and write RUN/report.html.

    Example: cortexkit report runs/demo
    """
    from cortexkit.report import write_run_report

    console.print(f"wrote {write_run_report(run)}")


@command
def paired(a: str = Arg(..., help="model A as RUN:MODEL"), b: str = Arg(..., help="model B as RUN:MODEL"),
           out: Path = Opt(..., help="folder for the tables and report"), n_bootstrap: int = Opt(1000, help="draws"),
           seed: int = Opt(0, help="seed of the bootstrap")):
    """Compare two models unit by unit on the same test stimuli: difference in r with a bootstrap CI, p-values.

    Example: cortexkit paired runs/demo:gabor runs/demo:pixel_pca --out runs/demo/paired
    """
    from cortexkit import pipelines, report

    _, s = pipelines.compare_models(a, b, out, n_bootstrap=n_bootstrap, seed=seed, log=log)
    show(pd.DataFrame([(k, f"{v:.3g}" if isinstance(v, float) else str(v)) for k, v in s.items()
                       if k not in ("data", "seed", "n_bootstrap")], columns=["", "value"]), "A vs B", header=False)
    console.print(f"report: {report.write_paired_report(out)}")


@command
def reconstruct(stores: list[Path] = Arg(..., help="Zarr store; several (one per subject): each, and pooled on shared test stimuli"),
                out: Path = Opt(..., help="run directory"), image_size: int = Opt(64, help="pixels"),
                decoder: str = Opt("pca,retrieval,autoencoder,diffusion,search", help="comma-separated decoders"),
                config: OPath = Opt(None, help="YAML with ReconstructionConfig fields (decoders with params, ...)"),
                quick: bool = Opt(False, help="short training (a smoke run)"), permutations: int = Opt(1000, help="for p"),
                model_dir: OPath = Opt(None, help="local diffusers image-variations folder (second_sight, brain_diffuser)"),
                device: OStr = Opt(None, help="cpu or cuda, for every decoder that takes it")):
    """Reconstruct held-out stimuli with each decoder; score them against nulls (shuffled, mean, gray).

    Example: cortexkit reconstruct runs/demo/data.zarr --out runs/recon --decoder pca,autoencoder --image-size 32

    Example: cortexkit reconstruct nsd_subj01.zarr --out runs/ss --decoder second_sight --model-dir sd-image-variations --device cuda

    Example: cortexkit reconstruct runs/fmri/subj01.zarr runs/fmri/subj02.zarr --out runs/recon-pooled --decoder pca,retrieval --image-size 32
    """
    from cortexkit import config as configs, pipelines, report
    from cortexkit.decoding import DECODERS

    def shared(name):  # --model-dir / --device for the decoders that take them
        taken = DECODERS.lookup(name)().get_params(deep=False)
        given = {"model_dir": str(model_dir) if model_dir else None, "device": device}
        return {k: v for k, v in given.items() if v is not None and k in taken}

    if config and (model_dir or device):
        raise ConfigError("--model-dir and --device set the decoders of --decoder; with --config, set model_dir and "
                          "device in each decoder's params in the YAML")
    decoders = None if config else [{"name": n.strip(), "params": shared(n.strip())} for n in decoder.split(",") if n.strip()]
    given = {"decoders": decoders, "image_size": image_size, "n_permutations": permutations}
    cfg = configs.resolve_config(pipelines.ReconstructionConfig, config, given)
    cfg = cfg.quick() if quick else cfg
    if len(stores) > 1:
        table = pipelines.run_pooled_reconstruction(stores, out, cfg, log=log)
        show(table.drop(columns="kind"), "each subject and the pool on the shared test stimuli (means; null rows marked)",
             reconstruction_headers(table.columns), dim=(table["kind"] == "null").tolist())
        subjects = [s for s in dict.fromkeys(table["subject"]) if s != "pooled"]
        pages = [report.write_reconstruction_report(out / s) for s in subjects]
        console.print(f"reports: {', '.join(map(str, pages))}; pooled: {report.write_pooled_reconstruction_report(out)}")
        return
    table = pipelines.run_reconstruction(stores[0], out, cfg, log=log)
    show(table.drop(columns="kind"), "reconstruction metrics (test set means; null rows marked)",
         reconstruction_headers(table.columns), dim=(table["kind"] == "null").tolist())
    console.print(f"report: {report.write_reconstruction_report(out)}")


@command
def streams(store: Path = STORE, out: Path = Opt(Path("streams"), help="folder for the tables, the figure and the encoding run"),
            parameters: OStr = Opt(None, help="comma-separated stimulus parameters to decode (default: every one with 2-16 values)"),
            features: str = Opt("gabor,motion_energy", help="feature spaces for the per-region encoding (2-D and 3-D)"),
            permutations: int = Opt(200, help="label shuffles for each decoding p-value"),
            alpha: float = Opt(0.01, help="significance level of the double dissociation"),
            reconstruct: OStr = Opt(None, help="comma-separated decoders to reconstruct the test stimuli from each region"),
            image_size: int = Opt(32, help="pixels, for --reconstruct"),
            similarity: str = Opt("cka", help="cka (linear CKA) or rsa (Spearman correlation of RDMs)")):
    """Compare two regions on the same stimuli: decoding per parameter (McNemar between regions), encoding with
    2-D vs 3-D features per region, CKA with model layers; report a double dissociation.

    Example: cortexkit simulate streams.zarr --population streams && cortexkit streams streams.zarr --out runs/streams

    Example: cortexkit streams both.zarr --out runs/streams --reconstruct pca,retrieval --image-size 32
    """
    from cortexkit import pipelines, report

    specs = pipelines.feature_specs(features)
    names = [p.strip() for p in parameters.split(",") if p.strip()] if parameters else None
    recon = None
    if reconstruct:
        recon = pipelines.ReconstructionConfig(decoders=[{"name": n.strip()} for n in reconstruct.split(",") if n.strip()],
                                               image_size=image_size, n_permutations=permutations)
    res = pipelines.run_streams(store, out, parameters=names, features=specs, n_permutations=permutations, alpha=alpha,
                                reconstruction=recon, similarity=similarity, log=log)
    if len(res["comparisons"]):
        show(res["comparisons"][["parameter", "area_a", "accuracy_a", "area_b", "accuracy_b", "p_mcnemar", "better"]],
             "decoding per region (cross-validated accuracy; exact McNemar test between regions)")
    show(res["encoding"], "encoding per region (median over units, test set)")
    if res["reconstruction"] is not None:
        table = res["reconstruction"]
        show(table.drop(columns="kind"), "reconstruction from each region (test set means; null rows marked)",
             reconstruction_headers(table.columns), dim=(table["kind"] == "null").tolist())
    d = res["dissociation"]
    if d is None:
        console.print(f"no double dissociation at p < {alpha}")
    else:
        parts = "; ".join(f"{area} decodes {param} better" for area, param in d.items() if area != "p")
        console.print(f"double dissociation: {parts} (both p <= {d['p']:.2g})")
    console.print(f"figure: {report.write_streams_figure(res, out)}; tables in {out}")


@command
def decode(store: Path = STORE, parameter: str = Opt(..., help="stimulus coordinate or trial variable, e.g. direction"),
           by: OStr = Opt(None, help="split by this parameter for a neurometric curve"),
           bins: OInt = Opt(None, help="bin an angle (degrees) into this many classes"),
           out: Path = Opt(Path("decoding"), help="folder for decoding.csv and figures"),
           permutations: int = Opt(200, help="label shuffles for the p-value"),
           method: str = Opt("logistic", help="logistic, or poisson (maximum likelihood on spike counts)")):
    """Decode a stimulus parameter from single trials, with chance, p-value, confusion and neurometric curve.

    Example: cortexkit decode mt_cell0.zarr --parameter trial_direction --by trial_coherence
    """
    from cortexkit import pipelines, report

    res = pipelines.run_parameter_decoding(store, parameter, out, by=by, bins=bins, n_permutations=permutations,
                                         method=method)
    report.write_decoding_figures(res, out)
    show(res["table"], f"decoding {parameter}", nan="")
    console.print(f"wrote {out}")


@command
def bench(name: OStr = Arg(None, help="benchmark name (omit to list them)"), out: OPath = Opt(None, help="default runs/bench/NAME"),
          data_root: Path = Opt(Path("../shared/data"), help="folder holding the benchmark's source data"),
          features: OStr = Opt(None, help="feature spaces instead of the benchmark's"),
          recordings: OStr = Opt(None, help="comma-separated subset of recordings")):
    """Run a named benchmark on real data (convert, fit, score; resumable); without NAME, list them.

    Example: cortexkit bench cowley2023-v4 --data-root ../shared/data --out runs/bench/cowley2023-v4
    """
    from cortexkit import benchmarks, pipelines

    if name is None:
        for b in benchmarks.BENCHMARKS.values():
            where = f"DATA_ROOT/{b.folder}" if b.folder else "simulated here"
            console.print(f"[bold]{b.name}[/] ({b.task}, {b.stimulus}s): {b.description} (data: {where})", highlight=False)
        return
    table = benchmarks.run_benchmark(name, data_root, out or Path("runs/bench") / name, features=pipelines.feature_specs(features)
                                     or None, recordings=[r.strip() for r in recordings.split(",")] if recordings else None, log=log)
    show(table, f"{name}: median Pearson r on held-out images", nan="")


def _units(text: str | None):
    if not text:
        return None
    names = [u.strip() for u in text.split(",") if u.strip()]
    return [int(u) for u in names] if all(u.lstrip("-").isdigit() for u in names) else names


@command
def synthesize(run: Path = Arg(..., help="run directory (cortexkit fit or cortexkit train)"),
               out: Path = Opt(..., help="folder to write"),
               model: OStr = Opt(None, help="model of a ridge run (e.g. stacked), or session of a trained run (default: its only one)"),
               units: OStr = Opt(None, help="comma-separated unit names or indices (default all)"),
               steps: int = Opt(200, help="gradient-ascent steps"), contrast: float = Opt(0.2, help="RMS contrast budget"),
               blur: float = Opt(0.5, help="SD (px) of the gradient smoothing"),
               jitter: int = Opt(0, help="largest random shift (px) per step; 1-2 for deep CNN features"),
               top_k: int = Opt(5, help="most exciting images of the recording shown beside each MEI"),
               seed: int = Opt(0, help="seed of the start noise and the jitter"),
               least: bool = Opt(False, help="least exciting (most suppressive) inputs and images instead"),
               diverse: int = Opt(0, help="also this many dissimilar exciting inputs per unit (0: none)"),
               threshold: float = Opt(0.9, help="each diverse input keeps this fraction of the MEI response"),
               compare: OStr = Opt(None, help="RUN or RUN:MODEL: a second model of the same units; how far the two agree"),
               device: str = Opt("cpu", help="where the networks run (cpu, cuda)")):
    """Most exciting inputs of a fitted model's units, beside their most exciting recorded images.

    Works on ridge runs (any model, the stacked one included) and trained cores (image or video).

    Example: cortexkit synthesize runs/v1 --model gabor --units 0,1,2 --diverse 4 --out runs/v1_meis
    """
    from cortexkit import pipelines, report

    table = pipelines.synthesize(run, out, model=model, units=_units(units), top_k=top_k, diverse=diverse,
                                 threshold=threshold, compare=compare, device=device, log=log, steps=steps, contrast=contrast, blur=blur,
                                 jitter=jitter, seed=seed, least=least)
    page = report.write_synthesis_report(out)
    show(table, "most exciting inputs: predicted responses")
    console.print(f"wrote {out}/meis.csv, {out}/png/, {page} (figures in {out}/figures)")


@command
def tuning(run: Path = Arg(..., help="run directory (cortexkit fit or cortexkit train)"),
           out: Path = Opt(..., help="folder to write"),
           model: OStr = Opt(None, help="model of a ridge run, or session of a trained run (default: its only one)"),
           rf_size: int = Opt(2, help="side (px) of the sparse-noise squares"),
           device: str = Opt("cpu", help="where the networks run (cpu, cuda)")):
    """Tuning and receptive fields of every unit of a fitted model: orientation tuning (images) or
    direction tuning (videos) from gratings, sparse-noise and gradient RF maps.

    Example: cortexkit tuning runs/v1 --model gabor --out runs/v1_tuning
    """
    from cortexkit import pipelines, report

    preferred = pipelines.tuning(run, out, model=model, rf_size=rf_size, device=device)
    page = report.write_tuning_report(out)
    show(preferred, "preferred stimulus and receptive-field centre per unit")
    console.print(f"wrote {out}/tuning.csv, {out}/preferred.csv, {out}/receptive_fields.npz, {page} "
                  f"(figures in {out}/figures)")


@command
def design(runs: list[str] = Arg(..., help="RUN or RUN:MODEL, one or more: the model ensemble (a bare ridge run: all its models)"),
           pool: Path = Opt(..., help="candidate stimuli: a cortexkit store, or a folder of image files"),
           out: Path = Opt(..., help="folder to write the stimulus set into"),
           n: int = Opt(50, help="stimuli to choose"),
           objective: str = Opt("disagreement", help="disagreement (the ensemble differs most) or drive (chosen units respond most)"),
           units: OStr = Opt(None, help="comma-separated unit names or indices the objective looks at (default all)"),
           max_similarity: float = Opt(0.95, help="pass over images whose pixel correlation with a chosen one is above this"),
           device: str = Opt("cpu", help="where the networks run (cpu, cuda)")):
    """Choose the next stimuli to show: the pool images a model ensemble disagrees on most, or that
    drive chosen units most, written as PNG files and a CSV ready to present.

    Example: cortexkit design runs/v4 --pool candidate_images/ --n 100 --out next_session
    """
    from cortexkit import pipelines

    table = pipelines.design(runs, pool, out, n, objective=objective, units=_units(units),
                             max_similarity=max_similarity, device=device, log=log)
    show(table.head(20), f"the {n} stimuli to show next, by {objective} (first 20)")
    console.print(f"wrote {out}/stimuli.csv, {out}/png/ ({len(table)} files), {out}/design.json")


board = typer.Typer(help="Every model on every benchmark: run the cells, print the matrix, write the site.",
                    no_args_is_help=True)
app.add_typer(board, name="leaderboard")
BOARD = Opt(Path("runs/leaderboard"), help="the leaderboard's results store (a folder)")


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


@command(group=board, name="run")
def leaderboard_run(models: OStr = Opt(None, help="comma-separated model names or model .yaml paths (default all)"),
                    benchmarks: OStr = Opt(None, help="comma-separated benchmark names (default all)"),
                    data_root: Path = Opt(Path("../shared/data"), help="folder holding the benchmarks' source data"),
                    store: Path = BOARD, scheduler: OStr = Opt(None, help="Dask scheduler tcp://HOST:PORT: cells run there")):
    """Score every model on every compatible benchmark; only missing or changed cells are computed.

    Example: cortexkit leaderboard run --models gabor,pixel-pca --benchmarks sim-v1 --store runs/leaderboard
    """
    from cortexkit.benchmarks import leaderboard

    table = leaderboard.run_leaderboard(data_root, store, models=_names(models), benchmarks=_names(benchmarks),
                                        scheduler=scheduler, log=log)
    show(leaderboard.matrix(table), "leaderboard: score [95% interval]", nan="")
    console.print(f"results in {store}; next: cortexkit leaderboard html runs/leaderboard_site --store {store}")


@command(group=board, name="show")
def leaderboard_show(store: Path = BOARD, normalized: bool = Opt(False, help="ceiling- or chance-normalised scores")):
    """Print the model x benchmark matrix of a results store.

    Example: cortexkit leaderboard show --store runs/leaderboard --normalized
    """
    from cortexkit.benchmarks import leaderboard

    value = "normalized" if normalized else "score"
    show(leaderboard.matrix(leaderboard.read_leaderboard(store), value), f"leaderboard: {value}", nan="")


@command(group=board, name="html")
def leaderboard_html(out: Path = Arg(..., help="folder for the site (index.html)"), store: Path = BOARD):
    """Write the leaderboard as a static site (open OUT/index.html; no server needed).

    Example: cortexkit leaderboard html runs/leaderboard_site --store runs/leaderboard
    """
    from cortexkit import report

    console.print(f"wrote {report.write_leaderboard_site(store, out)}")


@command(group=board, name="models")
def leaderboard_models():
    """List the named models: what each is and which benchmarks it runs on.

    Example: cortexkit leaderboard models
    """
    from cortexkit.benchmarks import BENCHMARKS, builtin_models

    for m in builtin_models().values():
        runs = [b.name for b in BENCHMARKS.values() if m.runs_by_default_on(b)]
        console.print(f"[bold]{m.name}[/] ({m.kind}; {m.task}, {'/'.join(m.stimulus)}): {m.description}. "
                      f"Runs on: {', '.join(runs) or '-'}", highlight=False)


@app.callback(invoke_without_command=True)
def _root(version: bool = Opt(False, "--version", help="print the version and exit")):
    if version:
        console.print(f"cortexkit {__version__}")
        raise typer.Exit()


main = app  # the console-script entry point


if __name__ == "__main__":
    sys.exit(main())
