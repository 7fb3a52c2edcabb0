"""OpenCLIP image towers by name: ``open_clip:ViT-B-32`` (and the text tower for captions)."""

from __future__ import annotations


import os
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from cortexkit.errors import ConfigError, DataError
from cortexkit.features.library.base import LibraryModel, hf_cache, hf_file, seeded
from cortexkit.features.registry import EXTRACTORS
from cortexkit.optional import offline, require


@EXTRACTORS.register("open_clip")
class OpenCLIPModel(LibraryModel):
    """The image tower of an OpenCLIP model (``open_clip:ViT-B-32``, ``open_clip:ViT-L-14``,
    ``open_clip:RN50``); :meth:`text_features` embeds captions with the text tower.

    ``layers: all`` is ``output`` (the projected image embedding); blocks are module paths of the
    image tower (``transformer.resblocks.11``). ``weights`` is a checkpoint file, a pretrained tag
    found in the local Hugging Face cache (``open_clip.list_pretrained()`` lists the pairs), or
    ``random``. Parameters as :class:`LibraryModel`.
    """

    source = "open_clip"
    _example = "ViT-B-32"

    def _clip(self, weights):
        open_clip = require("open_clip", self.arch)
        if self.model not in open_clip.list_models():
            raise ConfigError(f"open_clip has no architecture {self.model!r}; e.g. ViT-B-32, ViT-L-14, RN50 "
                              "(open_clip.list_models())")
        if weights == "random":
            return seeded(lambda: open_clip.create_model(self.model, pretrained=None), self.seed)
        if Path(weights).suffix or os.sep in weights:
            if not Path(weights).is_file():
                raise DataError("no such weights file", source=weights)
            try:
                return open_clip.create_model(self.model, pretrained=str(weights))
            except Exception as exc:
                raise DataError(f"cannot load into open_clip {self.model} ({type(exc).__name__}: {str(exc)[:200]})",
                                source=str(weights)) from None
        tags = [t for m, t in open_clip.list_pretrained() if m == self.model]
        if weights == "pretrained":
            if not tags:
                raise ConfigError(f"open_clip lists no pretrained weights for {self.model}; pass weights: PATH")
            weights = tags[0]
        try:
            with offline():
                return open_clip.create_model(self.model, pretrained=weights, require_pretrained=True)
        except Exception as exc:
            if weights not in tags:
                raise ConfigError(f"open_clip has no pretrained tag {weights!r} for {self.model}; it has {tags}") from None
            raise self._not_found(
                f"{self.weights_location()} ({type(exc).__name__})",
                f"python -c \"import open_clip; open_clip.create_model('{self.model}', pretrained='{weights}')\"") from None

    def _build(self, weights):
        self.clip_ = self._clip(weights).eval()
        return self.clip_.visual

    def _default_layers(self, net):
        return [self._root_name]

    def _preprocessing(self, net):
        size = getattr(net, "image_size", 224)
        size = size[0] if isinstance(size, (tuple, list)) else size
        mean = getattr(net, "image_mean", None) or (0.48145466, 0.4578275, 0.40821073)
        std = getattr(net, "image_std", None) or (0.26862954, 0.26130258, 0.27577711)
        return int(size), tuple(mean), tuple(std)

    def weights_location(self):
        """The Hugging Face hub cache folder."""
        return hf_cache()

    def weights_present(self):
        """The cached OpenCLIP checkpoint of this architecture and tag, or None."""
        open_clip = require("open_clip", self.arch)
        tags = [t for m, t in open_clip.list_pretrained() if m == self.model]
        tag = tags[0] if self.weights == "pretrained" and tags else self.weights
        cfg = open_clip.get_pretrained_cfg(self.model, tag) or {}
        if not cfg.get("hf_hub"):
            return None
        return hf_file(cfg["hf_hub"], ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))

    @torch.no_grad()
    def text_features(self, captions) -> np.ndarray:
        """Text-tower embeddings (n_captions, dim) of a list of captions (the model's tokenizer)."""
        check_is_fitted(self, "input_shape_")
        open_clip = require("open_clip", self.arch)
        if isinstance(captions, str) or not len(captions):
            raise DataError("expected a non-empty list of captions", variable="captions")
        tokens = open_clip.get_tokenizer(self.model)(list(captions)).to(self.device)
        self.clip_.to(self.device)
        return self.clip_.encode_text(tokens).float().cpu().numpy()
