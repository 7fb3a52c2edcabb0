"""Experiment design: the stimuli of a pool a model ensemble disagrees on most (or that drive
chosen units most), written as a set ready to present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit._atomic import atomic_path, check_output, claim_output
from cortexkit.errors import DataError
from cortexkit.evaluation import write_table
from cortexkit.insilico import (
    ResponseModel,
    design_experiment,
)
from cortexkit.pipelines.insilico.models import check_comparable, ensemble
from cortexkit.pipelines.insilico.synthesis import write_stimulus_image


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def load_pool(path: str | os.PathLike, model: ResponseModel) -> tuple[np.ndarray, np.ndarray]:
    """Candidate stimuli for experiment design, as ``model`` takes them, and their labels.

    ``path`` is a cortexkit store (its stimuli, labelled by stimulus id) or a folder of image files
    (labelled by file name), each converted to the model's frames: alpha dropped, grey or RGB as the
    model takes, centre-cropped to its aspect ratio and resized (antialiased).
    """
    from cortexkit.data.readers._common import to_unit_range
    from cortexkit.image import resize, to_grayscale

    path = Path(path)
    if not path.exists():
        raise DataError("no such pool (a store or a folder of images)", source=str(path))
    if not path.is_dir() or path.suffix == ".zarr":
        ds = data.open(path)
        stimuli = np.asarray(ds["stimuli"].values, np.float32)
        if stimuli.shape[1:] != model.image_shape:
            raise DataError(f"pool stimuli have shape {stimuli.shape[1:]}; the model takes {model.image_shape}",
                            source=str(path), variable="stimuli")
        return stimuli, np.asarray(ds["stimulus"].values).astype(str)
    if model.video:
        raise DataError("a video model needs a store of movies as its pool, not a folder of images", source=str(path))
    import imageio.v3 as iio

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"holds no images ({', '.join(IMAGE_SUFFIXES)})", source=str(path))
    height, width = model.frame_shape[:2]
    color = len(model.frame_shape) == 3 and model.frame_shape[-1] == 3
    images = []
    for f in files:
        try:
            img = to_unit_range(np.asarray(iio.imread(f)))
        except Exception as exc:
            raise DataError(f"cannot decode the image ({type(exc).__name__}: {exc})", source=str(f)) from None
        if img.ndim == 3:
            img = img[..., :3] if img.shape[-1] >= 3 else img[..., :1]
        if not color:
            img = to_grayscale(img[None], gray_ndim=3)[0] if img.ndim == 3 else img
        elif img.ndim == 2 or img.shape[-1] == 1:
            img = np.repeat(img.reshape(img.shape[:2] + (1,)), 3, axis=-1)
        h, w = img.shape[:2]
        crop_h, crop_w = min(h, int(round(w * height / width))), min(w, int(round(h * width / height)))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        images.append(resize(img[None, top:top + crop_h, left:left + crop_w], (height, width))[0])
    stimuli = np.stack(images)
    if len(model.frame_shape) == 3 and model.frame_shape[-1] == 1:
        stimuli = stimuli[..., None]
    return stimuli, np.array([f.name for f in files])


def design(runs, pool: str | os.PathLike, out: str | os.PathLike, n: int, *, objective: str = "disagreement",
           units=None, max_similarity: float = 0.95, device: str = "cpu", log=print) -> pd.DataFrame:
    """The ``n`` stimuli of ``pool`` to show next (:func:`cortexkit.insilico.design_experiment`) for the
    ensemble of ``runs`` (``RUN`` or ``RUN:MODEL`` each, see :func:`ensemble`), written as a set ready
    to present: ``OUT/png/NNN_LABEL.png`` (or ``.gif``) in presentation order and ``OUT/stimuli.csv``
    (rank, file, source label, score, both objectives, predicted responses); ``OUT/design.json`` keeps
    the settings."""
    out = check_output(out)
    models = ensemble(runs, device)
    check_comparable(models, "insilico design")
    stimuli, labels = load_pool(pool, models[0])
    claim_output(out)
    log(f"{len(models)} model(s): {', '.join(m.describe() for m in models)}; {len(stimuli)} candidate stimuli")
    table = design_experiment(models, stimuli, n, objective=objective, units=units, max_similarity=max_similarity)
    files = []
    for rank, i in zip(table["rank"], table["index"]):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(labels[i]).stem)
        files.append(write_stimulus_image(stimuli[i], out / "png" / f"{rank:03d}_{safe}", models[0].video).name)
    table.insert(1, "file", files)
    table.insert(2, "source", labels[table["index"].to_numpy()])
    write_table(table, out / "stimuli.csv")
    settings = {"runs": [str(r) for r in runs], "pool": str(pool), "n": n, "objective": objective,
                "units": None if units is None else [str(u) for u in units], "max_similarity": max_similarity,
                "models": [m.describe() for m in models]}
    with atomic_path(out / "design.json") as tmp:
        tmp.write_text(json.dumps(settings, indent=2))
    return table
