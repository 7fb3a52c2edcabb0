"""Simulated NSD-like fMRI: the design (shared test images, repeats, sessions, z-scoring), the
carry-over between trials, and NSD's NCSNR ceiling checked against the simulator's true ceiling."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data, metrics
from cortexkit.evaluation import noise_ceiling
from cortexkit.simulate import FMRISimulationConfig, simulate_fmri
from cortexkit.simulate.fmri import true_ceiling

SMALL = dict(n_subjects=2, n_train=80, n_shared=40, voxels=(8, 14), size=48, trials_per_session=90)


@pytest.fixture(scope="module")
def subjects():
    return simulate_fmri(**SMALL)


def test_nsd_design(subjects):
    a, b = subjects["subj01"], subjects["subj02"]
    for ds in (a, b):
        data.validate(ds)
        assert ds.attrs["modality"] == "fmri"
        counts = data.repeat_counts(ds).values
        assert (counts == 3).all()  # every image three times
        assert set(ds["area"].values) == {"V1", "V2", "V4", "higher"}
        # betas z-scored per voxel within each session
        for k in np.unique(ds["session"].values):
            rows = ds["responses"].values[ds["session"].values == k]
            np.testing.assert_allclose(rows.mean(0), 0, atol=1e-4)
            np.testing.assert_allclose(rows.std(0), 1, atol=1e-3)
        # each voxel has its own cell on its area's flat grid
        cells = pd.DataFrame({"area": ds["area"].values, "x": ds["flat_x"].values, "y": ds["flat_y"].values})
        assert not cells.duplicated().any()
    # the shared test images are the same for every subject, the training images are each subject's own
    ta, tb = data.select(a, "test"), data.select(b, "test")
    np.testing.assert_array_equal(ta["stimulus"].values, tb["stimulus"].values)
    np.testing.assert_array_equal(ta["stimuli"].values, tb["stimuli"].values)
    assert not set(data.select(a, "train")["stimulus"].values) & set(data.select(b, "train")["stimulus"].values)
    assert a.sizes["unit"] != b.sizes["unit"] or (a["prf_x"].values != b["prf_x"].values).any()
    assert a.sizes["trial"] == 3 * (SMALL["n_train"] + SMALL["n_shared"])


def test_missing_repeats_give_fewer_trials():
    ds = simulate_fmri(**{**SMALL, "n_subjects": 1, "missing_repeats": 0.3})["subj01"]
    counts = data.repeat_counts(ds).values
    assert counts.max() == 3 and counts.min() < 3
    assert abs(counts.mean() / 3 - 0.7) < 0.05


def test_carryover_adds_the_previous_trials_signal_within_a_session():
    ds = simulate_fmri(**{**SMALL, "n_subjects": 1, "carryover": 0.8, "ncsnr_range": (3.0, 3.0)})["subj01"]
    signal = ds["true_rate"].values[pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)]
    betas, session = ds["responses"].values, ds["session"].values
    same = np.flatnonzero(session[1:] == session[:-1]) + 1
    new = np.flatnonzero(session[1:] != session[:-1]) + 1
    residual = betas - signal * (betas * signal).sum(0) / (signal * signal).sum(0)  # the current trial's share out
    r_prev = np.median(metrics.pearson(residual[same], signal[same - 1]))
    assert r_prev > 0.5
    # no carry-over into the first trial of a session
    assert np.median(np.abs((residual[new] * signal[new - 1]).mean(0))) < np.median(np.abs((residual[same] * signal[same - 1]).mean(0)))


@pytest.mark.slow  # 6-8 s on 2 cores; CI runs it
def test_ncsnr_ceiling_matches_the_true_ceiling(subjects):
    """NSD's NCSNR ceiling of the 3-trial test averages: the median over voxels lies within the
    sampling error (a 99% bootstrap interval over test images) of the true median, and the voxels
    are ordered alike."""
    ds = simulate_fmri(**{**SMALL, "n_subjects": 1, "n_shared": 150, "voxels": (30, 30)})["subj01"]
    test = data.select(ds, "test")
    est = noise_ceiling(test)
    truth = ds["true_ceiling"].values
    np.testing.assert_allclose(truth, true_ceiling(ds["true_ncsnr"].values, 3), rtol=1e-6)
    rep = data.repeats(test).values
    rng = np.random.default_rng(0)
    boot = [np.median(metrics.ncsnr_ceiling(metrics.ncsnr(rep[rng.integers(0, len(rep), len(rep))]), 3))
            for _ in range(300)]
    lo, hi = np.percentile(boot, [0.5, 99.5])
    assert lo <= np.median(truth) <= hi, (lo, np.median(truth), hi)
    assert np.corrcoef(est, truth)[0, 1] > 0.8


def test_ncsnr_ceiling_with_unequal_trial_counts():
    # NSD's form: 1/n is the mean over images of 1/n_i
    got = metrics.ncsnr_ceiling(np.array([1.0]), np.array([3, 3, 2, 1]))
    np.testing.assert_allclose(got, 1.0 / (1.0 + (1 / 3 + 1 / 3 + 1 / 2 + 1) / 4))
    np.testing.assert_allclose(metrics.ncsnr_ceiling(0.5, 3), 0.25 / (0.25 + 1 / 3))


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="rois must be"):
        FMRISimulationConfig(rois=["V9"])
    with pytest.raises(ValueError, match="voxels"):
        FMRISimulationConfig(voxels=(10, 5))
