"""Most exciting (or least exciting, or diverse) inputs of a fitted run's units, beside their most
exciting recorded images, and how far two models' MEIs agree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit._atomic import atomic_path, check_output, claim_output
from cortexkit.errors import ConfigError
from cortexkit.evaluation import save_arrays, write_table
from cortexkit.insilico import (
    diverse_exciting_inputs,
    mei_agreement,
    most_exciting_inputs,
    top_images,
)
from cortexkit.pipelines.insilico.models import check_comparable, ensemble, load_model


def synthesize(run_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None, units=None,
               top_k: int = 5, diverse: int = 0, threshold: float = 0.9, compare: str | None = None,
               device: str = "cpu", log=print, **settings) -> pd.DataFrame:
    """Most exciting inputs of ``units`` (default all) of a run's model, beside the most exciting
    images of the run's own stimuli, and optionally ``diverse`` dissimilar exciting inputs per unit.

    With ``least=True`` (in ``settings``), the least exciting inputs and images instead.

    Writes into ``OUT``: ``meis.npz`` (images, units, responses, the top images and their indices),
    ``meis.csv`` (per unit: MEI response, best natural image, its response, the ratio) and
    ``png/UNIT.png``, the MEIs as 8-bit images ready to show (``.gif`` for video models). With
    ``diverse``: ``diverse.npz``, ``diverse.csv`` (per image: response, fraction of the MEI's, the
    unit's mean pairwise similarity) and ``png/UNIT_diverse_K.png``. With ``compare`` (``RUN`` or
    ``RUN:MODEL``, a second model of the same units, ideally of another family): its MEIs with the
    same settings, ``compare/png/`` and ``compare.npz``, and ``agreement.csv`` (:func:`cortexkit.insilico.mei_agreement`:
    how strongly each model's MEI drives the other). ``settings`` go to
    :func:`cortexkit.insilico.most_exciting_inputs` (steps, step_size, contrast, blur, jitter, seed).
    """
    run_dir, out = Path(run_dir), check_output(out)
    net, ds = load_model(run_dir, model, device)
    net.require_gradients("synthesizing most exciting inputs")
    if diverse and settings.get("least"):
        raise ConfigError("diverse inputs are of the most exciting kind; drop --least or --diverse")
    index = net.unit_index(units if units is not None else range(len(net.units)))
    other = None
    if compare is not None:  # the second model is read (and refused) before anything is written
        other = ensemble([compare], device)
        if len(other) != 1:
            raise ConfigError(f"--compare {compare} holds {len(other)} models; name one as RUN:MODEL")
        other = other[0]
        other.require_gradients("comparing most exciting inputs")
        check_comparable([net, other], "--compare")
    claim_output(out)
    pool, labels = np.asarray(ds["stimuli"].values, np.float32), np.asarray(ds["stimulus"].values).astype(str)
    log(f"{len(index)} unit(s); scoring the {len(pool)} stimuli of the run's dataset")
    order, best = top_images(net, pool, index, k=top_k, least=settings.get("least", False))
    res = most_exciting_inputs(net, index, **settings)
    table = pd.DataFrame({"unit": res.units, "mei_response": res.responses, "best_image": labels[order[:, 0]],
                          "best_image_response": best[:, 0]})
    table["ratio"] = table["mei_response"] / table["best_image_response"]
    save_arrays({"images": res.images.astype(np.float32), "units": res.units, "responses": res.responses,
                 "history": res.history, "top_images": order, "top_responses": best,
                 "top_labels": labels[order], "top_pixels": np.round(pool[order] * 255).astype(np.uint8),
                 "video": np.bool_(net.video), "settings": np.array(json.dumps(settings, sort_keys=True))},
                out / "meis.npz")
    for unit, image in zip(res.units, res.images):
        write_stimulus_image(image, out / "png" / str(unit), net.video)
    if diverse:
        keep = {k: settings[k] for k in ("contrast", "mean", "blur", "seed") if k in settings}
        div = diverse_exciting_inputs(net, index, n=diverse, threshold=threshold, mei=res, **keep)
        save_arrays({"images": div.images.astype(np.float32), "units": div.units, "responses": div.responses,
                     "mei_responses": div.mei_responses, "similarity": div.similarity}, out / "diverse.npz")
        rows = [{"unit": unit, "image": k + 1, "response": div.responses[i, k], "fraction_of_mei": div.fraction[i, k],
                 "unit_mean_similarity": div.mean_similarity[i]}
                for i, unit in enumerate(div.units) for k in range(diverse)]
        write_table(pd.DataFrame(rows), out / "diverse.csv")
        for i, unit in enumerate(div.units):
            for k in range(diverse):
                write_stimulus_image(div.images[i, k], out / "png" / f"{unit}_diverse_{k + 1}", net.video)
        table["diverse_mean_similarity"] = div.mean_similarity
        table["diverse_min_fraction"] = div.fraction.min(axis=1)
    if other is not None:
        log(f"comparing with {other.describe()}")
        theirs = most_exciting_inputs(other, list(res.units), **settings)
        agreement = mei_agreement(net, other, res, theirs, pool)
        write_table(agreement, out / "agreement.csv")
        for unit, image in zip(theirs.units, theirs.images):
            write_stimulus_image(image, out / "compare" / "png" / str(unit), net.video)
        save_arrays({"images": theirs.images.astype(np.float32), "units": theirs.units, "responses": theirs.responses,
                     "model": np.array(other.describe()), "this": np.array(net.describe())}, out / "compare.npz")
        table["cross_drive_ab"] = agreement["cross_drive_ab"].to_numpy()
        table["cross_drive_ba"] = agreement["cross_drive_ba"].to_numpy()
        table["pixel_r"] = agreement["pixel_r"].to_numpy()
        log(f"agreement over {len(table)} unit(s), medians: the other model's response to this MEI "
            f"{agreement['cross_drive_ab'].median():.2f} of its own MEI's, this model's to the other's "
            f"{agreement['cross_drive_ba'].median():.2f}; pixel r {agreement['pixel_r'].median():.2f}")
    write_table(table, out / "meis.csv")
    return table


def write_stimulus_image(stimulus: np.ndarray, stem: Path, video: bool) -> Path:
    """A stimulus in [0, 1] as an 8-bit ``STEM.png`` (an image) or ``STEM.gif`` (a movie, 10 frames/s),
    atomically; returns the path."""
    import imageio.v3 as iio

    path = stem.with_name(stem.name + (".gif" if video else ".png"))
    pixels = np.round(np.clip(stimulus, 0, 1) * 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        if video:
            iio.imwrite(tmp, pixels, extension=".gif", duration=100, loop=0)
        else:
            iio.imwrite(tmp, pixels, extension=".png")
    return path
