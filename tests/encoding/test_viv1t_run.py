"""A ViV1T checkpoint folder becomes a run on a Sensorium-layout mouse: its predictions are the network's
on inputs prepared as ViV1T's data code prepares them (computed here again from the raw release files),
aligned with the last T - 24 frames, in the store's response units; `evaluate`, the submission and
`insilico synthesize` use the run.

The checkpoint is ``$CORTEXKIT_REFERENCE_VIV1T`` when set, else ``../shared/data/viv1t_reference``;
the mouse is its first, with as many neurons as the checkpoint gives it."""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cortexkit import data, metrics
from cortexkit.cli import app
from cortexkit.encoding.viv1t import load_viv1t, read_viv1t
from cortexkit.errors import ConfigError, DataError
from cortexkit.pipelines import checkpoint_run, load_trained
from tests.data.readers.test_sensorium2023 import make_mouse

from ..conftest import SHARED_DATA

FRAMES, SKIP = 32, 26
TIERS = ["train"] * 6 + ["oracle"] * 4 + ["live_test_main"]
DURATIONS = [32, 32, 29, 32, 32, 32, 32, 32, 32, 32, 30]  # a short training trial and a short test-tier trial


def quiet(*_):
    pass


@pytest.fixture(scope="module")
def mouse(tmp_path_factory):
    """The checkpoint, a release folder whose responses the network itself generated (plus noise),
    and what the run must predict, computed from the raw files."""
    folder = Path(os.environ.get("CORTEXKIT_REFERENCE_VIV1T", SHARED_DATA / "viv1t_reference"))
    if not (folder / "args.yaml").is_file():
        pytest.skip(f"no ViV1T reference folder at {folder}")
    args, _, neurons = read_viv1t(folder)
    m, n = next(iter(neurons.items()))
    h, w = (int(v) for v in args["input_shapes"]["video"][2:])
    root = tmp_path_factory.mktemp("viv1t") / "mouse"
    make_mouse(root, TIERS, DURATIONS, repeat_of={7: 6, 9: 8}, shape=(h, w, FRAMES), neurons=n)
    rng = np.random.default_rng(1)
    raw = {}
    for t, d in enumerate(DURATIONS):
        for name, scale in (("behavior", (10.0, 30.0)), ("pupil_center", (200.0, 150.0))):
            values = np.full((2, FRAMES), np.nan)
            values[:, :d] = rng.random((2, d)) * np.array(scale)[:, None]
            np.save(root / "data" / name / f"{t}.npy", values)
            raw.setdefault(name, []).append(values)
        raw.setdefault("videos", []).append(np.load(root / "data" / "videos" / f"{t}.npy"))
    raw = {k: np.stack(v) for k, v in raw.items()}  # videos (trial, h, w, frame) 0-255, NaN after the end
    # ViV1T's transform_mode 2, from its description: statistics over the training tier's trials
    train = [i for i, tier in enumerate(TIERS) if tier == "train"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        v_mean, v_std = np.nanmean(raw["videos"][train], 0), np.nanstd(raw["videos"][train], 0)
        lo = {k: np.nanmin(raw[k][train], 0) for k in ("behavior", "pupil_center")}
        hi = {k: np.nanmax(raw[k][train], 0) for k in ("behavior", "pupil_center")}
    net = load_viv1t(folder)
    standardised = np.full((len(TIERS), n, FRAMES), np.nan, np.float32)
    for t, d in enumerate(DURATIONS):
        video = ((raw["videos"][t] - v_mean) / (v_std - v_mean))[..., :d].transpose(2, 0, 1)[None, None]
        extra = [((raw[k][t] - lo[k]) / (hi[k] - lo[k]))[None, :, :d] for k in ("behavior", "pupil_center")]
        with torch.no_grad():
            out, _ = net(torch.from_numpy(video.astype(np.float32)), m, *(torch.from_numpy(e.astype(np.float32)) for e in extra))
        standardised[t, :, d - out.shape[-1] : d] = out[0].numpy()
    responses = np.where(np.isnan(standardised), rng.random(standardised.shape), standardised)
    responses = responses * (1 + rng.random(n))[None, :, None] + 0.05 * rng.standard_normal(responses.shape)
    for t, d in enumerate(DURATIONS):
        responses[t, :, d:] = np.nan
        np.save(root / "data" / "responses" / f"{t}.npy", responses[t])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(responses[train], 0)  # (neuron, frame): the network predicts responses divided by it
    sd = np.where(sd > 0.01 * np.nanmean(sd), sd, 0.01 * np.nanmean(sd))
    expected = standardised * sd[None]  # predictions in the store's units
    store = data.convert(root, root.parent / "mouse.zarr", "sensorium2023")
    return folder, m, root, store, expected


@pytest.mark.reference
@pytest.mark.slow  # 12 s on 2 cores; the module's reproduction of the reference runs in the default suite
def test_the_run_predicts_as_the_network_on_viv1t_inputs(mouse, tmp_path):
    folder, m, _, store, expected = mouse
    summary = checkpoint_run(folder, "viv1t", store, tmp_path / "run", key=m, skip_frames=SKIP, log=quiet)
    run = load_trained(tmp_path / "run")
    sess = run.sessions[m]
    for split in ("train", "val", "test"):
        pred, _ = run.predictions(run.model, m, split)
        want = expected[sess.trials[split]]
        assert np.array_equal(np.isnan(pred), np.isnan(want)), split  # 24 leading frames and each trial's end
        np.testing.assert_allclose(pred, want, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=split)
    # the scores are those of the expected predictions on the frames after SKIP; the network generated
    # the responses (scaled, noisy), so they correlate
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    test = sess.trials["test"]
    want = metrics.sensorium_scores(expected[test], sess.responses[test], sess.stim_of_trial[test], SKIP)
    for name in ("single_trial_correlation", "correlation_to_average"):
        np.testing.assert_allclose(results[name], want[name], atol=1e-4, err_msg=name)
    assert results["single_trial_correlation"].median() > 0.5
    assert summary["units"].item() == expected.shape[1]
    assert run.config.skip_frames == SKIP and run.config.core["mice"] == {m: m}


@pytest.mark.reference
@pytest.mark.slow  # 20 s on 2 cores: the CLI, the report, the submission and MEIs of a video transformer
def test_one_command_makes_the_run_that_evaluate_and_insilico_use(mouse, tmp_path):
    folder, m, root, store, expected = mouse
    res = CliRunner().invoke(app, ["train", "--from-checkpoint", str(folder), "--format", "viv1t", "--data", f"{m}={store}",
                                   "--skip-frames", str(SKIP), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "run"), "--submission", f"{m}={root}"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(tmp_path / "run" / "submission" / "predictions_file_live_test_main_main_track.parquet.brotli")
    got = np.array([np.asarray(v) for v in table["prediction"][0]])
    np.testing.assert_allclose(got, expected[10, :, SKIP:DURATIONS[10]], rtol=1e-4, atol=1e-5)  # the 30-frame trial
    res = CliRunner().invoke(app, ["insilico", "synthesize", str(tmp_path / "run"), "--units", "0,1", "--steps", "30",
                                   "--out", str(tmp_path / "meis")])
    assert res.exit_code == 0, res.output
    meis = pd.read_csv(tmp_path / "meis" / "meis.csv")
    assert len(meis) == 2 and np.isfinite(meis["mei_response"]).all()
    assert (meis["mei_response"] > meis["best_image_response"]).all()


@pytest.mark.reference
@pytest.mark.slow  # shares the slow fixture
def test_mismatches_are_one_line(mouse, tmp_path):
    folder, m, root, store, _ = mouse
    _, _, neurons = read_viv1t(folder)
    ds = data.load(store)
    few = data.save(ds.isel(unit=slice(0, 3)), tmp_path / "few.zarr")
    with pytest.raises(DataError, match=rf"has 3 units; the network's mouse {m} has {neurons[m]} \(key 'readouts.{m}.bias'\)"):
        checkpoint_run(folder, "viv1t", few, tmp_path / "a", key=m, skip_frames=SKIP, log=quiet)
    assert not (tmp_path / "a").exists()
    if len(neurons) > 1:
        with pytest.raises(ConfigError, match="which of the checkpoint's mice does the store record"):
            checkpoint_run(folder, "viv1t", store, tmp_path / "b", skip_frames=SKIP, log=quiet)
    with pytest.raises(ConfigError, match="at least 24 frames are skipped"):
        checkpoint_run(folder, "viv1t", store, tmp_path / "c", key=m, skip_frames=10, log=quiet)
    with pytest.raises(ConfigError, match="leaves nothing of the store's 32 frames"):
        checkpoint_run(folder, "viv1t", store, tmp_path / "c", key=m, log=quiet)  # the default 50
    small = data.convert(root, tmp_path / "small.zarr", "sensorium2023", {"size": 18})
    with pytest.raises(DataError, match=r"frames of \(18, 32\) px; the network was built for \(36, 64\)"):
        checkpoint_run(folder, "viv1t", small, tmp_path / "d", key=m, skip_frames=SKIP, log=quiet)
    with pytest.raises(DataError, match="missing"):
        checkpoint_run(tmp_path, "viv1t", store, tmp_path / "e", key=m, log=quiet)
