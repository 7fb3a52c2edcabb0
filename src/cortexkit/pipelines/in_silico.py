"""In-silico experiments on a fitted run (ridge, stacked or trained core): the run's model as a
:class:`cortexkit.insilico.ResponseModel`, its most exciting inputs, tuning and receptive fields."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit import data
from cortexkit._atomic import atomic_path
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import MODELS_DIR, load_arrays, run_kind, save_arrays, split_run_model, write_table
from cortexkit.features.registry import get_extractor
from cortexkit.insilico import (
    PredictorResponseModel,
    ResponseModel,
    RidgeResponseModel,
    StackedResponseModel,
    design_experiment,
    direction_tuning,
    diverse_exciting_inputs,
    gradient_maps,
    grating_tuning,
    mei_agreement,
    most_exciting_inputs,
    sparse_noise_maps,
    top_images,
)
from cortexkit.pipelines.ridge_encoding import STACKED, model_names, read_encoding_run, stack_components


def response_model(run_dir: str | os.PathLike, model: str | None = None, device: str = "cpu") -> ResponseModel:
    """A fitted model as a :class:`cortexkit.insilico.ResponseModel`.

    ``run_dir`` is a ridge run (``cortexkit fit``; ``model`` names one of its models, ``stacked``
    included; default its only one), with its feature spaces refitted on the run's training stimuli
    exactly as the fit did, or a trained run (``cortexkit train``; ``model`` names a session, default
    its only one). ``device`` runs the networks (feature spaces, trained cores) there; pixels, ridge
    weights and results stay on the CPU.
    """
    return _load(run_dir, model, device)[0]


def _load(run_dir, model: str | None, device: str = "cpu") -> tuple[ResponseModel, xr.Dataset]:
    """The response model and the dataset it was fitted on."""
    from cortexkit.config import require_device

    require_device(device, "--device")
    run_dir = Path(run_dir)
    kind = run_kind(run_dir)
    if kind == "training":
        return _trained_model(run_dir, model, device)
    if kind != "encoding":
        raise ConfigError(f"{run_dir} is not a fitted run (cortexkit fit or cortexkit train wrote none there)")
    entries = _entries(read_encoding_run(run_dir)[1])
    if model is None:
        if len(entries) != 1:
            raise ConfigError(f"{run_dir} holds models {sorted(entries)}; name one with --model")
        model = next(iter(entries))
    models, ds = _ridge_models(run_dir, [model], device)
    return models[0], ds


def _ridge_models(run_dir: Path, names: list[str], device: str = "cpu") -> tuple[list[ResponseModel], xr.Dataset]:
    """Models ``names`` of a ridge run (``stacked`` included), sharing one fitted feature space per
    spec, and the run's dataset."""
    raw, config = read_encoding_run(run_dir)
    entries = _entries(config)
    unknown = [n for n in names if n not in entries]
    if unknown:
        raise ConfigError(f"{run_dir} has no model {unknown[0]!r}; it has {sorted(entries)}")
    ds = data.open(raw["data"])
    stimuli = np.asarray(data.select(ds, "train")["stimuli"].values, dtype=np.float32)
    video = data.stimulus_kind(ds) == "video"
    components = stack_components(config) if STACKED in names else []
    needed: dict[str, list[str]] = {}
    for spec, layer, _ in components + [(*entries[n], n) for n in names if n != STACKED]:
        needed.setdefault(spec.model_name, []).append(layer)
    extractors = {}

    def ridge(spec, layer, name):
        if spec.model_name not in extractors:
            extractors[spec.model_name] = _extractor(spec, needed[spec.model_name], stimuli, device)
        arrays = load_arrays(run_dir / MODELS_DIR / f"{name}.npz")
        return RidgeResponseModel(extractors[spec.model_name], layer, arrays["coef"], arrays["intercept"],
                                  arrays["unit"], stimuli.shape[1:], name=name, video=video)

    models = []
    for name in names:
        if name != STACKED:
            models.append(ridge(*entries[name], name))
            continue
        arrays = load_arrays(run_dir / MODELS_DIR / f"{STACKED}.npz")
        members = [ridge(spec, layer, n) for spec, layer, n in components]
        if [m.name for m in members] != list(arrays["components"].astype(str)):
            raise DataError("the stacked model's components differ from the config's; refit the run",
                            source=str(run_dir / MODELS_DIR / f"{STACKED}.npz"))
        models.append(StackedResponseModel(members, arrays["weights"]))
    return models, ds


def _extractor(spec, layers: list[str], stimuli: np.ndarray, device: str = "cpu"):
    """The feature space of ``spec`` fitted on the training stimuli; a CNN computes only ``layers``
    (its forward pass stops after the deepest), unless a random projection ties each layer's
    features to its position in the list."""
    from cortexkit.features.torch_layers import TorchExtractor

    params = dict(spec.params)
    if "device" in get_extractor(spec.name, params).get_params(deep=False):
        params["device"] = device  # the network runs there; its features come back to the readout's device
    extractor = get_extractor(spec.name, params)
    if isinstance(extractor, TorchExtractor) and extractor.projection is None:
        order = extractor.layer_list()
        extractor = get_extractor(spec.name, {**params, "layers": [x for x in order if x in set(layers)]})
    return extractor.fit(stimuli)


