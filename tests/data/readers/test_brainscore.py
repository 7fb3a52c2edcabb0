import zipfile

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cortexkit import data, metrics
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError

read = get_reader("brainscore").read


def make_assembly(root, n_images=12, n_reps=4, seed=0, id_name="stimulus_id"):
    """A BrainIO-style assembly (.nc, MultiIndex levels stored as coords) and stimulus set."""
    rng = np.random.default_rng(seed)
    ids = [f"img{i:03d}" for i in range(n_images)]
    signal = rng.standard_normal((n_images, 5)) * 2
    pres_ids = np.repeat(ids, n_reps)
    reps = np.tile(np.arange(n_reps), n_images)
    values = signal[np.repeat(np.arange(n_images), n_reps)][:, :, None] + rng.standard_normal((len(pres_ids), 5, 2))
    values[..., 1] += 10  # second time bin is offset: averaging over bins must include it
    da = xr.DataArray(
        values,
        dims=("presentation", "neuroid", "time_bin"),
        coords={id_name: ("presentation", pres_ids), "repetition": ("presentation", reps),
                "neuroid_id": ("neuroid", [f"Chabo_L_M_{k}" for k in range(5)]),
                "region": ("neuroid", ["V4", "V4", "IT", "IT", "IT"]), "animal": ("neuroid", ["Chabo"] * 5),
                "time_bin_start": ("time_bin", [70, 120]), "time_bin_end": ("time_bin", [120, 170])},
        name="dicarlo.MajajHong2015.public",
    )
    da.to_netcdf(root / "assy_dicarlo_MajajHong2015_public.nc", engine="h5netcdf")
    table = pd.DataFrame({id_name: ids, "image_file_name": [f"{i}.png" for i in ids],
                          "category_name": ["cars", "faces"] * (n_images // 2), "variation": 6})
    table.to_csv(root / "image_dicarlo_hvm-public.csv", index=False)
    with zipfile.ZipFile(root / "image_dicarlo_hvm-public.zip", "w") as zf:
        for k, i in enumerate(ids):
            zf.writestr(f"images/{i}.png", iio.imwrite("<bytes>", np.full((32, 32, 3), 10 * k, np.uint8), extension=".png"))
    return signal, values


def test_assembly_to_data_model(tmp_path):
    signal, values = make_assembly(tmp_path)
    ds = read(tmp_path / "assy_dicarlo_MajajHong2015_public.nc", image_size=16)
    data.validate(ds, check_values=True)
    assert ds.sizes["trial"] == 48 and ds.sizes["unit"] == 5 and ds.sizes["stimulus"] == 12
    np.testing.assert_allclose(ds["responses"].values, values.mean(-1), rtol=1e-6)
    assert list(ds["area"].values) == ["V4", "V4", "IT", "IT", "IT"]
    assert list(ds["unit"].values[:1]) == ["Chabo_L_M_0"]
    np.testing.assert_allclose(ds["stimuli"].sel(stimulus="img003").values, 30 / 255, atol=1e-3)
    assert set(ds["category_name"].values) == {"cars", "faces"}
    rel = metrics.split_half_reliability(data.repeats(ds).values)
    assert np.median(rel) > 0.8  # signal sd 2 vs noise sd ~0.7 after averaging two bins


def test_filters_and_options(tmp_path):
    make_assembly(tmp_path, id_name="image_id")
    nc = tmp_path / "assy_dicarlo_MajajHong2015_public.nc"
    ds = read(nc, region="IT", time_window="70,120", image_size=8)
    assert ds.sizes["unit"] == 3
    assert ds["responses"].values.mean() < 5  # only the first bin (no +10 offset)
    kept = read(nc, keep_time=True, image_size=8)
    assert kept["responses"].dims == ("trial", "unit", "time") and kept.attrs["sampling_rate"] == pytest.approx(20.0)


def test_errors(tmp_path):
    make_assembly(tmp_path)
    nc = tmp_path / "assy_dicarlo_MajajHong2015_public.nc"
    with pytest.raises(DataError, match="no neuroids in region 'V1'"):
        read(nc, region="V1")
    table = pd.read_csv(tmp_path / "image_dicarlo_hvm-public.csv")
    table.iloc[:-1].to_csv(tmp_path / "image_dicarlo_hvm-public.csv", index=False)
    with pytest.raises(DataError, match=r"hvm-public.csv: 'stimulus_id': 1 presented stimulus id\(s\) are not in the stimulus set, e.g. img011"):
        read(nc)
    table.to_csv(tmp_path / "image_dicarlo_hvm-public.csv", index=False)
    with zipfile.ZipFile(tmp_path / "image_dicarlo_hvm-public.zip", "w") as zf:
        zf.writestr("images/img000.png", b"")
    with pytest.raises(DataError, match=r"hvm-public.zip: 11 image\(s\) listed in the stimulus set are missing"):
        read(nc)
    (tmp_path / "other.csv").write_text("x\n1\n")
    with pytest.raises(ConfigError, match="pass the stimulus set"):
        read(nc)
    nc.write_bytes(b"CDF\x01 broken")
    with pytest.raises(DataError, match=r"MajajHong2015_public.nc: cannot read the netCDF assembly"):
        read(nc, stimuli=str(tmp_path / "image_dicarlo_hvm-public.csv"))


def test_brainio_edge_names_time_window_rules_and_citation(tmp_path):
    """BrainIO names bin edges time_bin_start/time_bin_end; time_window without time bins is an error,
    not silently ignored; an assembly without a citation is not credited to MajajHong2015."""
    make_assembly(tmp_path)
    nc = tmp_path / "assy_dicarlo_MajajHong2015_public.nc"
    averaged = xr.load_dataarray(nc, engine="h5netcdf").mean("time_bin")
    averaged.attrs["identifier"] = "lab.Other2024"
    other = tmp_path / "assy_other.nc"
    averaged.to_netcdf(other, engine="h5netcdf")
    with pytest.raises(DataError, match="has no time_bin dim, so time_window does not apply"):
        read(other, stimuli=tmp_path / "image_dicarlo_hvm-public.csv", time_window="70,120", image_size=8)
    ds = read(other, stimuli=tmp_path / "image_dicarlo_hvm-public.csv", image_size=8)
    assert ds.attrs["citation"] == "Brain-Score assembly lab.Other2024"
    renamed = xr.load_dataarray(nc, engine="h5netcdf").rename(time_bin_end="time_bin_stop")
    renamed.to_netcdf(tmp_path / "assy_renamed.nc", engine="h5netcdf")
    with pytest.raises(DataError, match="has no time_bin_end coordinate for time_window"):
        read(tmp_path / "assy_renamed.nc", stimuli=tmp_path / "image_dicarlo_hvm-public.csv", time_window="70,120")


def test_assembly_packaged_like_brainio(tmp_path):
    """The files BrainIO's packaging writes: MultiIndexes reset, a compressed dataset whose variable
    is `data`, a metadata group; stimulus_<id>.csv whose `filename` is the path inside the zip."""
    rng = np.random.default_rng(1)
    ids = [f"s{i}" for i in range(6)]
    pres = np.repeat(ids, 3)
    da = xr.DataArray(
        rng.standard_normal((18, 4, 1)),
        dims=("presentation", "neuroid", "time_bin"),
        coords={"stimulus_id": ("presentation", pres), "repetition": ("presentation", np.tile(np.arange(3), 6)),
                "neuroid_id": ("neuroid", ["n0", "n1", "n2", "n3"]), "region": ("neuroid", ["V4"] * 4),
                "time_bin_start": ("time_bin", [70]), "time_bin_end": ("time_bin", [170])},
    ).set_index(presentation=["stimulus_id", "repetition"], neuroid=["neuroid_id", "region"],
                time_bin=["time_bin_start", "time_bin_end"])
    ds = da.reset_index(list(da.indexes)).to_dataset(name="data")
    nc = tmp_path / "assy_lab_Author2024.nc"
    ds.to_netcdf(nc, engine="h5netcdf", encoding={v: {"zlib": True, "complevel": 1} for v in ds.variables})
    xr.DataArray(np.arange(3.0), dims="event", name="meta").to_netcdf(nc, mode="a", group="extra", engine="h5netcdf")
    table = pd.DataFrame({"stimulus_id": ids, "filename": [f"cat{k % 2}/{i}.png" for k, i in enumerate(ids)],
                          "object_name": ["a", "b"] * 3})
    table.to_csv(tmp_path / "stimulus_lab_Author2024.csv", index=False)
    with zipfile.ZipFile(tmp_path / "stimulus_lab_Author2024.zip", "w") as zf:
        for k, f in enumerate(table["filename"]):
            zf.writestr(f, iio.imwrite("<bytes>", np.full((8, 8, 3), 40 * k, np.uint8), extension=".png"))
        zf.writestr("other/s0.png", b"")  # same base name elsewhere: the csv's path must win
    out = read(nc, image_size=8)
    assert out.sizes["trial"] == 18 and list(out["unit"].values) == ["n0", "n1", "n2", "n3"]
    np.testing.assert_allclose(out["responses"].values, da.values[:, :, 0], rtol=1e-6)
    np.testing.assert_allclose(out["stimuli"].sel(stimulus="s2").values, 80 / 255, atol=1e-3)
    assert list(out["area"].values) == ["V4"] * 4
