"""The reconstruction flow: fit decoders on train, reconstruct the test stimuli, score with nulls.

``run_reconstruction`` writes into ``OUT/``::

    config.yaml                   resolved settings, data path, versions, seed
    reconstructions/NAME.npz      each decoder's test reconstructions (reused when rerun with the same
                                  settings, data and decoder code)
    checkpoints/NAME/             generative decoders' training checkpoints (resumable)
    metrics.csv, metrics.md       one row per decoder and per null model
    figures/reconstructions.png   ground truth row and one row per decoder
    figures/search_rounds.png     brain-optimised search: critic score per round (if used)
    videos/*.gif                  ground truth beside reconstructions (video data)
    report.html

The figures, GIFs and report are drawn by :func:`cortexkit.report.write_reconstruction_report` from
what this pipeline writes.

Null models sit beside every score: the training-set mean image, a uniform gray image, and each
decoder's own reconstructions shuffled across test images (they keep the decoder's image
statistics but lose the correspondence to what was shown). Identification is also tested against
chance with a permutation p-value.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cortexkit._atomic import check_output, claim_output
from cortexkit import data
from cortexkit.config import provenance, resolve_config
from cortexkit.code_stamps import code_stamp
from cortexkit.decoding import DECODERS, LatentDiffusionDecoder
from cortexkit.errors import ConfigError, CortexkitError, listed
from cortexkit.memory import require_memory
from cortexkit.evaluation import (data_fingerprint, load_if_settings_match, save_arrays, write_csv_and_markdown,
                                  write_run_record)
from cortexkit.features.base import is_video
from cortexkit.image import resize
from cortexkit.metrics import reconstruction as rm

DEFAULT_DECODERS = ("pca", "retrieval", "autoencoder", "diffusion", "search")
# Decoders that also retrieve among candidate images (``set_candidates`` / ``similarity``).
RETRIEVES = ("retrieval", "mindeye")
# Short training for a smoke run (`cortexkit decode reconstruct --quick`): not for results.
QUICK_SETTINGS = {
    "autoencoder": dict(epochs=3, extra_images=200),
    "cnn": dict(epochs=5),
    "hvae": dict(epochs=3, extra_images=200),
    "dual_guided": dict(first_stage_params={"epochs": 3, "extra_images": 200}),
    "mindeye": dict(epochs=5, prior_epochs=3, generator_epochs=3, extra_images=200),
    "diffusion": dict(epochs=3, extra_images=200, diffusion_epochs=10),
    "vqldm": dict(vq_epochs=3, unet_epochs=5, extra_images=200),
    "search": dict(n_candidates=4, rounds=2, generator_epochs=3, generator_extra_images=200, generator_diffusion_epochs=10),
}


class DecoderSpec(BaseModel):
    """One decoder of a reconstruction run: a registered name, its parameters, its label in tables."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None

    @property
    def model_name(self) -> str:
        return self.label or self.name


class ReconstructionConfig(BaseModel):
    """A reconstruction run: decoders fitted on the train split, scored on the test split."""

    model_config = ConfigDict(extra="forbid")

    decoders: list[DecoderSpec] = Field(default_factory=lambda: [DecoderSpec(name=n) for n in DEFAULT_DECODERS])
    image_size: int = Field(64, ge=11, description="stimuli are resized to this many pixels for decoding and scoring "
                                                   "(at least the 11-px window of SSIM)")
    n_permutations: int = Field(1000, ge=0)
    n_grid: int = Field(10, ge=1, description="test stimuli shown in the figure")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")

    def quick(self) -> "ReconstructionConfig":
        """A copy with :data:`QUICK_SETTINGS` under each decoder's own parameters."""
        return self.model_copy(update={"decoders": [d.model_copy(update={"params": {**QUICK_SETTINGS.get(d.name, {}), **d.params}})
                                                    for d in self.decoders]})


