"""torchvision classification and video models by name: ``torchvision:resnet50``, ``torchvision:r3d_18``."""

from __future__ import annotations

from functools import lru_cache

import os
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.features.library.base import LibraryModel, load_into, seeded
from cortexkit.features.registry import EXTRACTORS
from cortexkit.optional import require


_PRETRAINED_BUILD = {"inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
                     "googlenet": {"transform_input": True, "aux_logits": False, "init_weights": False}}


@lru_cache(maxsize=1)
def _torchvision_video_models() -> frozenset[str]:
    tv = require("torchvision")
    return frozenset(tv.models.list_models(module=tv.models.video))


@EXTRACTORS.register("torchvision")
class TorchvisionModel(LibraryModel):
    """A torchvision classification or video model (``torchvision:resnet50``, ``torchvision:r3d_18``,
    ``torchvision:r2plus1d_18``, ``torchvision:s3d``, ``torchvision:mvit_v2_s``).

    Video models take the videos themselves (frames resized to the model's crop, Kinetics
    normalisation; a grayscale movie fills the three channels). ``layers: all`` is the model's
    top-level stages (``layer1`` ... ``layer4`` for ResNets, ``features`` for VGG/AlexNet...).
    Pretrained weights are read from ``torch.hub``'s checkpoint folder (``$TORCH_HOME/hub/checkpoints``),
    where torchvision itself saves them. Parameters as :class:`LibraryModel`.
    """

    source = "torchvision"
    _example = "resnet50"

    @property
    def accepts_video(self) -> bool:
        """Video models (r3d_18, mc3_18, r2plus1d_18, s3d, mvit_*, swin3d_*) take whole videos."""
        return bool(self.model) and self.model in _torchvision_video_models()

    def _weights_enum(self):
        tv = require("torchvision", self.arch)
        try:
            return tv.models.get_model_weights(self.model).DEFAULT
        except (ValueError, KeyError, AttributeError):
            return None

    def checkpoint_path(self) -> Path | None:
        """Where torchvision keeps the default pretrained weights of this model."""
        w = self._weights_enum()
        if w is None:
            return None
        return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(w.url)

    def _build(self, weights):
        tv = require("torchvision", self.arch)
        if self.model not in tv.models.list_models():
            raise ConfigError(f"torchvision has no model {self.model!r}; video models: "
                              f"{listed(sorted(_torchvision_video_models()))}; image models include resnet50, "
                              "convnext_tiny, vit_b_16, efficientnet_b1")
        # as torchvision builds these models for its own pretrained weights (inception's input transform)
        extra = _PRETRAINED_BUILD.get(self.model, {}) if weights != "random" else {}
        if weights == "pretrained":  # found (or not) before the network is built
            path = self.checkpoint_path()
            if path is None:
                raise ConfigError(f"torchvision publishes no pretrained weights for {self.model}; pass weights: PATH")
            if not path.is_file():
                url = self._weights_enum().url
                raise self._not_found(str(path), f"`curl -L -o {path} {url}`")
            weights = path
        net = seeded(lambda: tv.models.get_model(self.model, weights=None, **extra), self.seed)
        if weights != "random":
            load_into(net, weights, f"torchvision {self.model}")
        return net.eval()

    def _default_layers(self, net):
        children = [(n, m) for n, m in net.named_children() if any(True for _ in m.parameters())]
        children = children[:-1] if len(children) > 1 else children  # not the classifier
        if len(children) == 1 and isinstance(children[0][1], nn.Sequential):
            prefix, seq = children[0]
            return [f"{prefix}.{n}" for n, m in seq.named_children() if any(True for _ in m.parameters())]
        return [n for n, _ in children]

    def _preprocessing(self, net):
        w = self._weights_enum()
        if w is not None:
            t = w.transforms()
            crop = getattr(t, "crop_size", [224])
            return int(crop[0] if isinstance(crop, (list, tuple)) else crop), tuple(t.mean), tuple(t.std)
        return 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def weights_location(self):
        """torch.hub's checkpoint file for this model's default weights."""
        path = self.checkpoint_path()
        return str(path) if path else ""

    def weights_present(self):
        """That checkpoint file when it exists, else None."""
        path = self.checkpoint_path()
        return str(path) if path is not None and path.is_file() else None

    # --- videos ----------------------------------------------------------------------------------
    def fit(self, stimuli, y=None):
        """Check the stimuli (images, or videos for a video model) and build the network."""
        if not self.accepts_video:
            return super().fit(stimuli, y)
        self._validate_params()
        videos = self._videos(stimuli)
        self.input_shape_ = videos.shape[1:]
        self._fit(videos)
        return self

    def _videos(self, stimuli) -> np.ndarray:
        v = np.asarray(stimuli, dtype=np.float32)
        if v.ndim == 4:
            v = v[..., None]
        if v.ndim != 5 or v.shape[-1] not in (1, 3):
            raise DataError(f"{self.arch} takes videos (stimulus, frame, y, x[, channel]), got shape {v.shape}",
                            variable="stimuli")
        if not np.isfinite(v).all():
            raise DataError("contains NaN or inf", variable="stimuli")
        return v

    def _prepare(self, batch):
        if not self.accepts_video:
            return super()._prepare(batch)
        n, t = batch.shape[:2]
        frames = super()._prepare(batch.reshape((n * t,) + batch.shape[2:]))  # (n*t, 3, y, x)
        return frames.reshape(n, t, *frames.shape[1:]).permute(0, 2, 1, 3, 4).contiguous()

    def extract(self, stimuli):
        """``{layer: (n_stimuli, n_features)}`` of images, or of whole videos for a video model."""
        if not self.accepts_video:
            return super().extract(stimuli)
        check_is_fitted(self, "input_shape_")
        return dict(zip(self.layer_names_, self._run(self._videos(stimuli))))

    def transform(self, stimuli):
        """All requested layers side by side, (n_stimuli, n_features)."""
        if not self.accepts_video:
            return super().transform(stimuli)
        return np.concatenate(list(self.extract(stimuli).values()), axis=1).astype(np.float32)
