"""Scores written back into the voxel grid of an fMRI store: each NIfTI map holds, at each voxel's
index, that voxel's row of results.csv (NaN elsewhere), in the grid and affine of the source."""

import numpy as np
import pandas as pd
import pytest

nibabel = pytest.importorskip("nibabel")

from cortexkit import data  # noqa: E402
from cortexkit.pipelines.ridge import fit_run  # noqa: E402
from cortexkit.pipelines.ridge.config import EncodingConfig  # noqa: E402
from cortexkit.pipelines.ridge.evaluate import evaluate_run  # noqa: E402

from ..data.readers.test_nsd import VOL, make_nsd  # noqa: E402


def test_nifti_maps_match_results_voxel_for_voxel(tmp_path):
    root, *_ = make_nsd(tmp_path / "nsd", n_sessions=2)
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    affine[:3, 3] = [-10.0, 20.0, 5.0]
    mask = np.zeros(VOL, np.int16)  # HDF5 axis order; the NIfTI file stores it transposed
    mask[1:, :3, 1:4] = 1
    nibabel.save(nibabel.Nifti1Image(mask.T.astype(np.float32), affine), str(tmp_path / "nsdgeneral.nii.gz"))
    store = data.convert(root, tmp_path / "nsd.zarr", "nsd", {"mask": str(tmp_path / "nsdgeneral.nii.gz"), "image_size": 8})
    ds = data.load(store)
    assert ds.attrs["volume_shape"] == list(VOL)
    np.testing.assert_allclose(ds.attrs["affine"], affine)
    fit_run(store, tmp_path / "run", EncodingConfig(features=[{"name": "pixels"}], permutations=100), log=lambda *_: None)
    evaluate_run(tmp_path / "run", log=lambda *_: None)
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    for metric in ("pearson", "normalized", "p", "q"):
        image = nibabel.load(str(tmp_path / "run" / "maps" / f"pixels.{metric}.nii.gz"))
        np.testing.assert_allclose(image.affine, affine)
        volume = np.asarray(image.dataobj)
        assert volume.shape == VOL[::-1]
        index = (ds["voxel_axis2"].values, ds["voxel_axis1"].values, ds["voxel_axis0"].values)  # NIfTI (i, j, k)
        np.testing.assert_allclose(volume[index], results[metric].to_numpy(np.float32), equal_nan=True)
        outside = np.ones(VOL[::-1], bool)
        outside[index] = False
        assert np.isnan(volume[outside]).all() and (mask.T[outside] == 0).all()
    assert np.isfinite(results["p"]).all() and results["p"].min() >= 1 / 101



@pytest.fixture(scope="module")
def nsd_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    root, *_ = make_nsd(tmp / "nsd", n_sessions=1)
    return data.convert(root, tmp / "nsd.zarr", "nsd", {"image_size": 8})


@pytest.mark.parametrize("change, message", [
    (lambda ds: ds["voxel_axis0"].values.__setitem__(0, 99), r"'voxel_axis0': holds 1 index\(es\) outside the volume's"),
    (lambda ds: ds["voxel_axis0"].values.__setitem__(0, 0.5), r"'voxel_axis0': holds indices that are not whole numbers"),
    (lambda ds: [ds[f"voxel_axis{i}"].values.__setitem__(1, ds[f"voxel_axis{i}"].values[0]) for i in range(3)],
     r"'voxel_axis0': 1 voxel\(s\) hold two or more units \(e.g. units \[.*\] at index"),
    (lambda ds: ds.attrs.__setitem__("affine", [[float("nan")] * 4] * 4), r"'affine': holds NaN or inf"),
    (lambda ds: ds.attrs.__setitem__("affine", np.zeros((4, 4)).tolist()), r"'affine': is singular"),
    (lambda ds: ds.attrs.__setitem__("affine", np.eye(3).tolist()), r"'affine': has shape \(3, 3\); expected 4 x 4"),
    (lambda ds: ds.attrs.__setitem__("volume_shape", [4, 0, 2]), r"'volume_shape': is \[4, 0, 2\]; expected positive"),
], ids=["outside", "fractional", "twice", "affine-nan", "singular", "affine-3x3", "volume-0"])
def test_a_voxel_grid_no_map_can_hold_is_refused_when_written_or_opened(nsd_store, tmp_path, change, message):
    from cortexkit.errors import DataError

    ds = data.load(nsd_store).load()
    ds = ds.assign_coords({f"voxel_axis{i}": ds[f"voxel_axis{i}"].astype(float) for i in range(3)})
    change(ds)
    with pytest.raises(DataError, match=message):  # written: refused before anything is on disk
        data.save(ds, tmp_path / "bad.zarr")
    assert not (tmp_path / "bad.zarr").exists()
    data.save(ds, tmp_path / "bad.zarr", validate_first=False)  # written by other code: refused when opened
    with pytest.raises(DataError, match="bad.zarr: " + message):
        data.load(tmp_path / "bad.zarr")
