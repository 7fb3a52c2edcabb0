"""Bad input of every command ends with exit code 2 and one line naming the option, file or field,
never a traceback, and leaves no partial output. Add a row for every new command or option."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cortexkit.cli import app

runner = CliRunner()

# (arguments; {store}, {cfg} (its folder), {tmp} (an empty folder) and {shared} are filled in), expected text of the error line
GE = "Input should be greater than or equal to"
CASES = [
    # demo
    ("demo --out {tmp}/d --n-train 0", "'--n-train': " + GE + " 1"),
    ("demo --out {tmp}/d --seed -1", "'--seed': " + GE + " 0"),
    ("demo --out {tmp}/d --seed 4294967296", "'--seed': Input should be less than 4294967296"),
    ("demo --out {tmp}/d --n-repeats abc", "'--n-repeats': Input should be a valid integer"),
    ("demo --out {tmp}/d --seed 1 --seed 2", "option --seed given more than once"),
    # data simulate
    ("data simulate {tmp}/x.zarr --n-train -5", "'--n-train': " + GE + " 1"),
    ("data simulate {tmp}/x.zarr --n-train 0", "'--n-train': " + GE + " 1"),
    ("data simulate {tmp}/x.zarr --n-train 2.5", "'--n-train': Input should be a valid integer"),
    ("data simulate {tmp}/x.zarr --n-repeats 0", "'--n-repeats': " + GE + " 1"),
    ("data simulate {tmp}/x.zarr --n-repeats 1", "n_repeats: " + GE + " 2"),
    ("data simulate {tmp}/x.zarr --size 0", "'--size': " + GE + " 8"),
    ("data simulate {tmp}/x.zarr --size 100000", "'--size': Input should be less than or equal to 4096"),
    ("data simulate {tmp}/x.zarr --n-train 100000000 --size 4096", "of memory, more than this machine's"),
    ("data simulate {tmp}/x.zarr --population mt --n-train 1000000 --size 4096", "of memory, more than this machine's"),
    ("data simulate {tmp}/x.zarr --seed -3", "'--seed': " + GE + " 0"),
    ("data simulate {tmp}/x.zarr --seed nan", "'--seed': Input should be a valid integer"),
    ("data simulate {tmp}/x.zarr --n-simple 0 --n-complex 0", "n_simple + n_complex must be at least 1"),
    ("data simulate {tmp}/x.zarr --population v2", "--population must be one of v1, mt, fmri, streams, partition, movie-fmri, self-motion, v1-video, got 'v2'"),
    ("data simulate {tmp}/x.zarr --population mt --n-simple 3", "['n_simple'] do not apply to --population mt"),
    ("data simulate {tmp}/x.zarr --color --gray", "option --color given more than once"),
    ("data simulate {tmp}/x.zarr --config {tmp}/missing.yaml", "missing.yaml: no such config file"),
    ("data simulate {tmp}/x.zarr --population mt --n-units 0", "'--n-units': " + GE + " 1"),
    ("data simulate {tmp}/x --population fmri --n-subjects 0", "'--n-subjects': " + GE + " 1"),
    ("data simulate {tmp}/x --population fmri --n-shared -1", "'--n-shared': " + GE + " 1"),
    ("data simulate {tmp}/x --population fmri --n-shared 2", "n_shared: " + GE + " 4"),
    ("data simulate {tmp}/x.zarr --n-complex -1", "'--n-complex': " + GE + " 0"),
    # data convert
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option size=0", "option size must be >= 1 and <= 4096, got 0"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option speed=-3", "option speed must be > 0, got -3"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option seed=1 --option seed=2",
     "seed is given twice (seed=1 and seed=2); give it once"),
    ("data convert {shared}/cowley2023_v4 {tmp}/c.zarr --format cowley2023 --option session=190923 --option image_size=-4",
     "option image_size must be >= 1 and <= 4096, got -4"),
    ("data convert {shared}/cowley2023_v4 {tmp}/c.zarr --format cowley2023 --option session=190923 --option image_size=100000000",
     "option image_size must be >= 1 and <= 4096, got 100000000"),
    ("fit {store} --out {tmp}/f --features pixel_pca -p n_components=5 -p n_components=9", "n_components is given twice"),
    ("demo --out {tmp}/d --n-repeats 1", "'--n-repeats': Input should be greater than or equal to 2"),
    ("compare models {cfg}/good_run:pixels {cfg}/other_run:pixels --out {tmp}/c --n-bootstrap 1000000000000000",
     "'--n-bootstrap': Input should be less than or equal to 1000000"),
    ("insilico synthesize {cfg}/good_run --model pixels --compare {cfg}/other_run:pixels --out {tmp}/m",
     "--compare: ridge on 'pixels' in other_run was fitted on another recording than ridge on 'pixels' in good_run"),
    ("insilico design {cfg}/good_run:pixels {cfg}/other_run:pixels --pool {store} --out {tmp}/d",
     "was fitted on another recording"),
    ("insilico design {cfg}/good_run:pixels --pool {store} --out {tmp}/d --n 3", "ensemble disagreement needs at least two models"),
    ("data simulate {tmp}/big.zarr --n-train 100000000", "simulating --population v1 with --n-train 100000000,"),
    ("data info {cfg}/truncated_stimuli.zarr", "truncated_stimuli.zarr: 'stimuli': cannot read this array"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option size=abc", "option size: Input should be a valid integer"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option test_fraction=nan", "option test_fraction: Input should be a finite number"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option bogus=1", "reader 'gold_mt' has no option(s) bogus"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option size", "--option expects key=value, got 'size'"),
    ("data convert {tmp} {tmp}/o.zarr --format nope", "unknown format 'nope'"),
    ("data convert {tmp}/missing {tmp}/o.zarr --format gold_mt", "missing: no such file or directory"),
    ("data convert {tmp} {tmp}/o.zarr", "Missing option '--format'"),
    # data merge
    ("data merge {tmp}/m.zarr a={store}", "needs two or more recordings to merge, got 1"),
    ("data merge {tmp}/m.zarr a={store} b={tmp}/missing.zarr", "missing.zarr: no such file or directory"),
    ("data merge {tmp}/m.zarr a={store} b={store} --match name", "'--match': Input should be 'stimulus' or 'content'"),
    ("data merge {tmp}/m.zarr a={store} b={store} --pixel-tolerance nan", "'--pixel-tolerance': Input should be a finite number"),
    ("data merge {tmp}/m.zarr a={store} b={store} --pixel-tolerance -1", "'--pixel-tolerance': " + GE + " 0"),
    ("data merge {tmp}/m.zarr a={store} {store}", "expected AREA=STORE"),
    ("data merge {tmp}/m.zarr a={store} a={store}", "area 'a' given twice"),
    # data info
    ("data info {cfg}/missing_chunk.zarr", "'responses': 1 of 1 chunk(s) are missing from the store"),
    ("data info {cfg}/truncated_chunk.zarr", "'responses': cannot read this array"),
    ("data info {cfg}/lr.yaml", "not a Zarr store"),
    # features
    ("features {store} --model vgg99", "unknown feature extractor 'vgg99'"),
    ("features {store} --model alexnet --layers conv2,,conv5", "'--layers': expected a comma-separated list of names without empty entries"),
    ("features {store} --model gabor -p image_size=0", "'image_size' parameter of GaborPyramid"),
    ("features {store} --model pixel_pca -p n_components=100000", "n_components 100000 is more than"),
    ("features {store} --model pixels --out {cfg}/lr.yaml", "lr.yaml: is a file, not a folder cortexkit writes"),
    ("features {tmp}/missing.zarr --model pixels", "missing.zarr: no such file or directory"),
    # fit
    ("fit {store} --out {tmp}/r --features pixels,pixels", "'--features': names given twice: ['pixels']"),
    ("fit {store} --out {tmp}/r --features pixel_pca -p n_components=-3", "'n_components' parameter of PixelPCA must be an int in the range [1, inf)"),
    ("fit {store} --out {tmp}/r --features pixel_pca -p n_components=0", "'n_components' parameter of PixelPCA must be an int in the range [1, inf)"),
    ("fit {store} --out {tmp}/r --features pixel_pca -p n_components=5000", "n_components 5000 is more than"),
    ("fit {store} --out {tmp}/r --features gabor -p n_orientations=abc", "'n_orientations' parameter of GaborPyramid must be an int"),
    ("fit {store} --out {tmp}/r --features pixels -p bogus=1", "no feature space of pixels takes parameter(s) bogus"),
    ("fit {store} --out {tmp}/r --features ,", "'--features': expected a comma-separated list"),
    ("fit {store} --out {tmp}/r --features population -p recordings={tmp}/none*.zarr", "no store matches"),
    ("fit {store} --out {tmp}/r --features population", "the population embedding needs source recordings"),
    ("fit {store} --out {tmp}/r --features population -p recordings={store} -p features=pixel_pca",
     "base feature space 'pixel_pca' learns from the stimuli it is fitted on"),
    ("analyze distill {store} --teacher {cfg}/good_run:pixels --features pixels --out {tmp}/d", "name images to label (--images STORE, ...)"),
    ("analyze distill {store} --teacher {cfg}/good_run:pixels --images {store} --out {tmp}/d", "student feature space 'alexnet' has several layers; name one (--layers conv3"),
    ("analyze distill {store} --teacher {tmp}/nothing:pixels --images {store} --out {tmp}/d", "is not a fitted run"),
    ("fit {store} --out {tmp}/r --features gabor --layers conv9", "--layers applies to multi-layer feature spaces"),
    ("fit {store} --out {tmp}/r --features alexnet --layers conv9 -p weights=random", "alexnet has no layer(s) conv9"),
    ("fit {store} --out {tmp}/r --features pixels --device tpu", "'--device': device must be cpu, cuda or cuda:N"),
    ("fit {store} --out {tmp}/r --features pixels --seed -5", "'--seed': " + GE + " 0"),
    ("fit {store} --out {tmp}/r --features pixels --max-memory 0", "max_memory must be a positive size"),
    ("fit {store} --out {tmp}/r --features pixels --max-memory -1GB", "max_memory must be bytes or a size like '2GB'"),
    ("fit {store} --out {tmp}/r --features pixels --scheduler localhost", "'--scheduler': a scheduler address is PROTOCOL://HOST:PORT"),
    ("fit {store} --out {tmp}/r --features pixels --scheduler tcp://host:99999", "'--scheduler': a scheduler address is"),
    ("fit {store} --out {tmp}/r --model nope", "unknown model 'nope'"),
    ("fit {store} --out {tmp}/r --model stacked-v4 --config {cfg}/ok.yaml", "give --config or --model, not both"),
    ("fit {store} --out {tmp}/r --features vgg99", "unknown feature extractor 'vgg99'"),
    ("fit {store} --out {tmp}/r --features pixels --out {tmp}/s", "option --out given more than once"),
    ("fit {tmp}/missing.zarr --out {tmp}/r", "missing.zarr: no such file or directory"),
    ("fit {cfg}/copies.zarr --out {tmp}/r --features pixels", "held-out stimuli are copies of training stimuli"),
    ("fit {cfg}/constant_overlap.zarr --out {tmp}/r --features pixels", "held-out stimuli are copies of training stimuli"),
    ("fit {store} --out /proc/cortexkit-run --features pixels", "/proc/cortexkit-run: No such file or directory"),
    ("fit {store} --out {cfg}/lr.yaml --features pixels", "lr.yaml: is a file, not a folder cortexkit writes"),
    ("fit {store}", "Missing option '--out'"),
    ("fit {store} --out {tmp}/r --config {tmp}/missing.yaml", "missing.yaml: no such config file"),
    ("fit {store} --out {tmp}/r --config {cfg}/badridge.yaml", "badridge.yaml: ridge.cv: " + GE + " 2"),
    ("fit {store} --out {tmp}/r --features pixels --layers all", "--layers applies to multi-layer feature spaces"),
    ("fit {store} --out {tmp}/r --features pixels -p image_size", "--option expects key=value, got 'image_size'"),
    # train
    ("train {cfg}/lr.yaml --out {tmp}/t", "lr.yaml: lr: Input should be greater than 0"),
    ("train {cfg}/channels.yaml --out {tmp}/t", "bad core parameters {'channels': -8"),
    ("train {cfg}/ok.yaml --out {tmp}/t --device tpu", "'--device': device must be cpu, cuda or cuda:N"),
    ("train {cfg}/ok.yaml --out {tmp}/t --epochs 0", "'--epochs': " + GE + " 1"),
    ("train {cfg}/ok.yaml --out {tmp}/t --data a.zarr,a.zarr", "'--data': names given twice"),
    ("train {cfg}/seed.yaml --out {tmp}/t", "seed: " + GE + " 0"),
    ("train {tmp}/missing.yaml --out {tmp}/t", "missing.yaml: no such config file"),
    # evaluate
    ("evaluate {tmp}", "not a run directory"),
    ("evaluate {tmp}/missing", "not a run directory"),
    ("evaluate {cfg}/damaged_run", "cannot read the saved arrays"),
    # compare
    ("compare models a b --out {tmp}/p", "name a model as RUN:MODEL"),
    ("compare models {cfg}/damaged_run:pixels {cfg}/damaged_run:pixels --out {tmp}/p --n-bootstrap 0", "'--n-bootstrap': " + GE + " 1"),
    ("compare models {cfg}/damaged_run:pixels {cfg}/damaged_run:pixels --out {tmp}/p --seed -1", "'--seed': " + GE + " 0"),
    ("compare representations {store} --out {tmp}/c --method cca", "'--method': Input should be 'cka' or 'rsa'"),
    ("compare representations {store} --out {tmp}/c --split val2", "'--split': Input should be 'train', 'test' or 'all'"),
    ("compare representations {store} --out {tmp}/c --features pixels,,gabor", "'--features': expected a comma-separated list"),
    ("compare regions {store} --out {tmp}/s", "needs units of two or more regions"),
    ("compare regions {store} --out {tmp}/s --similarity cca", "'--similarity': Input should be 'cka' or 'rsa'"),
    ("compare regions {store} --out {tmp}/s --alpha 0", "'--alpha': Input should be greater than 0"),
    ("compare regions {store} --out {tmp}/s --alpha 1", "'--alpha': Input should be less than 1"),
    ("compare regions {store} --out {tmp}/s --alpha nan", "'--alpha': Input should be a finite number"),
    ("compare regions {store} --out {tmp}/s --permutations -1", "'--permutations': " + GE + " 0"),
    ("compare regions {store} --out {tmp}/s --image-size 0", "'--image-size': " + GE + " 8"),
    ("compare regions {store} --out {tmp}/s --parameters a,a", "'--parameters': names given twice"),
    ("compare regions {store} --out {tmp}/s --reconstruct vae", "unknown decoder 'vae'"),
    ("compare regions {store} --out {tmp}/s --features gabor,vgg99", "unknown feature extractor 'vgg99'"),
    ("compare representations {store} --out {tmp}/c --layers conv2 --features gabor", "--layers applies to multi-layer feature spaces"),
    # decode
    ("decode reconstruct {store} --out {tmp}/rr --image-size 0", "'--image-size': " + GE + " 8"),
    ("decode reconstruct {store} --out {tmp}/rr --image-size 4096", "of memory, more than this machine's"),
    ("decode reconstruct {store} --out {tmp}/rr --permutations -1", "'--permutations': " + GE + " 0"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder vae", "unknown decoder 'vae'"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder pca,pca", "'--decoder': names given twice"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder pca -p epochs=3", "-p epochs: decoder pca does not take it"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder pca,retrieval -p n_components=5 -p n_components=9",
     "n_components is given twice"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder ,", "'--decoder': expected a comma-separated list"),
    ("decode reconstruct {store} --out {tmp}/rr --device tpu", "'--device': device must be cpu, cuda or cuda:N"),
    ("decode reconstruct {store} {tmp}/missing.zarr --out {tmp}/rr --decoder pca", "missing.zarr: no such file or directory"),
    ("decode reconstruct {store} --out {tmp}/rr --config {cfg}/ok.yaml --device cpu", "with --config, set them in each decoder's params"),
    ("decode reconstruct {store} --out {tmp}/rr --config {tmp}/missing.yaml", "missing.yaml: no such config file"),
    ("decode reconstruct {store} --out {tmp}/rr --image-size 9 --decoder pca", "image_size: " + GE + " 11"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder vqldm -p codebook_size=0", "codebook_size must be at least 1, got 0"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder vqldm -p latent_size=128",
     "latent_size must be within 1..64 (the image is 64 px), got 128"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder vqldm -p temporal=true", "temporal=True makes a video decoder"),
    ("bench show --results {tmp}/lb --format pdf", "'--format': Input should be 'text' or 'latex'"),
    ("decode parameter {store} orientation --method lda", "'--method': Input should be 'logistic' or 'poisson'"),
    ("decode parameter {store} orientation --bins 1", "'--bins': " + GE + " 2"),
    ("decode parameter {store} orientation --permutations -5", "'--permutations': " + GE + " 0"),
    ("decode parameter {store} nothing --out {tmp}/dp", "is neither a trial variable nor a stimulus coordinate"),
    # insilico
    ("insilico synthesize {tmp} --out {tmp}/m --steps 0", "'--steps': " + GE + " 1"),
    ("insilico synthesize {tmp} --out {tmp}/m --contrast 0", "'--contrast': Input should be greater than 0"),
    ("insilico synthesize {tmp} --out {tmp}/m --contrast inf", "'--contrast': Input should be a finite number"),
    ("insilico synthesize {tmp} --out {tmp}/m --blur -1", "'--blur': " + GE + " 0"),
    ("insilico synthesize {tmp} --out {tmp}/m --jitter -1", "'--jitter': " + GE + " 0"),
    ("insilico synthesize {tmp} --out {tmp}/m --top-k 0", "'--top-k': " + GE + " 1"),
    ("insilico synthesize {tmp} --out {tmp}/m --threshold 1.5", "'--threshold': Input should be less than or equal to 1"),
    ("insilico synthesize {tmp} --out {tmp}/m --diverse -2", "'--diverse': " + GE + " 0"),
    ("insilico synthesize {tmp} --out {tmp}/m --units 1,1", "'--units': names given twice"),
    ("insilico synthesize {tmp} --out {tmp}/m --device gpu", "'--device': device must be cpu, cuda or cuda:N"),
    ("insilico synthesize {tmp} --out {tmp}/m", "not a fitted run"),
    ("insilico synthesize {cfg}/good_run --model nope --out {tmp}/m", "nope"),
    ("insilico synthesize {cfg}/good_run --model pixels --units 999 --out {tmp}/m", "999"),
    ("insilico synthesize {cfg}/good_run --model pixels --compare {tmp}/none --out {tmp}/m", "none"),
    ("insilico synthesize {cfg}/good_run --model pixels --device cuda --out {tmp}/m", "'cuda' is not available"),
    ("insilico design {cfg}/good_run:pixels --pool {tmp}/missing --out {tmp}/d", "missing"),
    ("insilico tuning {tmp} --out {tmp}/t --rf-size 0", "'--rf-size': " + GE + " 1"),
    ("insilico design {tmp} --pool {store} --out {tmp}/d --n 0", "'--n': " + GE + " 1"),
    ("insilico design {tmp} --pool {store} --out {tmp}/d --max-similarity 0", "'--max-similarity': Input should be greater than 0"),
    ("insilico design {tmp} --pool {store} --out {tmp}/d --objective both", "'--objective': Input should be 'disagreement' or 'drive'"),
    # stores with nothing to score, and brain maps that cannot be written
    ("fit {cfg}/all_nan.zarr --out {tmp}/r --features pixels", "all_nan.zarr: 'responses': every response of the train split is NaN (not recorded)"),
    ("train {cfg}/all_nan.yaml --out {tmp}/t", "all_nan.zarr: 'responses': every response of the train split is NaN"),
    ("fit {cfg}/voxels_outside.zarr --out {tmp}/r --features pixels", "voxels_outside.zarr: 'voxel_axis1': holds 1 index(es) outside the volume's 3 voxels on axis 1"),
    ("fit {cfg}/voxels_twice.zarr --out {tmp}/r --features pixels", "voxels_twice.zarr: 'voxel_axis0': 1 voxel(s) hold two or more units"),
    ("fit {cfg}/affine_nan.zarr --out {tmp}/r --features pixels", "affine_nan.zarr: 'affine': holds NaN or inf"),
    ("data info {cfg}/affine_singular.zarr", "affine_singular.zarr: 'affine': is singular"),
    # NWB windows and bins
    ("data convert {cfg}/s.nwb {tmp}/n.zarr --format nwb --option intervals=stimulus_presentations --option window=1000,1001",
     "option window=1000,1001 starts 1000 s after each start_time, after the end of every interval"),
    ("data convert {cfg}/s.nwb {tmp}/n.zarr --format nwb --option intervals=epochs --option window=26,29 --option tile=1",
     "no spike falls in any trial's window"),
    ("data convert {cfg}/s.nwb {tmp}/n.zarr --format nwb --option intervals=stimulus_presentations --option window=0,0.25 "
     "--option time_bin=0.1", "option time_bin=0.1 s does not tile the 0.25 s window (2.5 bins)"),
    ("data convert {cfg}/s.nwb {tmp}/n.zarr --format nwb --option intervals=stimulus_presentations --option window=0,0.1 "
     "--option time_bin=0.2", "option time_bin=0.2 s does not tile the 0.1 s window"),
    ("data convert {cfg}/o.nwb {tmp}/n.zarr --format nwb --option window=60,61", "so the store would hold only NaN"),
    ("data convert {cfg}/v.nwb {tmp}/n.zarr --format nwb --option time_bin=0.5", "option time_bin needs trials of one length"),
    # your own model
    ("fit {store} --out {tmp}/r --features {cfg}/own.py:Raises", "own.py: Raises.forward raised ValueError: my model fails"),
    ("fit {store} --out {tmp}/r --features {cfg}/own.py:nan_out", "own.py: nan_out returned"),
    ("fit {store} --out {tmp}/r --features {cfg}/own.py:short", "own.py: short returned shape (3, 4) for"),
    ("fit {store} --out {tmp}/r --features {cfg}/own.py:Broken", "own.py: building Broken raised RuntimeError: no weights here"),
    # bench
    ("bench run nope --out {tmp}/lb", "unknown benchmark 'nope'"),
    ("bench run --models nope --out {tmp}/lb", "unknown model 'nope'"),
    ("bench run sim-mt --models gabor --out {tmp}/lb", "no model of ['gabor'] runs on ['sim-mt']"),
    ("bench run sim-v1 sim-v1 --out {tmp}/lb", "benchmarks named twice: ['sim-v1']"),
    ("bench run --models gabor,gabor --out {tmp}/lb", "'--models': names given twice"),
    ("bench run --models {tmp}/absent.yaml --out {tmp}/lb", "absent.yaml: no such model file"),
    ("bench run sim-v1 --recordings nope --models gabor --out {tmp}/lb", "benchmark 'sim-v1' has no recording(s) nope"),
    ("bench run --recordings seed0 --out {tmp}/lb", "--recordings names recordings of one benchmark"),
    ("bench run sim-v1 --scheduler tcp://host --out {tmp}/lb", "'--scheduler': a scheduler address is"),
    ("bench run allen-ns118 --data-root {tmp}/nowhere --out {tmp}/lb", "needs its source data here (--data-root)"),
    ("bench run sim-v1 --models {cfg}/lr.yaml --out {tmp}/lb", "Field required"),
    ("bench show --results {tmp}/lb", "no benchmark results here"),
    ("bench show sim-v1 --results {tmp}/lb --view cells", "'--view': Input should be 'recordings', 'layers', 'areas', 'units' or 'levers'"),
    ("bench show nope --results {tmp}/lb", "unknown benchmark 'nope'"),
    ("bench html {tmp}/lb --out {tmp}/site", "no benchmark results here"),
    # list, and the command line itself
    ("list nouns", "nothing to list called 'nouns'"),
    ("list", "name what to list: formats, features, decoders, cores, readouts, models or benchmarks"),
    ("nope", "No such command 'nope'"),
    ("fit --bogus", "No such option: --bogus"),
]

# a user's model file with each kind of failure: a forward that raises, NaN output, too few rows, a constructor that raises
OWN_MODEL = """
import numpy as np
import torch


