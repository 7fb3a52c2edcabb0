"""The selection protocol: every choice is made by cross-validation on the training split, the test
split only scores it."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.evaluation import (SELECTED_BY, choose_model, chosen_per_group, cv_medians, headline_models, load_arrays,
                                  selection_record)
from cortexkit.pipelines import EncodingConfig, FeatureSpec, StackSpec, evaluate_run, fit_run

QUIET = dict(log=lambda m: None)


def _results(cv: dict, test: dict, area=None) -> pd.DataFrame:
    """Per-unit rows of a feature space with three layers: each model's CV and test scores."""
    rows = []
    for depth, model in enumerate(cv, start=1):
        for u, (c, t) in enumerate(zip(cv[model], test[model])):
            rows.append({"model": model, "feature_space": "net", "layer": model.split(".")[1], "depth": depth,
                         "unit": u, "cv_score": c, "pearson": t, "area": area})
    return pd.DataFrame(rows)


def test_choice_follows_cv_not_test():
    # conv2 is best on the test images, conv3 on the training split's folds: conv3 is chosen.
    results = _results({"net.conv1": [0.1, 0.2, 0.1], "net.conv2": [0.2, 0.3, 0.2], "net.conv3": [0.4, 0.3, 0.5]},
                       {"net.conv1": [0.3, 0.3, 0.3], "net.conv2": [0.9, 0.9, 0.9], "net.conv3": [0.5, 0.5, 0.5]})
    assert choose_model(results) == "net.conv3"
    assert headline_models(results) == ["net.conv3"]
    record = selection_record(results)
    assert record == {"chosen": "net.conv3", "selected_by": SELECTED_BY,
                      "cv": {"net.conv1": pytest.approx(0.1), "net.conv2": pytest.approx(0.2),
                             "net.conv3": pytest.approx(0.4)}}
    # NaN CV scores (units the fit could not score) are left out of the medians
    results.loc[(results["model"] == "net.conv1") & (results["unit"] == 0), "cv_score"] = np.nan
    assert cv_medians(results)["net.conv1"] == pytest.approx(0.15)
    # without any CV score there is nothing to choose on: the first model, never the test's best
    assert choose_model(results.drop(columns="cv_score")) == "net.conv1"


def test_choice_per_area():
    v1 = _results({"net.conv1": [0.5, 0.6], "net.conv2": [0.1, 0.2], "net.conv3": [0.0, 0.1]},
                  {"net.conv1": [0.1, 0.1], "net.conv2": [0.8, 0.8], "net.conv3": [0.2, 0.2]}, area="V1")
    it = _results({"net.conv1": [0.0, 0.1], "net.conv2": [0.1, 0.2], "net.conv3": [0.5, 0.6]},
                  {"net.conv1": [0.9, 0.9], "net.conv2": [0.1, 0.1], "net.conv3": [0.2, 0.2]}, area="IT")
    assert chosen_per_group(pd.concat([v1, it]), "area") == {"V1": "net.conv1", "IT": "net.conv3"}


def _shuffle_test_trials(ds, seed):
    split = dict(zip(ds["stimulus"].values.tolist(), ds["split"].values.tolist()))
    ids = ds["stimulus_id"].values.copy()
    test = np.flatnonzero([split[i] == "test" for i in ids.tolist()])
    ids[test] = ids[np.random.default_rng(seed).permutation(test)]
    return ds.assign(stimulus_id=("trial", ids))


@pytest.mark.slow  # over 10 s on 2 cores; CI runs it
def test_permuting_test_responses_changes_no_choice(tmp_path, small_v1):
    """Alphas, stacking weights and the layer chosen are the same when the test trials are shuffled
    (the test responses no longer match their stimuli); only the test scores move."""
    from cortexkit.simulate import simulate_v1

    # transfer sources: two other simulated recordings (the population embedding's choice of sources is a choice)
    sources = [str(data.save(simulate_v1(n_train=200, n_test=20, n_repeats=2, n_simple=4, n_complex=4, size=16, seed=s),
                             tmp_path / f"source{s}.zarr")) for s in (11, 12)]
    config = EncodingConfig(features=[FeatureSpec(name="pixel_pca"),
                                      FeatureSpec(name="expansion", params={"widths": [4, 4, 4, 8], "layers": "all", "image_size": 140}),
                                      FeatureSpec(name="population", params={"recordings": sources, "features": ["pixels"],
                                                                             "cv": 3})],
                            stack=StackSpec(cv=3))
    runs = {}
    for name, ds in {"original": small_v1, "shuffled": _shuffle_test_trials(small_v1, seed=1)}.items():
        store = data.save(ds, tmp_path / f"{name}.zarr")
        fit_run(store, tmp_path / name, config, **QUIET)
        runs[name] = evaluate_run(tmp_path / name, **QUIET)
    original, shuffled = runs["original"], runs["shuffled"]
    assert original["model"].nunique() >= 6  # pixel_pca, several expansion layers, the population, the stacked model
    for model in original["model"].unique():
        a = load_arrays(tmp_path / "original" / "models" / f"{model}.npz")
        b = load_arrays(tmp_path / "shuffled" / "models" / f"{model}.npz")
        for key in ("alpha", "weights", "cv_score", "blocks_kept", "prefix_scores"):
            if key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{model}: {key}")
    assert headline_models(original) == headline_models(shuffled)
    assert selection_record(original) == selection_record(shuffled)
    moved = (original.groupby("model")["pearson"].median() - shuffled.groupby("model")["pearson"].median()).abs()
    assert moved.min() > 0.1  # the shuffle did reach the test scores
