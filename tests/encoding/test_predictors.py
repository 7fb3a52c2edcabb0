"""Trained predictors: module shape contracts, position recovery, resumption, DDP, Sensorium."""

import os
import socket

import numpy as np
import pytest
import torch

from cortexkit import data
from cortexkit.encoding.cores import Conv2dCore, Conv3dCore, FactorisedTransformerCore, TransferCore
from cortexkit.encoding.modulation import Modulator, Shifter
from cortexkit.encoding.predictor import build_predictor
from cortexkit.encoding.readouts import FactorizedReadout, Gaussian2dReadout, LinearReadout
from cortexkit.encoding.predictor import PredictorConfig, SessionSpec
from cortexkit.metrics import sensorium_scores
from cortexkit.pipelines.predictor import evaluate_predictor, load_trained, train_predictor
from cortexkit.errors import ConfigError
from cortexkit.simulate import simulate_v1


def test_core_shapes_and_causality():
    x = torch.randn(2, 1, 24, 24)
    assert Conv2dCore(1, 8, 2)(x).shape == (2, 8, 24, 24)
    v = torch.randn(2, 1, 8, 24, 24)
    core = Conv3dCore(1, 8, 2).eval()
    out = core(v)
    assert out.shape == (2, 8, 8, 24, 24)
    later = v.clone()
    later[:, :, 5:] = torch.randn_like(later[:, :, 5:])
    torch.testing.assert_close(core(later)[:, :, :5], out[:, :, :5])  # no peeking at future frames
    tr = FactorisedTransformerCore(1, image_size=32, frames=8, patch=4, dim=16, depth=1, heads=2).eval()
    y = tr(torch.randn(2, 1, 8, 32, 32))
    assert y.shape == (2, 16, 8, 8, 8)
    z = torch.randn(2, 1, 8, 32, 32)
    z2 = z.clone()
    z2[:, :, 6:] = 0
    torch.testing.assert_close(tr(z)[:, :, :6], tr(z2)[:, :, :6], atol=1e-5, rtol=1e-5)  # causal in time
    # ...and not blind to the past: the first frame reaches the last frame's features through the
    # temporal attention (the tubelet embedding alone spans 1 frame here), and within the 3D kernel.
    first = z.clone()
    first[:, :, 0] = torch.randn_like(first[:, :, 0])
    assert (tr(first)[:, :, -1] - tr(z)[:, :, -1]).abs().max() > 1e-3
    past = v.clone()
    past[:, :, 3] = torch.randn_like(past[:, :, 3])
    assert (core(past)[:, :, 4] - out[:, :, 4]).abs().max() > 1e-3
    assert tr(torch.randn(2, 1, 32, 32)).shape == (2, 16, 1, 8, 8)  # an image is one frame
    transfer = TransferCore("alexnet", "conv2", weights="random", image_size=64)
    assert transfer(torch.randn(2, 3, 40, 40)).shape[:2] == (2, 192)
    assert not any(p.requires_grad for p in transfer.trunk.parameters())
    with pytest.raises(ConfigError, match="alexnet has no layer 'conv9'"):
        TransferCore("alexnet", "conv9", weights="random")


def test_fine_tuned_trunk_learns_at_its_own_rate():
    from cortexkit.training_loop import _parameter_groups

    core = TransferCore("alexnet", "conv2", weights="random", fine_tune=True, lr_scale=0.1)
    model = build_predictor(core, {"kind": "gaussian2d"}, {"a": {"n_units": 3}}, map_size=(5, 5))
    groups = _parameter_groups(model, 0.01)
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.001)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in core.trunk.parameters()}
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)
    frozen = TransferCore("alexnet", "conv2", weights="random")
    assert len(_parameter_groups(frozen, 0.01)) == 1  # frozen trunk: only the batch norm trains


def test_readout_shapes_and_modulation():
    f = torch.randn(3, 8, 10, 12)
    g = Gaussian2dReadout(8, 5).eval()
    assert g(f).shape == (3, 5)
    assert g(f, shift=torch.zeros(3, 2)).shape == (3, 5)
    pos = g.positions_pixels(10, 12)
    assert pos.shape == (5, 2) and (pos[:, 0] <= 11).all() and (pos[:, 1] <= 9).all()
    assert FactorizedReadout(8, 5, (10, 12), l1=0.1, smoothness=0.1)(f).shape == (3, 5)
    assert LinearReadout(8, 5, (10, 12))(f).shape == (3, 5)
    torch.testing.assert_close(Shifter()(torch.randn(4, 2)), torch.zeros(4, 2))
    torch.testing.assert_close(Modulator(3, 5)(torch.randn(4, 3)), torch.ones(4, 5))