class Raises(torch.nn.Module):
    def forward(self, x):
        raise ValueError("my model fails")


class Broken(torch.nn.Module):
    def __init__(self):
        raise RuntimeError("no weights here")


def nan_out(images):
    return np.full((len(images), 4), np.nan)


def short(images):
    return np.zeros((3, 4))
"""


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, small_v1):
    from cortexkit import data

    tmp = tmp_path_factory.mktemp("bad")
    store = data.save(small_v1, tmp / "v1.zarr")
    (tmp / "lr.yaml").write_text(f"data:\n  - {{path: {store}}}\nlr: -1\n")
    import shutil

    for damaged in ("missing_chunk", "truncated_chunk"):
        copy = Path(shutil.copytree(store, tmp / f"{damaged}.zarr"))
        chunk = next(p for p in (copy / "responses").rglob("*") if p.is_file() and p.name != "zarr.json")
        if damaged == "missing_chunk":
            chunk.unlink()
        else:
            chunk.write_bytes(chunk.read_bytes()[:50])
    copy = Path(shutil.copytree(store, tmp / "truncated_stimuli.zarr"))  # a stimuli chunk cut short
    chunk = next(p for p in (copy / "stimuli").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.write_bytes(chunk.read_bytes()[:50])
    (tmp / "ok.yaml").write_text(f"data:\n  - {{path: {store}}}\n")
    (tmp / "seed.yaml").write_text(f"data:\n  - {{path: {store}}}\nseed: -1\n")
    import numpy as np

    # a store whose first test stimulus is a training one, and one where it nearly is (within 0.5%, r > 0.99)

    for name, noise in (("copies", 0.0), ("constant_overlap", 0.003)):
        copy = small_v1.copy(deep=True)
        stimuli = copy["stimuli"].values
        test = np.flatnonzero(copy["split"].values == "test")[0]
        stimuli[test] = np.clip(stimuli[0] + noise * np.sign(np.sin(np.arange(stimuli[0].size))).reshape(stimuli[0].shape), 0, 1)
        data.save(copy, tmp / f"{name}.zarr")
    (tmp / "badridge.yaml").write_text("ridge:\n  cv: 1\n")
    good = tmp / "good_run"
    assert runner.invoke(app, ["fit", str(store), "--out", str(good), "--features", "pixels"]).exit_code == 0
    other = small_v1.copy(deep=True)  # the same units on another recording (responses shuffled)
    other["responses"].values = np.random.default_rng(1).permutation(other["responses"].values)
    other_store = data.save(other, tmp / "other.zarr")
    assert runner.invoke(app, ["fit", str(other_store), "--out", str(tmp / "other_run"), "--features", "pixels"]).exit_code == 0
    # a run whose saved model is damaged
    run = tmp / "damaged_run"
    assert runner.invoke(app, ["fit", str(store), "--out", str(run), "--features", "pixels"]).exit_code == 0
    (run / "models" / "pixels.npz").write_bytes(b"not an npz")
    (tmp / "channels.yaml").write_text(f"data:\n  - {{path: {store}}}\ncore: {{kind: conv2d, channels: -8}}\n")
    # nothing recorded anywhere, declared so
    empty = small_v1.copy(deep=True)
    empty["responses"].values[:] = np.nan
    empty.attrs["missing_responses"] = "not recorded"
    data.save(empty, tmp / "all_nan.zarr")
    (tmp / "all_nan.yaml").write_text(f"data:\n  - {{path: {tmp / 'all_nan.zarr'}}}\n")
    # brain maps: voxel indices and affines that no map can be written with (saved without the check)
    n = small_v1.sizes["unit"]
    grid = {"voxel_axis0": np.arange(n) % 4, "voxel_axis1": (np.arange(n) // 4) % 3, "voxel_axis2": np.zeros(n, int)}
    for name, change in (("voxels_outside", lambda g, a: g["voxel_axis1"].__setitem__(0, 7)),
                         ("voxels_twice", lambda g, a: g["voxel_axis0"].__setitem__(1, 0)),
                         ("affine_nan", lambda g, a: a.__setitem__((0, 0), np.nan)),
                         ("affine_singular", lambda g, a: a.__setitem__((slice(0, 3), slice(0, 3)), 0.0))):
        g, a = {k: v.copy() for k, v in grid.items()}, np.eye(4)
        change(g, a)
        bad = small_v1.assign_coords({k: ("unit", v) for k, v in g.items()})
        bad.attrs.update(volume_shape=[4, 3, 1], affine=a.tolist())
        data.save(bad, tmp / f"{name}.zarr", validate_first=False)
    from tests.data.readers.test_nwb import write_ophys, write_session
    from tests.data.readers.test_nwb_windows import write_varied_trials

    write_session(tmp / "s.nwb", n_spikes=400)
    write_ophys(tmp / "o.nwb", trial_length=100.0)
    write_varied_trials(tmp / "v.nwb")
    (tmp / "own.py").write_text(OWN_MODEL)
    return tmp, store


@pytest.mark.parametrize("args, expected", CASES, ids=[c[0].split()[0] + ":" + c[1][:40] for c in CASES])
def test_bad_input_is_one_line_with_exit_2(setup, args, expected, tmp_path):
    from tests.conftest import SHARED_DATA

    tmp, store = setup
    if "{shared}" in args and not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data")
    out = tmp_path / "case"
    out.mkdir()
    argv = args.format(store=store, cfg=tmp, tmp=out, shared=SHARED_DATA).split()
    before = set(out.iterdir())
    result = runner.invoke(app, argv)
    text = _plain(result.stderr if hasattr(result, "stderr") else result.output).strip()
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    assert text.startswith("error:") and expected in text, text
    left = {p.name for p in set(out.iterdir()) - before}
    assert not left, f"left behind: {sorted(left)}"
