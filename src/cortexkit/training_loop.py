"""A training loop for cortexkit's torch models: seeded, checkpointed every epoch, resumable.

Every epoch draws its batch order and its torch random state from ``(seed, epoch)``, so a run that
is killed and resumed from its last checkpoint continues exactly as an uninterrupted run would.
The checkpoint (written atomically) holds the model and optimiser states (decayed learning rates
included), the epoch, the best validation score and weights, the early-stopping counters and the
history; it is only resumed when the training
settings that produced it are the same. Early stopping and learning-rate decay follow the
validation score (higher is better) when one is given; gradients can be clipped; bf16 autocast is
used on devices that support it when asked.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from cortexkit._atomic import atomic_path
from cortexkit._progress import enabled as progress_enabled, progress_bar
from cortexkit.errors import DataError


@dataclass
class TrainSettings:
    """Optimiser, schedule and stopping settings; their fingerprint decides whether a checkpoint resumes."""
    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    patience: int | None = None  # epochs without validation improvement before stopping
    lr_decay: float = 0.3  # factor applied after `lr_patience` epochs without improvement
    lr_patience: int | None = None
    min_lr: float = 1e-6
    seed: int = 0
    bf16: bool = False
    extra: dict = field(default_factory=dict)  # anything else the caller wants a resume to check

    def fingerprint(self) -> str:
        """SHA-1 of every setting (a checkpoint resumes only under the same one)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class TrainResult:
    """What :func:`train` returns: the per-epoch history, best epoch and score, and the resumed epoch."""
    history: list[dict]
    best_epoch: int
    best_score: float | None
    resumed_from: int | None


def _save(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint written by :func:`train`, with errors naming the file."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise DataError("no such checkpoint", source=str(path)) from None
    except Exception as exc:
        raise DataError(f"cannot read the checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None


def train(
    model: torch.nn.Module,
    batches: Callable[[np.random.Generator], Iterable],
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    settings: TrainSettings,
    *,
    validate: Callable[[torch.nn.Module], float] | None = None,
    checkpoint: str | os.PathLike | None = None,
    description: str = "training",
    log: Callable[[str], None] | None = None,
    stop_after: int | None = None,
    save: bool = True,
) -> TrainResult:
    """Train ``model`` in place; at the end it holds the best validated (or the last) weights.

    Parameters
    ----------
    batches : callable
        ``batches(rng)`` yields the epoch's batches, shuffled with the given generator.
    loss_fn : callable
        ``loss_fn(model, batch)`` -> scalar tensor to minimise.
    validate : callable, optional
        ``validate(model)`` -> score, higher is better (early stopping, LR decay, best weights).
    checkpoint : path, optional
        Written after every epoch; an existing checkpoint of the same settings is resumed.
    stop_after : int, optional
        Stop after this epoch as if killed (for testing resumption).
    save : bool
        Write the checkpoint (only one process of a distributed run does).
    """
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(_parameter_groups(model, settings.lr), lr=settings.lr, weight_decay=settings.weight_decay)
    state = {"history": [], "best_score": None, "best_epoch": -1, "best_state": None, "stale": 0, "lr_stale": 0}
    start, resumed = 0, None
    path = Path(checkpoint) if checkpoint else None
    if path is not None and path.exists():
        saved = load_checkpoint(path)
        if saved.get("fingerprint") == settings.fingerprint():
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            state = {k: saved[k] for k in state}
            start = resumed = saved["epoch"] + 1
            if log:
                log(f"{description}: resumed from {path} after epoch {start}")
        elif log:
            log(f"{description}: {path} was made with other settings; starting afresh")
    bf16 = settings.bf16 and (device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported()))
    with progress_bar(f"{description}: epochs", max(0, settings.epochs - start)) as advance:
        for epoch in range(start, settings.epochs):
            if settings.patience and state["stale"] >= settings.patience:
                break
            rng = np.random.default_rng([settings.seed, epoch])
            torch.manual_seed(settings.seed * 100003 + epoch)
            model.train()
            losses = []
            for batch in batches(rng):
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = loss_fn(model, batch)
                loss.backward()
                if settings.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                opt.step()
                losses.append(float(loss.detach()))
            record = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else float("nan"),
                      "lr": opt.param_groups[0]["lr"]}
            if validate is not None:
                model.eval()
                with torch.no_grad():
                    record["val"] = float(validate(model))
                _track_validation(state, record["val"], epoch, model, opt, settings)
            state["history"].append(record)
            if log and (progress_enabled() or epoch + 1 == settings.epochs or (epoch + 1) % 5 == 0):
                val = f", val {record['val']:.4f}" if "val" in record else ""
                log(f"{description}: epoch {epoch + 1}/{settings.epochs}, loss {record['loss']:.4f}{val}")
            if path is not None and save:
                _save(path, {"fingerprint": settings.fingerprint(), "epoch": epoch, "model": model.state_dict(),
                             "optimizer": opt.state_dict(), "settings": asdict(settings), **state})
            advance()
            if stop_after is not None and epoch + 1 >= stop_after:
                return TrainResult(state["history"], state["best_epoch"], state["best_score"], resumed)
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return TrainResult(state["history"], state["best_epoch"], state["best_score"], resumed)


def _parameter_groups(model: torch.nn.Module, lr: float) -> list[dict]:
    """Trainable parameters grouped by learning rate.

    A submodule with an ``lr_scale`` attribute trains at ``lr * lr_scale``: a pretrained trunk that is
    fine-tuned needs a far smaller step than the freshly initialised readouts on top of it.
    """
    inner = getattr(model, "module", model)  # DDP wraps the model; the parameters are the same objects
    scale_of: dict[int, float] = {}
    for module in inner.modules():
        scale = getattr(module, "lr_scale", None)
        if scale is not None:
            for p in module.parameters():
                scale_of[id(p)] = float(scale)
    groups: dict[float, list] = {}
    for p in model.parameters():
        if p.requires_grad:
            groups.setdefault(scale_of.get(id(p), 1.0), []).append(p)
    return [{"params": params, "lr": lr * scale} for scale, params in sorted(groups.items(), reverse=True)]


def _track_validation(state: dict, score: float, epoch: int, model, opt, settings: TrainSettings) -> None:
    """Best weights, early-stopping and learning-rate-decay counters after one validation."""
    if state["best_score"] is None or score > state["best_score"]:
        state.update(best_score=score, best_epoch=epoch, best_state=copy.deepcopy(model.state_dict()), stale=0, lr_stale=0)
        return
    state["stale"] += 1
    state["lr_stale"] += 1
    if settings.lr_patience and state["lr_stale"] >= settings.lr_patience:
        for group in opt.param_groups:
            group["lr"] = max(settings.min_lr, group["lr"] * settings.lr_decay)
        state["lr_stale"] = 0
