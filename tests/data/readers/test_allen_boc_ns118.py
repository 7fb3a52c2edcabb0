import shutil

import numpy as np
import pytest

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import DataError

read = get_reader("allen_boc_ns118").read
FILES = ["Allen_train_input.npy", "Allen_train_output.npy", "Allen_test_input.npy", "Allen_test_output.npy",
         "all_input_scenes_118_961.npy"]


def test_real_extract(shared_data):
    root = shared_data / "allen_boc_ns118_31px"
    ds = read(root)
    data.validate(ds, check_values=True)
    assert ds.sizes["stimulus"] == 118 and ds.sizes["unit"] == 212
    assert (ds["split"].values == "train").sum() == 100 and (ds["split"].values == "test").sum() == 18
    scenes = np.load(root / "all_input_scenes_118_961.npy")
    # stimulus labels are rows of the full scene table, and images match them exactly
    np.testing.assert_allclose(ds["stimuli"].values.reshape(118, -1) * 255, scenes[ds["stimulus"].values], atol=1e-3)
    test = data.select(ds, "test")
    np.testing.assert_allclose(data.repeat_average(test).values, np.load(root / "Allen_test_output.npy"), rtol=1e-6)
    assert ds.attrs["modality"] == "calcium"


@pytest.fixture
def copy(shared_data, tmp_path):
    for f in FILES:
        shutil.copy(shared_data / "allen_boc_ns118_31px" / f, tmp_path / f)
    return tmp_path


def test_missing_file(copy):
    (copy / "Allen_test_output.npy").unlink()
    with pytest.raises(DataError, match=r"Allen_test_output.npy: missing \(test responses\)"):
        read(copy)


def test_mismatched_counts(copy):
    np.save(copy / "Allen_train_output.npy", np.zeros((99, 212)))
    with pytest.raises(DataError, match=r"Allen_train_output.npy: expected \(100, n_cells\)"):
        read(copy)


def test_unknown_image(copy):
    x = np.load(copy / "Allen_test_input.npy")
    x[0, 0] = 1234.0
    np.save(copy / "Allen_test_input.npy", x)
    with pytest.raises(DataError, match=r"Allen_test_input.npy: images \[0\] are not in all_input_scenes"):
        read(copy)
