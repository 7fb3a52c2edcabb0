"""Reconstruction pooled over simulated fMRI subjects on their shared test images: the pool of one
subject with itself is that subject, pca pools are means of the subjects' images, retrieval pools
the subjects' correlations, and the command line runs it."""

import shutil

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.errors import DataError
from cortexkit.evaluation import load_arrays
from cortexkit.pipelines import ReconstructionConfig, run_pooled_reconstruction
from cortexkit.simulate import simulate_fmri

CONFIG = ReconstructionConfig(decoders=[{"name": "pca"}, {"name": "retrieval"}], image_size=16, n_permutations=20)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pool")
    subjects = simulate_fmri(n_subjects=2, n_train=80, n_shared=24, voxels=(10, 14), size=32, rois=["V1", "V2"],
                             trials_per_session=90, color=False)
    for name, ds in subjects.items():
        data.save(ds, tmp / f"{name}.zarr")
    return tmp


@pytest.mark.slow
def test_pool_of_a_subject_with_itself_is_that_subject(stores, tmp_path):
    shutil.copytree(stores / "subj01.zarr", tmp_path / "copy.zarr")
    table = run_pooled_reconstruction([stores / "subj01.zarr", tmp_path / "copy.zarr"], tmp_path / "run", CONFIG,
                                      log=lambda m: None)
    assert set(table["subject"]) == {"subj01", "copy", "pooled"}
    for method in ("pca", "retrieval"):
        rows = table[table["method"] == method].set_index("subject").drop(columns=["method", "kind"])
        pd.testing.assert_series_equal(rows.loc["pooled"], rows.loc["subj01"], check_names=False, atol=1e-6)
        pooled = load_arrays(tmp_path / "run" / "pooled" / "reconstructions" / f"{method}.npz")["reconstructions"]
        own = load_arrays(tmp_path / "run" / "subj01" / "reconstructions" / f"{method}.npz")["reconstructions"]
        np.testing.assert_allclose(pooled, own, atol=1e-6)
    comparisons = pd.read_csv(tmp_path / "run" / "pooled" / "comparisons.csv")
    assert (comparisons["difference"].abs() < 1e-9).all() and comparisons["wilcoxon_p"].isna().all()


@pytest.mark.slow
def test_pools_two_subjects_on_their_shared_images(stores, tmp_path):
    run = tmp_path / "run"
    table = run_pooled_reconstruction([stores / "subj01.zarr", stores / "subj02.zarr"], run, CONFIG, log=lambda m: None)
    shared = list(load_arrays(run / "pooled" / "reconstructions" / "pca.npz")["stimulus"])
    assert shared == [f"shared{i:04d}" for i in range(24)]
    recs = {s: load_arrays(run / s / "reconstructions" / "pca.npz")["reconstructions"] for s in ("subj01", "subj02")}
    pooled = load_arrays(run / "pooled" / "reconstructions" / "pca.npz")["reconstructions"]
    np.testing.assert_allclose(pooled, (recs["subj01"] + recs["subj02"]) / 2, atol=1e-6)  # the test split is the shared set
    # retrieval: the candidate with the best correlation averaged over the two subjects
    sims = [load_arrays(run / s / "reconstructions" / "retrieval.npz")["similarity"] for s in ("subj01", "subj02")]
    test = data.select(data.load(stores / "subj01.zarr"), "test")
    from cortexkit.pipelines.reconstruction import prepare_stimuli

    expected = prepare_stimuli(test["stimuli"].values, 16)[np.argmax(sims[0] + sims[1], axis=1)]
    np.testing.assert_allclose(load_arrays(run / "pooled" / "reconstructions" / "retrieval.npz")["reconstructions"], expected)
    nulls = table[table["kind"] == "null"]
    assert list(nulls["method"]) == ["pca (shuffled)", "retrieval (shuffled)"]
    assert (run / "pooled" / "metrics.md").is_file()
    comparisons = pd.read_csv(run / "pooled" / "comparisons.csv")
    assert list(comparisons["versus"]) == ["subj01", "subj02"] * 2
    space = comparisons["space"].iloc[0]
    decoded = table[table["kind"] == "decoder"].set_index(["subject", "method"])[f"2way_{space}"]
    for _, c in comparisons.iterrows():  # the per-stimulus test summarises the same scores as the table
        assert c["pooled"] == pytest.approx(decoded[("pooled", c["method"])])
        assert c["subject"] == pytest.approx(decoded[(c["versus"], c["method"])])
        assert c["ci_low"] <= c["difference"] <= c["ci_high"] and 0 <= c["wilcoxon_p"] <= 1
    from cortexkit.report import write_pooled_reconstruction_report

    page = write_pooled_reconstruction_report(run).read_text()
    assert '<img src="reconstructions.png"' in page and "Wilcoxon" in page and "subj02" in page
    assert (run / "pooled" / "reconstructions.png").is_file()


