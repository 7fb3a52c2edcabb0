"""Published encoding checkpoints loaded into cortexkit predictors reproduce the original modules.

STSBench: the folder is ``$CORTEXKIT_REFERENCE_STSBENCH`` when set (a ``<config>_dorsalnet_<size>_<layer>.pth``
and ``reference.npz`` with ``pixels`` (B, 3, T, H, W) and ``responses`` (B, N)), else
``../shared/data/stsbench_reference``."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cortexkit import data
from cortexkit.encoding.predictor.checkpoints import stsbench_predictor
from cortexkit.encoding.predictor.model import build_predictor, make_core
from cortexkit.errors import DataError

from ..conftest import SHARED_DATA

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def stsbench():
    folder = Path(os.environ.get("CORTEXKIT_REFERENCE_STSBENCH", SHARED_DATA / "stsbench_reference"))
    files = sorted(folder.glob("*.pth"))
    if not files:
        pytest.skip(f"no STSBench reference checkpoint in {folder}")
    return files[0], dict(np.load(folder / "reference.npz"))


def responses(pieces, pixels: np.ndarray) -> np.ndarray:
    core = make_core({**pieces["core"], "in_channels": 1})
    side = pieces["image_size"] // 4
    model = build_predictor(core, pieces["readout"], {"s": {"n_units": pieces["n_units"]}}, nonlinearity="identity",
                            map_size=(side, side))
    model.load_state_dict({k.format(session="s"): v for k, v in pieces["state"].items()}, strict=True)
    with torch.no_grad():  # gray clips centred on mid-gray, as every core takes them
        return model.eval()(torch.from_numpy(pixels[:, :1]) - 0.5, "s").numpy()


@pytest.mark.reference
def test_stsbench_checkpoint_reproduces_the_original_responses(stsbench):
    path, ref = stsbench
    np.testing.assert_allclose(responses(stsbench_predictor(path), ref["pixels"]), ref["responses"], rtol=TOLERANCE,
                               atol=TOLERANCE)


@pytest.mark.reference
def test_a_reference_perturbed_by_1e_3_fails(stsbench):
    path, ref = stsbench
    bent = ref["responses"].copy()
    bent.flat[0] += 1e-3
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(responses(stsbench_predictor(path), ref["pixels"]), bent, rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.reference
@pytest.mark.slow  # 15 s on 2 cores (the run's report and MEIs); the reproduction tests above stay in the default suite
def test_the_checkpoint_becomes_a_run_that_evaluate_scores(stsbench, tmp_path):
    """`cortexkit train --from-checkpoint` makes a run on a store of the checkpoint's neurons; the run's
    model answers the reference clip as the original does, and its test split is scored."""
    from typer.testing import CliRunner

    from cortexkit.cli import app
    from cortexkit.pipelines import load_trained

    path, ref = stsbench
    pieces = stsbench_predictor(path)
    rng = np.random.default_rng(0)
    clips = rng.random((16, pieces["frames"], pieces["image_size"], pieces["image_size"])).astype(np.float32)
    clips[0] = ref["pixels"][0, 0]  # the reference clip is stimulus 0
    truth = responses(pieces, np.repeat(clips[:, None], 3, axis=1))
    ds = data.make_dataset(clips, truth + 0.01 * rng.standard_normal(truth.shape), np.arange(16),
                           ["train"] * 10 + ["test"] * 6, stimulus_dims=("stimulus", "frame", "y", "x"))
    store = data.save(ds, tmp_path / "sts.zarr")
    result = CliRunner().invoke(app, ["train", "--from-checkpoint", str(path), "--format", "stsbench", "--data", str(store),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(results) == pieces["n_units"] and (results["pearson"] > 0.99).all()
    run = load_trained(tmp_path / "run")
    with torch.no_grad():
        out = run.model(torch.from_numpy(ref["pixels"][:, :1]) - 0.5, next(iter(run.sessions)))
    np.testing.assert_allclose(out.numpy(), ref["responses"], rtol=TOLERANCE, atol=TOLERANCE)
    # in-silico experiments optimise it like any trained video core
    result = CliRunner().invoke(app, ["insilico", "synthesize", str(tmp_path / "run"), "--units", "0,1", "--steps", "5",
                                      "--out", str(tmp_path / "meis")])
    assert result.exit_code == 0, result.output
    meis = pd.read_csv(tmp_path / "meis" / "meis.csv")
    assert len(meis) == 2 and (meis["mei_response"] > meis["best_image_response"]).all()  # above every recorded clip
    few = data.save(ds.isel(unit=slice(0, 3)), tmp_path / "few.zarr")
    result = CliRunner().invoke(app, ["train", "--from-checkpoint", str(path), "--format", "stsbench", "--data", str(few),
                                      "--out", str(tmp_path / "run2")])
    assert result.exit_code == 2 and f"has 3 units; the checkpoint {path.name} predicts {pieces['n_units']} neurons" in result.output
    assert not (tmp_path / "run2").exists()


def test_wrong_checkpoints_are_one_line(stsbench, tmp_path):
    path, _ = stsbench
    state = torch.load(path, map_location="cpu", weights_only=True)
    with pytest.raises(DataError, match="is not named as STSBench saves checkpoints"):
        torch.save(state, tmp_path / "model.pth")
        stsbench_predictor(tmp_path / "model.pth")
    with pytest.raises(DataError, match="has backbone 'resnet'"):
        torch.save(state, tmp_path / "dorsal_stream_resnet_64_res1.pth")
        stsbench_predictor(tmp_path / "dorsal_stream_resnet_64_res1.pth")
    cut = {k: v for k, v in state.items() if k != "w_f"}
    torch.save(cut, tmp_path / "dorsal_stream_dorsalnet_64_res1.pth")
    with pytest.raises(DataError, match="lacks key 'w_f'"):
        stsbench_predictor(tmp_path / "dorsal_stream_dorsalnet_64_res1.pth")
    torch.save(state, tmp_path / "dorsal_stream_dorsalnet_32_res1.pth")
    with pytest.raises(DataError, match="key 'w_s' has 256 positions; a 32 px clip gives 8 x 8 at res1"):
        stsbench_predictor(tmp_path / "dorsal_stream_dorsalnet_32_res1.pth")
    bad = {k: v for k, v in state.items() if k != "ann.res2.branch2.b.weight"}
    torch.save(bad, tmp_path / "dorsal_stream_dorsalnet_64_res1.pth")
    with pytest.raises(DataError, match="lacks the backbone key 'ann.res2.branch2.b.weight'"):
        stsbench_predictor(tmp_path / "dorsal_stream_dorsalnet_64_res1.pth")


@pytest.mark.reference
def test_every_key_is_checked_before_loading(stsbench, tmp_path):
    """A running_var (or any other key) of the wrong shape, kind or with NaN is one line naming the checkpoint's key,
    not a load_state_dict error, and leaves no run behind."""
    from cortexkit.pipelines import checkpoint_run

    path, _ = stsbench
    state = torch.load(path, map_location="cpu", weights_only=True)
    pieces = stsbench_predictor(path)
    rng = np.random.default_rng(0)
    clips = rng.random((8, pieces["frames"], pieces["image_size"], pieces["image_size"])).astype(np.float32)
    ds = data.make_dataset(clips, rng.random((8, pieces["n_units"])), np.arange(8), ["train"] * 5 + ["test"] * 3,
                           stimulus_dims=("stimulus", "frame", "y", "x"))
    store = data.save(ds, tmp_path / "sts.zarr")
    cases = {"ann_bn.running_var": (state["ann_bn.running_var"][:-1], r"key 'ann_bn.running_var' has shape"),
             "ann_bn.num_batches_tracked": (torch.tensor(1.5), r"key 'ann_bn.num_batches_tracked' has dtype float32"),
             "ann.res1.branch2.a.weight": (state["ann.res1.branch2.a.weight"] * float("nan"),
                                           r"key 'ann.res1.branch2.a.weight' holds \d+ NaN/inf value")}
    for key, (value, message) in cases.items():
        bad = {**state, key: value}
        file = tmp_path / "bad" / path.name
        file.parent.mkdir(exist_ok=True)
        torch.save(bad, file)
        with pytest.raises(DataError, match=message):
            checkpoint_run(file, "stsbench", store, tmp_path / "run", log=lambda m: None)
        assert not (tmp_path / "run").exists()