def _decoder(spec: DecoderSpec, out: Path, seed: int, log, generator_spec: DecoderSpec | None = None):
    cls = DECODERS.lookup(spec.name)
    accepted = cls().get_params(deep=False)
    params = {**({"seed": seed} if "seed" in accepted else {}), **spec.params}
    if "checkpoint_dir" in accepted:
        params.setdefault("checkpoint_dir", str(out / "checkpoints" / spec.model_name))
        params.setdefault("log", log)
        # VAE-based decoders with the same VAE settings share one trained VAE (the checkpoint is
        # only resumed when its settings match, otherwise it is trained again).
        if "vae_checkpoint" in accepted:
            params.setdefault("vae_checkpoint", str(out / "checkpoints" / "vae.pt"))
    if spec.name == "search":
        gen = {k.removeprefix("generator_"): v for k, v in params.items() if k.startswith("generator_")}
        params = {k: v for k, v in params.items() if not k.startswith("generator_")}
        gen_name = params.pop("generator", None) or "diffusion"
        if gen_name != "diffusion":  # a pretrained prior (second_sight, brain_diffuser) as the sampler
            gen_cls = DECODERS.lookup(gen_name)
            gen_accepted = gen_cls().get_params(deep=False)
            bad = sorted(set(gen) - set(gen_accepted))
            if bad or not hasattr(gen_cls, "sample_latents"):
                raise ConfigError(f"search generator {gen_name!r}: " + (f"no parameter(s) {listed(bad)}; it takes {listed(sorted(gen_accepted))}"
                                  if bad else "cannot sample (use diffusion, second_sight or brain_diffuser)"))
            params["generator"] = gen_cls(**{**({"seed": seed} if "seed" in gen_accepted else {}), **gen})
            gen = None
        if gen is not None and not gen and generator_spec is not None:
            # Search around the run's own diffusion decoder: same settings and checkpoints, so
            # fitting the generator resumes the trained model instead of training another.
            gen = dict(generator_spec.params)
            gen["checkpoint_dir"] = str(out / "checkpoints" / generator_spec.model_name)
        if gen is not None:
            gen.setdefault("checkpoint_dir", str(out / "checkpoints" / f"{spec.model_name}_generator"))
            gen.setdefault("vae_checkpoint", str(out / "checkpoints" / "vae.pt"))
            gen.setdefault("log", log)
            gen.setdefault("seed", seed)
            params["generator"] = LatentDiffusionDecoder(**gen)
    bad = sorted(set(params) - set(accepted))
    if bad:
        raise ConfigError(f"decoder {spec.name!r} has no parameter(s) {listed(bad)}; it takes {listed(sorted(accepted))}")
    return cls(**params)


def prepare_stimuli(stimuli: np.ndarray, size: int) -> np.ndarray:
    """Images or video frames resized to ``size`` pixels (aspect ratio of the source kept square)."""
    s = np.asarray(stimuli, np.float32)
    video = is_video(s)
    gray_ndim = 4 if video else 3
    return resize(s, size, gray_ndim=gray_ndim) if s.shape[gray_ndim - 2] != size else s


def _frames(x: np.ndarray, video: bool) -> np.ndarray:
    return x.reshape((-1,) + x.shape[2:]) if video else x


def identification_features(images: np.ndarray, video: bool) -> dict[str, np.ndarray]:
    """Feature spaces for identification: pixels, and AlexNet features.4 / features.11 (224 px,
    ImageNet normalisation) when the offline weights are installed."""
    if video:  # motion first: the last space is the one of the reported top-1 and p-value
        return {"motion": rm.frame_differences(images), "pixels": images.reshape(len(images), -1)}
    out = {"pixels": images.reshape(len(images), -1)}
    try:
        from cortexkit.features import PretrainedCNN

        cnn = PretrainedCNN("alexnet", layers=["conv2", "conv5"], pool=None).fit(images)
        feats = cnn.extract(images)
        out["alexnet_conv2"], out["alexnet_conv5"] = feats["conv2"], feats["conv5"]
    except CortexkitError:
        pass
    return out


def _metric_models(out: Path, log) -> dict:
    """brain-diffuser/MindEye metric models (CLIP, InceptionV3, EfficientNet-B1, SwAV) whose weights are
    present (on videos: features averaged over each clip's frames); each absent one is logged with its
    reason and listed in ``OUT/skipped_metrics.json``."""
    from cortexkit.features.perceptual import metric_extractors

    available, skipped = metric_extractors()  # for videos, on each clip's frame-averaged features
    for metric, reason in skipped.items():
        log(f"metric {metric} skipped: {reason}")
    from cortexkit._atomic import write_text

    write_text(out / "skipped_metrics.json", json.dumps(skipped, indent=1))
    return available