def test_errors(stores, tmp_path):
    with pytest.raises(DataError, match="pooling needs two or more"):
        run_pooled_reconstruction([stores / "subj01.zarr"], tmp_path / "r", CONFIG)
    ds = data.load(stores / "subj02.zarr")
    relabelled = {s: s.replace("shared", "own") for s in ds["stimulus"].values}
    ds = ds.assign_coords(stimulus=[relabelled[s] for s in ds["stimulus"].values])
    ds["stimulus_id"] = ("trial", [relabelled[s] for s in ds["stimulus_id"].values])
    data.save(ds, tmp_path / "other.zarr")
    with pytest.raises(DataError, match="share no test stimulus"):
        run_pooled_reconstruction([stores / "subj01.zarr", tmp_path / "other.zarr"], tmp_path / "r", CONFIG,
                                  log=lambda m: None)


@pytest.mark.slow
def test_command_line(stores, tmp_path):
    from typer.testing import CliRunner

    from cortexkit.cli import app

    r = CliRunner().invoke(app, ["decode", "reconstruct", str(stores / "subj01.zarr"), str(stores / "subj02.zarr"), "--out",
                                 str(tmp_path / "run"), "--decoder", "pca", "--image-size", "16", "--permutations", "10"])
    assert r.exit_code == 0, r.output
    assert "pooled" in r.output and (tmp_path / "run" / "subj01" / "report.html").is_file()


@pytest.mark.slow
def test_mindeye_is_one_model_shared_by_the_subjects(stores, tmp_path):
    from cortexkit.decoding.mindeye import MindEyeDecoder

    tiny = {"epochs": 3, "prior_epochs": 1, "generator_epochs": 1, "extra_images": 0, "n_candidates": 1, "hidden": 32}
    config = ReconstructionConfig(decoders=[{"name": "mindeye", "params": tiny}], image_size=16, n_permutations=10)
    messages = []
    run_pooled_reconstruction([stores / "subj01.zarr", stores / "subj02.zarr"], tmp_path / "run", config,
                              log=messages.append)
    run = tmp_path / "run"
    # one backbone with an adapter per subject, checkpointed once for the pool, none per subject
    state = __import__("torch").load(run / "checkpoints" / "mindeye" / "backbone.pt", weights_only=False)["model"]
    assert {k.split(".")[1] for k in state if k.startswith("adapters.")} == {"subj01", "subj02"}
    assert not (run / "subj01" / "checkpoints" / "mindeye").exists()
    # each subject's reconstructions come from the shared model through its own adapter
    shared = MindEyeDecoder(**tiny, checkpoint_dir=str(run / "checkpoints" / "mindeye"))
    from cortexkit.pipelines.reconstruction import decoding_pairs

    pairs = {s: decoding_pairs(stores / f"{s}.zarr", 16) for s in ("subj01", "subj02")}
    shared.fit_subjects({s: (p[3], p[4]) for s, p in pairs.items()})  # resumes the finished checkpoints
    for s, p in pairs.items():
        saved = load_arrays(run / s / "reconstructions" / "mindeye.npz")
        np.testing.assert_allclose(saved["reconstructions"], shared.reconstruct(p[5], s), atol=1e-5)
    assert any("one model shared by 2 subjects" in m for m in messages)
    again = []
    run_pooled_reconstruction([stores / "subj01.zarr", stores / "subj02.zarr"], run, config, log=again.append)
    assert sum("already computed, kept" in m for m in again) == 2
