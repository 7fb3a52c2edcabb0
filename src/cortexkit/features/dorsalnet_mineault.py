"""The published DorsalNet (Mineault et al. 2021) as a feature space for videos.

``dorsalnet_mineault`` loads the released weights (``weights: PATH`` to ``dorsalnet.pt`` as STSBench
ships it; nothing is downloaded) into :class:`cortexkit.features.networks.dorsalnet_mineault.MineaultDorsalNet`,
feeds gray clips normalised as STSBench does (mean 0.482, std 0.294, repeated on three channels), and
returns each chosen block's activations pooled to ``pool`` x ``pool`` positions and averaged over
frames. Crop the videos as the benchmark does when converting them (the ``stsbench`` reader's
``crop``); ``image_size`` resizes frames first. cortexkit's own ``dorsalnet`` is a smaller network it
trains on rendered self-motion; this is the network of the paper.
"""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from cortexkit.errors import ConfigError, listed
from cortexkit.features.base import FeatureExtractor, check_gray_videos
from cortexkit.features.dorsalnet import pooled_video_features
from cortexkit.features.networks.dorsalnet_mineault import BLOCKS, load_mineault_dorsalnet, normalize
from cortexkit.features.registry import EXTRACTORS


@EXTRACTORS.register("dorsalnet_mineault")
class MineaultDorsalNetFeatures(FeatureExtractor):
    """Blocks of the published DorsalNet (Mineault et al. 2021) for videos, pooled in space and time.

    Parameters
    ----------
    weights : str
        Path of the published ``dorsalnet.pt`` (STSBench: encoding/baselines/dorsalnet/checkpoints/).
    layers : sequence of str
        Blocks to return: s1, res0, res1, res2, res3 (STSBench reads s1 to res2).
    pool : int
        Spatial grid of the average pooling of each block.
    image_size : int, optional
        Resize frames to this height and width first (the network was trained on 112 px clips).
    batch_size, device
    """

    learns_from_stimuli = False
    name = "dorsalnet_mineault"
    accepts_video = True
    _parameter_constraints: dict = {
        "weights": [str, os.PathLike, None],
        "layers": [list, tuple],
        "pool": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }

    def __init__(self, weights=None, layers=("s1", "res0", "res1", "res2"), pool=2, image_size=None, batch_size=32,
                 device="cpu"):
        self.weights = weights
        self.layers = layers
        self.pool = pool
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device

    def layer_list(self) -> list[str]:
        """The chosen blocks, as given."""
        return list(self.layers)

    def fit(self, stimuli, y=None):
        """Load the published network (nothing is learned from the stimuli)."""
        self._validate_params()
        unknown = [name for name in self.layers if name not in BLOCKS]
        if unknown or not self.layers:
            raise ConfigError(f"dorsalnet_mineault has no block(s) {listed(unknown)}; blocks: {', '.join(BLOCKS)}")
        if self.weights is None:
            raise ConfigError("dorsalnet_mineault needs the published weights: -p weights=PATH/dorsalnet.pt "
                              "(STSBench's encoding/baselines/dorsalnet/checkpoints/dorsalnet.pt)")
        self.input_shape_ = check_gray_videos(stimuli).shape[1:]
        self.model_ = load_mineault_dorsalnet(self.weights).to(self.device)
        return self

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{block: (n_videos, channels * pool * pool)}`` of videos (n, frame, y, x[, channel])."""
        deepest = max(self.layers, key=BLOCKS.index)
        return pooled_video_features(self, stimuli, lambda v: self.model_.blocks(
            normalize(torch.from_numpy(np.ascontiguousarray(v))).to(self.device), upto=deepest), "dorsalnet_mineault")

    def transform(self, stimuli) -> np.ndarray:
        """Every chosen block's features side by side (n_videos, n_features)."""
        return np.concatenate(list(self.extract(stimuli).values()), axis=1)
