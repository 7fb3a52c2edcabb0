"""Distillation on images without responses: a teacher (any fitted model) labels extra images, and a
student is fitted on them together with the recorded responses.

``distilled_store`` writes the student's training data: the recording as it is (its test split
untouched), plus the extra images in the training split with the teacher's predicted responses
(stimulus coordinate ``labels``: ``recorded`` or ``teacher``). The extra images come from other stores
(the other sessions' images in a data root) and from natural-image crops of the bundled photographs;
copies of any of the recording's own stimuli are left out, so the teacher never labels a test image.

``run_distillation`` is the whole comparison (``cortexkit analyze distill``): each student feature
space fitted on the recorded responses alone and on the distilled store, and both scored with the
teacher on the same test stimuli, paired (bootstrap over test stimuli): does the student beat its
teacher, and does the teacher's labelling help the student?
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit._atomic import check_output, claimed_output
from cortexkit._progress import track
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import p_text, paired_comparison, split_run_model, write_csv_and_markdown

LABELS = "labels"  # stimulus coordinate of a distilled store: recorded or teacher


def _resized(images: np.ndarray, shape: tuple, source: str) -> np.ndarray:
    """Images (n, y, x[, c]) as the recording's stimuli are shaped (resized; colour or grey matched)."""
    from skimage.transform import resize

    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 5 or len(shape) == 4:
        raise DataError("holds videos; distillation labels images", source=source, variable="stimuli")
    color = len(shape) == 3
    if color and images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    if not color and images.ndim == 4:
        images = images.mean(-1)
    if images.shape[1:] == tuple(shape):
        return images
    return np.stack([resize(im, shape, anti_aliasing=True, preserve_range=True) for im in images]).astype(np.float32)


def extra_images(ds, images: list[str], crops: int, seed: int = 0, log=print) -> tuple[np.ndarray, list[str]]:
    """The images to label: every stimulus of the stores ``images`` and ``crops`` natural-image crops,
    shaped like ``ds``'s stimuli, without copies of any of ``ds``'s stimuli; with their names."""
    from cortexkit.data.overlap import copies_of
    from cortexkit.simulate.stimuli import natural_image_crops

    shape = tuple(int(s) for s in ds["stimuli"].shape[1:])
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] != 3) or shape[0] != shape[1]:
        raise DataError(f"stimuli of shape {shape}: distillation labels square images", variable="stimuli")
    own = np.asarray(ds["stimuli"].values, dtype=np.float32)
    pieces, names = [], []
    for path in images:
        other = data.open(path)
        pix = _resized(np.asarray(other["stimuli"].values), shape, str(path))
        pieces.append(pix)
        names += [f"{Path(path).stem}:{s}" for s in np.asarray(other["stimulus"].values).astype(str)]
    if crops:
        pieces.append(natural_image_crops(int(crops), shape[0], color=len(shape) == 3, seed=seed))
        names += [f"crop{i:06d}" for i in range(int(crops))]
    if not pieces:
        raise ConfigError("name images to label (--images STORE, ...) or natural-image crops (--crops N)")
    extra = np.concatenate(pieces)
    copied = copies_of(own, extra)
    if copied.any():
        log(f"{int(copied.sum())} of {len(extra)} extra images copy a stimulus of the recording: left out")
    keep = ~copied
    # the same image in two sources is labelled once
    _, first = np.unique(extra[keep].reshape(int(keep.sum()), -1), axis=0, return_index=True)
    rows = np.flatnonzero(keep)[np.sort(first)]
    return extra[rows], [names[i] for i in rows]


