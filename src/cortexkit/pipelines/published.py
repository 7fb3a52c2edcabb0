"""Published encoding-model checkpoints made into cortexkit runs.

``checkpoint_run(CHECKPOINT, "stsbench", STORE, OUT)`` maps an STSBench checkpoint onto cortexkit's
predictor (:func:`cortexkit.encoding.predictor.checkpoints.stsbench_predictor`), builds the run for the
store's units (their number must equal the checkpoint's), loads the weights unchanged and writes the
run folder a trained run has (``config.yaml`` naming the source checkpoint, ``model.pt``), then scores
the test split: ``evaluate``, ``insilico`` and the reports use it like a run trained by cortexkit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import torch

from cortexkit._atomic import atomic_path, check_output, claimed_output
from cortexkit.config import provenance
from cortexkit.encoding.predictor import PredictorConfig, PredictorRun
from cortexkit.encoding.predictor.checkpoints import stsbench_predictor
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import data_fingerprint, write_run_record

CHECKPOINT_FORMATS = ("stsbench",)


def checkpoint_run(checkpoint: str | os.PathLike, format: str, store: str | os.PathLike, out: str | os.PathLike, *,
                   key: str | None = None, device: str = "cpu", log=print) -> pd.DataFrame:
    """Turn a published checkpoint into a run in ``out`` on the recording ``store``; returns the
    per-session summary of its test scores.

    Parameters
    ----------
    checkpoint : path
        The checkpoint file (STSBench: ``<config>_dorsalnet_<size>_<layer>.pth``).
    format : {"stsbench"}
    store : path
        A recording whose units are the checkpoint's neurons, in order (its clips are cut to the
        checkpoint's frames and resized to its size).
    key : str, optional
        The session key (default: the checkpoint's config name).
    """
    from cortexkit.pipelines.predictor import evaluate_predictor

    if format not in CHECKPOINT_FORMATS:
        raise ConfigError(f"checkpoint format must be one of: {', '.join(CHECKPOINT_FORMATS)}; got {format!r}")
    pieces = stsbench_predictor(checkpoint)
    out = check_output(out)
    key = key or pieces["config"]
    config = PredictorConfig(data=[{"path": str(store), "key": key}], core=pieces["core"], readout=pieces["readout"],
                             nonlinearity="identity", grayscale=True, frames=pieces["frames"],
                             image_size=pieces["image_size"], epochs=1, device=device, seed=0)
    run = PredictorRun(config)
    n_units = run.sessions[key].n_units
    if n_units != pieces["n_units"]:
        raise DataError(f"has {n_units} units; the checkpoint {Path(checkpoint).name} predicts {pieces['n_units']} neurons "
                        "(key 'w_s')", source=str(store), variable="unit")
    state = {k.format(session=key): v for k, v in pieces["state"].items()}
    run.model.load_state_dict(state, strict=True)
    run.model.eval()
    with claimed_output(out):
        write_run_record(out, {"training": config.model_dump(), "provenance": provenance(config.seed),
                               "data_fingerprints": {key: data_fingerprint(run.sessions[key].dataset)},
                               "source_checkpoint": {"path": str(Path(checkpoint).resolve()), "format": format,
                                                     "layer": pieces["layer"], "frames": pieces["frames"]}})
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"state": run.model.state_dict(), "config": config.model_dump(), "map_size": run.map_size}, tmp)
        log(f"{Path(checkpoint).name}: {pieces['n_units']} neurons, DorsalNet {pieces['layer']} over {pieces['frames']} "
            f"frames at {pieces['image_size']} px -> {out}")
        return evaluate_predictor(run, out)
