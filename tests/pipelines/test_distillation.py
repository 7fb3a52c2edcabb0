"""Distillation: a teacher's labels on extra images teach a student that has few recorded responses.

The latent recordings of the transfer tests: a new recording with 40 training images, a teacher that
reads it through the other recordings (the population embedding), and a pixel-ridge student; with the
teacher's labels on 600 more images the student learns what its own 40 images could not."""

import numpy as np
import pytest

from cortexkit import data
from cortexkit.errors import DataError
from cortexkit.pipelines import EncodingConfig, FeatureSpec, distilled_store, fit_run, response_model, run_distillation

from ..encoding.test_transfer import _recording

QUIET = dict(log=lambda m: None)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    source = data.save(_recording(500, 50, 12, seed=21), root / "source.zarr")
    extra = data.save(_recording(600, 10, 3, seed=22), root / "extra.zarr")  # its images only are used
    new = data.load(data.save(_recording(40, 200, 8, seed=23), root / "new.zarr"))
    # one extra image is a copy of a test image of the new recording: the teacher must not label it
    ex = data.load(extra)
    pixels = ex["stimuli"].values.copy()
    pixels[5] = new["stimuli"].values[100]
    extra = data.save(ex.assign(stimuli=(ex["stimuli"].dims, pixels)), root / "extra2.zarr")
    store = root / "new.zarr"
    config = EncodingConfig(features=[FeatureSpec(name="population", params={"recordings": [str(source)],
                                                                              "features": ["pixels"], "cv": 3})],
                            permutations=0)
    fit_run(store, root / "teacher", config, **QUIET)
    return root, store, extra


def test_the_distilled_store_adds_teacher_labels_to_the_training_split(setup, tmp_path):
    root, store, extra = setup
    teacher = response_model(root / "teacher", "population")
    out = data.load(distilled_store(teacher, store, tmp_path / "d.zarr", images=[str(extra)], crops=5, log=lambda m: None))
    ds = data.load(store)
    labels = np.asarray(out["labels"].values)
    assert (labels == "teacher").sum() == 610 - 1 + 5 and (labels == "recorded").sum() == ds.sizes["stimulus"]
    split = np.asarray(out["split"].values)
    assert (split[labels == "teacher"] == "train").all()
    np.testing.assert_array_equal(split[labels == "recorded"], ds["split"].values)  # the test split untouched
    teacher_rows = np.flatnonzero(labels == "teacher")
    np.testing.assert_allclose(out["responses"].values[-len(teacher_rows):],
                               teacher.predict(out["stimuli"].values[teacher_rows]), rtol=1e-5, atol=1e-5)
    with pytest.raises(DataError, match="a teacher is a model of this recording's units"):
        distilled_store(teacher, extra, tmp_path / "bad.zarr", images=[str(store)], log=lambda m: None)


def test_the_student_learns_from_the_teacher(setup, tmp_path):
    root, store, extra = setup
    table = run_distillation(store, f"{root / 'teacher'}:population", tmp_path / "out", features=[FeatureSpec(name="pixels")],
                             images=[str(extra)], **QUIET).set_index("model")
    r = table["median r"]
    alone, taught = r["pixels on recorded responses"], r["pixels on recorded + teacher labels"]
    assert taught > alone + 0.2, table
    assert (tmp_path / "out" / "distillation.md").is_file()
