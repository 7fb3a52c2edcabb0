"""The trained-predictor pipeline: train a core + readouts end to end into a run directory, then
score the test split.

``train_predictor(config, out)`` builds a :class:`~cortexkit.encoding.predictor.PredictorRun`
and trains it with :func:`cortexkit.training_loop.train` (seeded, early stopping on the validation
correlation, learning-rate decay on plateau, gradient clipping, bf16 where supported, a checkpoint
every epoch, resumed after a kill) and writes::

    RUN/config.yaml      resolved training config, versions, seed
    RUN/checkpoint.pt    training state (resumable)
    RUN/model.pt         the final (best validated) weights and what is needed to rebuild them
    RUN/results.csv      one row per session x unit on the test split
    RUN/summary.csv      medians per session

With ``ensemble: N`` the config trains N members (seeds ``seed`` .. ``seed + N - 1``, each a full run
in ``RUN/members/I``, resumable) and the run's predictions are their average; ``RUN/model.pt`` then
names the members.

Under ``torchrun`` (several processes), the model is wrapped in DistributedDataParallel (NCCL on
GPUs, gloo on CPUs), each process takes its share of every epoch's batches, and only rank 0
writes files: ``torchrun --nproc_per_node=N -m cortexkit train CONFIG.yaml --out OUT``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cortexkit import data, metrics
from cortexkit._atomic import atomic_path, check_output, claim_output
from cortexkit.config import provenance, resolve_config
from cortexkit.encoding.predictor import PredictorConfig, PredictorRun
from cortexkit.encoding.predictor.training import PUBLISHED
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import (data_fingerprint, load_arrays, noise_ceiling, read_run_record, save_arrays,
                                  score_predictions, write_run_record, write_table)
from cortexkit.training_loop import TrainSettings, train


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
    if config.core.get("kind") in PUBLISHED:
        raise ConfigError(f"a {config.core['kind']} core is a published network made into a run (cortexkit train "
                          f"--from-checkpoint PATH --format {config.core['kind']}); training or fine-tuning it here is "
                          "not implemented")
    out = check_output(out)
    rank, world = _distributed()
    if config.ensemble > 1:
        return _train_ensemble(config, out, world, log, stop_after)
    run = PredictorRun(config)
    if rank == 0:
        claim_output(out)
    model = run.model
    if world > 1:
        if config.device.startswith("cuda"):
            torch.cuda.set_device(rank % torch.cuda.device_count())
        model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    if rank == 0:
        fingerprints = {key: data_fingerprint(sess.dataset) for key, sess in run.sessions.items()}
        write_run_record(out, {"training": config.model_dump(), "data_fingerprints": fingerprints,
                               "provenance": provenance(config.seed), "world_size": world})
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


def _train_ensemble(config: PredictorConfig, out: Path, world: int, log, stop_after) -> PredictorRun:
    """Members trained one after the other from seeds seed, seed + 1, ...; the run averages them."""
    from cortexkit.encoding.predictor import EnsemblePredictor

    if world > 1:
        raise ConfigError("an ensemble trains its members one after the other; launch it without torchrun")
    claim_output(out)
    members = []
    for i in range(config.ensemble):
        log(f"ensemble member {i + 1} of {config.ensemble} (seed {config.seed + i})")
        member = config.model_copy(update={"ensemble": 1, "seed": config.seed + i})
        members.append(train_predictor(member, out / "members" / str(i), log=log, stop_after=stop_after))
    run = members[0]  # the sessions (the test split is the same for every seed)
    run.config = config
    run.model = EnsemblePredictor([m.model for m in members]).eval()
    fingerprints = {key: data_fingerprint(sess.dataset) for key, sess in run.sessions.items()}
    write_run_record(out, {"training": config.model_dump(), "data_fingerprints": fingerprints,
                           "provenance": provenance(config.seed), "world_size": world})
    if stop_after is None:
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"members": [f"members/{i}" for i in range(config.ensemble)], "config": config.model_dump()}, tmp)
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
    if "members" in saved:  # an ensemble: each member is a run of its own
        from cortexkit.encoding.predictor import EnsemblePredictor

        members = [load_trained(Path(run_dir) / m) for m in saved["members"]]
        run = members[0]
        run.config = PredictorConfig.model_validate(saved["config"])
        run.model = EnsemblePredictor([m.model for m in members]).eval()
        return run
    run = PredictorRun(PredictorConfig.model_validate(saved["config"]))
    run.model.load_state_dict(saved["state"])
    run.model.eval()
    return run


def stimulus_predictions(run: PredictorRun, key: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """One prediction per stimulus of a session's ``split``: ``(prediction (stimulus, unit),
    stimulus labels)``, for sessions with one response per trial (not time-resolved)."""
    sess = run.sessions[key]
    pred, _ = run.predictions(run.model, key, split)
    labels = np.asarray(sess.dataset["stimulus"].values)[sess.stim_of_trial[sess.trials[split]]]
    _, first = np.unique(labels, return_index=True)  # trials of one stimulus share its prediction
    return pred[first], labels[first]


PREDICTIONS_DIR = "predictions"  # a trained run's test predictions per session: predictions/<key>.npz


def saved_predictions(run_dir: str | os.PathLike, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(prediction (stimulus, unit), stimulus labels)`` of a session's test split as
    :func:`evaluate_predictor` last saved them, or None when it has not."""
    path = Path(run_dir) / PREDICTIONS_DIR / f"{key}.npz"
    if not path.is_file():
        return None
    arrays = load_arrays(path)
    return arrays["prediction"], arrays["stimulus"]


