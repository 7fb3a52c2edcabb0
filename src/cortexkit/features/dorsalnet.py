"""DorsalNet: a small 3D ResNet trained to report self-motion from video, used as a feature space.

As in STSBench's dorsal-stream models (after Mineault et al. 2021, "Your head is there to move you
around"): a 3D convolutional residual network is trained to predict the observer's self-motion
(heading, speed, rotation) from short movies, and its intermediate layers then serve as features
for encoding models of dorsal areas (MT, MST). Here it trains on movies rendered by
:func:`cortexkit.render.render_self_motion` (a camera moving through a dot cloud, the self-motion
known exactly), small enough to train on two CPU cores in minutes.

Architecture: a stem (3D convolution 3 x 7 x 7, stride 1 x 2 x 2) and three residual stages of
basic blocks (two 3 x 3 x 3 convolutions with batch norm; ``channels``, 2 x and 4 x as many, the
last two halving space, the last also time), global average pooling and a linear head to six
targets: the heading's unit vector (3), speed / max_speed, yaw and pitch / max_rotation (the
settings the clips were rendered with), trained with mean squared error.

``cortexkit analyze self-motion`` trains one and scores it; ``train_dorsalnet`` does it in Python;
the ``dorsalnet`` feature space loads a checkpoint (``weights: PATH``) or an untrained network
(``weights: random``, the untrained control) and returns the chosen stages' activations pooled to a
small spatial grid and averaged over time.
"""

from __future__ import annotations

import os
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from cortexkit._atomic import atomic_path, check_output, claim_output
from cortexkit._progress import track
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.features.base import FeatureExtractor, check_gray_videos
from cortexkit.features.registry import EXTRACTORS
from cortexkit.image import resize
from cortexkit.render import heading_vectors, render_self_motion, self_motion_parameters

STAGES = ("stem", "block1", "block2", "block3")
TARGETS = ("heading_x", "heading_y", "heading_z", "speed", "yaw", "pitch")


class BasicBlock3d(nn.Module):
    """Two 3 x 3 x 3 convolutions with batch norm and a residual connection (1 x 1 x 1 projection
    when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride=(1, 1, 1)):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)
        self.skip = (nn.Identity() if cin == cout and tuple(stride) == (1, 1, 1)
                     else nn.Sequential(nn.Conv3d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm3d(cout)))

    def forward(self, x):
        """The block's output for input ``x`` (n, channels, frame, y, x)."""
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.skip(x))


