"""Dorsal vs ventral on the same movies: the simulation's double dissociation comes out of
`run_streams` with McNemar p < 0.01, motion-energy (3-D) features predict the dorsal units and
frame-averaged Gabor (2-D) features do not."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.errors import DataError
from cortexkit.pipelines.reconstruction import ReconstructionConfig
from cortexkit.pipelines.ridge import FeatureSpec
from cortexkit.pipelines.streams import double_dissociation, mcnemar, run_streams
from cortexkit.simulate import simulate_streams

SMALL = dict(n_objects=4, n_directions=4, speeds=[1.0, 2.0], n_starts=1, n_repeats=4, n_dorsal=24, n_ventral=24,
             size=24, n_frames=10)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("streams")
    data.save(simulate_streams(**SMALL), tmp / "s.zarr")
    specs = [FeatureSpec(name="gabor"), FeatureSpec(name="motion_energy")]
    recon = ReconstructionConfig(decoders=[{"name": "pca"}], image_size=16, n_permutations=10)
    return run_streams(tmp / "s.zarr", tmp / "out", features=specs, n_permutations=20, reconstruction=recon,
                       log=lambda m: None), tmp


def test_movies_and_labels():
    ds = simulate_streams(**SMALL)
    data.validate(ds)
    assert ds.sizes["stimulus"] == 4 * 4 * 2 and set(ds["area"].values) == {"dorsal", "ventral"}
    assert sorted(np.unique(ds["motion_direction"].values)) == [0, 90, 180, 270]
    # an upward-moving object (90 deg) moves towards row 0
    up = ds["stimuli"].values[int(np.flatnonzero((ds["motion_direction"].values == 90) & (ds["motion_speed"].values == 2))[0])]
    rows = [np.average(np.arange(24), weights=np.abs(f - 0.5).sum(1) + 1e-9) for f in up]
    assert rows[-1] < rows[0] - 4


@pytest.mark.slow  # its training takes over 20 s on 2 cores; CI runs it
def test_double_dissociation(result):
    res, tmp = result
    dec = res["decoding"].set_index(["parameter", "area"])
    assert dec.loc[("motion_direction", "dorsal"), "accuracy"] > 0.9
    assert dec.loc[("motion_direction", "ventral"), "accuracy"] < 0.5
    assert dec.loc[("object", "ventral"), "accuracy"] > dec.loc[("object", "dorsal"), "accuracy"]
    d = res["dissociation"]
    assert d is not None and d["dorsal"] in ("motion_direction", "motion_speed") and d["ventral"] == "object"
    assert d["p"] < 0.01
    enc = res["encoding"].set_index(["area", "model"])["pearson"]
    assert enc[("dorsal", "motion_energy")] > enc[("dorsal", "gabor")] + 0.3
    assert (tmp / "out" / "comparisons.csv").is_file() and (tmp / "out" / "similarity.csv").is_file()
    sim = res["similarity"]
    assert list(sim.index[:2]) == ["dorsal", "ventral"] and np.allclose(np.diag(sim.values), 1)


@pytest.mark.slow  # its training takes over 20 s on 2 cores; CI runs it
def test_reconstruction_from_each_region_alone(result):
    res, tmp = result
    table = res["reconstruction"]
    assert list(table[table["kind"] == "decoder"]["area"]) == ["dorsal", "ventral"]
    assert (tmp / "out" / "reconstruction.csv").is_file()
    for area, n in (("dorsal", SMALL["n_dorsal"]), ("ventral", SMALL["n_ventral"])):
        region = data.load(tmp / "out" / "regions" / f"{area}.zarr")
        assert region.sizes["unit"] == n and set(region["area"].values) == {area}
        assert (tmp / "out" / "reconstruction" / area / "reconstructions" / "pca.npz").is_file()
    # the paired per-stimulus test summarises the same 2-way scores as the table
    c = res["reconstruction_comparisons"].iloc[0]
    assert (c["method"], c["area_a"], c["area_b"]) == ("pca", "dorsal", "ventral")
    decoded = table[table["kind"] == "decoder"].set_index("area")[f"2way_{c['space']}"]
    assert c["a"] == pytest.approx(decoded["dorsal"]) and c["b"] == pytest.approx(decoded["ventral"])
    assert c["ci_low"] <= c["difference"] <= c["ci_high"]


def test_mcnemar_matches_the_binomial_and_dissociation_logic():
    a = np.array([True] * 10 + [False] * 2 + [True] * 5)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5)
    a_only, b_only, p = mcnemar(a, b)
    assert (a_only, b_only) == (10, 2)
    np.testing.assert_allclose(p, 2 * sum(__import__("math").comb(12, k) for k in range(0, 3)) / 2**12)
    table = pd.DataFrame([
        {"parameter": "direction", "area_a": "d", "area_b": "v", "p_mcnemar": 1e-5, "better": "d"},
        {"parameter": "object", "area_a": "d", "area_b": "v", "p_mcnemar": 0.02, "better": "v"},
    ])
    assert double_dissociation(table, 0.01) is None
    assert double_dissociation(table, 0.05) == {"p": 0.02, "d": "direction", "v": "object"}


def test_one_region_is_an_error(tmp_path):
    ds = simulate_streams(**SMALL)
    data.save(ds.isel(unit=ds["area"].values == "dorsal"), tmp_path / "d.zarr")
    with pytest.raises(DataError, match="needs units of two or more regions"):
        run_streams(tmp_path / "d.zarr", tmp_path / "out", log=lambda m: None)


def test_store_without_parameters_skips_decoding(tmp_path):
    """A merged real-data store may carry no stimulus parameters: decoding is skipped with a log line,
    encoding and CKA still run."""
    ds = simulate_streams(**SMALL)
    ds = ds.drop_vars([c for c in ("object", "motion_direction", "motion_speed", "start") if c in ds.coords])
    data.save(ds, tmp_path / "s.zarr")
    messages = []
    res = run_streams(tmp_path / "s.zarr", tmp_path / "out", features=[FeatureSpec(name="gabor")], n_permutations=5,
                      similarity="rsa", log=messages.append)
    assert any("no stimulus parameter to decode" in m for m in messages)
    assert res["decoding"].empty and res["dissociation"] is None
    assert set(res["encoding"]["area"]) == {"dorsal", "ventral"} and "dorsal" in res["similarity"].index
    from cortexkit.report import write_streams_report

    assert write_streams_report(res, tmp_path / "out") == tmp_path / "out" / "report.html"
    assert (tmp_path / "out" / "figures" / "streams.png").is_file()
    # RSA: Spearman correlation of the two regions' correlation-distance RDMs
    from scipy.stats import spearmanr

    from cortexkit.metrics.rsa import rdm

    avg = data.repeat_average(ds).values
    d, v = (rdm(avg[:, ds["area"].values == a]) for a in ("dorsal", "ventral"))
    iu = np.triu_indices(len(d), 1)
    assert res["similarity"].loc["dorsal", "ventral"] == pytest.approx(spearmanr(d[iu], v[iu])[0], abs=1e-6)