def distilled_store(teacher, store: str | os.PathLike, out: str | os.PathLike, *, images: list[str] = (),
                    crops: int = 0, seed: int = 0, batch_size: int = 512, log=print) -> Path:
    """Write the recording at ``store`` plus the extra images labelled by ``teacher`` (a
    :class:`~cortexkit.insilico.ResponseModel` of the recording's units, fitted on its training split) to
    ``out``: the extra images join the training split, one trial each, their responses the teacher's."""
    ds = data.load(store)
    units = np.asarray(ds["unit"].values).astype(str)
    if list(teacher.units) != list(units):
        raise DataError(f"the teacher predicts units {list(teacher.units[:3])}...; the recording has {list(units[:3])}... "
                        "(a teacher is a model of this recording's units)", source=str(store), variable="unit")
    if "time" in ds["responses"].dims:
        raise DataError("has time-resolved responses; distillation labels one response per image", source=str(store),
                        variable="responses")
    extra, names = extra_images(ds, list(images), crops, seed, log)
    taken = set(np.asarray(ds["stimulus"].values).astype(str))
    names = [n if n not in taken else f"extra:{n}" for n in names]
    labels = np.concatenate([teacher.predict(extra[i:i + batch_size])
                             for i in track(range(0, len(extra), batch_size), "teacher labels",
                                            total=-(-len(extra) // batch_size))]).astype(np.float64)
    if not np.isfinite(labels).all():
        raise DataError(f"the teacher ({teacher.describe()}) predicts NaN or inf for some extra images", variable="prediction")
    stimuli = np.concatenate([np.asarray(ds["stimuli"].values, dtype=np.float32), extra])
    stimulus = np.concatenate([np.asarray(ds["stimulus"].values).astype(str), names])
    split = np.concatenate([np.asarray(ds["split"].values).astype(str), np.full(len(extra), "train")])
    responses = np.concatenate([np.asarray(ds["responses"].values, dtype=np.float64), labels])
    stimulus_id = np.concatenate([np.asarray(ds["stimulus_id"].values).astype(str), names])
    unit_coords = {k: np.asarray(v.values) for k, v in ds.coords.items() if v.dims == ("unit",) and k != "unit"}
    out_ds = data.make_dataset(
        stimuli, responses, stimulus_id, split, stimulus=stimulus, unit=units, unit_coords=unit_coords,
        stimulus_coords={LABELS: np.concatenate([np.full(ds.sizes["stimulus"], "recorded"), np.full(len(extra), "teacher")])},
        stimulus_dims=ds["stimuli"].dims,
        attrs={**{k: v for k, v in ds.attrs.items() if k != "written_by"}, "distilled_from": teacher.describe(),
               "teacher_images": int(len(extra))})
    log(f"{len(extra)} extra images labelled by {teacher.describe()}; {int((split == 'train').sum())} training stimuli")
    return data.save(out_ds, out)


def run_distillation(store: str | os.PathLike, teacher: str, out: str | os.PathLike, *, features: list,
                     images: list[str] = (), crops: int = 0, seed: int = 0, device: str = "cpu", log=print) -> pd.DataFrame:
    """Fit each student feature space (``features``: FeatureSpecs, one layer each) on the recording's own
    training responses and on the distilled store, score both and the teacher (``RUN`` or ``RUN:MODEL``) on
    the test split, paired against the teacher; writes ``OUT/distillation.{csv,md}`` and returns the table."""
    from cortexkit.pipelines.insilico.models import response_model
    from cortexkit.pipelines.ridge import EncodingConfig, evaluate_run, fit_run, model_names

    out = check_output(out)
    run, name = split_run_model(teacher)
    teacher_model = response_model(run, name, device)
    for spec in features:
        if len(model_names(spec)) != 1:
            raise ConfigError(f"student feature space {spec.model_name!r} has several layers; name one (--layers conv3, or -p layers=[conv3])")
    with claimed_output(out):
        aug = distilled_store(teacher_model, store, out / "distilled.zarr", images=images, crops=crops, seed=seed, log=log)
        config = EncodingConfig(features=features, permutations=0, seed=seed, device=device)
        quiet = lambda m: None  # noqa: E731
        fit_run(store, out / "recorded", config, log=quiet)
        fit_run(aug, out / "distilled", config, log=quiet)
        evaluate_run(out / "recorded", log=quiet)
        evaluate_run(out / "distilled", log=quiet)
        test = data.select(data.open(store), "test")
        avg = data.repeat_average(test)
        y = np.asarray(avg.values, dtype=np.float64)
        stimuli = np.asarray(test["stimuli"].sel(stimulus=avg["stimulus"].values).values, dtype=np.float32)
        predictions = {f"teacher ({teacher_model.describe()})": teacher_model.predict(stimuli)}
        for spec in features:
            student = model_names(spec)[0][1]
            for kind in ("recorded", "distilled"):
                arrays = np.load(out / kind / "models" / f"{student}.npz")
                order = pd.Index(arrays["stimulus"].astype(str)).get_indexer(np.asarray(avg["stimulus"].values).astype(str))
                predictions[f"{student} on {kind} responses" if kind == "recorded" else
                            f"{student} on recorded + teacher labels"] = arrays["prediction"][order]
        teacher_label = next(iter(predictions))
        rows = []
        for label, pred in predictions.items():
            r = np.array([np.corrcoef(pred[:, u], y[:, u])[0, 1] for u in range(y.shape[1])])
            row = {"model": label, "median r": float(np.nanmedian(r))}
            if label != teacher_label:
                _, summary = paired_comparison(y, pred, predictions[teacher_label], seed=seed)
                row.update({"vs teacher": f"{summary['median_diff']:+.3f} [{summary['ci_low']:+.3f}, "
                                          f"{summary['ci_high']:+.3f}]",
                            "p (Wilcoxon)": p_text(summary["wilcoxon_p"]),
                            "units better than the teacher": summary["fraction_a_better"]})
            rows.append(row)
        table = pd.DataFrame(rows)
        write_csv_and_markdown(table, out, "distillation")
    return table
