"""Units not recorded on every stimulus (pooled sessions, as in STSBench and TVSD) are fitted and
scored on the stimuli they have: a pooled store gives, unit for unit, the fits of each session alone."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.data.model import make_dataset
from cortexkit.errors import DataError
from cortexkit.evaluation import load_arrays
from cortexkit.pipelines.ridge import fit_run, train_targets
from cortexkit.pipelines.ridge.config import EncodingConfig
from cortexkit.pipelines.ridge.evaluate import evaluate_run

QUIET = dict(log=lambda *_: None)


def pool(sessions: dict):
    """Sessions with disjoint stimuli and units in one store: each unit NaN ("not recorded") on the
    trials of the other sessions, as STSBench's pooled neurons are."""
    stimuli, labels, split, stim_of_trial, blocks = [], [], [], [], []
    units = sum((len(ds["unit"]) for ds in sessions.values()), 0)
    offset = 0
    for name, ds in sessions.items():
        stimuli.append(ds["stimuli"].values)
        labels += [f"{name}:{s}" for s in ds["stimulus"].values]
        split += list(ds["split"].values)
        stim_of_trial += [f"{name}:{s}" for s in ds["stimulus_id"].values]
        r = np.full((ds.sizes["trial"], units), np.nan, np.float32)
        r[:, offset : offset + ds.sizes["unit"]] = ds["responses"].values
        blocks.append(r)
        offset += ds.sizes["unit"]
    return make_dataset(np.concatenate(stimuli), np.concatenate(blocks), stim_of_trial, split, stimulus=labels,
                        unit=[f"{n}:{u}" for n, ds in sessions.items() for u in ds["unit"].values],
                        unit_coords={"session": [n for n, ds in sessions.items() for _ in ds["unit"].values]},
                        attrs={"modality": "spikes", "missing_responses": "not recorded"})


def session(seed: int, n_train=120, n_test=20, repeats=4, n_units=7, size=12):
    """A small recording: random images, units with linear receptive fields and Poisson counts."""
    rng = np.random.default_rng(seed)
    images = rng.random((n_train + n_test, size, size)).astype(np.float32)
    filters = rng.standard_normal((size * size, n_units)) / size
    rates = np.exp(0.5 + 2.0 * (images.reshape(len(images), -1) - 0.5) @ filters)
    stimulus_id = np.concatenate([np.arange(n_train), np.repeat(np.arange(n_train, n_train + n_test), repeats)])
    return data.make_dataset(images, rng.poisson(rates[stimulus_id]).astype(np.float32), stimulus_id,
                             ["train"] * n_train + ["test"] * n_test)


@pytest.fixture(scope="module")
def sessions():
    return {name: session(seed) for name, seed in (("a", 1), ("b", 2), ("c", 3))}


