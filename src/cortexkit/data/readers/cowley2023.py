"""Cowley et al. (2023) macaque V4: spike counts to 112 x 112 natural and synthetic images.

Layout (``cowleygroup/V4_compact_models``, folder ``data_V4_responses``)::

    images/images_<session>.zip                       image0001.jpg ... (1-based; image i <-> column i)
    responses_repeat_averaged/responses_<session>.npy float (n_neurons, n_images), 100 ms spike counts
    responses_raw/responses_<session>.npy             float (n_neurons, n_images, n_repeats), NaN-padded

With raw repeats each repeat becomes a trial (so noise ceilings can be computed); otherwise each
image has one trial holding the repeat average (``attrs["repeat_averaged"] = 1``). The source has no
train/test split: a seeded one is drawn (``test_fraction``, ``seed``; copies of an image stay on one
side), or ``split=halves`` takes the paper's: the first half of the images (file order) to fit, the
second half to test, as the published compact models were fitted and scored (Cowley et al. 2023).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cortexkit.data.model import make_dataset
from cortexkit.data.overlap import duplicate_groups
from cortexkit.data.readers._common import choose, load_npy, random_split, read_zip_images
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError
from cortexkit.image import resize

# Animal of each session (upstream readme's data table).
_SESSIONS_BY_ANIMAL = {
    "WE": "190923 190924 190925 190926 190927 190928 190929",
    "PE": "201016 201017 201018 201019 201020 201021 201022 201023 201024 201025 210224 210225 210226 "
          "210301 210302 210303 210304 210305 210308 210309 210310 210312 210315 210316 210322 210323 "
          "210324 210325 210326",
    "RA": "210620 210621 211008 211012 211013 211014 211015 211018 211022 211025 211026 211027 211028 211103",
}
ANIMALS = {session: animal for animal, ids in _SESSIONS_BY_ANIMAL.items() for session in ids.split()}
CITATION = "Cowley, Stan, Pillow & Smith (2023) Compact deep neural network models of visual cortex. bioRxiv."


def sessions(path: str | Path) -> list[str]:
    """Sessions present in a Cowley et al. folder (those with repeat-averaged responses)."""
    folder = Path(path) / "responses_repeat_averaged"
    return sorted(p.stem.removeprefix("responses_") for p in folder.glob("responses_*.npy"))


@register(
    "cowley2023",
    summary="macaque V4 (Cowley et al. 2023): image zips + repeat-averaged / raw-repeat .npy per session",
    example="cortexkit data convert ../shared/data/cowley2023_v4 v4_210325.zarr --format cowley2023 --option session=210325",
    options={
        "session": "recording session, e.g. 210325 (required when the folder has several)",
        "image_size": "resize images to this many pixels (default: native 112)",
        "test_fraction": "fraction of images held out for testing (default 0.2)",
        "seed": "seed of the train/test split (default 0)",
        "repeats": "'raw' (single repeats when available, default) or 'average'",
        "split": "'seeded' (default: test_fraction of the images at random, copies kept together) or 'halves' "
                 "(the paper's: first half of the images fits, second half tests)",
    },
)
def read_cowley2023(
    path,
    *,
    session: str | int | None = None,
    image_size: int | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    repeats: str = "raw",
    split: str = "seeded",
):
    """Read one Cowley et al. (2023) V4 session: image zips as stimuli, raw repeats as trials, a seeded
    split (or the paper's halves)."""
    path = Path(path)
    session = choose(sessions(path), session, "session", path, "no responses_repeat_averaged/responses_<session>.npy files")
    if repeats not in ("raw", "average"):
        raise ConfigError(f"repeats must be 'raw' or 'average', got {repeats!r}")
    if split not in ("seeded", "halves"):
        raise ConfigError(f"split must be 'seeded' or 'halves', got {split!r}")

    avg_file = path / "responses_repeat_averaged" / f"responses_{session}.npy"
    avg = load_npy(avg_file, "repeat-averaged responses")
    if avg.ndim != 2:
        raise DataError(f"expected (n_neurons, n_images), got shape {avg.shape}", source=str(avg_file), variable="responses")
    n_units, n_images = avg.shape
    zip_file = path / "images" / f"images_{session}.zip"
    names, images = read_zip_images(zip_file)
    if len(names) != n_images:
        raise DataError(
            f"holds {len(names)} images but {avg_file.name} has responses to {n_images}", source=str(zip_file)
        )
    labels = [Path(n).stem for n in names]
    expected = [f"image{i:04d}" for i in range(1, n_images + 1)]
    if labels != expected:
        raise DataError("image names are not image0001.jpg ... in order", source=str(zip_file))
    if image_size:
        images = resize(images, int(image_size))

    raw_file = path / "responses_raw" / f"responses_{session}.npy"
    use_raw = repeats == "raw" and raw_file.exists()
    if use_raw:
        raw = load_npy(raw_file, "single-repeat responses")
        if raw.ndim != 3 or raw.shape[:2] != avg.shape:
            raise DataError(
                f"expected (n_neurons, n_images, n_repeats) = ({n_units}, {n_images}, ...), got {raw.shape}",
                source=str(raw_file), variable="responses",
            )
        shown = np.isfinite(raw).any(axis=0)  # (image, repeat): the repeat happened
        img_idx, rep_idx = np.nonzero(shown)
        responses = raw[:, img_idx, rep_idx].T
        stimulus_id = np.asarray(labels)[img_idx]
    else:
        responses = avg.T
        stimulus_id = np.asarray(labels)

    animal = ANIMALS.get(session, "unknown")
    if split == "halves":  # the paper's: file order, first half fits, second half tests (as published)
        sides = np.where(np.arange(n_images) < n_images // 2, "train", "test")
    else:  # copies of one image (sessions show some images twice, or nearly so) stay on one side of the split
        sides = random_split(n_images, test_fraction, seed, groups=duplicate_groups(images))
    return make_dataset(
        images,
        responses,
        stimulus_id,
        sides,
        stimulus=labels,
        unit=[f"{session}_{k:03d}" for k in range(n_units)],
        unit_coords={"area": ["V4"] * n_units, "session": [session] * n_units, "animal": [animal] * n_units},
        attrs={
            "modality": "spikes",
            "source": f"cowley2023 session {session}",
            "license": "GPL-3.0 (upstream repository)",
            "citation": CITATION,
            "response_window": "spike counts in 100 ms",
            "repeat_averaged": int(not use_raw),
            **({"split_seed": seed} if split == "seeded" else {"split": "first half of the images fits, second half tests (Cowley et al. 2023)"}),
        },
        validate_result=False,
    )
