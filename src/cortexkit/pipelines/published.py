"""Published encoding-model checkpoints made into cortexkit runs.

``checkpoint_run(CHECKPOINT, FORMAT, STORE, OUT)`` builds the run for the store's units (their number
must equal the checkpoint's), loads the weights unchanged and writes the run folder a trained run has
(``config.yaml`` naming the source checkpoint, ``model.pt``), then scores the test split:
``evaluate`` (``--submission`` included), ``insilico`` and the reports use it like a run trained by
cortexkit.

- ``stsbench``: an STSBench encoding-model file, mapped onto cortexkit's predictor
  (:func:`cortexkit.encoding.predictor.checkpoints.stsbench_predictor`).
- ``viv1t``: a ViV1T run folder (``args.yaml``, ``ckpt/model_state.pt``), the network as it was
  released (:mod:`cortexkit.encoding.predictor.viv1t`) with the statistics of the store's training
  tier; the store is one mouse of the checkpoint (a Sensorium 2023 folder converted without resizing),
  named by the session key (``A=STORE``) or found from the folder it was converted from.
- ``cowley_compact``: a folder of Cowley et al.'s published compact V4 models (``models_torch/``,
  ``nums_filters/``), one per neuron (:mod:`cortexkit.encoding.predictor.compact`); the store is a
  ``cowley2023`` session at its native 112 px, each unit answered by its neuron's model.
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

CHECKPOINT_FORMATS = ("stsbench", "viv1t", "cowley_compact")


def checkpoint_run(checkpoint: str | os.PathLike, format: str, store: str | os.PathLike, out: str | os.PathLike, *,
                   key: str | None = None, device: str = "cpu", skip_frames: int | None = None, log=print) -> pd.DataFrame:
    """Turn a published checkpoint into a run in ``out`` on the recording ``store``; returns the
    per-session summary of its test scores.

    Parameters
    ----------
    checkpoint : path
        The checkpoint file (STSBench: ``<config>_dorsalnet_<size>_<layer>.pth``) or folder (ViV1T).
    format : {"stsbench", "viv1t", "cowley_compact"}
    store : path
        A recording whose units are the checkpoint's neurons, in order (STSBench: its clips are cut to
        the checkpoint's frames and resized to its size; ViV1T: one mouse, frames as recorded).
    key : str, optional
        The session key (default: the checkpoint's config name; ViV1T: the mouse).
    skip_frames : int, optional
        ViV1T: the frames of each trial left out of the scores (default 50, as ViV1T's evaluation;
        at least the 24 before its first prediction).
    """
    from cortexkit.pipelines.predictor import evaluate_predictor

    if format not in CHECKPOINT_FORMATS:
        raise ConfigError(f"checkpoint format must be one of: {', '.join(CHECKPOINT_FORMATS)}; got {format!r}")
    if format == "viv1t":
        return _viv1t_run(checkpoint, store, out, key=key, device=device, skip_frames=skip_frames, log=log)
    if skip_frames is not None:
        raise ConfigError("skip_frames is for time-resolved checkpoints (viv1t); these models predict one response "
                          "per stimulus")
    if format == "cowley_compact":
        return _compact_run(checkpoint, store, out, key=key, device=device, log=log)
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
    from cortexkit.features.networks.weights import load_state_strictly

    state = {k.format(session=key): v for k, v in pieces["state"].items()}
    names = {k.format(session=key): v for k, v in pieces["names"].items()}
    load_state_strictly(run.model, state, checkpoint, "does not match an STSBench DorsalNet encoding model",
                        "the checkpoint's other keys give", names)
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


def _viv1t_run(folder, store, out, *, key: str | None, device: str, skip_frames: int | None, log) -> pd.DataFrame:
    """A ViV1T checkpoint folder as a run on one mouse's store (see the module docstring)."""
    from cortexkit import data
    from cortexkit.encoding.predictor.viv1t import KIND, mouse_of
    from cortexkit.encoding.viv1t import load_weights, read_viv1t
    from cortexkit.pipelines.predictor import evaluate_predictor

    args, state, neurons = read_viv1t(folder)
    ds = data.open(store)
    mouse = mouse_of(ds.attrs.get("source", ""), key, neurons, ds.sizes.get("unit", 0))
    key = key or mouse
    lead = int(args["core_temporal_patch_size"]) - 1
    skip = 50 if skip_frames is None else int(skip_frames)
    frames = ds.sizes.get("time", 0)
    if skip < lead:
        raise ConfigError(f"skip_frames {skip}: ViV1T's first prediction is at frame {lead} (its temporal patch of "
                          f"{lead + 1} frames), so at least {lead} frames are skipped")
    if frames and skip >= frames:
        raise ConfigError(f"skip_frames {skip} leaves nothing of the store's {frames} frames to score")
    out = check_output(out)
    config = PredictorConfig(data=[{"path": str(store), "key": key}],
                             core={"kind": KIND, "args": args, "neurons": neurons, "mice": {key: mouse}},
                             readout={"kind": "gaussian2d"}, nonlinearity="exp" if int(args["output_mode"]) == 1 else "elu1",
                             skip_frames=skip, epochs=1, device=device, seed=0)
    run = PredictorRun(config)
    load_weights(run.model.viv1t, state, folder)
    run.model.eval()
    with claimed_output(out):
        write_run_record(out, {"training": config.model_dump(), "provenance": provenance(config.seed),
                               "data_fingerprints": {key: data_fingerprint(run.sessions[key].dataset)},
                               "source_checkpoint": {"path": str(Path(folder).resolve()), "format": "viv1t", "mouse": mouse}})
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"state": run.model.state_dict(), "config": config.model_dump(), "map_size": run.map_size}, tmp)
        log(f"ViV1T {Path(folder).name}: mouse {mouse} ({neurons[mouse]} neurons), statistics of the store's "
            f"training tier, first {skip} frames of each trial unscored -> {out}")
        return evaluate_predictor(run, out)


def _compact_run(folder, store, out, *, key: str | None, device: str, log) -> pd.DataFrame:
    """Cowley et al.'s compact models of a session's neurons as a run on the session's store."""
    from cortexkit import data
    from cortexkit.encoding.compact_models import load_compact_models
    from cortexkit.encoding.predictor.compact import KIND, models_config
    from cortexkit.pipelines.predictor import evaluate_predictor

    ds = data.open(store)
    entry = models_config(folder, ds, source=str(store))
    key = key or entry["session"]
    out = check_output(out)
    config = PredictorConfig(data=[{"path": str(store), "key": key}], core={"kind": KIND, "models": {key: entry}},
                             readout={"kind": "linear"}, nonlinearity="identity", epochs=1, device=device, seed=0)
    run = PredictorRun(config)
    loaded = load_compact_models(folder, entry["session"], entry["neurons"])
    run.model.populations[key].load_state_dict(loaded.state_dict())  # the same modules, checked as they were read
    run.model.eval()
    with claimed_output(out):
        write_run_record(out, {"training": config.model_dump(), "provenance": provenance(config.seed),
                               "data_fingerprints": {key: data_fingerprint(run.sessions[key].dataset)},
                               "source_checkpoint": {"path": str(Path(folder).resolve()), "format": KIND,
                                                     "session": entry["session"]}})
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"state": run.model.state_dict(), "config": config.model_dump(), "map_size": run.map_size}, tmp)
        log(f"compact models of session {entry['session']}: {len(entry['neurons'])} neurons ({Path(folder).name}) -> {out}")
        return evaluate_predictor(run, out)
