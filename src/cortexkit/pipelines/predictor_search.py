"""Hyperparameter search over a trained predictor (Optuna), scored on the validation stimuli only.

A search space names config fields (dotted for the nested ``core`` and ``readout`` settings) and
their ranges::

    lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    weight_decay: {low: 1.0e-6, high: 1.0e-3, log: true}
    core.channels: {choices: [16, 32, 64]}
    readout.l1: {low: 1.0e-4, high: 1.0e-1, log: true}

Each trial trains the config with the trial's values in its own run folder (``OUT/trials/NAME``, a
normal ``cortexkit train`` run, checkpointed) and is scored by the validation score of its best epoch
(the mean correlation on the training stimuli held out for early stopping, ``val_fraction``): the
test split is never read. The study lives in ``OUT/study.db`` (SQLite), so an interrupted search
resumes: finished trials are kept, a trial cut short is tried again with the same values and resumes
from its checkpoint. Sampling is seeded (TPE), or exhaustive (grid) when every dimension lists its
choices. ``OUT/search.csv`` lists the trials, ``OUT/best.yaml`` is the best trial's whole config:
``cortexkit train OUT/best.yaml --out RUN`` trains and scores it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os

import numpy as np
import pandas as pd
import yaml

from cortexkit._atomic import check_output, claimed_output, write_text
from cortexkit.config import load_yaml, parse
from cortexkit.errors import ConfigError, listed
from cortexkit.evaluation import write_table

SAMPLERS = ("tpe", "grid")


def parse_space(raw: dict, config) -> dict[str, dict]:
    """A checked search space: ``{field: {"low", "high", "log", "int"} or {"choices"}}``; fields must
    exist in the config (top level) or be ``core.*`` / ``readout.*``."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("the search space must be a mapping of config fields to ranges, e.g. lr: {low: 1e-4, high: 1e-2, log: true}")
    fields = set(type(config).model_fields)
    out = {}
    for key, dim in raw.items():
        head = str(key).split(".", 1)[0]
        if head not in fields or ("." in str(key) and head not in ("core", "readout")):
            raise ConfigError(f"search space: {key!r} is not a config field (fields: {listed(sorted(fields))}; nested: core.*, readout.*)")
        if key in ("data", "device", "seed"):
            raise ConfigError(f"search space: {key!r} is not a hyperparameter")
        if not isinstance(dim, dict):
            raise ConfigError(f"search space: {key!r} needs {{low, high[, log]}} or {{choices: [...]}}, got {dim!r}")
        if "choices" in dim:
            if set(dim) != {"choices"} or not isinstance(dim["choices"], list) or not dim["choices"]:
                raise ConfigError(f"search space: {key!r} choices must be a non-empty list and nothing else")
            out[key] = {"choices": list(dim["choices"])}
            continue
        extra = set(dim) - {"low", "high", "log", "int"}
        if extra or "low" not in dim or "high" not in dim:
            raise ConfigError(f"search space: {key!r} needs low and high (optional log, int), got {listed(sorted(dim))}")
        low, high = float(dim["low"]), float(dim["high"])
        log = bool(dim.get("log", False))
        if not low < high or (log and low <= 0):
            raise ConfigError(f"search space: {key!r} needs low < high{' and low > 0 (log)' if log else ''}, got {low}, {high}")
        out[key] = {"low": low, "high": high, "log": log, "int": bool(dim.get("int", False))}
    return out


def with_values(config, values: dict):
    """``config`` with ``values`` (dotted keys for core / readout) set, validated."""
    raw = copy.deepcopy(config.model_dump())
    for key, value in values.items():
        head, _, rest = key.partition(".")
        if rest:
            raw[head] = {**raw[head], rest: value}
        else:
            raw[head] = value
    return parse(type(config), raw, "search trial")