def test_predictor_time_resolved_output():
    core = Conv3dCore(1, 4, 1)
    model = build_predictor(core, {"kind": "gaussian2d"}, {"a": {"n_units": 6}}, shifter=True, modulator=True, n_behaviors=2)
    out = model(torch.randn(2, 1, 7, 16, 16), "a", pupil_center=torch.randn(2, 7, 2), behavior=torch.randn(2, 7, 2),
                time_resolved=True)
    assert out.shape == (2, 6, 7) and (out > 0).all()
    assert model(torch.randn(2, 1, 7, 16, 16), "a").shape == (2, 6)


@pytest.fixture(scope="module")
def tiny_v1(tmp_path_factory):
    ds = simulate_v1(n_train=600, n_test=30, n_repeats=4, n_simple=0, n_complex=12, size=16, seed=4)
    return data.save(ds, tmp_path_factory.mktemp("v1") / "v1.zarr"), ds


def _config(path, **kw):
    base = dict(data=[SessionSpec(path=str(path), key="v1")], core={"kind": "conv2d", "channels": 8, "layers": 2,
                "first_kernel": 9, "kernel": 5}, epochs=4, batch_size=64, lr=5e-3, patience=None, lr_patience=None)
    return PredictorConfig(**{**base, **kw})


def test_kill_and_resume_matches_uninterrupted(tiny_v1, tmp_path):
    path, _ = tiny_v1
    straight = train_predictor(_config(path), tmp_path / "a", log=lambda m: None).model.state_dict()
    train_predictor(_config(path), tmp_path / "b", log=lambda m: None, stop_after=2)  # killed after epoch 2
    assert not (tmp_path / "b" / "model.pt").exists() and (tmp_path / "b" / "checkpoint.pt").exists()
    messages = []
    resumed = train_predictor(_config(path), tmp_path / "b", log=messages.append).model.state_dict()
    assert any("resumed" in m for m in messages)
    for k in straight:
        torch.testing.assert_close(resumed[k], straight[k], rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # about 8 s on 2 cores; CI runs it
def test_bf16_autocast_trains_and_stays_close(tiny_v1, tmp_path):
    path, _ = tiny_v1
    # Trained to near convergence: after 3 epochs the two runs are still mid-descent, where bf16 rounding
    # moves the score by up to 0.12 on CPUs without native bf16 (0.473 vs 0.352); after 8, 0.685 vs 0.679
    # on one such CPU and 0.685 vs 0.611 on another (emulated bf16 rounds differently per instruction set).
    full = train_predictor(_config(path, epochs=8), tmp_path / "f32", log=lambda m: None)
    half = train_predictor(_config(path, epochs=8, bf16=True), tmp_path / "bf16", log=lambda m: None)
    a = evaluate_predictor(full, tmp_path / "f32")["median_pearson"].iloc[0]
    b = evaluate_predictor(half, tmp_path / "bf16")["median_pearson"].iloc[0]
    assert a > 0.5 and b > 0.5 and abs(a - b) < 0.1  # bf16 matmuls: both learn, within rounding drift


def test_gaussian_readout_finds_receptive_fields(tiny_v1, tmp_path):
    path, ds = tiny_v1
    run = train_predictor(_config(path, epochs=15), tmp_path / "run", log=lambda m: None)
    pos = run.model.readouts["v1"].positions_pixels(16, 16).numpy()
    true = np.c_[ds["rf_x"].values, ds["rf_y"].values]
    assert np.median(np.linalg.norm(pos - true, axis=1)) < 2.0  # pixels
    summary = evaluate_predictor(load_trained(tmp_path / "run"), tmp_path / "run")
    assert summary["median_pearson"].iloc[0] > 0.5
    assert summary["median_rf_position_error_px"].iloc[0] == pytest.approx(np.median(np.linalg.norm(pos - true, axis=1)))
    from cortexkit.report.predictor import write_predictor_report

    page = write_predictor_report(tmp_path / "run").read_text()
    for name in ("training_curve.png", "readout_positions_v1.png", "first_layer_filters.png"):
        assert (tmp_path / "run" / "figures" / name).is_file() and name in page
    from cortexkit.report.predictor import _first_convolution

    first = next(m for m in run.model.core.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d)))
    np.testing.assert_array_equal(_first_convolution(tmp_path / "run" / "model.pt"), first.weight.detach().numpy())
    assert (tmp_path / "run" / "results.csv").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, config_json, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = PredictorConfig.model_validate_json(config_json)
    run = train_predictor(cfg, out, log=lambda m: None)
    torch.save(run.model.state_dict(), f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_processes_stay_in_sync(tiny_v1, tmp_path):
    path, _ = tiny_v1
    cfg = _config(path, epochs=2, batch_size=32)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), cfg.model_dump_json(), str(tmp_path)), nprocs=2)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k])  # gradients were averaged: identical replicas
    assert (tmp_path / "model.pt").exists()


