import numpy as np
import pytest

from cortexkit import data
from cortexkit.errors import DataError


@pytest.fixture
def ds():
    # 4 stimuli labelled by strings; test stimuli c (3 repeats) and d (2 repeats), trials shuffled.
    stimuli = np.linspace(0, 1, 4 * 4 * 4, dtype=np.float32).reshape(4, 4, 4)
    ids = np.array(["c", "a", "d", "c", "b", "d", "c"])
    responses = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50], [6, 60], [7, 70]], np.float32)
    return data.make_dataset(stimuli, responses, ids, ["train", "train", "test", "test"], stimulus=["a", "b", "c", "d"])


def test_select_keeps_matching_trials(ds):
    test = data.select(ds, "test")
    assert list(test["stimulus"].values) == ["c", "d"]
    assert sorted(test["stimulus_id"].values.tolist()) == ["c", "c", "c", "d", "d"]
    both = data.select(ds, ["train", "test"])
    assert both.sizes["trial"] == 7


def test_select_unknown_split(ds):
    with pytest.raises(DataError, match="unknown split 'validation'"):
        data.select(ds, "validation")
    with pytest.raises(DataError, match=r"no stimuli in split \['val'\]"):
        data.select(ds, "val")


def test_repeat_average(ds):
    avg = data.repeat_average(ds)
    assert avg.dims == ("stimulus", "unit")
    np.testing.assert_allclose(avg.sel(stimulus="c").values, [(1 + 4 + 7) / 3, (10 + 40 + 70) / 3])
    np.testing.assert_allclose(avg.sel(stimulus="d").values, [4.5, 45])
    np.testing.assert_allclose(avg.sel(stimulus="a").values, [2, 20])


def test_repeat_average_ignores_nan(ds):
    ds["responses"][0, 0] = np.nan  # one trial of "c", unit 0
    np.testing.assert_allclose(data.repeat_average(ds).sel(stimulus="c").values, [5.5, 40])


def test_repeats_stack_in_trial_order(ds):
    rep = data.repeats(ds)
    assert rep.dims == ("stimulus", "repeat", "unit")
    assert list(rep["stimulus"].values) == ["c", "d"]  # a and b have one trial each
    np.testing.assert_array_equal(rep.sel(stimulus="c").values[:, 0], [1, 4, 7])
    np.testing.assert_array_equal(rep.sel(stimulus="d").values[:, 0], [3, 6, np.nan])


def test_repeats_needs_repeats(ds):
    with pytest.raises(DataError, match="no stimulus has 4 or more trials"):
        data.repeats(ds, min_repeats=4)


def test_repeat_counts(ds):
    assert data.repeat_counts(ds).values.tolist() == [1, 1, 3, 2]


def test_require_recorded_refuses_a_split_with_only_nan(ds):
    data.require_recorded(ds)  # responses everywhere: fine
    part = ds.copy(deep=True)
    part["responses"].values[np.isin(part["stimulus_id"].values, ["c", "d"])] = np.nan  # the test stimuli
    data.require_recorded(part, splits=("train",))  # the train split still has responses
    with pytest.raises(DataError, match=r"s.zarr: 'responses': every response of the test split is NaN \(not recorded\): "
                                        r"there is nothing to score"):
        data.require_recorded(part, "s.zarr")