def _suggest(trial, space: dict) -> dict:
    values = {}
    for key, dim in space.items():
        if "choices" in dim:
            values[key] = trial.suggest_categorical(key, dim["choices"])
        elif dim["int"]:
            values[key] = trial.suggest_int(key, int(dim["low"]), int(dim["high"]), log=dim["log"])
        else:
            values[key] = trial.suggest_float(key, dim["low"], dim["high"], log=dim["log"])
    return values


def _trial_name(values: dict) -> str:
    return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_search(config, space_path: str | os.PathLike, out: str | os.PathLike, *, trials: int = 20,
               sampler: str = "tpe", log=print) -> dict:
    """Search the hyperparameters of ``space_path`` (YAML) for ``config`` (a PredictorConfig) into
    ``out``; returns ``{"trials": table, "best": best config or None, "best_score": float}``."""
    import optuna

    from cortexkit.pipelines.predictor import train_predictor

    if trials < 1:
        raise ConfigError(f"--trials must be >= 1, got {trials}")
    if sampler not in SAMPLERS:
        raise ConfigError(f"--sampler must be one of {listed(SAMPLERS)}, got {sampler!r}")
    space = parse_space(space_path if isinstance(space_path, dict) else load_yaml(space_path), config)
    if sampler == "grid" and any("choices" not in d for d in space.values()):
        raise ConfigError("--sampler grid needs choices for every dimension (ranges are sampled by tpe)")
    if sampler == "grid":  # every point of the grid once, at most
        trials = min(trials, int(np.prod([len(d["choices"]) for d in space.values()])))
    out = check_output(out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with claimed_output(out):
        storage = f"sqlite:///{(out / 'study.db').resolve()}"
        chosen = (optuna.samplers.GridSampler({k: d["choices"] for k, d in space.items()}, seed=config.seed)
                  if sampler == "grid" else optuna.samplers.TPESampler(seed=config.seed))
        study = optuna.create_study(study_name="search", storage=storage, direction="maximize", sampler=chosen,
                                    load_if_exists=True)
        known = json.loads(study.user_attrs.get("space", "null"))
        if known is not None and known != space:
            raise ConfigError(f"{out} holds a search over another space; search into a new --out")
        study.set_user_attr("space", json.dumps(space))
        # A trial cut short (the process was killed) is tried again with its values: its run resumes.
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(t.params)
            log(f"trial {t.number} was cut short: tried again")

        def objective(trial):
            values = _suggest(trial, space)
            cfg = with_values(config, values)
            folder = out / "trials" / _trial_name(values)
            trial.set_user_attr("run", str(folder.relative_to(out)))
            log(f"trial {trial.number}: {values}")
            run = train_predictor(cfg, folder, log=lambda m: None)
            score = run.validation_score(run.model)  # the best epoch's weights: validation only, never test
            log(f"trial {trial.number}: validation score {score:.4f}")
            return score

        done = lambda: len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))  # noqa: E731
        while done() < trials:
            before = done()
            study.optimize(objective, n_trials=trials - before, catch=(ConfigError,))
            if done() == before:  # every remaining trial failed (e.g. bad values for the core)
                break
        rows = [{"trial": t.number, "state": t.state.name, "validation score": t.value, **t.params,
                 "run": t.user_attrs.get("run", "")} for t in study.get_trials(deepcopy=False)]
        table = pd.DataFrame(rows)
        write_table(table, out / "search.csv")
        complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
        if not complete:
            return {"trials": table, "best": None, "best_score": float("nan")}
        best = max(complete, key=lambda t: t.value)
        best_config = with_values(config, best.params)
        write_text(out / "best.yaml", f"# best of {len(complete)} trials (validation score {best.value:.4f}, trial "
                                      f"{best.number}); train it: cortexkit train {out / 'best.yaml'} --out RUN\n"
                   + yaml.safe_dump(best_config.model_dump(mode="json"), sort_keys=False))
    return {"trials": table, "best": best_config, "best_score": float(best.value)}