def _model_features(extractor, images: np.ndarray) -> np.ndarray:
    from cortexkit.features.base import extract_features

    return np.concatenate(list(extract_features(extractor, images).values()), axis=1)


def lpips_models(video: bool):
    """The LPIPS (v0.1) networks of the reconstruction metrics by name, each whose ImageNet weights are
    installed: ``lpips_alex`` (AlexNet, brain-diffuser's and MindEye's) and ``lpips_vgg`` (VGG16,
    STSBench's). Videos are scored frame by frame (a clip's LPIPS is the mean of its frames', so the
    mean over clips equals the mean over frames)."""
    from cortexkit.features.perceptual import LPIPS

    out = {}
    for name, net in (("lpips_alex", "alex"), ("lpips_vgg", "vgg")):
        try:
            out[name] = LPIPS(net)
        except CortexkitError:
            pass
    return out


def score(gt: np.ndarray, rec: np.ndarray, gt_feats: dict, lpips: dict, *, video: bool, n_permutations: int,
          seed: int, rec_feats: dict | None = None) -> dict[str, float]:
    """Every metric (mean over test stimuli; PSNR the median, as an exact copy's is infinite) of one set
    of reconstructions; ``rec_feats`` are their identification features when already computed."""
    g, r = _frames(gt, video), _frames(rec, video)
    def mean(values):
        values = np.asarray(values, dtype=float)
        return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")

    row = {"pixcorr": mean(rm.pixcorr(g, r)), "ssim": mean(rm.ssim(g, r)), "psnr": float(np.median(rm.psnr(g, r)))}
    if video:  # PSNR of each clip as a whole (squared error over all its frames), beside the per-frame one
        tall = (len(gt), gt.shape[1] * gt.shape[2]) + gt.shape[3:]  # a clip's frames stacked: one image per clip
        row["psnr_clip"] = float(np.median(rm.psnr(gt.reshape(tall), rec.reshape(tall))))
    if video and gt.shape[1] > 1:
        row["temporal_r"] = mean(rm.temporal_correlation(gt, rec))
    for name, metric in lpips.items():
        row[name] = float(np.mean(metric(g, r)))
    if rec_feats is None:
        rec_feats = identification_features(rec, video)
    for name, feats in gt_feats.items():
        row[f"2way_{name}"] = mean(rm.identification(feats, rec_feats[name]))
    last = list(gt_feats)[-1]
    row["top1_" + last] = mean(rm.retrieval_top1(gt_feats[last], rec_feats[last]))
    if n_permutations and np.isfinite(row[f"2way_{last}"]):
        row["p_2way_" + last] = rm.identification_pvalue(gt_feats[last], rec_feats[last],
                                                         n_permutations=n_permutations, seed=seed)
    return row


def decoding_pairs(store: str | os.PathLike, image_size: int):
    """The store and its train and test splits as decoders take them: ``(ds, train, test, r_train,
    s_train, r_test, s_test)``, responses repeat-averaged (stimulus, unit), stimuli at ``image_size``."""
    ds = data.load(store)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    r_train, r_test = data.repeat_average(train).values, data.repeat_average(test).values
    for name, r in (("train", r_train), ("test", r_test)):
        if r.ndim != 2 or not np.isfinite(r).all():
            raise ConfigError(f"{name} responses must be (stimulus, unit) and finite to decode; average time bins first")
    return (ds, train, test, r_train, prepare_stimuli(train["stimuli"].values, image_size), r_test,
            prepare_stimuli(test["stimuli"].values, image_size))