class DorsalNet(nn.Module):
    """The 3D ResNet (see the module docstring); ``forward`` gives the six self-motion outputs,
    ``stages`` every stage's activations."""

    def __init__(self, channels: int = 16):
        super().__init__()
        c = int(channels)
        self.channels = c
        self.stem = nn.Sequential(nn.Conv3d(1, c, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
                                  nn.BatchNorm3d(c), nn.ReLU())
        self.block1 = BasicBlock3d(c, c)
        self.block2 = BasicBlock3d(c, 2 * c, stride=(1, 2, 2))
        self.block3 = BasicBlock3d(2 * c, 4 * c, stride=(2, 2, 2))
        self.head = nn.Linear(4 * c, len(TARGETS))

    def stages(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Activations of every stage for videos ``x`` (n, 1, frame, y, x) centred on 0."""
        out = {}
        for name in STAGES:
            x = getattr(self, name)(x)
            out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The six self-motion outputs (n, 6) for videos ``x`` (n, 1, frame, y, x) centred on 0."""
        return self.head(self.stages(x)["block3"].mean((2, 3, 4)))


def self_motion_targets(params: dict, max_speed: float, max_rotation: float) -> np.ndarray:
    """The six regression targets (n, 6) of self-motions ``params``."""
    heading = heading_vectors(params["heading_azimuth"], params["heading_elevation"])
    rot = max(max_rotation, 1e-9)
    return np.column_stack([heading, np.asarray(params["speed"]) / max_speed, np.asarray(params["yaw"]) / rot,
                            np.asarray(params["pitch"]) / rot]).astype(np.float32)


def decoded_self_motion(outputs: np.ndarray, max_speed: float, max_rotation: float) -> dict[str, np.ndarray]:
    """Self-motion parameters from the six outputs (or targets) ``(n, 6)``: azimuth and elevation of
    the heading vector (degrees), speed, yaw and pitch."""
    h = outputs[:, :3] / np.maximum(np.linalg.norm(outputs[:, :3], axis=1, keepdims=True), 1e-9)
    return {"heading_azimuth": np.rad2deg(np.arctan2(h[:, 0], h[:, 2])) % 360,
            "heading_elevation": np.rad2deg(np.arcsin(np.clip(h[:, 1], -1, 1))),
            "speed": outputs[:, 3] * max_speed, "yaw": outputs[:, 4] * max_rotation, "pitch": outputs[:, 5] * max_rotation}


def heading_error(a_az, a_el, b_az, b_el) -> np.ndarray:
    """Angle (degrees) between headings given as azimuth and elevation in degrees."""
    cos = np.sum(heading_vectors(a_az, a_el) * heading_vectors(b_az, b_el), axis=1)
    return np.rad2deg(np.arccos(np.clip(cos, -1, 1)))


def train_dorsalnet(out: str | os.PathLike, *, n_clips: int = 3000, size: int = 32, n_frames: int = 8,
                    channels: int = 16, epochs: int = 12, batch_size: int = 32, lr: float = 3e-3, seed: int = 0,
                    device: str = "cpu", render: dict | None = None, log=print) -> dict:
    """Train DorsalNet on ``n_clips`` rendered self-motion movies (a tenth held out for validation)
    into ``OUT/checkpoint.pt`` (every epoch, resumable) and ``OUT/dorsalnet.pt`` (the best weights);
    returns its validation errors (median heading error in degrees, R² of speed, yaw and pitch).

    ``render`` passes settings to :func:`~cortexkit.render.render_self_motion` and the parameter
    ranges (``max_speed``, ``max_elevation``, ``max_rotation``); clips are drawn from the seed
    ``[seed, 41]``, never the stimuli of a recording simulated with the same seed."""
    from cortexkit.training_loop import TrainSettings, train

    render = dict(render or {})
    ranges = {k: render.pop(k) for k in ("max_speed", "max_elevation", "max_rotation") if k in render}
    max_speed, max_rotation = ranges.get("max_speed", 0.3), ranges.get("max_rotation", 1.5)
    rng = np.random.default_rng([seed, 41])
    params = self_motion_parameters(n_clips, rng, **ranges)
    log(f"dorsalnet: rendering {n_clips} self-motion clips of {n_frames} frames at {size} px")
    movies, _ = render_self_motion(params, size=size, n_frames=n_frames, seed=seed + 1000, **render)
    targets = self_motion_targets(params, max_speed, max_rotation)
    n_val = max(1, n_clips // 10)
    x = torch.from_numpy(movies[:, None] - 0.5)  # (n, 1, frame, y, x)
    y = torch.from_numpy(targets)
    dev = torch.device(device)
    torch.manual_seed(seed)
    model = DorsalNet(channels).to(dev)

    def batches(r):
        order = r.permutation(np.arange(n_val, n_clips))
        for start in range(0, len(order), batch_size):
            idx = torch.from_numpy(order[start:start + batch_size])
            yield x[idx].to(dev), y[idx].to(dev)

    def loss_fn(m, batch):
        return nn.functional.mse_loss(m(batch[0]), batch[1])

    def predict(m, idx) -> np.ndarray:
        m.eval()
        with torch.no_grad():
            return np.concatenate([m(x[idx[s:s + 256]].to(dev)).float().cpu().numpy() for s in range(0, len(idx), 256)])

    def validate(m):
        return -float(np.mean((predict(m, np.arange(n_val)) - targets[:n_val]) ** 2))

    out = check_output(out)  # a folder of someone else's files is refused, never written into
    claim_output(out)
    settings = TrainSettings(epochs=epochs, lr=lr, weight_decay=1e-4, seed=seed, lr_patience=2,
                             extra={"n_clips": n_clips, "size": size, "n_frames": n_frames, "channels": channels,
                                    "render": render, "ranges": ranges, "batch_size": batch_size})
    train(model, batches, loss_fn, settings, validate=validate, checkpoint=out / "checkpoint.pt",
          description="dorsalnet", log=log)
    pred = decoded_self_motion(predict(model, np.arange(n_val)), max_speed, max_rotation)
    true = {k: np.asarray(v)[:n_val] for k, v in params.items()}
    err = heading_error(pred["heading_azimuth"], pred["heading_elevation"], true["heading_azimuth"], true["heading_elevation"])
    chance = heading_error(pred["heading_azimuth"], pred["heading_elevation"], np.roll(true["heading_azimuth"], 1),
                           np.roll(true["heading_elevation"], 1))

    def r2(k):
        return float(1 - np.sum((pred[k] - true[k]) ** 2) / np.sum((true[k] - true[k].mean()) ** 2))

    metrics = {"median_heading_error_deg": float(np.median(err)), "median_heading_error_shuffled_deg": float(np.median(chance)),
               "speed_r2": r2("speed"), "yaw_r2": r2("yaw"), "pitch_r2": r2("pitch"), "n_train_clips": n_clips - n_val,
               "n_val_clips": n_val}
    with atomic_path(out / "dorsalnet.pt") as tmp:
        torch.save({"state": {k: v.cpu() for k, v in model.state_dict().items()}, "channels": channels, "size": size,
                    "n_frames": n_frames, "max_speed": max_speed, "max_rotation": max_rotation, "metrics": metrics}, tmp)
    return metrics


def load_dorsalnet(path: str | os.PathLike) -> tuple[DorsalNet, dict]:
    """A DorsalNet checkpoint written by :func:`train_dorsalnet`, with errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such DorsalNet checkpoint (train one: cortexkit analyze self-motion)", source=str(path))
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = DorsalNet(saved["channels"])
        model.load_state_dict(saved["state"])
    except Exception as exc:  # noqa: BLE001 - any unreadable or mismatched file is the same error
        raise DataError(f"not a DorsalNet checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
    return model.eval(), saved


def pooled_video_features(extractor, stimuli, forward, label: str) -> dict[str, np.ndarray]:
    """``{layer: (n_videos, channels * pool * pool)}``: each of ``extractor.layers`` of
    ``forward(batch) -> {layer: (n, channels, frame, y, x)}`` average-pooled to ``pool`` x ``pool``
    positions and over frames, batch by batch (frames resized to ``image_size`` first) - what the
    DorsalNet feature spaces share."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(extractor, "model_")
    videos = check_gray_videos(stimuli)
    if videos.shape[1:] != extractor.input_shape_:
        raise DataError(f"videos have shape {videos.shape[1:]}; fitted on {extractor.input_shape_}", variable="stimuli")
    out = {name: [] for name in extractor.layers}
    size, step = extractor.image_size, extractor.batch_size
    for start in track(range(0, len(videos), step), f"{label}: batches of {step} of {len(videos)} videos"):
        v = videos[start:start + step]
        v = resize(v, int(size), gray_ndim=4) if size else v
        with torch.no_grad():
            maps = forward(v)
        for name in extractor.layers:
            pooled = nn.functional.adaptive_avg_pool3d(maps[name], (1, extractor.pool, extractor.pool))
            out[name].append(pooled.flatten(1).float().cpu().numpy())
    return {name: np.concatenate(v) for name, v in out.items()}


@EXTRACTORS.register("dorsalnet")
class DorsalNetFeatures(FeatureExtractor):
    """Activations of DorsalNet's stages for videos, pooled to ``pool`` x ``pool`` positions and
    averaged over time, one layer per stage.

    Parameters
    ----------
    weights : str
        Path of a ``dorsalnet.pt`` written by :func:`train_dorsalnet`, or "random" (untrained, seeded).
    layers : sequence of str
        Stages to return (stem, block1, block2, block3).
    pool : int
        Spatial grid of the average pooling of each stage.
    channels : int
        Width of an untrained network (a checkpoint has its own).
    image_size : int, optional
        Resize frames first (e.g. to the size the network was trained at).
    batch_size, seed, device
    """

    learns_from_stimuli = False
    name = "dorsalnet"
    accepts_video = True
    _parameter_constraints: dict = {
        "weights": [str, os.PathLike],
        "layers": [list, tuple],
        "pool": [Interval(Integral, 1, None, closed="left")],
        "channels": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "device": [str],
    }

    def __init__(self, weights="random", layers=("block1", "block2", "block3"), pool=2, channels=16, image_size=None,
                 batch_size=64, seed=0, device="cpu"):
        self.weights = weights
        self.layers = layers
        self.pool = pool
        self.channels = channels
        self.image_size = image_size
        self.batch_size = batch_size
        self.seed = seed
        self.device = device

    def layer_list(self) -> list[str]:
        """The chosen stages, in depth order as given."""
        return list(self.layers)

    def fit(self, stimuli, y=None):
        """Build (or load) the network for these videos."""
        self._validate_params()
        unknown = [name for name in self.layers if name not in STAGES]
        if unknown or not self.layers:
            raise ConfigError(f"dorsalnet has no stage(s) {listed(unknown)}; stages: {listed(STAGES)}")
        videos = check_gray_videos(stimuli)
        self.input_shape_ = videos.shape[1:]
        if str(self.weights) == "random":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                self.model_ = DorsalNet(self.channels).eval()
        else:
            self.model_, _ = load_dorsalnet(self.weights)
        self.model_.to(self.device)
        return self

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{stage: (n_videos, channels * pool * pool)}`` of videos (n, frame, y, x[, channel])."""
        return pooled_video_features(self, stimuli, lambda v: self.model_.stages(
            torch.from_numpy(np.ascontiguousarray(v - 0.5))[:, None].to(self.device)), "dorsalnet")

    def transform(self, stimuli) -> np.ndarray:
        """Every chosen stage's features side by side (n_videos, n_features)."""
        return np.concatenate(list(self.extract(stimuli).values()), axis=1)