def test_sensorium_scores_hand_cases():
    rng = np.random.default_rng(0)
    y = rng.poisson(3, size=(6, 4, 60)).astype(float)
    stim = np.array([0, 0, 1, 1, 2, 2])
    perfect = sensorium_scores(y, y, stim, skip=10)
    np.testing.assert_allclose(perfect["single_trial_correlation"], 1.0)
    y[:, :, 55:] = np.nan  # trials end early: the padding is left out
    shuffled = sensorium_scores(rng.permutation(y.reshape(-1)).reshape(y.shape), y, stim, skip=10)
    assert (np.abs(shuffled["single_trial_correlation"]) < 0.2).all()


def test_time_resolved_training_with_behaviour(tmp_path):
    from tests.data.readers.test_sensorium2023 import make_mouse

    make_mouse(tmp_path / "mouse", ["train"] * 6 + ["oracle"] * 4, [20] * 10, repeat_of={7: 6, 9: 8})
    store = data.convert(tmp_path / "mouse", tmp_path / "m.zarr", "sensorium2023")
    cfg = PredictorConfig(data=[SessionSpec(path=str(store), key="mouseA")], core={"kind": "conv3d", "channels": 4, "layers": 1,
                          "first_kernel": [3, 3, 3]}, shifter=True, modulator=True, epochs=2, batch_size=4, skip_frames=5,
                          val_fraction=0.2)
    run = train_predictor(cfg, tmp_path / "run", log=lambda m: None)
    summary = evaluate_predictor(run, tmp_path / "run")
    assert {"median_single_trial_correlation", "median_correlation_to_average"} <= set(summary.columns)


def test_shipped_configs_parse():
    from pathlib import Path

    from cortexkit.config import load_config

    import yaml

    from cortexkit.pipelines import EncodingConfig

    configs = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        if "features" in yaml.safe_load(path.read_text()):  # a `cortexkit fit` config
            assert load_config(EncodingConfig, path).features
            continue
        if "decoders" in yaml.safe_load(path.read_text()):  # a `cortexkit decode reconstruct` config
            from cortexkit.decoding import DECODERS
            from cortexkit.pipelines import ReconstructionConfig

            for spec in load_config(ReconstructionConfig, path).decoders:
                DECODERS.lookup(spec.name)(**spec.params).check_settings((64, 64))
            continue
        cfg = load_config(PredictorConfig, path)
        assert cfg.data and cfg.core["kind"] in ("conv2d", "conv3d", "transformer", "transfer")
    from cortexkit.pipelines.predictor_search import parse_space

    spaces = sorted((configs[0].parent / "spaces").glob("*.yaml"))  # search spaces for `train --search`
    assert spaces
    for path in spaces:
        assert parse_space(yaml.safe_load(path.read_text()), cfg)


def test_every_torchrun_line_launches_the_train_command():
    """Every multi-GPU launch line in configs/ and the docs names the command that exists."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    launches = [m for f in [*(root / "configs").glob("*.yaml"), *(root / "docs").rglob("*.md"), root / "README.md"]
                for m in re.findall(r"torchrun [^\n`]*", f.read_text())]
    assert launches and all(" -m cortexkit train " in line for line in launches), launches


@pytest.mark.slow
def test_torchrun_launch_of_the_train_command(tiny_v1, tmp_path):
    """The documented multi-GPU launch, `torchrun -m cortexkit train CONFIG --out OUT`, on two CPU
    processes (gloo): one run directory, scored and reported once."""
    import subprocess
    import sys

    path, _ = tiny_v1
    config = tmp_path / "c.yaml"
    config.write_text(_config(path, epochs=1).model_dump_json())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CORTEXKIT_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port",
                           str(_free_port()), "-m", "cortexkit", "train", str(config), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("report: ") == 1
    assert (tmp_path / "run" / "model.pt").is_file() and (tmp_path / "run" / "summary.csv").is_file()