def run_reconstruction(store: str | os.PathLike, out: str | os.PathLike, config: ReconstructionConfig | None = None,
                       *, fitted: dict | None = None, log=print) -> pd.DataFrame:
    """Fit every decoder, reconstruct the test stimuli, score them and their nulls.

    Writes ``OUT/config.yaml``, ``OUT/reconstructions/NAME.npz`` and ``OUT/metrics.csv`` / ``.md``;
    reconstructions already on disk with the same settings and data are kept (resume).

    Parameters
    ----------
    store : path
        A recording; decoders fit the repeat-averaged train responses (stimulus, unit).
    out : path
        The run directory.
    config : ReconstructionConfig, optional
        Decoders, image size, permutations, seed (the defaults if omitted).
    fitted : dict, optional
        Decoders already fitted, by label, used as they are (a model shared by several subjects);
        their entry's ``fingerprint`` key, if any, goes into the resume check.
    log : callable
        Receives one line per step.

    Returns
    -------
    pandas.DataFrame
        One row per decoder and null model (``method``, ``kind``): means over test stimuli of
        pixcorr, ssim, psnr (per frame; psnr_clip per clip for videos), lpips_alex, lpips_vgg, 2way_*
        and top1_*, and the permutation p-value.
    """
    fitted = dict(fitted or {})
    config = config or ReconstructionConfig()
    out = check_output(out)
    diffusion = next((d for d in config.decoders if d.name == "diffusion"), None)
    # unknown decoders and parameters fail before anything is written
    built = {spec.model_name: _decoder(spec, out, config.seed, log, generator_spec=diffusion) for spec in config.decoders}
    ds = data.open(store)
    frames = ds.sizes.get("frame", 1) * ds.sizes.get("channel", 1)
    require_memory(12 * 4 * ds.sizes["stimulus"] * frames * config.image_size ** 2,
                   f"reconstructing {ds.sizes['stimulus']} stimuli at {config.image_size} px")
    ds, train, test, r_train, s_train, r_test, s_test = decoding_pairs(store, config.image_size)
    video = is_video(s_test)
    for name, decoder in built.items():  # so do settings that cannot work on these stimuli
        if name not in fitted:
            decoder.check_settings(s_train.shape[1:])
    record = {"data": str(Path(store).resolve()), "reconstruction": config.model_dump(), "provenance": provenance(config.seed)}
    claim_output(out)
    write_run_record(out, record)

    fingerprint = data_fingerprint(ds)
    shared = {name: getattr(d, "fingerprint", "fitted") for name, d in fitted.items()}
    recs: dict[str, np.ndarray] = {}
    similarities: dict[str, np.ndarray] = {}
    for spec in config.decoders:
        path = out / "reconstructions" / f"{spec.model_name}.npz"
        settings = json.dumps({"spec": spec.model_dump(), "image_size": config.image_size, "seed": config.seed,
                               "data": fingerprint, "code": code_stamp(DECODERS.lookup(spec.name)), **({"similarity": True} if spec.name in RETRIEVES else {}),
                               **({"shared": shared[spec.model_name]} if spec.model_name in shared else {})},
                              sort_keys=True, default=str)
        saved = load_if_settings_match(path, settings)
        if saved is not None:
            recs[spec.model_name] = saved["reconstructions"]
            if "similarity" in saved:
                similarities[spec.model_name] = saved["similarity"]
            log(f"{spec.model_name}: reconstructions already computed, kept")
            continue
        if spec.model_name in fitted:
            decoder = fitted[spec.model_name]
            log(f"{spec.model_name}: the model shared by the subjects, fitted on all of them")
        else:
            decoder = built[spec.model_name]
            log(f"{spec.model_name}: fitting on {len(s_train)} training stimuli")
            if "captions" in inspect.signature(decoder.fit).parameters and "caption" in train.coords:
                decoder.fit(r_train, s_train, captions=train["caption"].values)  # text-guided decoders read the captions
            else:
                decoder.fit(r_train, s_train)
        if spec.name in RETRIEVES:
            decoder.set_candidates(s_test)  # identification among the test stimuli
        rec = decoder.reconstruct(r_test)
        extra = {"history": decoder.history_} if spec.name == "search" else {}
        if spec.name in RETRIEVES:  # similarity to every candidate: retrieval scores, and subjects' evidence pooled
            extra["similarity"] = decoder.similarity(r_test)
        save_arrays({"reconstructions": rec, "settings": np.array(settings), **extra}, path)
        recs[spec.model_name] = rec
        if "similarity" in extra:
            similarities[spec.model_name] = extra["similarity"]

    gt_feats = identification_features(s_test, video)
    lpips = lpips_models(video)
    models = _metric_models(out, log)
    gt_model = {m: _model_features(ex, s_test) for m, (ex, _) in models.items()}
    rng = np.random.default_rng(config.seed)
    rows = []
    common = dict(video=video, n_permutations=config.n_permutations, seed=config.seed)

    def model_scores(feats):
        return {f"{'2way' if models[m][1] == '2way' else 'dist'}_{m}":
                float(np.nanmean(rm.identification(gt_model[m], f) if models[m][1] == "2way"
                                 else rm.feature_distance(gt_model[m], f))) for m, f in feats.items()}

    for name, rec in recs.items():
        feats = identification_features(rec, video)
        rec_model = {m: _model_features(ex, rec) for m, (ex, _) in models.items()}
        retrieval = {}
        if name in similarities:  # top-1 retrieval among the test stimuli from the decoder's own similarity
            sim = similarities[name]
            retrieval["retrieval_top1"] = float((np.argmax(sim, axis=1) == np.arange(len(sim))).mean())
        rows.append({"method": name, "kind": "decoder", **score(s_test, rec, gt_feats, lpips, rec_feats=feats, **common),
                     **model_scores(rec_model), **retrieval})
        order = rng.permutation(len(rec))  # the shuffled null: same images, features permuted rather than recomputed
        rows.append({"method": f"{name} (shuffled)", "kind": "null",
                     **score(s_test, rec[order], gt_feats, lpips, rec_feats={k: v[order] for k, v in feats.items()}, **common),
                     **model_scores({m: f[order] for m, f in rec_model.items()})})
    mean_image = np.broadcast_to(s_train.mean(0), s_test.shape).copy()
    gray = np.full_like(s_test, 0.5)
    for label, images in (("mean image", mean_image), ("gray", gray)):
        rows.append({"method": label, "kind": "null", **score(s_test, images, gt_feats, lpips, **common),
                     **model_scores({m: _model_features(ex, images) for m, (ex, _) in models.items()})})
    table = pd.DataFrame(rows)
    write_csv_and_markdown(table, out, "metrics")
    return table


