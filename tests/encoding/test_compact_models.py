"""Cowley et al.'s published compact V4 models load from their folder and reproduce the authors' class
(``reference_<session>.npz``: 1e-6 relative in float64, 1e-4 in float32), and become a run that
`evaluate` scores and `insilico` probes.

The folder is ``$CORTEXKIT_REFERENCE_COWLEY`` when set (any folder of the layout: ``models_torch/``,
``nums_filters/``, ``reference_<session>.npz`` for one or more sessions), else
``../shared/data/cowley2023_compact_models``."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cortexkit import data
from cortexkit.encoding.compact_models import available_neurons, load_compact_models, preprocess
from cortexkit.errors import DataError
from cortexkit.pipelines import checkpoint_run, load_trained

from ..conftest import SHARED_DATA


@pytest.fixture(scope="module")
def folder():
    path = Path(os.environ.get("CORTEXKIT_REFERENCE_COWLEY", SHARED_DATA / "cowley2023_compact_models"))
    if not sorted(path.glob("reference_*.npz")):
        pytest.skip(f"no compact-model reference in {path}")
    return path


def references(folder: Path) -> dict[str, dict]:
    return {p.stem.removeprefix("reference_"): dict(np.load(p)) for p in sorted(folder.glob("reference_*.npz"))}


def check(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    # relative to each neuron's output scale (a response near 0 has no meaningful relative error)
    scale = np.abs(want).max(0, keepdims=True)
    np.testing.assert_array_less(np.abs(got - want), rtol * np.maximum(np.abs(want), scale * 1e-2))


FEW = 4  # neurons checked in float64 in the default suite (float64 convolutions are slow on CPUs)


def outputs_of(folder: Path, session: str, pixels: np.ndarray, dtype, neurons=None) -> np.ndarray:
    models = load_compact_models(folder, session, neurons, dtype=dtype)
    x = preprocess(torch.from_numpy(pixels).permute(0, 3, 1, 2).to(dtype))
    with torch.no_grad():
        return models(x).double().numpy()


@pytest.fixture(scope="module")
def computed(folder):
    """Every session's outputs in float32, and of its first neurons in float64 (once)."""
    out = {}
    for session, ref in references(folder).items():
        out[session, torch.float32] = outputs_of(folder, session, ref["pixels"], torch.float32)
        out[session, torch.float64] = outputs_of(folder, session, ref["pixels"], torch.float64,
                                                 available_neurons(folder, session)[:FEW])
    return out


@pytest.mark.reference
def test_every_session_reproduces_the_authors_class(folder, computed):
    for session, ref in references(folder).items():
        neurons = available_neurons(folder, session)
        assert ref["responses"].shape[1] == len(neurons)
        check(computed[session, torch.float32], ref["responses"], 1e-4)
        check(computed[session, torch.float64], ref["responses"][:, :FEW], 1e-6)


@pytest.mark.reference
@pytest.mark.slow  # a minute on 2 cores (every model in float64); the default suite checks the first four
def test_every_neuron_in_float64(folder):
    for session, ref in references(folder).items():
        check(outputs_of(folder, session, ref["pixels"], torch.float64), ref["responses"], 1e-6)


@pytest.mark.reference
def test_a_reference_perturbed_by_1e_3_fails(folder, computed):
    session, ref = next(iter(references(folder).items()))
    got = computed[session, torch.float64]
    perturbed = ref["responses"][:, :FEW].copy()
    perturbed[3, 0] *= 1 + 1e-3
    with pytest.raises(AssertionError):
        check(got, perturbed, 1e-6)


