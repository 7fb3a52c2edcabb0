"""A neural predictor together with its sessions' data: what end-to-end training iterates over.

:class:`PredictorRun` loads every session's store (stimuli as tensors, single trials, behaviour and
pupil position), holds out validation stimuli, builds a :class:`~cortexkit.encoding.predictor.model.NeuralPredictor`
(one shared core, one readout per session) and provides the epoch's batches, the loss, predictions
and the validation score. :mod:`cortexkit.pipelines.predictor` trains it into a run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from cortexkit import data, metrics
from cortexkit.config import require_device
from cortexkit.encoding.predictor.config import PredictorConfig, SessionSpec
from cortexkit.encoding.predictor.model import NeuralPredictor, build_predictor, make_core
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.image import grayscale_tensor, resize_tensor


@dataclass
class Session:
    """A session's data as training needs it: stimulus tensor, trials per split, responses, behaviour."""
    key: str
    stimuli: torch.Tensor  # (n_stimuli, C, [T], H, W)
    stim_of_trial: np.ndarray
    responses: np.ndarray  # (trial, unit[, time])
    behavior: np.ndarray | None
    pupil: np.ndarray | None
    trials: dict[str, np.ndarray]  # split -> trial indices
    dataset: Any  # the xarray dataset (for evaluation)

    @property
    def n_units(self) -> int:
        return self.responses.shape[1]

    @property
    def time_resolved(self) -> bool:
        return self.responses.ndim == 3


def core_input(stimuli: torch.Tensor, config: PredictorConfig, video: bool) -> torch.Tensor:
    """Stimuli as the core takes them, differentiably: a float tensor of images (n, y, x[, channel])
    or videos (n, frame, y, x[, channel]) in [0, 1] -> (n, channel[, frame], y', x') centred on mid-grey,
    with the config's frames, grayscale and image size."""
    if video and config.frames:
        stimuli = stimuli[:, : config.frames]
    gray_ndim = 4 if video else 3
    if config.grayscale and stimuli.ndim == gray_ndim + 1:
        stimuli = grayscale_tensor(stimuli, gray_ndim=gray_ndim)
    if config.image_size:
        stimuli = resize_tensor(stimuli, config.image_size, gray_ndim=gray_ndim)
    # no channel axis: add one; channel last -> channel first, before frames
    stimuli = stimuli.unsqueeze(1) if stimuli.ndim == gray_ndim else stimuli.movedim(-1, 1)
    return stimuli - 0.5


def _stimulus_tensor(ds, config: PredictorConfig) -> torch.Tensor:
    s = torch.from_numpy(np.ascontiguousarray(ds["stimuli"].values, dtype=np.float32))
    with torch.no_grad():
        return core_input(s, config, data.stimulus_kind(ds) == "video").contiguous()


def load_session(spec: SessionSpec, config: PredictorConfig) -> Session:
    """Load a session's store; hold out validation stimuli (the 'val' split, or ``val_fraction`` of train)."""
    ds = data.load(spec.path)
    data.require_recorded(ds, str(spec.path))
    stim_index = pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)
    responses = np.asarray(ds["responses"].values, dtype=np.float32)
    split = np.asarray(ds["split"].values).astype(str)
    rng = np.random.default_rng(config.seed)
    train_stim = np.flatnonzero(split == "train")
    if (split == "val").any():
        val_stim = np.flatnonzero(split == "val")
    else:
        val_stim = rng.choice(train_stim, max(1, int(round(config.val_fraction * len(train_stim)))), replace=False)
        train_stim = np.setdiff1d(train_stim, val_stim)
    trials = {
        "train": np.flatnonzero(np.isin(stim_index, train_stim)),
        "val": np.flatnonzero(np.isin(stim_index, val_stim)),
        "test": np.flatnonzero(np.isin(stim_index, np.flatnonzero(split == "test"))),
    }
    behavior, pupil = (trial_variable(ds, name, spec.path) for name in ("behavior", "pupil_center"))
    if (config.shifter and pupil is None) or (config.modulator and behavior is None):
        raise DataError("the shifter needs 'pupil_center' and the modulator 'behavior' in the store",
                        source=spec.path)
    if not raw_behaviour(config):
        for arr in (behavior, pupil):
            if arr is not None:
                arr[...] = standardiser(arr)(arr)
    return Session(spec.data_key, _stimulus_tensor(ds, config), stim_index, responses, behavior, pupil, trials, ds)


