"""The contract every registered reader keeps, checked over all of them.

- Its documented options are its options (``cortexkit list formats`` tells the truth), and every one
  of them is exercised here on a source in the reader's format.
- Each option set reads into a dataset that follows the data model; converted, ``data info``
  describes its units, stimuli, splits and repeats.
- A missing source, an unknown option, a value of the wrong type and a corrupt file each fail with
  one error naming the file or the option.

A new reader fails :func:`test_every_reader_has_a_source_here` until it gets a source below.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.data.readers import READERS, get_reader
from cortexkit.errors import ConfigError, CortexkitError, DataError
from cortexkit.pipelines.dataset_summary import describe_dataset


def _allen_boc_ns118(tmp, shared):
    return shared / "allen_boc_ns118_31px", [{}]


def _allen_nwb(tmp, shared):
    from .test_allen_nwb import N_SCENES, make_session

    make_session(tmp / "s.nwb")
    np.save(tmp / "scenes.npy", (np.arange(N_SCENES)[:, None, None] * 40 + np.zeros((1, 20, 30))).astype(np.uint8))
    images = str(tmp / "scenes.npy")
    return tmp / "s.nwb", [
        {"images": images, "image_size": 8, "test_fraction": 0.34, "seed": 1},
        {"images": images, "areas": "VISp", "quality": "all", "qc": "none", "latency": 0.01, "window": 0.2, "time_bin": 0.05,
         "image_size": 8},
    ]


def _brainscore(tmp, shared):
    from .test_brainscore import make_assembly

    make_assembly(tmp)
    return tmp / "assy_dicarlo_MajajHong2015_public.nc", [
        {"region": "IT", "time_window": "70,170", "image_size": 8, "test_fraction": 0.25, "seed": 2},
        {"stimuli": str(tmp / "image_dicarlo_hvm-public.csv"), "images": str(tmp / "image_dicarlo_hvm-public.zip"),
         "keep_time": True, "image_size": 8},
    ]


def _cowley2023(tmp, shared):
    from .test_cowley2023 import _write_session

    _write_session(tmp, "210322", n_images=10)
    return tmp, [{"session": "210322", "image_size": 16, "test_fraction": 0.3, "seed": 1},
                 {"image_size": 16, "repeats": "average", "split": "halves"}]


def _gold_mt(tmp, shared):
    return shared / "gold_mt_dots" / "HW5_data.mat", [
        {"cell": 1, "experiment": "tuning", "stimulus_per": "condition", "measure": "count", "size": 8, "field_deg": 4.0,
         "speed": 3.0, "frame_rate": 5, "test_fraction": 0.25, "seed": 1},
    ]


def _goris2015(tmp, shared):
    return shared / "goris2015_v1v2", [
        {"unit": "m625r62", "size": 8, "frame_rate": 5, "duration": 0.4, "time_bin": 0.1, "test_fraction": 0.25, "seed": 1},
    ]


def _nsd(tmp, shared):
    from .test_nsd import VOL, make_nsd

    root, *_ = make_nsd(tmp / "nsd", n_sessions=1)
    mask = np.zeros(VOL, bool)
    mask[0] = True
    np.save(tmp / "mask.npy", mask)
    labels = np.zeros(VOL, np.int16)
    labels[0, :2] = 1
    labels[0, 2:] = 2
    np.save(tmp / "rois.npy", labels)
    pd.DataFrame({"nsdId": np.arange(40), "cocoId": 500 + np.arange(40), "cocoSplit": "val2017"}).to_csv(
        root / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv")
    (tmp / "coco").mkdir()
    (tmp / "coco" / "captions_val2017.json").write_text(json.dumps(
        {"annotations": [{"image_id": 500 + i, "caption": f"picture {i}"} for i in range(40)]}))
    return root, [
        {"subject": 1, "sessions": "1", "space": "func1pt8mm", "betas": "betas_fithrf_GLMdenoise_RR", "mask": str(tmp / "mask.npy"),
         "rois": str(tmp / "rois.npy"), "roi_names": "1=V1,2=V2", "image_size": 8, "zscore": False, "captions": str(tmp / "coco")},
    ]


def _nwb(tmp, shared):
    from .test_nwb import write_session

    write_session(tmp / "s.nwb")
    return tmp / "s.nwb", [
        {"intervals": "stimulus_presentations", "stimulus": "image_index", "images": "natural_images", "image_size": 6,
         "window": "0,0.25", "time_bin": 0.05, "responses": "units", "test_fraction": 0.4, "seed": 3},
        {"intervals": "epochs", "tile": 1.0},
    ]


def _sensorium2023(tmp, shared):
    from .test_sensorium2023 import make_mouse

    make_mouse(tmp / "mouse", ["train", "train", "oracle", "oracle", "none", "live_test_main"], [20, 18, 16, 16, 20, 20],
               repeat_of={3: 2})
    return tmp / "mouse", [{"frames": 12, "size": 3, "max_trials": 4},
                           {"tiers": "train=train,oracle=test,live_test_main=test"}]


def _stsbench(tmp, shared):
    from .test_stsbench import make_stsbench

    root, _ = make_stsbench(tmp)
    return root, [{"frames": 3, "frame_rate": 15, "size": 8, "crop": "0,0,200,200", "grayscale": True}]


def _tvsd(tmp, shared):
    from .test_stsbench import _tvsd_release

    _tvsd_release(tmp)
    return tmp, [{"frames": 1, "frame_rate": 30, "size": 8, "crop": "none", "grayscale": True}]


SOURCES = {name[1:]: fn for name, fn in globals().items() if name.startswith("_") and callable(fn) and name[1:] in READERS}
NAMES = sorted(READERS)


def test_every_reader_has_a_source_here():
    assert sorted(SOURCES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_documented_options_are_the_options_and_all_exercised(name, tmp_path, shared_data):
    reader = get_reader(name)
    assert sorted(reader.options) == sorted(reader.schema.model_fields), "documented options differ from the signature"
    _, option_sets = SOURCES[name](tmp_path, shared_data)
    exercised = set().union(*option_sets)
    assert exercised == set(reader.options), f"options not exercised: {sorted(set(reader.options) - exercised)}"


@pytest.mark.parametrize("name", NAMES)
def test_reads_converts_and_is_described(name, tmp_path, shared_data):
    src, option_sets = SOURCES[name](tmp_path, shared_data)
    reader = get_reader(name)
    for options in option_sets[1:]:
        ds = reader.read(src, **options)
        data.validate(ds, allow_nan_responses=True, check_values=False, source=str(src))
    store = data.convert(src, tmp_path / "out.zarr", name, option_sets[0], allow_overlap=True)
    rows = dict(describe_dataset(store))
    ds = data.open(store)
    assert rows["units"] == str(ds.sizes["unit"]) and rows["trials"] == str(ds.sizes["trial"])
    assert rows["stimuli"].startswith(f"{ds.sizes['stimulus']} ")
    split = ds["split"].values
    assert rows["splits"] == ", ".join(f"{s}: {(split == s).sum()}" for s in data.SPLITS if (split == s).any())
    assert "repeats (train)" in rows and "repeats (test)" in rows


# the file to corrupt where the largest file of a source folder is not one the options read
CORRUPT = {"allen_boc_ns118": "Allen_train_output.npy", "sensorium2023": "data/responses/0.npy", "goris2015": "m625r62_tp.mat"}


def _a_file_of(src, name):
    """A file the reader reads: the source itself, or the largest file in its folder."""
    if src.is_file():
        return src
    if name in CORRUPT:
        return src / CORRUPT[name]
    files = sorted((p for p in src.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    return files[-1]


@pytest.mark.parametrize("name", NAMES)
def test_failures_name_the_file_or_the_option(name, tmp_path, shared_data):
    import shutil

    (tmp_path / "src").mkdir()
    src, option_sets = SOURCES[name](tmp_path / "src", shared_data)
    reader = get_reader(name)
    options = option_sets[0]
    missing = tmp_path / "nowhere" / src.name
    with pytest.raises(DataError, match=str(missing).replace(".", r"\.")):
        data.convert(missing, tmp_path / "a.zarr", name, options)
    with pytest.raises(ConfigError, match=rf"reader '{name}' has no option\(s\) bogus"):
        reader.read(src, bogus=1)
    if reader.options:
        typed = next((k for k, f in reader.schema.model_fields.items() if f.annotation in (int, float, bool, int | None, float | None)), None)
        if typed:
            with pytest.raises(ConfigError, match=rf"reader '{name}': option {typed}: "):
                reader.read(src, **{**options, typed: "not-a-number"})
    # a corrupt copy: the largest file the source holds, cut to a few bytes
    copy = tmp_path / "copy"
    shutil.copytree(src, copy) if src.is_dir() else (copy.mkdir(), shutil.copy(src, copy / src.name))
    target = copy if src.is_dir() else copy / src.name
    victim = _a_file_of(target, name)
    victim.write_bytes(victim.read_bytes()[:16])
    with pytest.raises(CortexkitError) as info:
        data.convert(target, tmp_path / "b.zarr", name, options, allow_overlap=True)
    assert victim.name in str(info.value) or str(target) in str(info.value)