def reference_store(folder: Path, tmp_path: Path, session: str, ref: dict, **change) -> Path:
    """A cowley2023-like store of the reference images (the reader's unit names and session)."""
    n, units = ref["responses"].shape
    pixels = ref["pixels"].astype(np.float32) / 255.0
    ds = data.make_dataset(pixels, ref["responses"] + 0.01 * np.random.default_rng(0).standard_normal((n, units)),
                           np.asarray(ref["image_names"]).astype(str), ["train"] * (n // 2) + ["test"] * (n - n // 2),
                           stimulus=np.asarray(ref["image_names"]).astype(str),
                           unit=change.get("unit", [f"{session}_{k:03d}" for k in range(units)]),
                           unit_coords={"session": [session] * units, "area": ["V4"] * units},
                           stimulus_dims=("stimulus", "y", "x", "channel"), attrs={"source": f"cowley2023 session {session}"})
    return data.save(ds, tmp_path / f"{session}.zarr")


@pytest.mark.reference
@pytest.mark.slow  # 8 s on 2 cores; CI runs it
def test_the_models_become_a_run_that_answers_as_the_authors_class(folder, tmp_path):
    session, ref = next(iter(references(folder).items()))
    full = data.load(reference_store(folder, tmp_path, session, ref))
    store = data.save(full.isel(unit=slice(0, FEW)), tmp_path / "few.zarr")  # the first neurons: their models
    summary = checkpoint_run(folder, "cowley_compact", store, tmp_path / "run", log=lambda *_: None)
    assert summary["units"].item() == FEW
    run = load_trained(tmp_path / "run")
    pred, _ = run.predictions(run.model, session, "test")
    half = len(ref["responses"]) // 2
    want = ref["responses"][half:, :FEW]
    np.testing.assert_allclose(pred, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (results["pearson"] > 0.95).all()  # the responses are the models' own outputs plus a little noise


@pytest.mark.reference
def test_stores_the_models_do_not_cover_are_one_line(folder, tmp_path):
    session, ref = next(iter(references(folder).items()))
    units = ref["responses"].shape[1]
    named = [f"{session}_{k:03d}" for k in range(units - 1)] + [f"{session}_{900:03d}"]
    (tmp_path / "a").mkdir()
    store = reference_store(folder, tmp_path / "a", session, ref, unit=named)
    with pytest.raises(DataError, match=rf"no compact model of neuron\(s\) 900 of session {session}"):
        checkpoint_run(folder, "cowley_compact", store, tmp_path / "run", log=lambda *_: None)
    assert not (tmp_path / "run").exists()
    ds = data.load(reference_store(folder, tmp_path, session, ref))
    other = data.save(ds.assign_coords(unit=[f"999999_{k:03d}" for k in range(units)],
                                       session=("unit", ["999999"] * units)), tmp_path / "other.zarr")
    with pytest.raises(DataError, match="has no compact model of session 999999"):
        checkpoint_run(folder, "cowley_compact", other, tmp_path / "run", log=lambda *_: None)
    small = data.save(ds.isel(y=slice(0, 64), x=slice(0, 64)), tmp_path / "small.zarr")
    with pytest.raises(DataError, match=r"stimuli \(3, 64, 64\): the compact models take RGB images of 112 px"):
        checkpoint_run(folder, "cowley_compact", small, tmp_path / "run", log=lambda *_: None)


@pytest.mark.reference
@pytest.mark.slow  # 2 minutes on 2 cores: 33 models on 1200 images; CI runs it
def test_the_papers_second_half_of_session_190923(shared_data, tmp_path):
    """On the paper's split (first half fits, second half tests) the compact models reach about the
    median r the folder's SOURCE.txt states (0.63 on 200 second-half images, 9 neurons)."""
    store = data.convert(shared_data / "cowley2023_v4", tmp_path / "190923.zarr", "cowley2023",
                         {"session": "190923", "split": "halves"})
    ds = data.load(store)
    assert (np.asarray(ds["split"].values)[:600] == "train").all() and (np.asarray(ds["split"].values)[600:] == "test").all()
    summary = checkpoint_run(shared_data / "cowley2023_compact_models", "cowley_compact", store, tmp_path / "run",
                             log=lambda *_: None)
    assert 0.55 < summary["median_pearson"].item() < 0.72


@pytest.mark.reference
@pytest.mark.slow  # MEIs of two models and tuning curves through two of the CNNs; CI runs it
def test_insilico_experiments_run_on_the_published_models(folder, tmp_path):
    """`insilico synthesize` (beside a ridge model of the same store: the side-by-side figure) and
    `insilico tuning` take the compact-model run like any trained run."""
    from typer.testing import CliRunner

    from cortexkit.cli import app

    session, ref = next(iter(references(folder).items()))
    full = data.load(reference_store(folder, tmp_path, session, ref))
    store = data.save(full.isel(unit=[0, 1]), tmp_path / "two.zarr")  # two neurons: their two models
    checkpoint_run(folder, "cowley_compact", store, tmp_path / "compact", log=lambda *_: None)
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(store), "--out", str(tmp_path / "ridge"), "--features", "pixels"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["insilico", "synthesize", str(tmp_path / "compact"), "--units", "0,1", "--steps", "8",
                              "--compare", f"{tmp_path / 'ridge'}:pixels", "--out", str(tmp_path / "meis")])
    assert res.exit_code == 0, res.output
    meis = pd.read_csv(tmp_path / "meis" / "meis.csv")
    assert len(meis) == 2 and (meis["mei_response"] > meis["best_image_response"]).all()
    assert (tmp_path / "meis" / "figures" / "compare.png").is_file() and (tmp_path / "meis" / "compare.npz").is_file()
    res = runner.invoke(app, ["insilico", "tuning", str(tmp_path / "compact"), "--out", str(tmp_path / "tuning"),
                              "--rf-size", "28"])  # 32 sparse-noise squares: 33 CNNs at 112 px each
    assert res.exit_code == 0, res.output
    preferred = pd.read_csv(tmp_path / "tuning" / "preferred.csv")
    assert len(preferred) == 2 and preferred["orientation"].between(0, 180).all()


def test_the_grouped_pass_equals_each_model_alone():
    """The population's one pass per layer (grouped convolutions over padded channel blocks, batch norms
    folded in, taken in chunks of neurons and images) answers as each neuron's own model run alone, for
    neurons of different filter counts and batch-norm statistics; training mode runs them one by one."""
    from cortexkit.encoding.compact_models import CompactPopulation

    torch.manual_seed(0)
    filters = [[5, 7, 3, 2, 3], [8, 4, 6, 5, 1], [3, 9, 2, 7, 4]]
    population = CompactPopulation(filters).double()
    for model in population.neurons:  # statistics away from the defaults, so that folding them matters
        for name, layer in model.layers.items():
            if name.endswith("_bn"):
                layer.running_mean.uniform_(-1, 1)
                layer.running_var.uniform_(0.5, 2)
                layer.weight.data.uniform_(0.5, 1.5)
                layer.bias.data.uniform_(-0.5, 0.5)
    population.eval()
    x = torch.randn(5, 3, 112, 112, dtype=torch.float64) * 50
    alone = torch.stack([m(x) for m in population.neurons], dim=1)
    with torch.no_grad():
        np.testing.assert_allclose(population(x).numpy(), alone.detach().numpy(), rtol=1e-10, atol=1e-10)
        population.memory = 2**30  # every neuron and image in one chunk (the GPU's default)
        np.testing.assert_allclose(population(x).numpy(), alone.detach().numpy(), rtol=1e-10, atol=1e-10)
        population.memory = 200_000  # a chunk of one neuron and one image at a time
        np.testing.assert_allclose(population(x).numpy(), alone.detach().numpy(), rtol=1e-10, atol=1e-10)
    x.requires_grad_(True)  # differentiable for in-silico experiments: the input gradient matches too
    population(x)[:, 1].sum().backward()
    grouped = x.grad.clone()
    x.grad = None
    population.neurons[1](x).sum().backward()
    np.testing.assert_allclose(grouped.numpy(), x.grad.numpy(), rtol=1e-8, atol=1e-10)