# Core kinds that are published networks loaded whole (their own modules, readouts included), built by
# the named module's ``build(config, sessions)``; made by `cortexkit train --from-checkpoint`, not trained.
PUBLISHED = {"viv1t": "cortexkit.encoding.predictor.viv1t", "cowley_compact": "cortexkit.encoding.predictor.compact"}


def raw_behaviour(config: PredictorConfig) -> bool:
    """Whether the model scales behaviour and pupil position itself (a loaded ViV1T, with its own
    statistics), so that they reach it as the store holds them."""
    return config.core.get("kind") == "viv1t"


def standardiser(arr: np.ndarray):
    """The standardisation of a behaviour array (trial, time, k) that training applies: each variable
    z-scored with ``arr``'s statistics, NaN (after a trial's end) -> 0; a function of new arrays too."""
    mean, sd = np.nanmean(arr, axis=(0, 1)), np.nanstd(arr, axis=(0, 1)) + 1e-6
    return lambda a: np.nan_to_num((a - mean) / sd).astype(np.float32)


def trial_variable(ds, name: str, path) -> np.ndarray | None:
    """``name`` as (trial, time, k): per frame (``trial, time, k``, Sensorium) or one value per
    trial (``trial, k``, e.g. the simulator's gaze offset), which counts as one frame."""
    if name not in ds:
        return None
    var = ds[name]
    if var.dims[0] != "trial" or var.ndim not in (2, 3) or (var.ndim == 3 and var.dims[1] != "time"):
        raise DataError(f"dims {var.dims} are not (trial, k) or (trial, time, k)", source=str(path), variable=name)
    values = np.array(var.values, np.float32)  # a copy: the caller standardises it in place, the dataset stays raw
    return values[:, None] if values.ndim == 2 else values


def _extras(sess: Session, idx: np.ndarray, time: int | None, device):
    """Pupil centre and behaviour for trials ``idx``: per frame (time-resolved) or averaged."""
    out = {}
    for name, arr in (("pupil_center", sess.pupil), ("behavior", sess.behavior)):
        if arr is None:
            continue
        a = arr[idx]  # (B, time, k)
        if time is not None and a.shape[1] == 1:  # one value per trial: the same at every frame
            a = np.repeat(a, time, axis=1)
        a = a[:, :time] if time is not None else a.mean(1)
        out[name] = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return out


def _by_trial_length(model, sess: Session, idx: np.ndarray, x: torch.Tensor, t: int, device) -> torch.Tensor:
    """Predictions of a model that attends over whole clips: the trials of each length together, each
    cut at its last recorded frame (the padding after a trial's end never reaches the network), NaN after."""
    seen = np.isfinite(sess.responses[idx]).any(1)  # (trial, frame)
    lengths = np.where(seen.any(1), seen.shape[1] - np.argmax(seen[:, ::-1], axis=1), t)
    extras = _extras(sess, idx, t, device)
    out = None
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        part = model(x[rows, :, :length], sess.key, time_resolved=True,
                     **{k: v[rows, :length] for k, v in extras.items()})
        if out is None:
            out = part.new_full((len(idx), part.shape[1], t), float("nan"))
        out[torch.from_numpy(rows).to(out.device), :, :length] = part
    return out


def _loss_terms(pred: torch.Tensor, y: torch.Tensor, skip: int, kind: str) -> torch.Tensor:
    if pred.ndim == 3:
        pred, y = pred[..., skip:], y[..., skip:]
    valid = torch.isfinite(y)
    y = torch.where(valid, y, torch.zeros_like(y))
    if kind == "poisson":
        terms = pred - y * torch.log(pred + 1e-8)
    elif kind == "mse":
        terms = (pred - y) ** 2
    else:
        raise ConfigError(f"loss must be 'poisson' or 'mse', got {kind!r}")
    return (terms * valid).sum() / valid.sum().clamp_min(1)


