"""timm image models by name: ``timm:resnet50``, ``timm:convnext_tiny``, ``timm:vit_base_patch16_224``."""

from __future__ import annotations


from cortexkit.errors import ConfigError
from cortexkit.features.library.base import LibraryModel, hf_cache, hf_file, load_into, seeded
from cortexkit.features.registry import EXTRACTORS
from cortexkit.optional import offline, require


@EXTRACTORS.register("timm")
class TimmModel(LibraryModel):
    """Any timm image model (``timm:resnet50``, ``timm:convnext_tiny``, ``timm:vit_base_patch16_224``).

    ``layers: all`` is the model's ``feature_info`` (its stage outputs). Parameters as
    :class:`LibraryModel`.
    """

    source = "timm"
    _example = "resnet50"

    def _build(self, weights):
        timm = require("timm", self.arch)
        if self.model not in timm.list_models() and self.model.split(".")[0] not in timm.list_models():
            raise ConfigError(f"timm has no model {self.model!r} (timm.list_models() lists them, e.g. resnet50, "
                              "convnext_tiny, vit_base_patch16_224)")
        if weights == "pretrained":
            try:
                with offline():
                    net = timm.create_model(self.model, pretrained=True)
            except Exception as exc:  # timm raises hub/OS errors of several kinds when offline
                hub = hf_cache()
                raise self._not_found(
                    f"{hub} ({type(exc).__name__})",
                    f"python -c \"import timm; timm.create_model('{self.model}', pretrained=True)\"") from None
            return net.eval()
        net = seeded(lambda: timm.create_model(self.model, pretrained=False), self.seed)
        if weights != "random":
            load_into(net, weights, f"timm {self.model}")
        return net.eval()

    def _default_layers(self, net):
        info = getattr(net, "feature_info", None)
        if info:
            return [f["module"] for f in (info.get_dicts() if hasattr(info, "get_dicts") else info)]
        raise ConfigError(f"{self.arch} lists no stages; name its layers (module paths)")

    def _preprocessing(self, net):
        cfg = getattr(net, "pretrained_cfg", None) or {}
        size = (cfg.get("input_size") or (3, 224, 224))[-1]
        return size, tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(cfg.get("std", (0.229, 0.224, 0.225)))

    def weights_location(self):
        """The Hugging Face hub cache folder."""
        return hf_cache()

    def weights_present(self):
        """The cached timm weight file of this model, or None."""
        timm = require("timm", self.arch)
        cfg = timm.models.get_pretrained_cfg(self.model)
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        return hf_file(hub_id, ("model.safetensors", "pytorch_model.bin")) if hub_id else None
