"""The fMRI leg on a small simulation: voxel-wise ridge per region through the usual fit and
evaluate, NCSNR ceilings, per-area summaries and the report's ROI
figures; regions are best predicted by their own units."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.pipelines.ridge import EncodingConfig, FeatureSpec, evaluate_run, fit_run
from cortexkit.report import write_report
from cortexkit.simulate import simulate_fmri

# About 15 s on 2 cores (a simulation, two feature spaces, every voxel); CI runs it. The default suite keeps the
# fMRI path through the NSD reader and the brain-map tests.
pytestmark = pytest.mark.slow

SPECS = [FeatureSpec(name="gabor", params={"outputs": ["energy"]}),
         FeatureSpec(name="alexnet", params={"weights": "random", "layers": ["conv1", "conv2", "conv5"]}, label="alexnet_untrained")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fmri")
    ds = simulate_fmri(n_subjects=1, n_train=240, n_shared=60, voxels=(14, 18), size=48, rois=["V1", "higher"],
                       ncsnr_range=(0.8, 1.5))["subj01"]
    data.save(ds, tmp / "subj01.zarr")
    fit_run(tmp / "subj01.zarr", tmp / "run", EncodingConfig(features=SPECS, permutations=0), log=lambda m: None)
    results = evaluate_run(tmp / "run", log=lambda m: None)
    return tmp / "run", results


def test_regions_are_best_predicted_by_their_own_units(run):
    _, results = run
    truth = results.pivot_table(index="area", columns="model", values="pearson_true", aggfunc="median")
    assert truth.loc["V1", "gabor"] > truth.loc["V1", "alexnet_untrained.conv5"]
    assert truth.loc["higher", "alexnet_untrained.conv5"] > truth.loc["higher", "gabor"]
    # the fMRI ceiling is NSD's NCSNR one, close to the simulator's truth over voxels
    first = results[results["model"] == "gabor"]
    assert abs(first["ceiling"].median() - first["true_ceiling"].median()) < 0.1


def test_area_summaries_table_and_report(run):
    run_dir, results = run
    summary = pd.read_csv(run_dir / "summary.csv")
    per_area = summary[summary["area"] != "all"]
    assert set(per_area["area"]) == {"V1", "higher"}
    v1 = per_area[(per_area["area"] == "V1") & (per_area["model"] == "gabor")]
    expected = results[(results["area"] == "V1") & (results["model"] == "gabor")]["pearson"].median()
    np.testing.assert_allclose(v1["median_pearson"].iloc[0], expected)
    page = write_report(run_dir).read_text()
    assert "layers_by_area_alexnet_untrained.png" in page and "flat_maps_gabor.png" in page
    assert (run_dir / "figures" / "flat_maps_gabor.png").stat().st_size > 5000
