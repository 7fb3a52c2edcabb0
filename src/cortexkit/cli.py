"""The ``cortexkit`` command line. It only parses: each command turns its options into one library
call (a pipeline or the benchmark runner), then one report call, and prints a table. Bad input ends
with one line on stderr naming the file and the field, exit code 2. Imports sit inside the commands
so that ``--help`` stays instant.

Commands, by what a scientist does: ``demo``; ``data`` (simulate, convert, merge, info);
``features``; ``fit`` and ``train``; ``evaluate``; ``compare`` (models, representations, regions);
``decode`` (reconstruct, parameter); ``insilico`` (synthesize, tuning, design); ``bench`` (run,
show, html); ``list``.
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from pydantic import Field
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from cortexkit import __version__
from cortexkit.config import (Address, Count, Device, Fraction, Names, NonNegative, OpenProbability, Pixels, Positive,
                              PositiveFloat, Repeats, Seed, Draws, Shuffles, checked, parse_key_values as options,
                              use_available_cores)
from cortexkit.errors import ConfigError, CortexkitError
from cortexkit.terminal import (SUMMARY_HEADERS, console, err_console, error, example_block, log, print_table as show,
                                show_reconstruction_table, step)

class Group(TyperGroup):
    """The command tree: a usage error (an option missing, of the wrong type or out of range) ends
    like every other bad input, in one line on stderr naming the command and the option, exit 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:  # --version: a flag, shown without a value type
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""

    def get_help_option(self, ctx):
        """--help, shown without a value type."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command line (see the class)."""
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # click's usage errors (typer ships its own click)
            if not standalone_mode:
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group without its command: its help
                console.print(exc.ctx.get_help(), highlight=False, markup=False)
            else:
                where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) is not None else ""
                text = " ".join(exc.format_message().replace("Value error, ", "").split())
                err_console.print(f"error: {where}{text}", highlight=False, markup=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            err_console.print("error: aborted", highlight=False, markup=False)
            sys.exit(1)
        if standalone_mode:
            sys.exit(code if isinstance(code, int) else 0)
        return code


class Command(TyperCommand):
    """A command that refuses an option given twice (the last one would silently win), and whose help
    shows no type noise: flags show no value, repeatable ``key=value`` options say so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperOption) and param.metavar is None:
                if param.is_flag:
                    param.metavar = ""
                elif param.multiple:
                    param.metavar = "KEY=VALUE"
            elif isinstance(param, TyperArgument) and param.nargs != 1:  # the name says it: no list[...] type
                param.display_type_rich = lambda ctx: None

    def get_help_option(self, ctx):
        """--help, shown without a value type."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def parse_args(self, ctx, args):
        """Check for repeated options, then parse as usual."""
        counts: dict[str, int] = {}
        for arg in args:
            if arg == "--":
                break
            flag = arg.split("=", 1)[0]
            for param in self.params:
                if isinstance(param, TyperOption) and not param.multiple and flag in (*param.opts, *param.secondary_opts):
                    counts[param.opts[0]] = counts.get(param.opts[0], 0) + 1
        twice = [flag for flag, n in counts.items() if n > 1]
        if twice:
            ctx.fail(f"option {twice[0]} given more than once")
        return super().parse_args(ctx, args)


app = typer.Typer(name="cortexkit", help="Encoding, decoding and benchmarking models of the visual cortex.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, epilog="Start with: cortexkit demo --out runs/demo",
                  cls=Group)
Opt, Arg = typer.Option, typer.Argument


def Typed(default, kind, *decls, **kw):
    """An option whose value is checked by the pydantic type ``kind`` (see :func:`cortexkit.config.checked`)."""
    return typer.Option(default, *decls, parser=checked(kind), **kw)


Bins = Annotated[int, Field(ge=2)]  # classes of a binned angle

OInt, OStr, OPath = Optional[int], Optional[str], Optional[Path]
STORE = Arg(..., help="Zarr store in the cortexkit data model")
SUMMARY = "summary (medians over units, test set)"
DEVICE = "where the networks run (cpu, cuda)"


# The help lists the commands in panels, by what a scientist does.
START, DATA, MODELS, ANALYSES, BENCHMARKS = "Start here", "Data in", "Fit and score", "Analyses", "Benchmarks"


def _group(name: str, text: str, panel: str) -> typer.Typer:
    group = typer.Typer(help=text, no_args_is_help=True, cls=Group)
    app.add_typer(group, name=name, rich_help_panel=panel)
    return group


data_app = _group("data", "Data in: simulate a recording with ground truth, convert a dataset, merge regions, describe a store.", DATA)
compare_app = _group("compare", "Compare two models unit by unit, representations (CKA/RSA), or two brain regions.", ANALYSES)
decode_app = _group("decode", "Decode from responses: reconstruct the stimuli, or decode a stimulus parameter.", ANALYSES)
insilico_app = _group("insilico", "In-silico experiments on a fitted model: most exciting inputs, tuning, experiment design.", ANALYSES)
analyze_app = _group("analyze", "What explains the responses: variance partitioning between feature spaces, network width, response delays, linear probes, ablations, self-motion decoding, aligning a new subject to a shared decoder.", ANALYSES)
bench_app = _group("bench", "Benchmarks: every model on every benchmark as resumable cells; tables and a site.", BENCHMARKS)


def command(func=None, *, group: typer.Typer | None = None, name: str | None = None, panel: str | None = None):
    """Register a command (on ``group``, default the top level, in help ``panel``) whose user-input
    errors become one line on stderr and exit code 2."""
    if func is None:
        return lambda f: command(f, group=group, name=name, panel=panel)
    func.__doc__ = example_block(func.__doc__ or "")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        out = kwargs.get("out")
        new = isinstance(out, Path) and not out.exists()
        try:
            return func(*args, **kwargs)
        except (CortexkitError, OSError) as exc:  # bad input, or a path that cannot be read or written
            if new and out.is_dir():  # a refused command leaves nothing new (a kill keeps it, to resume)
                shutil.rmtree(out, ignore_errors=True)
            text = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
            error(text)
            raise typer.Exit(code=2) from None
    return (group or app).command(name, rich_help_panel=panel, cls=Command)(wrapper)


def _names(text: str | None) -> list[str] | None:
    """A comma list (None when not given)."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _units(text: str | None):
    """Unit names or indices from a comma list."""
    names = _names(text)
    if not names:
        return None
    return [int(u) for u in names] if all(u.lstrip("-").isdigit() for u in names) else names


# ---------------------------------------------------------------------------------------------- demo

@command(panel=START)
def demo(out: Path = Opt(Path("runs/demo"), help="run directory to write"), seed: int = Typed(0, Seed, help="seed of simulation and CV"),
         n_train: int = Typed(2000, Positive, help="training images (shown once each)"), n_test: int = Typed(100, Positive, help="test images"),
         n_repeats: int = Typed(10, Repeats, help="repeats of each test image (at least 2, for noise ceilings)"), overwrite: bool = Opt(False, help="refit models")):
    """Simulate V1 cells with known filters, fit pixel, PCA and Gabor ridge models, score, report.

    Example: cortexkit demo --out runs/demo --seed 1
    """
    from cortexkit import pipelines, report

    start = time.time()
    summary = pipelines.run_demo(out, seed=seed, n_train=n_train, n_test=n_test, n_repeats=n_repeats, overwrite=overwrite,
                                 step=step, log=log)
    step("4/4 report")
    page = report.write_report(out)
    show(summary, SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {page}  ({time.time() - start:.0f} s)")


@command(group=analyze_app, name="self-motion")
def analyze_self_motion(store: Path = STORE, out: Path = Opt(..., help="folder to write (new or empty)"),
                        dorsalnet: OPath = Opt(None, help="a trained dorsalnet.pt (default: train one on rendered clips into OUT/dorsalnet)"),
                        published: OPath = Opt(None, help="the published DorsalNet weights (Mineault et al. 2021, STSBench's dorsalnet.pt): compared too"),
                        clips: int = Typed(3000, Positive, help="rendered self-motion clips to train DorsalNet on"),
                        epochs: int = Typed(12, Positive, help="DorsalNet training epochs"),
                        channels: int = Typed(16, Positive, help="DorsalNet's first-stage channels"),
                        permutations: int = Typed(200, Draws, help="label shuffles for the decoders' chance and p-values"),
                        bootstrap: int = Typed(1000, Draws, help="test-stimulus resamples for the intervals"),
                        seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE),
                        allow_overlap: bool = Opt(False, help="run even when held-out stimuli copy training stimuli")):
    """STSBench's dorsal suite on self-motion movies: decode heading, speed, rotation and the optic flow from single
    trials (against shuffled labels), train DorsalNet (a 3D ResNet reporting self-motion) and compare its encoding of
    the units with the untrained network and motion energy.

    (sm.zarr: `cortexkit data simulate sm.zarr --population self-motion`; the store needs the stimulus coordinates
    heading_azimuth, heading_elevation, speed, yaw, pitch, and optionally an optic_flow variable)

    Example: cortexkit analyze self-motion sm.zarr --out runs/self_motion

    Example: cortexkit analyze self-motion sm2.zarr --out runs/sm2 --dorsalnet runs/self_motion/dorsalnet/dorsalnet.pt

    Example: cortexkit analyze self-motion sm.zarr --out runs/sm_pub --published ../shared/data/dorsalnet_mineault2021/dorsalnet.pt
    """
    from cortexkit import pipelines

    cfg = pipelines.encoding_config(seed=seed, device=device)
    tables = pipelines.run_self_motion(store, out, dorsalnet=dorsalnet, published=published, n_clips=clips, epochs=epochs, channels=channels,
                                       n_permutations=permutations, config=cfg, n_bootstrap=bootstrap,
                                       allow_overlap=allow_overlap, log=log)
    show(tables["decoding"], "self-motion decoded from single trials (test trials; chance: shuffled training labels)")
    if "flow" in tables:
        show(tables["flow"], "optic flow decoded from single trials")
    show(tables["encoding"], "encoding the units (median test r, 95% CI; stage chosen by CV on the training stimuli)")
    console.print(f"tables and self_motion.png in {out}", highlight=False)


@command(group=analyze_app, name="alignment")
def analyze_alignment(shared: list[Path] = Arg(..., help="Zarr stores of the subjects the shared model is fitted on"),
                      new: Path = Opt(..., help="Zarr store of the new subject (its test stimuli score every model)"),
                      out: Path = Opt(..., help="folder to write (new or empty)"),
                      fractions: str = Typed(",".join(map(str, (0.05, 0.1, 0.2, 0.4, 1.0))), Names,
                                         help="comma-separated shares of the new subject's training images"),
                      param: Optional[list[str]] = Opt(None, "--param", "-p", help="mindeye decoder parameter key=value (repeatable), e.g. epochs=80"),
                      image_size: int = Typed(32, Positive, help="stimuli are resized to this many pixels"),
                      reach: float = Typed(0.9, Fraction, help="report the share of data at which a model reaches this share of the pooled model's above-chance 2-way accuracy"),
                      permutations: int = Typed(1000, Draws, help="candidate shuffles for the 2-way p-values"),
                      repeats: int = Typed(1, Positive, help="repeats with other model seeds and data subsets (the summary uses their mean)"),
                      seed: int = Typed(0, Seed)):
    """How much data a new subject needs: the subject aligned to a decoder shared by other subjects (only its
    linear adapter trained) against a decoder of its own, with growing shares of its training images, and against the
    pooled decoder fitted on everyone's data.

    Example: cortexkit analyze alignment subj01.zarr subj02.zarr subj05.zarr --new subj07.zarr --out runs/align

    Example: cortexkit analyze alignment s1.zarr s2.zarr --new s3.zarr --out runs/a --fractions 0.1,1 --repeats 3
    """
    from cortexkit import report
    from cortexkit.pipelines.analyses import run_alignment

    try:
        shares = [float(f) for f in fractions.split(",") if f.strip()]
    except ValueError:
        raise ConfigError(f"--fractions must be comma-separated numbers, got {fractions!r}") from None
    tables = run_alignment(shared, new, out, fractions=shares, params=options(param), image_size=image_size, reach=reach,
                           n_permutations=permutations, repeats=repeats, seed=seed, log=log)
    show(tables["means"], "new subject: retrieval on its test stimuli by share of its training images (mean of repeats)")
    show(tables["summary"], f"share of the new subject's images needed to reach {reach:g} of the pooled model")
    console.print(f"report: {report.write_alignment_report(tables, out)}; tables in {out}", highlight=False)


# ---------------------------------------------------------------------------------------------- data

@command(group=data_app)
def simulate(out: Path = Arg(..., help="Zarr store to write (fmri: a folder of one store per subject)"),
             population: str = Opt("v1", help="v1 (images), mt (movies), fmri (NSD-like voxels, several subjects), streams (dorsal + "
                                   "ventral units, the same movies), partition (two image halves), movie-fmri (continuous runs), "
                                   "self-motion (MSTd-like units, optic-flow movies) or v1-video (space-time simple and energy "
                                   "cells, natural movies)"),
             config: OPath = Opt(None, help="YAML with the population's config fields"), n_train: OInt = Typed(None, Positive),
             n_test: OInt = Typed(None, Positive), n_repeats: OInt = Typed(None, Positive, help="per test stimulus (fmri: per image)"),
             n_simple: OInt = Typed(None, Count), n_complex: OInt = Typed(None, Count), n_units: OInt = Typed(None, Positive, help="mt units"),
             n_subjects: OInt = Typed(None, Positive, help="fmri subjects"),
             n_shared: OInt = Typed(None, Positive, help="fmri test images every subject sees"),
             size: OInt = Typed(None, Pixels, help="pixels"), color: Optional[bool] = Opt(None, "--color/--gray", help="RGB or grayscale (v1, fmri)"),
             seed: OInt = Typed(None, Seed)):
    """Simulate a recording with known ground truth (V1SimulationConfig, MTSimulationConfig, FMRISimulationConfig,
    StreamsSimulationConfig, PartitionSimulationConfig, MovieFMRISimulationConfig, SelfMotionSimulationConfig,
    V1VideoSimulationConfig) as Zarr.

    Example: cortexkit data simulate v1.zarr --n-train 1000 --n-simple 20 --n-complex 20 --seed 1

    Example: cortexkit data simulate v1_video.zarr --population v1-video --n-train 800 --size 16

    Example: cortexkit data simulate runs/fmri --population fmri --n-subjects 2 --n-train 600 --n-shared 100
    """
    from cortexkit import pipelines

    given = dict(n_train=n_train, n_test=n_test, n_repeats=n_repeats, n_simple=n_simple, n_complex=n_complex,
                 n_units=n_units, n_subjects=n_subjects, n_shared=n_shared, size=size, color=color, seed=seed)
    for line in pipelines.write_simulation(out, population, config, given):
        console.print(line, highlight=False)


@command(group=data_app)
def convert(source: Path = Arg(..., help="source file or folder"), out: Path = Arg(..., help="Zarr store to write"),
            format: str = Opt(..., "--format", "-f", help="source format (`cortexkit list formats`)"),
            option: Optional[list[str]] = Opt(None, "--option", "-o", help="reader option key=value (repeatable)"),
            allow_overlap: bool = Opt(False, help="keep a split whose held-out stimuli copy training stimuli")):
    """Convert a dataset in a source format into a Zarr store (streamed; a killed conversion resumes).

    Example: cortexkit data convert ../shared/data/cowley2023_v4 v4_210325.zarr --format cowley2023 --option session=210325
    """
    from cortexkit import pipelines

    console.print(pipelines.convert_recording(source, out, format, options(option), allow_overlap=allow_overlap, log=log),
                  highlight=False)
    console.print(f"next: cortexkit data info {out}", highlight=False)


@command(group=data_app)
def merge(out: Path = Arg(..., help="Zarr store to write"),
          recordings: list[str] = Arg(..., help="AREA=STORE, two or more: each recording and the area its units get"),
          match: str = Typed("stimulus", Literal["stimulus", "content"], help="match stimuli by label (stimulus) or by pixel content (content)"),
          pixel_tolerance: float = Typed(0.05, NonNegative, help="largest mean absolute pixel difference of matched stimuli")):
    """Merge recordings of different regions that saw the same stimuli into one (pseudo-trials paired per stimulus).

    Example: cortexkit data merge both.zarr dorsal=stsbench.zarr ventral=tvsd.zarr
    """
    from cortexkit import pipelines

    stores = {}
    for item in recordings:
        area, sep, path = item.partition("=")
        if not sep or not area or not path:
            raise ConfigError(f"expected AREA=STORE, got {item!r}")
        if area in stores:
            raise ConfigError(f"area {area!r} given twice")
        stores[area] = path
    console.print(pipelines.merge_recordings(out, stores, match=match, pixel_tolerance=pixel_tolerance), highlight=False)


@command(group=data_app)
def info(store: Path = STORE):
    """Summarise a dataset: dims, units, splits, repeats and noise ceilings.

    Example: cortexkit data info runs/demo/data.zarr
    """
    import pandas as pd

    from cortexkit import pipelines

    show(pd.DataFrame(pipelines.describe_dataset(store), columns=["", "value"]), str(store), header=False)


# ------------------------------------------------------------------------------------------ features

@command(panel=DATA)
def features(store: Path = STORE, model: str = Opt("gabor", help="feature space (`cortexkit list features`)"),
             layers: OStr = Typed(None, Names, help="'all' or a comma list of layers (multi-layer feature spaces)"),
             param: Optional[list[str]] = Opt(None, "--param", "-p", help="parameter key=value (repeatable)"),
             out: OPath = Opt(None, help="write the features here (Zarr); else only cache and summarise")):
    """Extract (and cache) the features of every stimulus, the feature space fitted on the train split.

    Example: cortexkit features runs/demo/data.zarr --model alexnet --layers conv2,conv5 --out alexnet.zarr

    Example: cortexkit features data.zarr --model timm:resnet50 --layers layer2,layer3 -p weights=resnet50.safetensors
    """
    from cortexkit import pipelines

    table, where = pipelines.extract_features(store, model, layers=layers, params=options(param), out=out)
    show(table, f"{model} features of {store}")
    console.print(where, highlight=False)


# ------------------------------------------------------------------------------------- fit and train

@command(panel=MODELS)
def fit(store: Path = STORE, out: Path = Opt(..., help="run directory to write"),
        features: OStr = Typed(None, Names, help="comma-separated feature spaces (`cortexkit list features`)"),
        layers: OStr = Typed(None, Names, help="multi-layer feature spaces: 'all' or a comma list (one model per layer)"),
        param: Optional[list[str]] = Opt(None, "--param", "-p", help="feature-space parameter key=value (repeatable)"),
        model: OStr = Opt(None, help="a named ridge model (`cortexkit list models`) or its .yaml file as the config"),
        config: OPath = Opt(None, help="YAML with EncodingConfig fields"), seed: OInt = Typed(None, Seed, help="seed of the CV folds"),
        device: OStr = Typed(None, Device, help="where the ridge and the feature networks run (cpu, cuda)"),
        max_memory: OStr = Opt(None, help="budget per fit, e.g. 4GB"),
        scheduler: OStr = Typed(None, Address, help="Dask scheduler tcp://HOST:PORT"), overwrite: bool = Opt(False, help="refit"),
        allow_overlap: bool = Opt(False, help="fit even when held-out stimuli copy training stimuli"),
        banded: bool = Opt(False, help="also fit a banded ridge model joining every model (a penalty per feature space)"),
        permutations: OInt = Typed(None, Shuffles, help="shuffles of the test stimuli for each unit's p-value (default 1000; 0: none)")):
    """Fit cross-validated ridge per feature space (and layer), score the test split, report; resumes.

    Example: cortexkit fit runs/demo/data.zarr --out runs/mine --features pixel_pca,gabor

    Example: cortexkit fit runs/demo/data.zarr --out runs/joint --features pixel_pca,gabor --banded

    Example: cortexkit fit v4.zarr --out runs/v4_best --model stacked-v4

    Example: cortexkit fit v4.zarr --out runs/r50 --features timm:resnet50 --layers layer2,layer3 --device cuda
    """
    from cortexkit import benchmarks, pipelines, report

    base = benchmarks.get_model(model).encoding() if model else None
    cfg = pipelines.encoding_config(config, base=base, features=features, layers=layers, params=options(param), seed=seed,
                                    device=device, max_memory=max_memory, scheduler=scheduler, banded=banded,
                                    permutations=permutations)
    summary = pipelines.run_ridge_encoding(store, out, cfg, overwrite=overwrite, allow_overlap=allow_overlap, log=log)
    show(summary, SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {report.write_report(out)}", highlight=False)


@command(panel=MODELS)
def train(config: OPath = Arg(None, help="YAML with PredictorConfig fields"), out: Path = Opt(..., help="run directory (resumed)"),
          epochs: OInt = Typed(None, Positive, help="override the config's epochs"), device: OStr = Typed(None, Device, help="cpu or cuda"),
          data: OStr = Typed(None, Names, help="replace the config's stores: comma-separated PATH or KEY=PATH"),
          search: OPath = Opt(None, help="YAML search space: search hyperparameters on the validation stimuli (Optuna) instead"),
          trials: int = Typed(20, Positive, help="--search: trials to complete (resumed searches count the finished ones)"),
          sampler: str = Typed("tpe", Literal["tpe", "grid"], help="--search: tpe (seeded) or grid (every dimension a list of choices)"),
          from_checkpoint: OPath = Opt(None, help="a published checkpoint to make into a run instead of training (with --format and --data)"),
          format: OStr = Typed(None, Literal["stsbench", "viv1t", "cowley_compact"], help="--from-checkpoint: the checkpoint's layout (stsbench file, viv1t run folder, cowley_compact folder of Cowley et al.'s compact V4 models)"),
          skip_frames: OInt = Typed(None, Count, help="--from-checkpoint viv1t: leading frames of each trial left out of the scores (default 50)")):
    """Train a core + per-session readouts end to end (resumable), score the test split, write the report; or with
    --search, search its hyperparameters on the validation stimuli (resumable) and write the best config.

    On several GPUs: torchrun --nproc_per_node=N -m cortexkit train CONFIG --out OUT (one process per GPU).

    Example: cortexkit train configs/v1_conv2d.yaml --out runs/v1_trained --data v1.zarr

    Example: cortexkit train configs/v1_conv2d.yaml --out runs/v1_search --data v1.zarr --search configs/spaces/predictor.yaml --trials 20

    Example: cortexkit train --from-checkpoint dorsal_stream_dorsalnet_64_res1.pth --format stsbench --data sts.zarr --out runs/sts

    Example: cortexkit train --from-checkpoint ViV1T/runs/viv1t_001 --format viv1t --data A=sensorium_A.zarr --out runs/viv1t_A

    Example: cortexkit train --from-checkpoint ../shared/data/cowley2023_compact_models --format cowley_compact --data v4_190923.zarr --out runs/compact
    """
    from cortexkit import pipelines, report

    if from_checkpoint is not None:
        if config is not None or search is not None or not format or not data or "," in data:
            raise ConfigError("--from-checkpoint takes --format, --data (one store: PATH or KEY=PATH) and --out, and no CONFIG or --search")
        key, _, store = data.rpartition("=") if "=" in data else (None, "", data)
        summary = pipelines.checkpoint_run(from_checkpoint, format, store, out, key=key or None, device=device or "cpu",
                                           skip_frames=skip_frames, log=log)
        show(summary, SUMMARY, SUMMARY_HEADERS)
        console.print(f"report: {report.write_predictor_report(out)}", highlight=False)
        return
    if config is None:
        raise ConfigError("give a training CONFIG (YAML with PredictorConfig fields), or --from-checkpoint")
    cfg = pipelines.predictor_config(config, epochs=epochs, device=device, data=_names(data))
    if search is not None:
        result = pipelines.run_search(cfg, search, out, trials=trials, sampler=sampler, log=log)
        show(result["trials"], "hyperparameter search (validation score of each trial's best epoch; test not read)")
        if result["best"] is not None:
            console.print(f"best: validation score {result['best_score']:.4f}; next: cortexkit train {out / 'best.yaml'} "
                          f"--out RUN", highlight=False)
        return
    summary = pipelines.run_trained_predictor(cfg, out, log=log)
    if summary.empty:  # another process of a `torchrun -m cortexkit train` launch: the first one reports
        return
    show(summary, SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {report.write_predictor_report(out)}", highlight=False)


@command(panel=MODELS)
def evaluate(run: Path = Arg(..., help="run directory written by fit, train or decode reconstruct"),
             submission: OStr = Typed(None, Names, help="trained Sensorium runs: write the competition's submission file "
                                                        "instead, from each session's mouse folder, KEY=FOLDER[,KEY=FOLDER]"),
             tier: str = Typed("live_test_main", Literal["live_test_main", "final_test_main", "live_test_bonus", "final_test_bonus", "oracle"],
                               help="--submission: the trials to predict")):
    """Score a run's test predictions again (every metric with its noise ceiling; reconstruction runs also against
    their null models) and rewrite its report; or, for a trained Sensorium 2023 run, write the predictions of a test
    tier in the competition's submission layout (RUN/submission).

    Example: cortexkit evaluate runs/demo

    Example: cortexkit evaluate runs/sensorium --submission A=~/sensorium/dynamic29156-11-10-Video-8744ed,B=~/sensorium/dynamic29228-2-10-Video-9e0dc3
    """
    from cortexkit import pipelines, report

    if submission is not None:
        folders = dict(s.split("=", 1) if "=" in s else ("", s) for s in _names(submission))
        if "" in folders:
            raise ConfigError("--submission takes KEY=FOLDER pairs (the session key of each mouse folder)")
        path = pipelines.write_submission(run, folders, run / "submission", tier=tier, log=log)
        console.print(f"submission: {path}", highlight=False)
        return

    kind, summary = pipelines.evaluate_any_run(run, log=log)
    if kind == "reconstruction":
        show_reconstruction_table(summary, "reconstruction metrics (test set means; null rows marked)")
    else:
        show(summary, SUMMARY, SUMMARY_HEADERS)
    console.print(f"report: {report.write_run_report(run)}", highlight=False)


# ------------------------------------------------------------------------------------------- compare

@command(group=compare_app, name="models")
def compare_models(a: str = Arg(..., help="model A as RUN:MODEL"), b: str = Arg(..., help="model B as RUN:MODEL"),
                   out: Path = Opt(..., help="folder for the tables and report"), n_bootstrap: int = Typed(1000, Draws, help="draws"),
                   seed: int = Typed(0, Seed, help="seed of the bootstrap")):
    """Compare two models unit by unit on the same test stimuli: difference in r with a bootstrap CI, p-values.

    Example: cortexkit compare models runs/demo:gabor runs/demo:pixel_pca --out runs/demo/paired
    """
    import pandas as pd

    from cortexkit import pipelines, report

    _, s = pipelines.compare_models(a, b, out, n_bootstrap=n_bootstrap, seed=seed, log=log)
    show(pd.DataFrame(report.paired_summary_rows(s), columns=["", "value"]), "A vs B", header=False)
    console.print(f"report: {report.write_paired_report(out)}", highlight=False)


@command(group=compare_app, name="representations")
def compare_representations(store: Path = STORE, features: str = Typed("pixels,gabor", Names, help="comma-separated feature spaces"),
                            layers: OStr = Typed(None, Names, help="'all' or comma list of layers"),
                            split: str = Typed("test", Literal["train", "test", "all"], help="train, test or all"),
                            method: str = Typed("cka", Literal["cka", "rsa"], help="cka (linear CKA) or rsa (Spearman correlation of RDMs)"),
                            out: Path = Opt(Path("comparison"), help="folder for comparison.csv and the report")):
    """Linear CKA or RSA between every pair of feature spaces (each layer) and the neural responses.

    Example: cortexkit compare representations runs/demo/data.zarr --features pixels,gabor,alexnet --layers conv2,conv5
    """
    from cortexkit import pipelines, report

    frame = pipelines.compare_representations(store, pipelines.feature_specs(features, layers=layers), out, split=split,
                                              method=method)
    show(frame.reset_index(names=""), frame.attrs["title"])
    console.print(f"report: {report.write_comparison_report(frame, out)}", highlight=False)


@command(group=compare_app, name="regions")
def compare_regions(store: Path = STORE, out: Path = Opt(Path("streams"), help="folder for the tables, the report and the encoding run"),
                    parameters: OStr = Typed(None, Names, help="comma-separated stimulus parameters to decode (default: every one with 2-16 values)"),
                    features: str = Typed("gabor,motion_energy", Names, help="feature spaces for the per-region encoding (2-D and 3-D)"),
                    permutations: int = Typed(200, Shuffles, help="label shuffles for each decoding p-value"),
                    alpha: float = Typed(0.01, OpenProbability, help="significance level of the double dissociation"),
                    reconstruct: OStr = Typed(None, Names, help="comma-separated decoders to reconstruct the test stimuli from each region"),
                    image_size: int = Typed(32, Pixels, help="pixels, for --reconstruct"),
                    similarity: str = Typed("cka", Literal["cka", "rsa"], help="cka (linear CKA) or rsa (Spearman correlation of RDMs)")):
    """Compare two regions on the same stimuli: decoding per parameter (McNemar between regions), encoding with
    2-D vs 3-D features per region, CKA with model layers; report a double dissociation.

    Example: cortexkit compare regions streams.zarr --out runs/streams --permutations 100

    Example: cortexkit compare regions both.zarr --out runs/streams --reconstruct pca,retrieval --image-size 32

    (streams.zarr: `cortexkit data simulate streams.zarr --population streams`)
    """
    from cortexkit import pipelines, report

    recon = None if reconstruct is None else pipelines.reconstruction_config(decoders=reconstruct, image_size=image_size,
                                                                            n_permutations=permutations)
    res = pipelines.run_streams(store, out, parameters=_names(parameters), features=pipelines.feature_specs(features),
                                n_permutations=permutations, alpha=alpha, reconstruction=recon, similarity=similarity, log=log)
    if len(res["comparisons"]):
        show(res["comparisons"][["parameter", "area_a", "accuracy_a", "area_b", "accuracy_b", "p_mcnemar", "better"]],
             "decoding per region (cross-validated accuracy; exact McNemar test between regions)")
    show(res["encoding"], "encoding per region (median over units, test set)")
    if res["reconstruction"] is not None:
        show_reconstruction_table(res["reconstruction"], "reconstruction from each region (test set means; null rows marked)")
    sentence = pipelines.dissociation_sentence(res["dissociation"], alpha)
    console.print(sentence, highlight=False)
    console.print(f"report: {report.write_streams_report(res, out, sentence)}; tables in {out}", highlight=False)


# -------------------------------------------------------------------------------------------- decode

@command(group=decode_app, name="reconstruct")
def decode_reconstruct(stores: list[Path] = Arg(..., help="Zarr store; several (one per subject): each, and pooled on shared test stimuli"),
                       out: Path = Opt(..., help="run directory"), image_size: OInt = Typed(None, Pixels, help="pixels (default 64)"),
                       decoder: OStr = Typed(None, Names, help="comma-separated decoders (default pca,retrieval,autoencoder,diffusion,search)"),
                       config: OPath = Opt(None, help="YAML with ReconstructionConfig fields (decoders with params, ...)"),
                       quick: bool = Opt(False, help="short training (a smoke run)"),
                       permutations: OInt = Typed(None, Shuffles, help="shuffles for each p-value (default 1000)"),
                       model_dir: OPath = Opt(None, help="local diffusers folder, for every decoder that takes one (`cortexkit list decoders`)"),
                       device: OStr = Typed(None, Device, help="cpu or cuda, for every decoder that takes it"),
                       param: Optional[list[str]] = Opt(None, "--param", "-p", help="decoder parameter key=value (repeatable), for every named decoder that takes it, e.g. n_components=50")):
    """Reconstruct held-out stimuli with each decoder; score them against nulls (shuffled, mean, gray).

    Example: cortexkit decode reconstruct runs/demo/data.zarr --out runs/recon --decoder pca,autoencoder --image-size 32

    Example: cortexkit decode reconstruct nsd_subj01.zarr --out runs/ss --decoder second_sight --model-dir sd-image-variations --device cuda

    Example: cortexkit decode reconstruct runs/fmri/subj01.zarr runs/fmri/subj02.zarr --out runs/recon-pooled --decoder pca,retrieval

    Example: cortexkit decode reconstruct runs/demo/data.zarr --out runs/recon-pca --decoder pca -p n_components=50
    """
    from cortexkit import pipelines, report

    cfg = pipelines.reconstruction_config(config, decoders=decoder, image_size=image_size, n_permutations=permutations,
                                          model_dir=model_dir, device=device, quick=quick, params=options(param))
    table = pipelines.reconstruct(stores, out, cfg, log=log)
    title = ("each subject and the pool on the shared test stimuli" if len(stores) > 1
             else "reconstruction metrics") + " (test set means; null rows marked)"
    show_reconstruction_table(table, title)
    console.print("report: " + ", ".join(map(str, report.write_reconstruction_reports(out))), highlight=False)


@command(group=decode_app, name="parameter")
def decode_parameter(store: Path = STORE, parameter: str = Arg(..., help="stimulus coordinate or trial variable, e.g. direction"),
                     by: OStr = Opt(None, help="split by this parameter for a neurometric curve"),
                     bins: OInt = Typed(None, Bins, help="bin an angle (degrees) into this many classes"),
                     out: Path = Opt(Path("decoding"), help="folder for decoding.csv and the report"),
                     permutations: int = Typed(200, Shuffles, help="label shuffles for the p-value"),
                     method: str = Typed("logistic", Literal["logistic", "poisson"], help="logistic, or poisson (maximum likelihood on spike counts)")):
    """Decode a stimulus parameter from single trials, with chance, p-value, confusion and neurometric curve.

    Example: cortexkit decode parameter mt_cell0.zarr trial_direction --by trial_coherence --out runs/mt_decoding
    """
    from cortexkit import pipelines, report

    res = pipelines.run_parameter_decoding(store, parameter, out, by=by, bins=bins, n_permutations=permutations,
                                           method=method)
    show(res["table"], f"decoding {parameter}", nan="")
    console.print(f"report: {report.write_decoding_report(res, out)}", highlight=False)


# ------------------------------------------------------------------------------------------ insilico

@command(group=insilico_app)
def synthesize(run: Path = Arg(..., help="run directory (cortexkit fit or cortexkit train)"),
               out: Path = Opt(..., help="folder to write"),
               model: OStr = Opt(None, help="model of a ridge run (e.g. stacked), or session of a trained run (default: its only one)"),
               units: OStr = Typed(None, Names, help="comma-separated unit names or indices (default all)"),
               steps: int = Typed(200, Positive, help="gradient-ascent steps"),
               contrast: float = Typed(0.2, PositiveFloat, help="RMS contrast budget"),
               blur: float = Typed(0.5, NonNegative, help="SD (px) of the gradient smoothing"),
               jitter: int = Typed(0, Count, help="largest random shift (px) per step; 1-2 for deep CNN features"),
               top_k: int = Typed(5, Positive, help="most exciting images of the recording shown beside each MEI"),
               seed: int = Typed(0, Seed, help="seed of the start noise and the jitter"),
               least: bool = Opt(False, help="least exciting (most suppressive) inputs and images instead"),
               diverse: int = Typed(0, Count, help="also this many dissimilar exciting inputs per unit (0: none)"),
               threshold: float = Typed(0.9, Fraction, help="each diverse input keeps this fraction of the MEI response"),
               compare: OStr = Opt(None, help="RUN or RUN:MODEL: a second model of the same units; how far the two agree"),
               device: str = Typed("cpu", Device, help=DEVICE)):
    """Most exciting inputs of a fitted model's units, beside their most exciting recorded images.

    Works on ridge runs (any model, the stacked one included) and trained cores (image or video).

    Example: cortexkit insilico synthesize runs/v1 --model gabor --units 0,1,2 --diverse 4 --out runs/v1_meis
    """
    from cortexkit import pipelines, report

    table = pipelines.synthesize(run, out, model=model, units=_units(units), top_k=top_k, diverse=diverse,
                                 threshold=threshold, compare=compare, device=device, log=log, steps=steps, contrast=contrast,
                                 blur=blur, jitter=jitter, seed=seed, least=least)
    show(table, "most exciting inputs: predicted responses")
    console.print(f"report: {report.write_synthesis_report(out)} (images in {out}/png)", highlight=False)


@command(group=insilico_app)
def tuning(run: Path = Arg(..., help="run directory (cortexkit fit or cortexkit train)"),
           out: Path = Opt(..., help="folder to write"),
           model: OStr = Opt(None, help="model of a ridge run, or session of a trained run (default: its only one)"),
           rf_size: int = Typed(2, Positive, help="side (px) of the sparse-noise squares"),
           device: str = Typed("cpu", Device, help=DEVICE)):
    """Tuning and receptive fields of every unit of a fitted model: orientation tuning (images) or
    direction tuning (videos) from gratings, sparse-noise and gradient RF maps.

    Example: cortexkit insilico tuning runs/v1 --model gabor --out runs/v1_tuning
    """
    from cortexkit import pipelines, report

    preferred = pipelines.tuning(run, out, model=model, rf_size=rf_size, device=device)
    show(preferred, "preferred stimulus and receptive-field centre per unit")
    console.print(f"report: {report.write_tuning_report(out)} (tables in {out})", highlight=False)


@command(group=insilico_app)
def design(runs: list[str] = Arg(..., help="RUN or RUN:MODEL, one or more: the model ensemble (a bare ridge run: all its models)"),
           pool: Path = Opt(..., help="candidate stimuli: a cortexkit store, or a folder of image files"),
           out: Path = Opt(..., help="folder to write the stimulus set into"),
           n: int = Typed(50, Positive, help="stimuli to choose"),
           objective: str = Typed("disagreement", Literal["disagreement", "drive"],
                                  help="disagreement (the ensemble differs most) or drive (chosen units respond most)"),
           units: OStr = Typed(None, Names, help="comma-separated unit names or indices the objective looks at (default all)"),
           max_similarity: float = Typed(0.95, Fraction, help="pass over images whose pixel correlation with a chosen one is above this"),
           device: str = Typed("cpu", Device, help=DEVICE)):
    """Choose the next stimuli to show: the pool images a model ensemble disagrees on most, or that
    drive chosen units most, written as PNG files and a CSV ready to present.

    Example: cortexkit insilico design runs/v4 --pool candidate_images/ --n 100 --out next_session
    """
    from cortexkit import pipelines, report

    table = pipelines.design(runs, pool, out, n, objective=objective, units=_units(units),
                             max_similarity=max_similarity, device=device, log=log)
    show(table.head(20), f"the {n} stimuli to show next, by {objective} (first 20)")
    console.print(f"report: {report.write_design_report(out)} ({len(table)} files in {out}/png)", highlight=False)


# ------------------------------------------------------------------------------------------- analyze

@command(group=analyze_app, name="partition")
def analyze_partition(stores: list[Path] = Arg(..., help="one or more Zarr stores (units pooled)"),
                      out: Path = Opt(..., help="folder to write (new or empty)"),
                      features: OStr = Typed(None, Names, help="2-4 comma-separated feature spaces (one layer each)"),
                      param: Optional[list[str]] = Opt(None, "--param", "-p", help="feature-space parameter key=value (repeatable)"),
                      config: OPath = Opt(None, help="YAML with EncodingConfig fields (labelled feature spaces, ridge settings)"),
                      n_iter: int = Typed(20, Positive, help="banded ridge: candidate weightings of the spaces per joint fit"),
                      bootstrap: int = Typed(1000, Shuffles, help="test-stimulus resamples for the intervals"),
                      seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE),
                      allow_overlap: bool = Opt(False, help="run even when held-out stimuli copy training stimuli")):
    """Variance partitioning: the test variance each feature space explains uniquely and what several share, from
    joint (banded ridge) fits of every subset of 2-4 spaces, with intervals, failure counts and the truth of a simulation.

    Example: cortexkit analyze partition v4.zarr --out runs/v4_partition --features gabor,expansion

    Example: cortexkit analyze partition halves.zarr --out runs/halves --config halves.yaml

    (halves.zarr: `cortexkit data simulate halves.zarr --population partition`; halves.yaml labels two `pixels`
    spaces `left` and `right` with `region: [0, 1, 0, 0.5]` and `[0, 1, 0.5, 1]`)
    """
    from cortexkit import pipelines, report

    cfg = pipelines.encoding_config(config, features=features, params=options(param), seed=seed, device=device)
    tables = pipelines.run_partition(stores, out, cfg, n_iter=n_iter, n_bootstrap=bootstrap, allow_overlap=allow_overlap,
                                     log=log)
    show(tables["summary"], "variance partitioning (test R² per region: mean over units, 95% CI over test stimuli)")
    console.print(f"report: {report.write_partition_report(tables, out)}; tables in {out}", highlight=False)


@command(group=analyze_app, name="width")
def analyze_width(stores: list[Path] = Arg(..., help="one or more Zarr stores of images (units pooled)"),
                  out: Path = Opt(..., help="folder to write (new or empty)"),
                  widths: str = Typed(",".join(map(str, (3, 10, 30, 100, 300, 1000, 3000, 10000))), Names,
                                      help="comma-separated widths of the last layer"),
                  param: Optional[list[str]] = Opt(None, "--param", "-p", help="expansion parameter key=value (repeatable), e.g. image_size=224"),
                  saturation: float = Typed(0.95, Fraction, help="saturation: the smallest width reaching this share of the best median r"),
                  bootstrap: int = Typed(1000, Draws, help="test-stimulus resamples for the intervals"),
                  seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE),
                  allow_overlap: bool = Opt(False, help="run even when held-out stimuli copy training stimuli")):
    """The expansion model's headline curve: encoding score (with its interval and over the noise ceiling) and the
    features' effective dimensionality against the last layer's width, and the width where the score saturates.

    Example: cortexkit analyze width runs/bench/stores/cowley2023-v4/*.zarr --out runs/v4_width

    Example: cortexkit analyze width v1.zarr --out runs/v1_width --widths 10,100,1000 -p image_size=224
    """
    from cortexkit import pipelines, report

    try:
        sweep = [int(w) for w in widths.split(",") if w.strip()]
    except ValueError:
        raise ConfigError(f"--widths must be comma-separated integers, got {widths!r}") from None
    cfg = pipelines.encoding_config(seed=seed, device=device)
    tables = pipelines.run_width_sweep(stores, out, widths=sweep, params=options(param), config=cfg, saturation=saturation,
                                       n_bootstrap=bootstrap, allow_overlap=allow_overlap, log=log)
    show(tables["widths"], f"expansion width sweep (saturation width {tables['widths'].attrs['saturation']})")
    console.print(f"report: {report.write_width_report(tables, out)}; tables in {out}", highlight=False)


@command(group=analyze_app, name="delays")
def analyze_delays(store: Path = STORE, out: Path = Opt(..., help="folder to write (new or empty)"),
                   features: str = Typed("gabor", Names, help="one feature space (one layer)"),
                   param: Optional[list[str]] = Opt(None, "--param", "-p", help="feature-space parameter key=value (repeatable)"),
                   delays: str = Typed("0-7", Names, help="delays in samples: a range A-B or a comma list"),
                   bootstrap: int = Typed(1000, Draws, help="test-stimulus resamples for the intervals"),
                   seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE)):
    """Time-delayed (FIR) encoding of a continuous recording (trials = samples with a `run` coordinate): the weights per
    delay (the response's time course, for fMRI the haemodynamic response), against each delay alone and no delay.

    Example: cortexkit analyze delays movie.zarr --out runs/movie_delays --features gabor --delays 0-7

    (movie.zarr: `cortexkit data simulate movie.zarr --population movie-fmri`)
    """
    from cortexkit import pipelines, report

    try:
        lo, _, hi = delays.partition("-")
        lags = list(range(int(lo), int(hi) + 1)) if hi else [int(d) for d in delays.split(",")]
    except ValueError:
        raise ConfigError(f"--delays must be a range A-B or comma-separated integers, got {delays!r}") from None
    cfg = pipelines.encoding_config(features=features, params=options(param), seed=seed, device=device)
    tables = pipelines.run_delays(store, out, cfg, delays=lags, n_bootstrap=bootstrap, log=log)
    show(tables["delays"], f"weights per delay (recovered delay {tables['delays'].attrs['recovered']})")
    show(tables["summary"], "test scores (median over units, 95% CI over test samples)")
    console.print(f"report: {report.write_delays_report(tables, out)}; tables in {out}", highlight=False)


@command(group=analyze_app, name="probe")
def analyze_probe(out: Path = Opt(..., help="folder to write (new or empty)"),
                  features: OStr = Typed(None, Names, help="comma-separated feature spaces (every layer of each is probed)"),
                  layers: OStr = Typed(None, Names, help="multi-layer feature spaces: 'all' or a comma list"),
                  param: Optional[list[str]] = Opt(None, "--param", "-p", help="feature-space parameter key=value (repeatable)"),
                  config: OPath = Opt(None, help="YAML with EncodingConfig fields (labelled feature spaces)"),
                  dataset: str = Typed("digits", Literal["digits", "photos"], help="digits (scikit-learn) or photos (crops of 15 bundled photographs)"),
                  size: int = Typed(32, Pixels, help="image side in pixels"),
                  per_class: int = Typed(120, Positive, help="photos: crops per class"),
                  bootstrap: int = Typed(1000, Draws, help="test-image resamples for the intervals"),
                  seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE)):
    """Image classification with frozen features: a linear probe (ridge classifier, penalty by leave-one-out CV on the
    training images) per model and layer, test accuracy with its interval, chance and a binomial p.

    Example: cortexkit analyze probe --out runs/probe --features pixels,gabor,expansion -p image_size=140

    Example: cortexkit analyze probe --out runs/probe_photos --dataset photos --features alexnet --layers all
    """
    from cortexkit import pipelines

    cfg = pipelines.encoding_config(config, features=features, layers=layers, params=options(param), seed=seed, device=device)
    tables = pipelines.run_probe(out, cfg, dataset=dataset, size=size, n_per_class=per_class, n_bootstrap=bootstrap, log=log)
    show(tables["probe"], f"linear probe on {dataset} (test accuracy, 95% CI over test images)")
    console.print(f"tables in {out}", highlight=False)


@command(group=analyze_app, name="ablations")
def analyze_ablations(stores: list[Path] = Arg(..., help="one or more Zarr stores of images (units pooled)"),
                      out: Path = Opt(..., help="folder to write (new or empty)"),
                      features: str = Typed("expansion", Names, help="the base feature space (one layer)"),
                      param: Optional[list[str]] = Opt(None, "--param", "-p", help="base parameter key=value (repeatable)"),
                      variant: Optional[list[str]] = Opt(None, "--variant", "-v", help="NAME:key=value[;key=value] (repeatable); "
                                                         "default for expansion: the paper's ablations"),
                      bootstrap: int = Typed(1000, Draws, help="test-stimulus resamples for the intervals"),
                      seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE),
                      allow_overlap: bool = Opt(False, help="run even when held-out stimuli copy training stimuli")):
    """Ablations: the base model with one choice changed at a time (expansion: initialisation, nonlinearity, first-layer
    filters, pooling, each layer removed), each against the base unit by unit (difference, interval, Wilcoxon p).

    Example: cortexkit analyze ablations v1.zarr --out runs/v1_ablations

    Example: cortexkit analyze ablations v4.zarr --out runs/ab --features alexnet -p layers=[conv3] -v untrained:weights=random
    """
    from cortexkit import pipelines

    base = pipelines.feature_specs(features, params=options(param))
    if len(base) != 1:
        raise ConfigError(f"--features takes one base feature space, got {features!r}")
    spec = base[0]
    if variant:
        variants = {}
        for text in variant:
            name, _, body = text.partition(":")
            if not name or not body:
                raise ConfigError(f"--variant must be NAME:key=value[;key=value], got {text!r}")
            if name in variants:
                raise ConfigError(f"--variant {name!r} given twice")
            variants[name] = options(body.split(";"))
    elif spec.name == "expansion":
        spec = spec.model_copy(update={"params": {**pipelines.EXPANSION_BASE, **spec.params}})
        variants = pipelines.EXPANSION_VARIANTS
    else:
        raise ConfigError(f"--variant is needed for {spec.name!r} (the default ablations are the expansion model's)")
    cfg = pipelines.encoding_config(seed=seed, device=device)
    tables = pipelines.run_ablations(stores, out, spec, variants, config=cfg, n_bootstrap=bootstrap,
                                     allow_overlap=allow_overlap, log=log)
    show(tables["ablations"], "ablations (median r, 95% CI over test stimuli; difference from the base model)")
    console.print(f"tables in {out}", highlight=False)


@command(group=analyze_app, name="distill")
def analyze_distill(store: Path = STORE, teacher: str = Opt(..., help="the teacher: RUN or RUN:MODEL (a fit or train run of this recording)"),
                    out: Path = Opt(..., help="folder to write (new or empty)"),
                    features: str = Typed("alexnet", Names, help="the students: comma-separated feature spaces (one layer each)"),
                    layers: OStr = Opt(None, help="the students' layer (e.g. conv3)"),
                    param: Optional[list[str]] = Opt(None, "--param", "-p", help="student feature parameter key=value (repeatable)"),
                    images: Optional[list[Path]] = Opt(None, "--images", help="a store whose images the teacher labels (repeatable)"),
                    crops: int = Typed(0, Count, help="natural-image crops of the bundled photographs to label too"),
                    seed: OInt = Typed(None, Seed), device: OStr = Typed(None, Device, help=DEVICE)):
    """Distillation: the teacher labels extra images (other recordings' images, natural-image crops); each student is
    fitted on the recorded responses alone and with the teacher's labels, and all are scored against the teacher on the
    test split, paired over test stimuli.

    Example: cortexkit analyze distill v4-190923.zarr --teacher runs/pop:population --images runs/bench/stores/cowley2023-v4/190925.zarr --features alexnet --layers conv3 --out runs/distill
    """
    from cortexkit import pipelines

    specs = pipelines.feature_specs(features, layers=layers, params=options(param))
    table = pipelines.run_distillation(store, teacher, out, features=specs, images=[str(p) for p in images or []],
                                       crops=crops, seed=seed or 0, device=device or "cpu", log=log)
    show(table, "students against their teacher (median r; paired difference over test stimuli)")
    console.print(f"tables in {out}", highlight=False)


# --------------------------------------------------------------------------------------------- bench

BENCH_STORE = Opt(Path("runs/bench"), "--out", help="the results store (a folder): cells, stores, runs, tables, site")
BENCH_RESULTS = Opt(Path("runs/bench"), "--results", help="the results store `bench run --out` wrote")


@command(group=bench_app, name="run")
def bench_run(names: Optional[list[str]] = Arg(None, metavar="BENCHMARK", help="benchmark names (default all; `cortexkit list benchmarks`)"),
              models: OStr = Typed(None, Names, help="comma-separated model names or .yaml paths, or 'all' (default: each benchmark's own)"),
              recordings: OStr = Typed(None, Names, help="comma-separated recordings of the one benchmark named"),
              data_root: Path = Opt(Path("../shared/data"), help="folder holding the benchmarks' source data"),
              out: Path = BENCH_STORE, scheduler: OStr = Typed(None, Address, help="Dask scheduler tcp://HOST:PORT: cells run there")):
    """Run models on benchmarks: only missing or changed cells are computed; then the tables and the site.

    Example: cortexkit bench run cowley2023-v4 --data-root ../shared/data --out runs/bench

    Example: cortexkit bench run sim-v1 --models gabor,pixel-pca --out runs/bench
    """
    from cortexkit import benchmarks, report

    table = benchmarks.run_benchmarks(data_root, out, models=_names(models), benchmarks=names or None,
                                      recordings=_names(recordings), scheduler=scheduler, log=log)
    for name in names or []:
        show(benchmarks.read_table_view(out, name), f"{name}: per recording (`cortexkit bench show {name} --results {out}`)", nan="")
        units = benchmarks.read_table_view(out, name, "units")
        if not units.empty:
            show(units, f"{name}: the best model against the baseline, unit by unit (`--view units`)", nan="")
        levers = benchmarks.read_table_view(out, name, "levers")
        if not levers.empty:
            show(levers, f"{name}: every model against the references, paired (`--view levers`)", nan="")
    show(benchmarks.matrix(table), "every cell: score [95% interval]", nan="")
    console.print(f"site: {report.write_benchmark_site(out, out / 'site')}", highlight=False)


@command(group=bench_app, name="show")
def bench_show(benchmark: OStr = Arg(None, help="a benchmark: its tables (default: the matrix of every cell)"),
               results: Path = BENCH_RESULTS, view: str = Typed("recordings", Literal["recordings", "layers", "areas", "units", "levers"],
                                                                help="recordings, layers, areas, units (the best model against the baseline, unit by unit) or levers (every model against the references, paired)"),
               normalized: bool = Opt(False, help="ceiling- or chance-normalised scores (the matrix)"),
               format: str = Typed("text", Literal["text", "latex"], "--format",
                                   help="text (a table in the terminal) or latex (a booktabs table to paste into a paper)")):
    """Print the model x benchmark matrix of a results store, or one benchmark's table.

    Example: cortexkit bench show cowley2023-v4 --results runs/bench --view layers

    Example: cortexkit bench show sim-v1-reconstruction --results runs/bench --format latex > table.tex
    """
    from cortexkit import benchmarks

    if benchmark is None:
        value = "normalized" if normalized else "score"
        table, title = benchmarks.matrix(benchmarks.read_results(results), value), f"every cell: {value}"
    else:
        benchmarks.get_benchmark(benchmark)
        table, title = benchmarks.read_table_view(results, benchmark, view), f"{benchmark}: {view}"
        if table.empty:
            raise ConfigError(f"{results}: benchmark {benchmark!r} has no {view} table (run it first, or it has none)")
    if format == "latex":
        from cortexkit.report.latex import latex_table

        named = table.index.name is not None or table.index.nlevels > 1  # the matrix: models as its index
        print(latex_table(table.reset_index() if named else table, title), end="")
        return
    show(table, title, nan="")


@command(group=bench_app, name="html")
def bench_html(results: Path = Arg(Path("runs/bench"), help="the results store `bench run --out` wrote"),
               out: Path = Opt(..., help="folder for the site (index.html)")):
    """Write a results store as a static site elsewhere (open OUT/index.html; no server needed; `bench run`
    writes one inside the store, RESULTS/site).

    Example: cortexkit bench html runs/bench --out runs/bench_site
    """
    from cortexkit import report

    console.print(f"wrote {report.write_benchmark_site(results, out)}", highlight=False)


# ---------------------------------------------------------------------------------------------- list

@command(name="list", panel=START)
def list_(noun: OStr = Arg(None, help="formats, features, decoders, cores, readouts, models or benchmarks")):
    """List what there is to choose from: formats, feature spaces, decoders, cores, readouts, models, benchmarks.

    Example: cortexkit list features
    """
    from cortexkit import benchmarks

    if noun is None:
        raise ConfigError("name what to list: formats, features, decoders, cores, readouts, models or benchmarks "
                          "(e.g. cortexkit list features)")
    for title, table in benchmarks.catalog(noun):
        show(table, title)


@app.callback(invoke_without_command=True)
def _root(version: bool = Opt(False, "--version", help="print the version and exit")):
    if version:
        console.print(f"cortexkit {__version__}")
        raise typer.Exit()
    if not any(a in ("--help", "-h") for a in sys.argv[1:]):  # help needs no torch
        use_available_cores()


main = app  # the console-script entry point


if __name__ == "__main__":
    sys.exit(main())
