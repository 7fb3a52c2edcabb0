"""In-silico experiments on a fitted ridge run: the run's model as a differentiable
:class:`cortexkit.insilico.ResponseModel`, its most exciting inputs and its grating tuning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit._atomic import atomic_path
from cortexkit.errors import ConfigError
from cortexkit.evaluation import MODELS_DIR, load_arrays, save_arrays, write_table
from cortexkit.features.registry import get_extractor
from cortexkit.insilico import ResponseModel, grating_tuning, most_exciting_inputs, top_images
from cortexkit.pipelines.ridge_encoding import model_names, read_encoding_run


def response_model(run_dir: str | os.PathLike, model: str | None = None) -> ResponseModel:
    """The model ``model`` (default: the run's only one) of a ridge run written by ``cortexkit fit``,
    with its feature space refitted on the run's training stimuli exactly as the fit did."""
    run_dir = Path(run_dir)
    raw, config = read_encoding_run(run_dir)
    entries = {name: (spec, layer) for spec in config.features for layer, name in model_names(spec)}
    if model is None:
        if len(entries) != 1:
            raise ConfigError(f"{run_dir} holds models {sorted(entries)}; name one")
        model = next(iter(entries))
    if model not in entries:
        raise ConfigError(f"{run_dir} has no model {model!r}; it has {sorted(entries)}")
    spec, layer = entries[model]
    arrays = load_arrays(run_dir / MODELS_DIR / f"{model}.npz")
    train = data.select(data.open(raw["data"]), "train")
    stimuli = np.asarray(train["stimuli"].values, dtype=np.float32)
    extractor = get_extractor(spec.name, spec.params).fit(stimuli)
    return ResponseModel(extractor, layer, arrays["coef"], arrays["intercept"], arrays["unit"], stimuli.shape[1:])


def _stimulus_pool(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every stimulus of the run's dataset (train and test) and its label."""
    raw, _ = read_encoding_run(run_dir)
    ds = data.open(raw["data"])
    return np.asarray(ds["stimuli"].values, dtype=np.float32), np.asarray(ds["stimulus"].values).astype(str)


def synthesize(run_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None, units=None,
               top_k: int = 5, log=print, **settings) -> pd.DataFrame:
    """Most exciting inputs of ``units`` (default all) of a run's model, beside the most exciting
    images of the run's own stimuli.

    With ``least=True`` (in ``settings``), the least exciting inputs and images instead.

    Writes into ``OUT``: ``meis.npz`` (images, units, responses, the top images and their indices),
    ``meis.csv``
    (per unit: MEI response, best natural image, its response, the ratio) and ``png/UNIT.png``, the
    MEIs as 8-bit images ready to show. ``settings`` go to
    :func:`cortexkit.insilico.most_exciting_inputs` (steps, step_size, contrast, blur, jitter, seed).
    """
    import imageio.v3 as iio

    run_dir, out = Path(run_dir), Path(out)
    net = response_model(run_dir, model)
    index = net.unit_index(units if units is not None else range(len(net.units)))
    pool, labels = _stimulus_pool(run_dir)
    log(f"{len(index)} unit(s); scoring the {len(pool)} stimuli of the run's dataset")
    order, best = top_images(net, pool, index, k=top_k, least=settings.get("least", False))
    res = most_exciting_inputs(net, index, **settings)
    table = pd.DataFrame({"unit": res.units, "mei_response": res.responses, "best_image": labels[order[:, 0]],
                          "best_image_response": best[:, 0]})
    table["ratio"] = table["mei_response"] / table["best_image_response"]
    save_arrays({"images": res.images.astype(np.float32), "units": res.units, "responses": res.responses,
                 "history": res.history, "top_images": order, "top_responses": best,
                 "top_labels": labels[order], "top_pixels": np.round(pool[order] * 255).astype(np.uint8),
                 "settings": np.array(json.dumps(settings, sort_keys=True))},
                out / "meis.npz")
    write_table(table, out / "meis.csv")
    for unit, image in zip(res.units, res.images):
        with atomic_path(out / "png" / f"{unit}.png") as tmp:
            iio.imwrite(tmp, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), extension=".png")
    return table


def tuning(run_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None) -> pd.DataFrame:
    """Grating tuning of every unit of a run's model; writes ``OUT/tuning.csv`` (responses) and
    ``OUT/preferred.csv`` (per unit: orientation, wavelength, response, osi); returns the latter."""
    out = Path(out)
    responses, preferred = grating_tuning(response_model(run_dir, model))
    write_table(responses, out / "tuning.csv")
    write_table(preferred, out / "preferred.csv")
    return preferred