def _entries(config) -> dict:
    """``{model name: (feature spec, layer)}`` of a ridge run's config, the stacked model last."""
    entries = {name: (spec, layer) for spec in config.features for layer, name in model_names(spec)}
    if config.stack is not None:
        entries[STACKED] = (None, None)
    return entries


def ensemble(specs, device: str = "cpu") -> list[ResponseModel]:
    """Response models from ``RUN`` or ``RUN:MODEL`` strings: a bare ridge run stands for every model
    it holds (the stacked one left out: it is a mixture of the others)."""
    models = []
    for spec in specs:
        run, name = split_run_model(str(spec))
        if name is None and run_kind(run) == "encoding":
            names = [n for n in _entries(read_encoding_run(run)[1]) if n != STACKED]
            models += _ridge_models(Path(run), names, device)[0]
        else:
            models.append(_load(run, name, device)[0])
    return models


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
    out = Path(out)
    models = ensemble(runs, device)
    stimuli, labels = load_pool(pool, models[0])
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


def _trained_model(run_dir: Path, key: str | None, device: str = "cpu") -> tuple[ResponseModel, xr.Dataset]:
    from cortexkit.pipelines.trained_predictor import load_trained

    run = load_trained(run_dir)
    if key is None:
        if len(run.sessions) != 1:
            raise ConfigError(f"{run_dir} is trained on sessions {sorted(run.sessions)}; name one with --model")
        key = next(iter(run.sessions))
    if key not in run.sessions:
        raise ConfigError(f"{run_dir} has no session {key!r}; it has {sorted(run.sessions)}")
    sess = run.sessions[key]
    ds = sess.dataset
    n_behaviors = sess.behavior.shape[-1] if sess.behavior is not None else 0
    net = PredictorResponseModel(run.model.to(device), key, run.config, ds["unit"].values, ds["stimuli"].shape[1:],
                                 video=data.stimulus_kind(ds) == "video", time_resolved=sess.time_resolved,
                                 n_behaviors=n_behaviors)
    return net, ds


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
    same settings, ``compare/png/``, and ``agreement.csv`` (:func:`cortexkit.insilico.mei_agreement`:
    how strongly each model's MEI drives the other). ``settings`` go to
    :func:`cortexkit.insilico.most_exciting_inputs` (steps, step_size, contrast, blur, jitter, seed).
    """
    run_dir, out = Path(run_dir), Path(out)
    net, ds = _load(run_dir, model, device)
    net.require_gradients("synthesizing most exciting inputs")
    if diverse and settings.get("least"):
        raise ConfigError("diverse inputs are of the most exciting kind; drop --least or --diverse")
    index = net.unit_index(units if units is not None else range(len(net.units)))
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
    if compare is not None:
        other = ensemble([compare], device)
        if len(other) != 1:
            raise ConfigError(f"--compare {compare} holds {len(other)} models; name one as RUN:MODEL")
        other = other[0]
        other.require_gradients("comparing most exciting inputs")
        log(f"comparing with {other.describe()}")
        theirs = most_exciting_inputs(other, list(res.units), **settings)
        agreement = mei_agreement(net, other, res, theirs, pool)
        write_table(agreement, out / "agreement.csv")
        for unit, image in zip(theirs.units, theirs.images):
            write_stimulus_image(image, out / "compare" / "png" / str(unit), net.video)
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


def tuning(run_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None,
           rf_size: int = 2, device: str = "cpu") -> pd.DataFrame:
    """Tuning and receptive fields of every unit of a run's model.

    Image models: orientation tuning (gratings over orientation, wavelength and phase); video models:
    direction tuning (drifting gratings over direction, wavelength and temporal frequency). Both:
    sparse-noise RF maps (squares of ``rf_size`` pixels, held still in videos) and, for differentiable
    image models, the response gradient at mean grey. Writes ``OUT/tuning.csv`` (every response),
    ``OUT/preferred.csv`` (per unit: the preference, its selectivity, and the RF centre ``rf_x``,
    ``rf_y`` in pixels where the sparse-noise response is strongest) and ``OUT/receptive_fields.npz``
    (``sparse_noise`` (unit, ON/OFF, y, x) and ``gradient``); returns the per-unit table.
    """
    out = Path(out)
    net = response_model(run_dir, model, device)
    responses, preferred = direction_tuning(net) if net.video else grating_tuning(net)
    everyone = range(len(net.units))
    maps = sparse_noise_maps(net, everyone, size=rf_size)
    energy = np.abs(maps).sum(axis=1).reshape(len(net.units), -1)
    peak_y, peak_x = np.unravel_index(energy.argmax(axis=1), maps.shape[2:])
    preferred["rf_x"] = peak_x * rf_size + (rf_size - 1) / 2
    preferred["rf_y"] = peak_y * rf_size + (rf_size - 1) / 2
    arrays = {"units": net.units, "sparse_noise": maps.astype(np.float32), "size": np.int64(rf_size)}
    if net.differentiable and not net.video:
        arrays["gradient"] = gradient_maps(net, everyone).astype(np.float32)
    save_arrays(arrays, out / "receptive_fields.npz")
    write_table(responses, out / "tuning.csv")
    write_table(preferred, out / "preferred.csv")
    return preferred
