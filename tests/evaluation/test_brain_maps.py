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
