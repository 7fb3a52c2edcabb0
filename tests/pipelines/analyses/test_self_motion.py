"""The self-motion suite: on simulated MSTd-like units the heading, speed, rotation and optic flow
are decoded from single trials far above shuffled labels; from the command line a trained DorsalNet
encodes the units better than the same network untrained; stores without self-motion are refused."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.pipelines.analyses import decode_self_motion
from cortexkit.simulate import simulate_self_motion, simulate_v1


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sm")
    return data.save(simulate_self_motion(n_train=400, n_test=30, n_units=30, seed=2), tmp / "sm.zarr")


def test_decoding_recovers_the_self_motion_and_the_flow(store):
    """Measured with this seed: heading 15 degrees (chance about 95), speed R² 0.6, yaw and pitch
    above 0.85, flow r 0.97."""
    decoding, flow, figure = decode_self_motion(data.load(store), n_permutations=30)
    rows = decoding.set_index("parameter")
    heading = rows.loc["heading (median angular error)"]
    assert heading["score"] < 25 and heading["chance"] > 70 and heading["p"] < 0.05
    for k in ("speed", "yaw", "pitch"):
        assert rows.loc[k, "score"] > 0.4 and abs(rows.loc[k, "chance"]) < 0.1 and rows.loc[k, "p"] < 0.05
    flow = flow.set_index("measure")
    assert flow.loc["flow r", "score"] > 0.9 and flow.loc["flow r", "p"] < 0.05
    assert flow.loc["end-point error", "score"] < 0.5 * flow.loc["end-point error", "chance"]
    assert figure["flow_true"].shape[1:] == (8, 8, 2)


def test_shuffled_responses_decode_at_chance(store):
    ds = data.load(store)
    rng = np.random.default_rng(0)
    ds["responses"].values = rng.permutation(ds["responses"].values)  # trials no longer match their movies
    decoding, _, _ = decode_self_motion(ds, n_permutations=30)
    rows = decoding.set_index("parameter")
    heading = rows.loc["heading (median angular error)"]
    # at chance, not above it (the p-value itself is uniform here, below 0.05 for one shuffle in twenty)
    assert heading["score"] > 60 and abs(heading["score"] - heading["chance"]) < 15
    assert (rows.loc[["speed", "yaw", "pitch"], "score"] < 0.05).all()


@pytest.mark.slow
def test_cli_trains_dorsalnet_and_it_beats_the_untrained_network(store, tmp_path, shared_data):
    """Measured with this seed (600 clips, 3 epochs): trained 0.66, untrained 0.45, motion energy 0.69."""
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["analyze", "self-motion", str(store), "--out", str(out), "--clips", "600", "--epochs",
                                   "3", "--permutations", "20", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    enc = pd.read_csv(out / "encoding.csv").set_index("model")
    assert enc.loc["dorsalnet", "median r"] > enc.loc["dorsalnet (untrained)", "median r"]
    assert enc.loc["dorsalnet (untrained)", "p (Wilcoxon)"] < 0.05
    assert (out / "self_motion.png").is_file() and (out / "dorsalnet" / "dorsalnet.pt").is_file()
    # a trained checkpoint is reused: no training the second time; the published DorsalNet joins the comparison
    published = shared_data / "dorsalnet_mineault2021" / "dorsalnet.pt"
    again = CliRunner().invoke(app, ["analyze", "self-motion", str(store), "--out", str(tmp_path / "again"), "--dorsalnet",
                                     str(out / "dorsalnet" / "dorsalnet.pt"), "--published", str(published),
                                     "--permutations", "20", "--bootstrap", "200"])
    assert again.exit_code == 0, again.output
    assert not (tmp_path / "again" / "dorsalnet").exists()
    enc = pd.read_csv(tmp_path / "again" / "encoding.csv").set_index("model")
    assert np.isfinite(enc.loc["dorsalnet (published)", "median r"])
    assert enc.loc["dorsalnet (published)", "layer"] in [f"dorsalnet_mineault.{b}" for b in ("s1", "res0", "res1", "res2", "res3")]


def test_a_store_without_self_motion_is_refused(tmp_path):
    path = data.save(simulate_v1(n_train=40, n_test=5, n_simple=2, n_complex=0, size=12), tmp_path / "v1.zarr")
    res = CliRunner().invoke(app, ["analyze", "self-motion", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "heading_azimuth" in res.output and "--population self-motion" in " ".join(res.output.split())
