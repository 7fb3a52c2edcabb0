"""Training neural predictors end to end: data from stores, batches across sessions, DDP, evaluation.

``train_predictor(config, out)`` loads every session's store, builds a :class:`NeuralPredictor`
(one shared core, one readout per session), trains it with :func:`cortexkit.training.train`
(seeded, early stopping on the validation correlation, learning-rate decay on plateau, gradient
clipping, bf16 where supported, a checkpoint every epoch, resumed after a kill) and writes::

    RUN/config.yaml      resolved training config, versions, seed
    RUN/checkpoint.pt    training state (resumable)
    RUN/model.pt         the final (best validated) weights and what is needed to rebuild them
    RUN/results.csv      one row per session x unit on the test split
    RUN/summary.csv      medians per session

Under ``torchrun`` (several processes), the model is wrapped in DistributedDataParallel (NCCL on
GPUs, gloo on CPUs), each process takes its share of every epoch's batches, and only rank 0
writes files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from cortexkit import data, metrics
from cortexkit._atomic import atomic_path, write_text
from cortexkit.config import dump_yaml, provenance
from cortexkit.encoding.predictor import NeuralPredictor, build_predictor, make_core
from cortexkit.errors import ConfigError, DataError
from cortexkit.image import resize, to_grayscale
from cortexkit.training import TrainSettings, train


class SessionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    key: str | None = None

    @property
    def data_key(self) -> str:
        return self.key or Path(self.path).stem.removesuffix(".zarr")


class PredictorConfig(BaseModel):
    """Everything a trained predictor run needs (loadable from YAML)."""

    model_config = ConfigDict(extra="forbid")

    data: list[SessionSpec]
    image_size: int | None = Field(None, description="resize stimuli (square) before the core")
    grayscale: bool = False
    frames: int | None = Field(None, description="videos: keep the first frames")
    skip_frames: int = Field(0, ge=0, description="time-resolved responses: bins left out of loss and scores")
    core: dict[str, Any] = Field(default_factory=lambda: {"kind": "conv2d"})
    readout: dict[str, Any] = Field(default_factory=lambda: {"kind": "gaussian2d"})
    shifter: bool = False
    modulator: bool = False
    nonlinearity: str = "elu1"
    loss: str = "poisson"
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = 3e-3
    weight_decay: float = 0.0
    patience: int | None = 8
    lr_patience: int | None = 3
    lr_decay: float = 0.3
    grad_clip: float | None = 1.0
    bf16: bool = False
    device: str = "cpu"
    seed: int = 0
    val_fraction: float = Field(0.1, gt=0, lt=1, description="training stimuli held out for early stopping (no 'val' split)")


@dataclass
class Session:
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


def _stimulus_tensor(ds, config: PredictorConfig) -> torch.Tensor:
    s = np.asarray(ds["stimuli"].values, dtype=np.float32)
    video = data.stimulus_kind(ds) == "video"
    if video and config.frames:
        s = s[:, : config.frames]
    gray_ndim = 4 if video else 3
    if config.grayscale and s.ndim == gray_ndim + 1:
        s = to_grayscale(s, gray_ndim=gray_ndim)
    if config.image_size:
        s = resize(s, config.image_size, gray_ndim=gray_ndim)
    t = torch.from_numpy(np.ascontiguousarray(s))
    if s.ndim == gray_ndim:  # no channel axis: add one
        t = t.unsqueeze(1)
    else:  # channel last -> channel first, before frames
        t = t.movedim(-1, 1)
    return t - 0.5  # centre on mid-gray


def load_session(spec: SessionSpec, config: PredictorConfig) -> Session:
    ds = data.load(spec.path)
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
    behavior = np.asarray(ds["behavior"].values, np.float32) if "behavior" in ds else None
    pupil = np.asarray(ds["pupil_center"].values, np.float32) if "pupil_center" in ds else None
    if (config.shifter and pupil is None) or (config.modulator and behavior is None):
        raise DataError("the shifter needs 'pupil_center' and the modulator 'behavior' in the store",
                        source=spec.path)
    for arr in (behavior, pupil):
        if arr is not None:  # standardise, NaN (after a trial's end) -> 0
            mean, sd = np.nanmean(arr, axis=(0, 1)), np.nanstd(arr, axis=(0, 1)) + 1e-6
            arr[...] = np.nan_to_num((arr - mean) / sd)
    return Session(spec.data_key, _stimulus_tensor(ds, config), stim_index, responses, behavior, pupil, trials, ds)


def _extras(sess: Session, idx: np.ndarray, time: int | None, device):
    """Pupil centre and behaviour for trials ``idx``: per frame (time-resolved) or averaged."""
    out = {}
    for name, arr in (("pupil_center", sess.pupil), ("behavior", sess.behavior)):
        if arr is None:
            continue
        a = arr[idx]  # (B, time, k)
        a = a[:, :time] if time is not None else a.mean(1)
        out[name] = torch.from_numpy(np.ascontiguousarray(a)).to(device)
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
        self.config = config
        self.sessions = {s.data_key: load_session(s, config) for s in config.data}
        if len(self.sessions) != len(config.data):
            raise ConfigError("sessions need distinct keys (set `key` in the data list)")
        first = next(iter(self.sessions.values()))
        shapes = {tuple(s.stimuli.shape[1:]) for s in self.sessions.values()}
        if len(shapes) > 1:
            raise DataError(f"sessions have different stimulus shapes {sorted(shapes)}; set image_size", variable="stimuli")
        self.device = torch.device(config.device)
        core_cfg = dict(config.core)
        if core_cfg.get("kind", "conv2d") != "transfer":
            core_cfg.setdefault("in_channels", first.stimuli.shape[1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            core = make_core(core_cfg)
            with torch.no_grad():
                self.map_size = tuple(core.eval()(first.stimuli[:1]).shape[-2:])
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
        return sess.responses.shape[2] if sess.time_resolved else None

    def predict(self, model: NeuralPredictor, sess: Session, idx: np.ndarray) -> torch.Tensor:
        x = sess.stimuli[sess.stim_of_trial[idx]].to(self.device)
        t = self.time_steps(sess)
        if t is not None and x.ndim == 5:
            x = x[:, :, :t]
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
            ok = np.isfinite(y).all(1)
            scores.append(np.nanmean(np.nan_to_num(metrics.pearson(y[ok], pred[ok]))))
        return float(np.mean(scores))


def _distributed() -> tuple[int, int]:
    """(rank, world size), joining the process group torchrun set up (if any)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    if world > 1:
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def train_predictor(config: PredictorConfig, out: str | os.PathLike, *, log=print, stop_after: int | None = None) -> PredictorRun:
    """Train (or resume) a predictor run into ``out``; returns the run with the trained model."""
    out = Path(out)
    rank, world = _distributed()
    run = PredictorRun(config)
    model = run.model
    if world > 1:
        if config.device.startswith("cuda"):
            torch.cuda.set_device(rank % torch.cuda.device_count())
        model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    if rank == 0:
        dump_yaml({"training": config.model_dump(), "provenance": provenance(config.seed), "world_size": world},
                  out / "config.yaml")
    settings = TrainSettings(epochs=config.epochs, lr=config.lr, weight_decay=config.weight_decay,
                             grad_clip=config.grad_clip, patience=config.patience, lr_decay=config.lr_decay,
                             lr_patience=config.lr_patience, seed=config.seed, bf16=config.bf16,
                             extra={"config": config.model_dump(), "world": world})
    train(model, lambda rng: run.batches(rng, rank, world), run.loss, settings,
          validate=lambda m: run.validation_score(m), checkpoint=out / "checkpoint.pt", save=rank == 0,
          description="predictor", log=log if rank == 0 else None, stop_after=stop_after)
    if rank == 0 and stop_after is None:
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"state": run.model.state_dict(), "config": config.model_dump(), "map_size": run.map_size}, tmp)
    return run