def test_pooled_ridge_fits_equal_each_session_alone(sessions, tmp_path):
    """The quick check (the slow test below adds the stacked and banded models and a third session)."""
    two = {k: sessions[k] for k in ("a", "b")}
    store = data.save(pool(two), tmp_path / "pooled.zarr")
    config = EncodingConfig(features=[{"name": "pixels"}], permutations=0, seed=0)
    fit_run(store, tmp_path / "pooled", config, **QUIET)
    pooled = load_arrays(tmp_path / "pooled" / "models" / "pixels.npz")
    results = evaluate_run(tmp_path / "pooled", **QUIET)
    units = np.asarray(pool(two)["unit"].values)
    for name, ds in two.items():
        fit_run(data.save(ds, tmp_path / f"{name}.zarr"), tmp_path / name, config, **QUIET)
        alone = load_arrays(tmp_path / name / "models" / "pixels.npz")
        mine = np.flatnonzero([u.startswith(f"{name}:") for u in units])
        for key in ("coef", "intercept", "alpha"):
            np.testing.assert_allclose(pooled[key][mine], alone[key], rtol=1e-6, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(results["pearson"].to_numpy()[mine],
                                   evaluate_run(tmp_path / name, **QUIET)["pearson"].to_numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.slow  # 19 s on 2 cores: three sessions, stacked and banded models; CI runs it
def test_pooled_fits_equal_each_session_alone(sessions, tmp_path):
    pooled = pool(sessions)
    store = data.save(pooled, tmp_path / "pooled.zarr")
    config = EncodingConfig(features=[{"name": "pixels"},  # features of each image alone (no fitted PCA)
                                      {"name": "gabor", "params": {"n_orientations": 4, "spacing": 2.0}}],
                            stack={"cv": 3}, banded={"n_iter": 4}, permutations=0, seed=0)
    fit_run(store, tmp_path / "pooled", config, **QUIET)
    pooled_model = load_arrays(tmp_path / "pooled" / "models" / "pixels.npz")
    pooled_stack = load_arrays(tmp_path / "pooled" / "models" / "stacked.npz")
    pooled_banded = load_arrays(tmp_path / "pooled" / "models" / "banded.npz")
    everything = evaluate_run(tmp_path / "pooled", **QUIET)
    assert np.isfinite(everything["pearson"]).all() and set(everything["model"]) == {"pixels", "gabor", "stacked", "banded"}
    pooled_results = everything[everything["model"] == "pixels"].set_index("unit")
    assert len(pooled_results) == pooled.sizes["unit"]
    units = np.asarray(pooled["unit"].values)
    stim = list(pooled_model["stimulus"])
    for name, ds in sessions.items():
        alone = data.save(ds, tmp_path / f"{name}.zarr")
        fit_run(alone, tmp_path / name, config, **QUIET)
        model = load_arrays(tmp_path / name / "models" / "pixels.npz")
        mine = np.flatnonzero([u.startswith(f"{name}:") for u in units])
        for key in ("coef", "intercept", "alpha", "cv_score"):
            np.testing.assert_allclose(pooled_model[key][mine], model[key], rtol=1e-6, atol=1e-6, err_msg=key)
        stack = load_arrays(tmp_path / name / "models" / "stacked.npz")
        np.testing.assert_allclose(pooled_stack["weights"][mine], stack["weights"], atol=1e-6)
        banded = load_arrays(tmp_path / name / "models" / "banded.npz")
        for key in ("band_weights", "alpha", "coef"):
            np.testing.assert_allclose(pooled_banded[key][mine], banded[key], rtol=1e-5, atol=1e-6, err_msg=key)
        rows = [stim.index(f"{name}:{s}") for s in model["stimulus"]]
        np.testing.assert_allclose(pooled_model["prediction"][rows][:, mine], model["prediction"], rtol=1e-6, atol=1e-6)
        results = evaluate_run(tmp_path / name, **QUIET)
        results = results[results["model"] == "pixels"].set_index("unit")
        for metric in ("pearson", "r2", "ceiling", "feve", "single_trial_pearson"):
            np.testing.assert_allclose(pooled_results[metric].iloc[mine].to_numpy(), results[metric].to_numpy(),
                                       rtol=1e-6, atol=1e-6, err_msg=metric)


def test_a_unit_with_too_few_stimuli_is_left_out_with_its_reason(sessions, tmp_path):
    pooled = pool({k: sessions[k] for k in ("a", "b")})
    responses = pooled["responses"].values.copy()
    train_trials = np.flatnonzero(np.isin(pooled["stimulus_id"].values, pooled["stimulus"].values[pooled["split"].values == "train"]))
    a_trials = np.flatnonzero(np.char.startswith(pooled["stimulus_id"].values.astype(str), "a:"))
    sparse = np.setdiff1d(np.intersect1d(train_trials, a_trials), np.intersect1d(train_trials, a_trials)[:3])
    responses[sparse, 0] = np.nan  # unit 0 keeps 3 training stimuli (and all its test ones)
    pooled["responses"] = (pooled["responses"].dims, responses)
    store = data.save(pooled, tmp_path / "p.zarr")
    fit_run(store, tmp_path / "run", EncodingConfig(features=[{"name": "pixels"}]), **QUIET)
    results = evaluate_run(tmp_path / "run", **QUIET)
    first = results.iloc[0]
    assert first["not_scored"] == "recorded on 3 training stimuli, fewer than the 5 the cross-validation needs"
    assert np.isnan(first["pearson"]) and np.isfinite(results["pearson"].iloc[1:]).all()
    with pytest.raises(DataError, match=r"1 unit\(s\) have no valid response on some training stimuli"):
        train_targets(data.select(data.load(store), "train").isel(unit=[0]))


def test_a_trained_predictor_masks_units_not_recorded(sessions, tmp_path):
    """Every validation row misses some unit: the trainer scores each unit on the rows it has
    (before, no row was complete and the run failed), and evaluation scores every unit."""
    from cortexkit.encoding.predictor import PredictorConfig, SessionSpec
    from cortexkit.pipelines.predictor import evaluate_predictor, train_predictor

    store = data.save(pool({k: sessions[k] for k in ("a", "b")}), tmp_path / "p.zarr")
    config = PredictorConfig(data=[SessionSpec(path=str(store), key="pooled")], core={"kind": "conv2d", "channels": 4, "layers": 1},
                             readout={"kind": "gaussian2d"}, epochs=3, batch_size=32, lr=1e-2, seed=0)
    run = train_predictor(config, tmp_path / "run", log=lambda *_: None)
    assert np.isfinite(run.validation_score(run.model))
    evaluate_predictor(run, tmp_path / "run")
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(results) == 14 and np.isfinite(results["pearson"]).all()


def stsbench_release(tmp_path, neurons=8, frames=5):
    """An STSBench-layout release (38 clips of drifting texture, the dataset pickle) whose ``neurons``
    come from two sessions that showed overlapping sets of clips: NaN elsewhere, as in the release."""
    import pickle

    from ..data.readers.test_stsbench import write_video

    rng = np.random.default_rng(0)
    names = {"train": [f"clip{i:02d}" for i in range(30)], "test": [f"test{i}" for i in range(8)]}
    levels = {n: int(v) for n, v in zip(names["train"] + names["test"], rng.integers(0, 120, 38))}
    (tmp_path / "dorsal_stream").mkdir()
    for n, level in levels.items():  # a drifting random texture per clip, its mean level the neurons' drive
        texture = rng.integers(0, 100, (272, 440, 3))
        clip = np.stack([texture[:, 3 * k : 3 * k + 416] + level for k in range(frames)]).astype(np.uint8)
        write_video(tmp_path / "dorsal_stream" / f"{n}.mp4", clip)
    gain = rng.uniform(0.5, 2.0, neurons)

    def activity(split, recorded):
        level = np.array([levels[n] for n in names[split]], dtype=float)[:, None]
        out = level / 50 * gain + 0.3 * rng.standard_normal((len(level), neurons))
        out[~recorded] = np.nan
        return out

    # session 1 (the first half of the neurons) saw train clips 0-19 and test clips 0-5; session 2
    # (the others) clips 10-29 and test 2-7
    half = neurons // 2
    train_seen = np.zeros((30, neurons), bool)
    train_seen[:20, :half] = True
    train_seen[10:, half:] = True
    test_seen = np.zeros((8, neurons), bool)
    test_seen[:6, :half] = True
    test_seen[2:, half:] = True
    blob = {"train_stimuli": np.array(names["train"]), "test_stimuli": np.array(names["test"]),
            "train_activity": activity("train", train_seen), "test_activity": activity("test", test_seen)}
    with open(tmp_path / "dorsal_stream_dataset.pickle", "wb") as fh:
        pickle.dump(blob, fh)
    return tmp_path


@pytest.mark.slow  # 17 s on 2 cores (38 clips encoded, a fit and a trained core); CI runs it
def test_stsbench_layout_with_the_release_nan_pattern_end_to_end(tmp_path):
    """An STSBench-layout release whose neurons come from two sessions that showed overlapping sets of
    clips (NaN elsewhere, as in the release): convert, fit, evaluate and train a video core."""
    from cortexkit.encoding.predictor import PredictorConfig, SessionSpec
    from cortexkit.pipelines.predictor import evaluate_predictor, train_predictor

    stsbench_release(tmp_path)
    store = data.convert(tmp_path, tmp_path / "sts.zarr", "stsbench", {"size": 16, "frames": 4})
    fit_run(store, tmp_path / "fit", EncodingConfig(features=[{"name": "pixels"}]), **QUIET)
    results = evaluate_run(tmp_path / "fit", **QUIET)
    assert len(results) == 8 and (results["pearson"] > 0.5).all()
    config = PredictorConfig(data=[SessionSpec(path=str(store), key="sts")], core={"kind": "conv3d", "channels": 4, "layers": 1},
                             readout={"kind": "gaussian2d"}, epochs=2, batch_size=8, lr=1e-2, seed=0)
    run = train_predictor(config, tmp_path / "train", log=lambda *_: None)
    evaluate_predictor(run, tmp_path / "train")
    trained = pd.read_csv(tmp_path / "train" / "results.csv")
    assert len(trained) == 8 and np.isfinite(trained["pearson"]).all()


@pytest.mark.slow  # 20 s on 2 cores; CI runs it
def test_bench_run_scores_a_release_with_units_not_recorded_everywhere(tmp_path):
    """The benchmark runner on the same release: the cell converts it, fits, scores every unit on the
    clips it was recorded on, and its interval is defined."""
    import json

    from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark
    from cortexkit.benchmarks.runner import run_benchmarks

    (tmp_path / "data" / "sts_pooled").mkdir(parents=True)
    stsbench_release(tmp_path / "data" / "sts_pooled")
    model = tmp_path / "pixels-movie.yaml"
    model.write_text("description: pixels of the clips\ntask: encoding\nstimulus: [movie]\nkind: ridge\n"
                     "config: {features: [{name: pixels}], permutations: 0}\n")
    bench = Benchmark(name="test-pooled", description="pooled sessions", folder="sts_pooled", format="stsbench",
                      recordings={"pooled": {"size": 16, "frames": 4}}, models=(str(model),), stimulus="movie", citation="x")
    BENCHMARKS.register(bench.name)(lambda: bench)
    try:
        run_benchmarks(tmp_path / "data", tmp_path / "out", benchmarks=["test-pooled"], log=lambda *_: None)
    finally:
        BENCHMARKS.pop(bench.name, None)
    cell = json.loads(next((tmp_path / "out" / "cells" / "test-pooled").glob("*.json")).read_text())
    assert cell["n"] == 8 and cell["score"] > 0.5 and cell["ci_low"] <= cell["score"] <= cell["ci_high"]
