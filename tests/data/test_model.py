import numpy as np
import pytest

from cortexkit import data
from cortexkit.errors import DataError


def _arrays(n_stim=6, n_units=3, repeats=2, seed=0):
    rng = np.random.default_rng(seed)
    stimuli = rng.random((n_stim, 8, 8)).astype(np.float32)
    stimulus_id = np.repeat(np.arange(n_stim), repeats)
    responses = rng.poisson(3, size=(len(stimulus_id), n_units)).astype(np.float32)
    split = ["train"] * (n_stim - 2) + ["test"] * 2
    return stimuli, responses, stimulus_id, split


def test_make_dataset_layout():
    stimuli, responses, ids, split = _arrays()
    ds = data.make_dataset(stimuli, responses, ids, split, unit_coords={"area": ["V1", "V1", "V2"]})
    assert ds["stimuli"].dims == ("stimulus", "y", "x")
    assert ds["responses"].dims == ("trial", "unit")
    assert ds["stimulus_id"].dims == ("trial",)
    assert ds["split"].dims == ("stimulus",)
    assert list(ds["area"].values) == ["V1", "V1", "V2"]
    assert ds.attrs["modality"] == "spikes"
    assert data.stimulus_kind(ds) == "image"


@pytest.mark.parametrize(
    "shape, dims",
    [
        ((4, 8, 8, 3), ("stimulus", "y", "x", "channel")),
        ((4, 5, 8, 8), ("stimulus", "frame", "y", "x")),
        ((4, 5, 8, 8, 3), ("stimulus", "frame", "y", "x", "channel")),
    ],
)
def test_stimulus_dims_inferred(shape, dims):
    stimuli = np.zeros(shape, np.float32)
    ds = data.make_dataset(stimuli, np.ones((4, 2)), [0, 1, 2, 3], ["train", "train", "test", "test"])
    assert ds["stimuli"].dims == dims


def test_explicit_dims_resolve_ambiguity():
    # 3 frames of 8x8 grayscale video would otherwise be read as RGB images of 8x3.
    stimuli = np.zeros((4, 3, 8, 3), np.float32)
    ds = data.make_dataset(stimuli, np.ones((4, 2)), [0, 1, 2, 3], ["train"] * 2 + ["test"] * 2,
                           stimulus_dims=("stimulus", "frame", "y", "x"))
    assert data.stimulus_kind(ds) == "video"


def _valid():
    return data.make_dataset(*_arrays())


def test_validate_accepts_valid():
    ds = _valid()
    assert data.validate(ds) is ds


def test_validate_rejects_nan_responses():
    ds = _valid()
    ds["responses"][0, 0] = np.nan
    with pytest.raises(DataError, match=r"'responses': contains 1 NaN/inf"):
        data.validate(ds)
    data.validate(ds, allow_nan_responses=True)  # allowed on request


def test_validate_rejects_inf_even_when_nan_allowed():
    ds = _valid()
    ds["responses"][0, 0] = np.inf
    with pytest.raises(DataError, match="'responses': contains inf"):
        data.validate(ds, allow_nan_responses=True)


def test_validate_rejects_unknown_stimulus_ids():
    ds = _valid()
    ds["stimulus_id"][0] = 99
    with pytest.raises(DataError, match=r"'stimulus_id': 1 trial\(s\) refer to stimuli that do not exist \(e.g. \[99\]\)"):
        data.validate(ds)


def test_validate_rejects_wrong_dims():
    ds = _valid().rename_dims({"unit": "neuron"})
    with pytest.raises(DataError, match=r"'responses': has dims \('trial', 'neuron'\)"):
        data.validate(ds)


def test_validate_rejects_missing_variable():
    with pytest.raises(DataError, match="'split': missing"):
        data.validate(_valid().drop_vars("split"))


def test_validate_rejects_empty_split():
    ds = _valid()
    ds["split"][:] = "train"
    with pytest.raises(DataError, match="'split': split 'test' holds no stimuli"):
        data.validate(ds)


def test_validate_rejects_split_without_trials():
    stimuli, responses, ids, split = _arrays()
    keep = ids < 4  # drop the trials of the two test stimuli
    ds = data.make_dataset(stimuli, responses[keep], ids[keep], split, validate_result=False)
    with pytest.raises(DataError, match="split 'test' has stimuli but no trials"):
        data.validate(ds)


def test_validate_rejects_unknown_split_label():
    ds = _valid()
    ds["split"] = ("stimulus", np.array(["training"] + ds["split"].values[1:].tolist()))
    with pytest.raises(DataError, match=r"'split': has values \['training'\]"):
        data.validate(ds)


def test_validate_rejects_out_of_range_stimuli():
    ds = _valid()
    ds["stimuli"][0, 0, 0] = 255.0
    with pytest.raises(DataError, match=r"'stimuli': values span \[.*, 255\]; expected \[0, 1\]"):
        data.validate(ds)


def test_validate_rejects_duplicate_units():
    stimuli, responses, ids, split = _arrays()
    with pytest.raises(DataError, match="'unit': labels are not unique"):
        data.make_dataset(stimuli, responses, ids, split, unit=[1, 1, 2])


def test_time_dim_requires_sampling_rate():
    stimuli, responses, ids, split = _arrays()
    with pytest.raises(DataError, match="'sampling_rate'"):
        data.make_dataset(stimuli, responses[..., None].repeat(4, -1), ids, split)
    ds = data.make_dataset(stimuli, responses[..., None].repeat(4, -1), ids, split, attrs={"sampling_rate": 100.0})
    assert ds["responses"].dims == ("trial", "unit", "time")


def test_length_mismatch_named():
    stimuli, responses, ids, split = _arrays()
    with pytest.raises(DataError, match="'stimulus_id': has length 11, expected 12"):
        data.make_dataset(stimuli, responses, ids[:-1], split)


def test_bad_stimulus_rank():
    with pytest.raises(DataError, match=r"'stimuli': expected 3 to 5 dims"):
        data.make_dataset(np.zeros((4, 8)), np.ones((4, 2)), [0, 1, 2, 3], ["train"] * 2 + ["test"] * 2)


def test_validate_rejects_non_dataset():
    with pytest.raises(DataError, match="expected an xarray.Dataset, got ndarray"):
        data.validate(np.zeros(3))


def test_bad_modality():
    ds = _valid()
    ds.attrs["modality"] = "ephys"
    with pytest.raises(DataError, match="'modality': is 'ephys'"):
        data.validate(ds)