def load_trained(run_dir: str | os.PathLike) -> PredictorRun:
    """A finished run's sessions and model, rebuilt from ``RUN/model.pt``."""
    path = Path(run_dir) / "model.pt"
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise DataError("no trained model (train it first with `cortexkit train`)", source=str(path)) from None
    except Exception as exc:
        raise DataError(f"cannot read the model ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
    run = PredictorRun(PredictorConfig.model_validate(saved["config"]))
    run.model.load_state_dict(saved["state"])
    run.model.eval()
    return run


def evaluate_predictor(run: PredictorRun, out: str | os.PathLike) -> pd.DataFrame:
    """Score the test split of every session; write ``results.csv`` and ``summary.csv``."""
    from cortexkit.benchmarks.runner import score_predictions

    out = Path(out)
    frames, summary = [], []
    label = f"trained:{run.config.core.get('kind', 'conv2d')}"
    for key, sess in run.sessions.items():
        test = data.select(sess.dataset, "test")
        pred, y = run.predictions(run.model, key, "test")
        if sess.time_resolved:
            table = sensorium_scores(pred, y, sess.stim_of_trial[sess.trials["test"]], run.config.skip_frames)
        else:
            labels = np.asarray(sess.dataset["stimulus"].values)[sess.stim_of_trial[sess.trials["test"]]]
            _, first = np.unique(labels, return_index=True)  # one prediction per test stimulus
            try:
                ceiling = metrics.split_half_reliability(data.repeats(test).values)
            except DataError:
                ceiling = None
            table = score_predictions(test, pred[first], labels[first], ceiling)
        readout = run.model.readouts[key]
        if hasattr(readout, "positions_pixels"):
            learned = readout.positions_pixels(sess.dataset.sizes["y"], sess.dataset.sizes["x"]).cpu().numpy()
            table["readout_x"], table["readout_y"] = learned[:, 0], learned[:, 1]
            if {"rf_x", "rf_y"} <= set(sess.dataset.coords):
                # Known receptive-field centres (simulated recordings): how far the learned positions are.
                true = np.c_[sess.dataset["rf_x"].values, sess.dataset["rf_y"].values]
                table["rf_x"], table["rf_y"] = true[:, 0], true[:, 1]
                table["rf_position_error_px"] = np.linalg.norm(learned - true, axis=1)
        table.insert(0, "session", key)
        table.insert(1, "model", label)
        table.insert(2, "unit", np.asarray(sess.dataset["unit"].values))
        frames.append(table)
        row = {"session": key, "model": label, "units": sess.n_units}
        for col in ("pearson", "ceiling", "normalized", "feve", "single_trial_correlation", "correlation_to_average",
                    "rf_position_error_px"):
            if col in table and table[col].notna().any():
                row[f"median_{col}"] = float(table[col].median())
                if col in ("single_trial_correlation", "correlation_to_average"):
                    row[f"mean_{col}"] = float(table[col].mean())
        summary.append(row)
    results = pd.concat(frames, ignore_index=True)
    with atomic_path(out / "results.csv") as tmp:
        results.to_csv(tmp, index=False)
    summ = pd.DataFrame(summary)
    write_text(out / "summary.csv", summ.to_csv(index=False))
    return summ


def sensorium_scores(pred: np.ndarray, y: np.ndarray, stim: np.ndarray, skip: int = 50) -> pd.DataFrame:
    """Per-unit Sensorium 2023 metrics of time-resolved predictions (trial, unit, time).

    ``single_trial_correlation``: Pearson r over all trials x frames after dropping the first
    ``skip`` frames (NaN frames left out; a NaN score counts as 0); ``correlation_to_average``:
    r between predictions and responses averaged over repeats of the same video, frame by frame;
    ``feve``: fraction of explainable variance explained over repeated videos.
    """
    p, r = pred[..., skip:], y[..., skip:]
    units = p.shape[1]
    flat_p = p.transpose(0, 2, 1).reshape(-1, units)
    flat_r = r.transpose(0, 2, 1).reshape(-1, units)
    ok = np.isfinite(flat_r).all(1)
    single = np.nan_to_num(metrics.pearson(flat_r[ok], flat_p[ok]))
    stims, inverse = np.unique(stim, return_inverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames after every repeat ended are all NaN
        avg_r = np.stack([np.nanmean(r[inverse == i], axis=0) for i in range(len(stims))])  # (video, unit, time)
    avg_p = np.stack([p[inverse == i].mean(0) for i in range(len(stims))])
    a, b = avg_r.transpose(0, 2, 1).reshape(-1, units), avg_p.transpose(0, 2, 1).reshape(-1, units)
    ok2 = np.isfinite(a).all(1)
    to_avg = np.nan_to_num(metrics.pearson(a[ok2], b[ok2]))
    counts = np.bincount(inverse)
    feve = np.full(units, np.nan)
    if (counts >= 2).sum() >= 2:
        rep = [r[inverse == i].transpose(0, 2, 1) for i in range(len(stims)) if counts[i] >= 2]  # (repeat, time, unit)
        n_rep = max(len(x) for x in rep)
        padded = np.full((sum(x.shape[1] for x in rep), n_rep, units), np.nan)
        preds = np.zeros((padded.shape[0], units))
        row = 0
        for i, x in zip([i for i in range(len(stims)) if counts[i] >= 2], rep):
            t = x.shape[1]
            padded[row : row + t, : len(x)] = x.transpose(1, 0, 2)
            preds[row : row + t] = avg_p[i].T
            row += t
        keep = np.isfinite(padded).sum(1).min(1) >= 2
        if keep.sum() >= 2:
            feve = metrics.feve(padded[keep], preds[keep])
    return pd.DataFrame({"single_trial_correlation": single, "correlation_to_average": to_avg, "feve": feve})


def main(argv=None) -> int:
    """``python -m cortexkit.encoding.trainer CONFIG.yaml OUT`` (what torchrun launches)."""
    import sys

    from cortexkit.config import load_config

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: torchrun --nproc_per_node=N -m cortexkit.encoding.trainer CONFIG.yaml OUT_DIR", file=sys.stderr)
        return 2
    run = train_predictor(load_config(PredictorConfig, args[0]), args[1])
    rank, _ = _distributed()
    if rank == 0:
        print(evaluate_predictor(run, args[1]).round(3).to_string(index=False))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