def reconstruction_config(path: str | os.PathLike | None = None, *, decoders: str | None = None,
                          image_size: int | None = None, n_permutations: int | None = None,
                          model_dir: str | os.PathLike | None = None, device: str | None = None,
                          quick: bool = False, params: dict | None = None) -> ReconstructionConfig:
    """The config of ``cortexkit decode reconstruct``: the YAML at ``path`` (or the defaults), then
    the options given on the command line (None: not given).

    ``decoders`` is a comma list of decoder names; ``model_dir``, ``device`` and ``params`` (``-p
    key=value``) go to every one of them that takes them, a parameter none takes is an error (with a
    YAML file, set them in each decoder's ``params`` instead);
    ``quick`` shortens training (:data:`QUICK_SETTINGS`, a smoke run).
    """
    params = dict(params or {})
    if path is not None and (model_dir is not None or device is not None or params):
        raise ConfigError("--model-dir, --device and -p set the decoders of --decoder; with --config, set them in each "
                          "decoder's params in the YAML")
    names = None
    if decoders is not None:
        names = [n.strip() for n in decoders.split(",") if n.strip()]
        if not names:
            raise ConfigError("--decoder is empty; `cortexkit list decoders` lists them")
    elif path is None and (model_dir is not None or device is not None or params):
        names = list(DEFAULT_DECODERS)
    for name in names or []:  # an unknown decoder is refused here, before any work
        DECODERS.lookup(name)
    shared = {"model_dir": str(model_dir) if model_dir is not None else None, "device": device}
    takes = {n: set(DECODERS.lookup(n)().get_params(deep=False)) for n in names or []}
    unused = [k for k in params if not any(k in t for t in takes.values())]
    if unused:
        who = f"decoder {next(iter(takes))} does not take it" if len(takes) == 1 else \
            f"none of the decoders {', '.join(takes)} takes it"
        raise ConfigError(f"-p {unused[0]}: {who} (`cortexkit list decoders` lists each one's parameters)")
    specs = None if names is None else [
        {"name": n, "params": {**{k: v for k, v in shared.items() if v is not None and k in takes[n]},
                               **{k: v for k, v in params.items() if k in takes[n]}}} for n in names]
    config = resolve_config(ReconstructionConfig, path, {"decoders": specs, "image_size": image_size,
                                                          "n_permutations": n_permutations})
    return config.quick() if quick else config
