"""A loaded ViV1T as a trained predictor: the released network behind cortexkit's predictor interface.

:class:`ViV1TPredictor` holds the :class:`~cortexkit.encoding.viv1t.ViV1T` module (its state-dict
names unchanged under ``viv1t.``) and, per session, the statistics ViV1T's data code
(``transform_mode`` 2) computes on the training tier of the mouse, kept as buffers so that a saved
run predicts without the store:

- video: per pixel and frame, mapped as ``(v - mean) / (std - mean)`` with the mean and standard
  deviation over training trials (the original's min-max scaling, fed its mean and std statistics;
  reproduced as it is, since the released weights were trained on it);
- behaviour and pupil centre: min-max scaled per variable and frame;
- responses: the network predicts them divided by their per-neuron, per-frame standard deviation
  (floored at 1% of the mean one); predictions are multiplied back, so that they are in the store's
  units like every other run's.

ViV1T's output step i sees input frames i .. i + 24 (its temporal patch), so it predicts the last
T - 24 frames of a T-frame clip; the first 24 come back NaN, and a run's ``skip_frames`` (50, as
ViV1T's evaluation skips) must cover them. The network attends over the whole clip, so a trial is
predicted from its own frames only: :class:`~cortexkit.encoding.predictor.PredictorRun` cuts each
batch at each trial's end (``whole_trials``). Without behaviour or pupil position (in-silico
experiments) the training trials' mean at each frame stands in.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from cortexkit.encoding.viv1t import RELEASED_MICE, ViV1T, grid_shape
from cortexkit.errors import ConfigError, DataError

KIND = "viv1t"


class Statistics(nn.Module):
    """One session's training statistics (buffers): video (frame, y, x), behaviour and pupil centre
    (frame, 2), response standard deviation (unit, frame)."""

    def __init__(self, frames: int, height: int, width: int, units: int):
        super().__init__()
        for name, shape in (("video_mean", (frames, height, width)), ("video_std", (frames, height, width)),
                            ("behavior_min", (frames, 2)), ("behavior_max", (frames, 2)), ("behavior_mean", (frames, 2)),
                            ("pupil_min", (frames, 2)), ("pupil_max", (frames, 2)), ("pupil_mean", (frames, 2)),
                            ("response_std", (units, frames))):
            self.register_buffer(name, torch.zeros(shape))

    @torch.no_grad()
    def compute(self, video: np.ndarray | torch.Tensor, video_of_trial: np.ndarray, lengths: np.ndarray,
                behavior: np.ndarray, pupil: np.ndarray, responses: np.ndarray) -> "Statistics":
        """Fill the buffers from the training trials: ``video`` (stimulus, frame, y, x) in the store's
        units, ``video_of_trial`` and ``lengths`` (frames recorded) per trial, ``behavior`` / ``pupil``
        (trial, frame, 2) and ``responses`` (trial, unit, frame), NaN after a trial's end."""
        frames = self.video_mean.shape[0]
        total = np.zeros(self.video_mean.shape)
        squares = np.zeros(self.video_mean.shape)
        count = np.zeros(frames)
        for stim, length in zip(video_of_trial, lengths):  # one trial at a time: a release's videos need not fit twice
            v = np.asarray(video[stim][:length], dtype=np.float64)
            total[:length] += v
            squares[:length] += v * v
            count[:length] += 1
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # frames no training trial reaches stay NaN
            mean = total / count[:, None, None]
            std = np.sqrt(np.maximum(squares / count[:, None, None] - mean**2, 0.0))
            sd = np.nanstd(responses, axis=0)
            floor = 0.01 * np.nanmean(sd)
            stats = {"video_mean": mean, "video_std": std, "response_std": np.where(sd > floor, sd, floor)}
            for name, arr in (("behavior", behavior), ("pupil", pupil)):
                stats.update({f"{name}_min": np.nanmin(arr, 0), f"{name}_max": np.nanmax(arr, 0), f"{name}_mean": np.nanmean(arr, 0)})
        for name, value in stats.items():
            getattr(self, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))
        return self