class PredictorRun:
    """Sessions, the model and the batches of one training run."""

    def __init__(self, config: PredictorConfig):
        if not config.data:
            raise ConfigError("the training config lists no data")
        require_device(config.device)
        self.config = config
        self.sessions = {s.data_key: load_session(s, config) for s in config.data}
        if len(self.sessions) != len(config.data):
            raise ConfigError("sessions need distinct keys (set `key` in the data list)")
        first = next(iter(self.sessions.values()))
        shapes = {tuple(s.stimuli.shape[1:]) for s in self.sessions.values()}
        if len(shapes) > 1:
            raise DataError(f"sessions have different stimulus shapes {listed(sorted(shapes))}; set image_size", variable="stimuli")
        self.device = torch.device(config.device)
        if config.core.get("kind") in PUBLISHED:  # a published network made into a run: its own modules
            import importlib

            build = importlib.import_module(PUBLISHED[config.core["kind"]]).build
            model, self.map_size = build(config, self.sessions)
            self.model = model.to(self.device)
            return
        core_cfg = dict(config.core)
        if core_cfg.get("kind", "conv2d") != "transfer":
            core_cfg.setdefault("in_channels", first.stimuli.shape[1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            core = make_core(core_cfg)
            with torch.no_grad():
                try:
                    self.map_size = tuple(core.eval()(first.stimuli[:1]).shape[-2:])
                except RuntimeError as exc:  # e.g. kernels larger than the images
                    raise ConfigError(f"the core {config.core} cannot take stimuli of shape "
                                      f"{tuple(first.stimuli.shape[1:])}: {exc}") from None
            n_behaviors = first.behavior.shape[-1] if first.behavior is not None else 0
            self.model = build_predictor(core, config.readout, {k: {"n_units": s.n_units} for k, s in self.sessions.items()},
                                         nonlinearity=config.nonlinearity, shifter=config.shifter,
                                         modulator=config.modulator, map_size=self.map_size,
                                         n_behaviors=n_behaviors).to(self.device)
        means = {}
        for key, s in self.sessions.items():
            r = s.responses[s.trials["train"]]
            means[key] = torch.from_numpy(np.nanmean(r.reshape(len(r), s.n_units, -1), axis=(0, 2)).astype(np.float32))
        self.model.initialize_biases(means)

    def time_steps(self, sess: Session) -> int | None:
        """Response time bins of a time-resolved session, else None."""
        return sess.responses.shape[2] if sess.time_resolved else None

    def predict(self, model: NeuralPredictor, sess: Session, idx: np.ndarray) -> torch.Tensor:
        """Predictions (B, units[, time]) for trials ``idx`` of a session."""
        x = sess.stimuli[sess.stim_of_trial[idx]].to(self.device)
        t = self.time_steps(sess)
        if t is not None and x.ndim == 5:
            x = x[:, :, :t]
        if t is not None and getattr(getattr(model, "module", model), "whole_trials", False):
            return _by_trial_length(model, sess, idx, x, t, self.device)
        pred = model(x, sess.key, time_resolved=t is not None, **_extras(sess, idx, t, self.device))
        if t is not None and pred.shape[-1] != t:
            raise DataError(f"the core gives {pred.shape[-1]} time steps but responses have {t}", variable="responses")
        return pred

    def batches(self, rng: np.random.Generator, rank: int = 0, world: int = 1):
        """One epoch: every session's training trials in shuffled batches, sessions interleaved."""
        items = []
        for key, s in self.sessions.items():
            order = rng.permutation(s.trials["train"])
            items += [(key, order[i : i + self.config.batch_size]) for i in range(0, len(order), self.config.batch_size)]
        items = [items[i] for i in rng.permutation(len(items))]
        items = items[: len(items) // world * world]  # the same number of steps on every process
        return items[rank::world]

    def loss(self, model, batch) -> torch.Tensor:
        """Poisson or MSE loss of one batch plus the model's regulariser."""
        key, idx = batch
        sess = self.sessions[key]
        y = torch.from_numpy(sess.responses[idx]).to(self.device)
        inner = model.module if hasattr(model, "module") else model
        return _loss_terms(self.predict(model, sess, idx), y, self.config.skip_frames, self.config.loss) + inner.regularizer(key)

    @torch.no_grad()
    def predictions(self, model, key: str, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, responses) for a session's trials of ``split``."""
        sess = self.sessions[key]
        idx = sess.trials[split]
        preds = [self.predict(model, sess, idx[i : i + 64]).float().cpu().numpy() for i in range(0, len(idx), 64)]
        return np.concatenate(preds), sess.responses[idx]

    def validation_score(self, model) -> float:
        """Mean over sessions and units of the correlation between predicted and measured
        single-trial responses on the validation trials (time bins after ``skip_frames`` pooled)."""
        scores = []
        for key in self.sessions:
            pred, y = self.predictions(model, key, "val")
            if pred.ndim == 3:
                pred = pred[..., self.config.skip_frames :].transpose(0, 2, 1).reshape(-1, pred.shape[1])
                y = y[..., self.config.skip_frames :].transpose(0, 2, 1).reshape(-1, y.shape[1])
            # each unit over the rows it was recorded on (pooled sessions, padding after a trial's end)
            scores.append(np.nanmean(np.nan_to_num(metrics.on_recorded(metrics.pearson, y, pred))))
        return float(np.mean(scores))
