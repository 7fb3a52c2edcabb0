"""Cowley et al.'s published compact V4 models as a trained predictor: a session's units, each answered
by its own published model (:mod:`cortexkit.encoding.compact_models`), behind cortexkit's predictor
interface, so that ``evaluate``, ``insilico`` and the benchmarks use them like a run trained here.

A store's units are matched to the models by session and neuron index: the ``cowley2023`` reader names
unit k of session S ``S_k`` (zero-padded) and gives each unit its ``session``. The models see the
store's pixels (0-1, RGB, 112 x 112) as the paper's 0-255 images minus its channel means.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cortexkit.encoding.compact_models import IMAGE_SIZE, CompactPopulation, available_neurons, preprocess, read_filters
from cortexkit.errors import ConfigError, DataError, listed

KIND = "cowley_compact"


class CompactPredictor(nn.Module):
    """One :class:`~cortexkit.encoding.compact_models.CompactPopulation` per session key; called like
    :class:`~cortexkit.encoding.predictor.NeuralPredictor` with images as
    :func:`~cortexkit.encoding.predictor.core_input` gives them (pixels minus 0.5, channels first)."""

    whole_trials = False

    def __init__(self, filters: dict[str, list[list[int]]]):
        super().__init__()
        self.populations = nn.ModuleDict({key: CompactPopulation(f) for key, f in filters.items()})
        self.shifters, self.modulators = nn.ModuleDict(), nn.ModuleDict()  # the published models take images only

    @property
    def readouts(self) -> dict[str, nn.Module]:
        """Each session's models (one per unit)."""
        return dict(self.populations)

    def regularizer(self, key: str | None = None):
        """No penalty (published models are not trained here)."""
        return 0.0

    def forward(self, x: torch.Tensor, key: str, *, pupil_center=None, behavior=None, time_resolved: bool = False):
        """Responses (n, units) of images ``x`` (n, 3, 112, 112), the store's pixels minus 0.5."""
        if time_resolved or x.ndim != 4 or tuple(x.shape[1:]) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(f"inputs of shape {tuple(x.shape[1:])}: the compact models take RGB images of "
                            f"{IMAGE_SIZE} x {IMAGE_SIZE} px, one response each", variable="stimuli")
        return self.populations[key](preprocess((x + 0.5) * 255.0))


def unit_neurons(ds, source: str = "") -> tuple[str, list[int]]:
    """``(session, neuron indices)`` of a store's units, from the ``cowley2023`` reader's unit names
    (``<session>_<index>``) and ``session`` coordinate."""
    units = [str(u) for u in np.asarray(ds["unit"].values)]
    sessions = sorted({str(s) for s in np.asarray(ds["session"].values)}) if "session" in ds.coords else \
        sorted({u.rsplit("_", 1)[0] for u in units})
    if len(sessions) != 1:
        raise DataError(f"holds units of sessions {listed(sessions)}; the compact models answer one session at a time",
                        source=source, variable="session")
    session = sessions[0]
    neurons = []
    for u in units:
        head, _, index = u.rpartition("_")
        if head != session or not index.isdigit():
            raise DataError(f"unit {u!r} is not named <session>_<neuron> (as the cowley2023 reader names them)",
                            source=source, variable="unit")
        neurons.append(int(index))
    return session, neurons


def models_config(folder, ds, source: str = "") -> dict:
    """The ``kind: cowley_compact`` entry of a store's session: its session, neurons and each one's filters."""
    session, neurons = unit_neurons(ds, source)
    have = set(available_neurons(folder, session))
    missing = [i for i in neurons if i not in have]
    if not have:
        raise DataError(f"has no compact model of session {session} (the store's units)", source=str(folder))
    if missing:
        raise DataError(f"has no compact model of neuron(s) {listed(missing[:5])} of session {session} "
                        f"(compact_model_{session}_neuron{missing[0]}.pt)", source=str(folder))
    return {"session": session, "neurons": neurons, "filters": read_filters(folder, session, neurons)}


def build(config, sessions: dict) -> tuple[CompactPredictor, None]:
    """The predictor of a ``kind: cowley_compact`` core config (``models``: session key -> ``{session,
    neurons, filters}``); ``(model, None)``: there is no feature map."""
    models = config.core.get("models")
    if not isinstance(models, dict):
        raise ConfigError("a cowley_compact core needs 'models' (`cortexkit train --from-checkpoint DIR --format "
                          "cowley_compact` writes the config)")
    for key, sess in sessions.items():
        if key not in models:
            raise ConfigError(f"the cowley_compact core has no models for session {key!r}")
        source = sess.dataset.attrs.get("source", key)
        if len(models[key]["neurons"]) != sess.n_units:
            raise DataError(f"has {sess.n_units} units; the config names {len(models[key]['neurons'])} compact models",
                            source=source, variable="unit")
        if tuple(sess.stimuli.shape[1:]) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(f"stimuli {tuple(sess.stimuli.shape[1:])}: the compact models take RGB images of "
                            f"{IMAGE_SIZE} px (convert the session without image_size)", source=source, variable="stimuli")
    return CompactPredictor({key: models[key]["filters"] for key in sessions}).eval(), None
