"""Property-based checks of the rule every command keeps: exit 0 with correct numbers, or exit 2 with
one line naming the option, file or field, and nothing half-written. Hypothesis generates stores
(shapes, NaN placement, copies across the split, constant units, extreme scales) and option values;
the number of examples is bounded so that the default suite stays quick."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from cortexkit import data, metrics
from cortexkit.cli import app

runner = CliRunner()
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _refused_cleanly(result, out) -> str:
    """The one-line refusal, after checking it is one and left nothing behind."""
    text = _plain(result.stderr).strip()  # the logs of the work done before go to stdout
    assert result.exit_code == 2, result.output
    assert "Traceback" not in text and len(text.splitlines()) == 1 and text.startswith("error:"), text
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
    return text


@st.composite
def recordings(draw):
    """A small recording and what was done to it."""
    n_train, n_test = draw(st.integers(6, 30)), draw(st.integers(2, 8))
    repeats, n_units, size = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.sampled_from([8, 12]))
    case = {"scale": draw(st.sampled_from([1e-6, 1.0, 1e6, 1e13])), "constant": draw(st.integers(0, n_units)),
            "nan": draw(st.sampled_from(["none", "undeclared", "declared"])), "copy": draw(st.booleans()),
            "seed": draw(st.integers(0, 2**16))}
    rng = np.random.default_rng(case["seed"])
    stimuli = rng.random((n_train + n_test, size, size)).astype(np.float32)
    if case["copy"]:
        stimuli[n_train] = stimuli[0]  # a test stimulus that is a training one
    stimulus_id = np.concatenate([np.arange(n_train), np.repeat(np.arange(n_train, n_train + n_test), repeats)])
    weights = rng.standard_normal((size * size, n_units))
    rates = np.exp(0.3 * (stimuli.reshape(len(stimuli), -1) - 0.5) @ weights / size)[stimulus_id]
    responses = rng.poisson(3 * rates).astype(np.float64) * case["scale"]
    train_trials = stimulus_id < n_train
    responses[train_trials, : case["constant"]] = 2.0 * case["scale"]  # constant in the training split
    attrs = {"modality": "spikes"}
    if case["nan"] != "none":
        responses[rng.integers(len(responses)), rng.integers(n_units)] = np.nan
        if case["nan"] == "declared":
            attrs["missing_responses"] = "not recorded"
    split = np.array(["train"] * n_train + ["test"] * n_test)
    ds = data.make_dataset(stimuli, responses, stimulus_id, split, attrs=attrs, validate_result=False)
    return ds, case


@pytest.mark.slow  # 19 s on 2 cores (25 fits and reports); CI runs it
@FAST
@given(recording=recordings())
def test_fit_scores_truly_or_refuses_cleanly(recording, tmp_path_factory):
    ds, case = recording
    tmp = tmp_path_factory.mktemp("prop")
    store, out = tmp / "s.zarr", tmp / "run"
    data.save(ds, store, validate_first=False)
    result = runner.invoke(app, ["fit", str(store), "--out", str(out), "--features", "pixels"])
    must_refuse = case["copy"] or case["scale"] > 1e12 or case["nan"] == "undeclared"
    if result.exit_code != 0 or must_refuse:
        text = _refused_cleanly(result, out)
        if case["copy"]:
            assert "copies of training stimuli" in text or case["nan"] == "undeclared" or case["scale"] > 1e12, text
        return
    # exit 0: the numbers are the metrics of the saved predictions, over the scored units only
    results = pd.read_csv(out / "results.csv")
    summary = pd.read_csv(out / "summary.csv")
    model = data.load(store)
    test = data.select(model, "test")
    saved = np.load(out / "models" / "pixels.npz", allow_pickle=False)
    avg = data.repeat_average(test)
    order = pd.Index(saved["stimulus"]).get_indexer(avg["stimulus"].values)
    # each unit over the test stimuli it was recorded on (a declared NaN leaves a stimulus out)
    expected = metrics.on_recorded(metrics.pearson, avg.values, saved["prediction"][order])
    np.testing.assert_allclose(results["pearson"].to_numpy(float), expected, atol=1e-6, equal_nan=True)
    scored = np.isfinite(expected)
    row = summary.iloc[0]
    assert row["n_units"] == ds.sizes["unit"] and row["n_scored"] == scored.sum()
    assert not scored[: case["constant"]].any()  # a unit constant in training is never scored
    if scored.any():
        assert row["median_pearson"] == pytest.approx(np.median(expected[scored]), abs=1e-6)
        if "median_r2" in summary:  # R² over the same units only
            r2 = metrics.on_recorded(metrics.r2, avg.values, saved["prediction"][order])
            assert row["median_r2"] == pytest.approx(np.median(r2[scored]), abs=1e-6)
    if not scored.all():  # "2 (constant prediction); 1 (constant test responses)": every unit left out, with why
        counts = [int(part.split(" (")[0]) for part in str(row["left_out"]).split("; ")]
        assert sum(counts) == (~scored).sum()


def _huge_or_small(x: float) -> bool:
    """Values a run can take in seconds (up to 40) or that the memory check refuses (from 1e9): an
    accepted count of a few hundred thousand would simulate for many minutes, which proves nothing."""
    return not (40 < abs(x) < 1e9)


def _values():
    """Option values as typed: numbers of every sign and size, non-numbers, nothing."""
    return st.one_of(st.integers(-10**12, 10**12).filter(_huge_or_small).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: f != f or _huge_or_small(f)).map(str),
                     st.sampled_from(["", "abc", "1e3", "0x10", "--", "2,3", " 7"]),
                     st.integers(0, 40).map(str))


@FAST
@given(n_train=_values(), n_test=_values(), size=_values(), seed=_values(), n_repeats=_values())
def test_simulate_options_write_a_store_or_refuse_cleanly(n_train, n_test, size, seed, n_repeats, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "s.zarr"
    argv = ["data", "simulate", str(out), "--n-simple", "1", "--n-complex", "1", "--n-train", n_train, "--n-test",
            n_test, "--size", size, "--seed", seed, "--n-repeats", n_repeats]
    result = runner.invoke(app, argv)
    if result.exit_code == 0:
        ds = data.open(out)  # the store is whole and in the data model, with what was asked
        assert ds.sizes["stimulus"] == int(n_train) + int(n_test) and ds.sizes["x"] == int(size)
        return
    text = _refused_cleanly(result, out)
    assert any(name in text for name in ("--n-train", "--n-test", "--size", "--seed", "--n-repeats", "n_train", "n_test",
                                          "size", "seed", "n_repeats", "memory")), text


@FAST
@given(alpha=_values(), permutations=_values(), image_size=_values())
def test_analysis_options_refuse_cleanly(alpha, permutations, image_size, tmp_path_factory):
    """Options of an analysis checked before any work: a bad value names its option; a good one
    reaches the data (a missing store, here)."""
    out = tmp_path_factory.mktemp("opt") / "out"
    result = runner.invoke(app, ["compare", "regions", str(out.parent / "missing.zarr"), "--out", str(out), "--alpha",
                                 alpha, "--permutations", permutations, "--image-size", image_size])
    text = _refused_cleanly(result, out)
    assert "missing.zarr" in text or any(f"'{o}'" in text for o in ("--alpha", "--permutations", "--image-size")), text