class ViV1TPredictor(nn.Module):
    """A ViV1T network with the statistics of each session it answers for (``mice``: session key ->
    the network's mouse). Called like :class:`~cortexkit.encoding.predictor.NeuralPredictor`."""

    whole_trials = True  # the network attends over every frame of a clip: predict each trial from its own frames

    def __init__(self, args: dict, neurons: dict[str, int], mice: dict[str, str], sizes: dict[str, tuple[int, int, int, int]]):
        super().__init__()
        self.viv1t = ViV1T(args, neurons)
        self.mice = dict(mice)
        self.lead = int(args["core_temporal_patch_size"]) - 1  # input frames before the first predicted one
        self.statistics = nn.ModuleDict({key: Statistics(*sizes[key]) for key in mice})
        self.shifters, self.modulators = nn.ModuleDict(), nn.ModuleDict()  # inside the network: fed by forward

    @property
    def readouts(self) -> dict[str, nn.Module]:
        """Each session's readout (its mouse's)."""
        return {key: self.viv1t.readouts[mouse] for key, mouse in self.mice.items()}

    def regularizer(self, key: str | None = None):
        """No penalty (a loaded network is not trained here)."""
        return 0.0

    def forward(self, x: torch.Tensor, key: str, *, pupil_center=None, behavior=None, time_resolved: bool = True):
        """Responses (B, units, T) in the store's units, NaN for the first 24 frames, from clips
        ``x`` (B, 1, T, y, x) as :func:`~cortexkit.encoding.predictor.core_input` gives them (the
        store's pixels minus 0.5) and raw ``behavior`` / ``pupil_center`` (B, T, 2) (default: the
        training trials' mean per frame)."""
        if not time_resolved:
            raise ConfigError("ViV1T predicts responses frame by frame; the session's responses must be time-resolved")
        stats = self.statistics[key]
        b, _, t = x.shape[:3]
        if t <= self.lead or t > stats.video_mean.shape[0]:
            raise DataError(f"clips of {t} frames: ViV1T predicts from {self.lead + 1} frames on, and its statistics "
                            f"cover {stats.video_mean.shape[0]}", variable="stimuli")
        lo, hi = stats.video_mean[:t], stats.video_std[:t]
        video = (x + 0.5 - lo) / (hi - lo)  # transform_mode 2 as the original computes it (see the module docstring)

        def scaled(values, low, high, mean):
            values = mean[:t].expand(b, t, 2) if values is None else values[:, :t]
            return ((values - low[:t]) / (high[:t] - low[:t])).transpose(1, 2)

        beh = scaled(behavior, stats.behavior_min, stats.behavior_max, stats.behavior_mean)
        pupil = scaled(pupil_center, stats.pupil_min, stats.pupil_max, stats.pupil_mean)
        out, _ = self.viv1t(video, self.mice[key], beh, pupil)
        out = out * stats.response_std[:, t - out.shape[-1] : t]
        return torch.cat([out.new_full((b, out.shape[1], t - out.shape[-1]), float("nan")), out], dim=-1)


def _lengths(responses: np.ndarray) -> np.ndarray:
    """Frames recorded per trial (up to the last one with a response)."""
    seen = np.isfinite(responses).any(1)  # (trial, frame)
    return np.where(seen.any(1), seen.shape[1] - np.argmax(seen[:, ::-1], axis=1), 0)