def evaluate_predictor(run: PredictorRun, out: str | os.PathLike) -> pd.DataFrame:
    """Score the test split of every session; write ``results.csv``, ``summary.csv`` and each session's
    test predictions (``predictions/<key>.npz``). A session whose store changed since training (its
    content fingerprint in ``config.yaml`` differs) is an error."""
    out = Path(out)
    trained = read_run_record(out).get("data_fingerprints", {}) if (out / "config.yaml").is_file() else {}
    for key, sess in run.sessions.items():
        if key in trained and trained[key] != data_fingerprint(sess.dataset):
            raise DataError(f"session {key!r} changed since the model in {out} was trained (its content fingerprint "
                            "differs); train again before scoring", source=str(out))
    frames, summary = [], []
    label = f"trained:{run.config.core.get('kind', 'conv2d')}"
    for key, sess in run.sessions.items():
        test = data.select(sess.dataset, "test")
        if sess.time_resolved:
            pred, y = run.predictions(run.model, key, "test")
            table = pd.DataFrame(metrics.sensorium_scores(pred, y, sess.stim_of_trial[sess.trials["test"]],
                                                          run.config.skip_frames))
        else:
            pred, labels = stimulus_predictions(run, key)
            # kept beside the scores, so that benchmarks and comparisons read them instead of predicting again
            save_arrays({"prediction": pred.astype(np.float32), "stimulus": labels,
                         "unit": np.asarray(sess.dataset["unit"].values)}, out / PREDICTIONS_DIR / f"{key}.npz")
            table = score_predictions(test, pred, labels, noise_ceiling(test), seed=run.config.seed)
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
    write_table(results, out / "results.csv")
    summ = pd.DataFrame(summary)
    write_table(summ, out / "summary.csv")
    return summ


def run_trained_predictor(config: PredictorConfig, out: str | os.PathLike, *, log=print) -> pd.DataFrame:
    """Train (or resume) into ``out``, then score the test split; returns the per-session summary
    (rank 0 of a distributed run; other ranks return an empty table)."""
    run = train_predictor(config, out, log=log)
    rank, _ = _distributed()
    summary = evaluate_predictor(run, out) if rank == 0 else pd.DataFrame()
    if torch.distributed.is_initialized():  # a torchrun launch: every rank is done with the group
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return summary


def predictor_config(path: str | os.PathLike, *, epochs: int | None = None, device: str | None = None,
                     data: list[str] | None = None) -> PredictorConfig:
    """The config of ``cortexkit train``: the YAML at ``path``, then the options given (None: not
    given). ``data`` replaces the config's sessions: ``PATH`` or ``KEY=PATH`` each."""
    stores = None
    if data is not None:
        stores = [dict(zip(("key", "path"), s.split("=", 1))) if "=" in s else {"path": s} for s in data]
        if not stores:
            raise ConfigError("--data is empty: name one or more stores (PATH or KEY=PATH)")
    return resolve_config(PredictorConfig, path, {"epochs": epochs, "device": device, "data": stores})