def build(config, sessions: dict) -> tuple[ViV1TPredictor, tuple[int, int]]:
    """The predictor of a ``kind: viv1t`` core config (``args``, ``neurons``, ``mice``) with every
    session's statistics computed on its training trials (tier ``train`` where the store says, else
    the train split); ``(model, core map size)``."""
    core = config.core
    missing = [k for k in ("args", "neurons", "mice") if k not in core]
    if missing:
        raise ConfigError(f"a viv1t core needs {missing[0]!r} (`cortexkit train --from-checkpoint DIR --format viv1t` "
                          "writes the config)")
    args, neurons, mice = core["args"], {str(k): int(v) for k, v in core["neurons"].items()}, dict(core["mice"])
    sizes, filled = {}, {}
    for key, sess in sessions.items():
        if key not in mice:
            raise ConfigError(f"the viv1t core maps no mouse to session {key!r} (its mice: {mice})")
        if mice[key] not in neurons:
            raise ConfigError(f"session {key!r}: the network has no mouse {mice[key]!r} (it has {', '.join(neurons)})")
        source = sess.dataset.attrs.get("source", key)
        if not sess.time_resolved:
            raise DataError("has one response per trial; ViV1T predicts each frame (a time-resolved recording)",
                            source=source, variable="responses")
        if sess.behavior is None or sess.pupil is None:
            raise DataError("ViV1T reads behaviour and pupil position per frame; the store lacks "
                            f"{'behavior' if sess.behavior is None else 'pupil_center'}", source=source)
        if sess.n_units != neurons[mice[key]]:
            raise DataError(f"has {sess.n_units} units; the network's mouse {mice[key]} has {neurons[mice[key]]} "
                            f"(key 'readouts.{mice[key]}.bias')", source=source, variable="unit")
        if sess.stimuli.ndim != 5 or sess.stimuli.shape[1] != 1:
            raise DataError(f"stimuli {tuple(sess.stimuli.shape[1:])}: ViV1T takes grayscale videos", source=source,
                            variable="stimuli")
        expected = tuple(int(v) for v in args["input_shapes"]["video"][2:])
        if tuple(sess.stimuli.shape[-2:]) != expected:
            raise DataError(f"frames of {tuple(sess.stimuli.shape[-2:])} px; the network was built for {expected} "
                            "(args.yaml input_shapes.video; convert the release without resizing)", source=source,
                            variable="stimuli")
        frames = min(sess.stimuli.shape[2], sess.responses.shape[2])
        sizes[key] = (frames, *expected, sess.n_units)
        train = _training_trials(sess)
        if train.size == 0:
            raise DataError("has no training trials to compute ViV1T's statistics on", source=source)
        filled[key] = (sess.stimuli[:, 0, :frames] + 0.5, sess.stim_of_trial[train], _lengths(sess.responses[train, :, :frames]),
                       sess.behavior[train, :frames], sess.pupil[train, :frames], sess.responses[train, :, :frames])
    model = ViV1TPredictor(args, neurons, {k: mice[k] for k in sessions}, sizes)
    for key, inputs in filled.items():
        model.statistics[key].compute(*inputs)
    video = args["input_shapes"]["video"]
    size, stride = int(args["core_spatial_patch_size"]), int(args["core_spatial_patch_stride"])
    patches = ((int(video[2]) - size) // stride + 1) * ((int(video[3]) - size) // stride + 1)
    return model.eval(), grid_shape(patches)


def _training_trials(sess) -> np.ndarray:
    """The trials ViV1T's statistics come from: the ``train`` tier (all of it: the validation trials
    cortexkit holds out are in it), or the train split's trials when the store has no tiers."""
    ds = sess.dataset
    if "tier" in ds:
        return np.flatnonzero(np.asarray(ds["tier"].values).astype(str) == "train")
    split = np.asarray(ds["split"].values).astype(str)
    return np.flatnonzero(split[sess.stim_of_trial] == "train")


def mouse_of(store_source: str, key: str | None, neurons: dict[str, int], n_units: int) -> str:
    """The checkpoint's mouse a store records: the session key when it names one, else the Sensorium
    folder the store was converted from (released mice), else the only mouse."""
    if key is not None and key in neurons:
        return key
    for mouse, prefix in RELEASED_MICE.items():
        if mouse in neurons and prefix in str(store_source):
            return mouse
    if len(neurons) == 1:
        return next(iter(neurons))
    listed = ", ".join(f"{m} ({n} neurons)" for m, n in neurons.items())
    raise ConfigError(f"which of the checkpoint's mice does the store record? It has {listed}; the store "
                      f"({n_units} units) names none: give it as the session key, --data MOUSE=STORE")
