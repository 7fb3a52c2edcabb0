"""Feature extractors by name from the ecosystem's model libraries: ``timm:<model>``,
``torchvision:<model>`` (image and video models) and ``open_clip:<arch>``.

Layers are module paths as in ``named_modules()`` (``layer3``, ``blocks.6``,
``transformer.resblocks.11``); ``layers: all`` takes the library's own list of stage outputs
(timm's ``feature_info``), a model's top-level stages (torchvision) or the image embedding
(open_clip). Spatial maps are pooled as for :class:`~cortexkit.features.TorchExtractor`; video maps
(batch, channel, time, y, x) are averaged over time first, and token sequences (batch, token,
channel) of transformers are averaged over tokens (``pool: null`` keeps every position or token).

Weights never download. ``weights`` is:

- ``pretrained`` (default): the library's own cache, as a machine with internet leaves it
  (Hugging Face hub cache for timm and open_clip, ``torch.hub`` checkpoints for torchvision);
  absent weights are one error line saying where they were looked for and how to get them;
- ``random``: seeded initialisation (the untrained control);
- a file path: a state dict (``.safetensors``, ``.pth``, ``.pt``, ``.bin``) of the same model
  (for open_clip, any checkpoint ``open_clip.create_model`` reads);
- for open_clip, a pretrained tag such as ``laion2b_s34b_b79k`` (resolved in the local cache).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from cortexkit.errors import ConfigError, DataError
from cortexkit.features.base import check_images
from cortexkit.features.registry import EXTRACTORS
from cortexkit.features.torch_layers import NETWORK_CONSTRAINTS, TorchExtractor
from cortexkit.optional import offline, require

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def load_state_file(path: str | os.PathLike) -> dict:
    """A state dict from ``.safetensors`` or a torch file (``state_dict``/``model`` entries unwrapped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such weights file", source=str(path))
    try:
        if path.suffix == ".safetensors":
            state = require("safetensors", "reading .safetensors weights").torch.load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except ConfigError:
        raise
    except Exception as exc:
        raise DataError(f"cannot read the weights ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise DataError(f"expected a state dict, got {type(state).__name__}", source=str(path))
    return state


def load_into(module: nn.Module, path: str | os.PathLike, what: str) -> None:
    """Load a state dict file into ``module``; a mismatch names the file and the first bad keys."""
    state = load_state_file(path)
    own = module.state_dict()
    missing = sorted(k for k in set(own) - set(state) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise DataError(f"does not match {what}: {len(missing)} missing (e.g. {missing[:2]}), "
                        f"{len(unexpected)} unexpected (e.g. {unexpected[:2]}) parameters", source=str(path))
    bad = [k for k, v in state.items() if tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise DataError(f"parameter {bad[0]} has shape {tuple(state[bad[0]].shape)}, {what} "
                        f"{tuple(own[bad[0]].shape)}", source=str(path))
    module.load_state_dict(state, strict=False)


def _seeded(make, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


class LibraryModel(TorchExtractor):
    """Base of the library-backed extractors (see the module docstring for the parameters).

    Parameters
    ----------
    model : str
        The library's model name (``resnet50``, ``r3d_18``, ``ViT-B-32``).
    weights : str
        ``pretrained``, ``random``, a file path (or an open_clip pretrained tag).
    layers : "all" or sequence of str
        Module paths.
    pool : int, "global" or None
    projection : int, optional
    image_size : int, optional
        Input resolution; the library's pretrained resolution by default.
    batch_size : int
    device : str
        ``cpu`` or ``cuda`` (``cuda:1``, ...).
    dtype : {"float32", "bfloat16"}
        bfloat16 runs the network under autocast (GPU inference); features are returned as float32.
    seed : int
        Seed of ``random`` weights and of the projections.
    """

    source = ""

    _parameter_constraints: dict = {"model": [str], **NETWORK_CONSTRAINTS,
                                     "dtype": [StrOptions({"float32", "bfloat16"})]}

    def __init__(self, model="", weights="pretrained", layers="all", pool=6, projection=None, image_size=None,
                 batch_size=32, device="cpu", dtype="float32", seed=0):
        self.model = model
        self.weights = weights
        self.layers = layers
        self.pool = pool
        self.projection = projection
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.seed = seed

    @property
    def arch(self) -> str:
        """``source:model``, the name progress bars and messages use."""
        return f"{self.source}:{self.model}"

    # --- what each library supplies -------------------------------------------------------------
    def _build(self, weights: str) -> nn.Module:
        """The network with ``weights`` (``random``, ``pretrained``, a path or a tag)."""
        raise NotImplementedError

    def _default_layers(self, net: nn.Module) -> list[str]:
        raise NotImplementedError

    def _preprocessing(self, net: nn.Module) -> tuple[int, tuple, tuple]:
        """(input size, mean, std) of the pretrained model."""
        raise NotImplementedError

    def weights_location(self) -> str:
        """Where ``weights: pretrained`` is looked for (for listings and messages)."""
        return ""

    def weights_present(self) -> str | None:
        """The local file of ``weights: pretrained`` when it is there (no import of the weights), else None."""
        return None

    # --- shared plumbing --------------------------------------------------------------------------
    def _check_model(self) -> None:
        if not self.model:
            raise ConfigError(f"name a {self.source} model, e.g. {self.source}:{self._example}")

    def layer_list(self) -> list[str]:
        """The requested module paths (checked against the model, built once with random weights)."""
        self._check_model()
        paths = _module_paths(type(self), self.model)
        if self.layers in ("all", None):
            return list(_default_layers(type(self), self.model))
        names = [self.layers] if isinstance(self.layers, str) else list(self.layers)
        bad = [n for n in names if n not in paths and n != self._root_name]
        if bad:
            some = [p for p in paths if p.count(".") <= 1][:15]
            raise ConfigError(f"{self.arch} has no layer(s) {bad}; module paths include {some} "
                              f"(`layers: all` gives {list(_default_layers(type(self), self.model))})")
        return names

    _root_name = "output"  # the network's own output as a layer
    _example = ""

    def _setup(self):
        names = self.layer_list()
        net = self._build(self.weights)
        size, mean, std = self._preprocessing(net)
        self.input_size_ = int(self.image_size or size)
        paths = ["" if n == self._root_name else n for n in names]
        return net, paths, names, (mean, std)

    def _fit(self, stimuli):
        if self.device.startswith("cuda") and not torch.cuda.is_available():  # before building anything
            raise ConfigError(f"device {self.device!r} asked for, but torch sees no CUDA device")
        super()._fit(stimuli)

    def _prepare(self, batch: np.ndarray) -> torch.Tensor:
        return self._to_network(batch, self.input_size_)

    def _prepare_tensor(self, x: torch.Tensor) -> torch.Tensor:
        from cortexkit.image import resize_tensor

        if x.ndim == 3:
            x = x[..., None]
        x = x.expand(*x.shape[:-1], 3) if x.shape[-1] == 1 else x
        if tuple(x.shape[1:3]) != (self.input_size_, self.input_size_):
            x = resize_tensor(x, self.input_size_)
        return self._normalize(x.permute(0, 3, 1, 2).to(self.device))

    def _reduce(self, i: int, out) -> torch.Tensor:
        if isinstance(out, (tuple, list)):  # some blocks return (tokens, extras)
            out = out[0]
        out = out.float()
        if self.pool is not None:
            if out.ndim == 5:  # video (batch, channel, time, y, x): average over time
                out = out.mean(2)
            elif out.ndim == 3:  # tokens (batch, token, channel): average over tokens
                out = out.mean(1)
        return super()._reduce(i, out)

    def _layer_outputs(self, x):
        if self.dtype == "bfloat16":
            with torch.autocast(device_type=torch.device(self.device).type, dtype=torch.bfloat16):
                return super()._layer_outputs(x)
        return super()._layer_outputs(x)

    def _not_found(self, where: str, how: str) -> ConfigError:
        return ConfigError(f"weights for {self.arch} not found at {where}; download them on a machine with "
                           f"internet with {how} and copy them there, or pass weights: PATH (a state dict file)")


@lru_cache(maxsize=16)
def _random_instance(cls, model: str) -> nn.Module:
    return cls(model=model)._build("random")


def _module_paths(cls, model: str) -> list[str]:
    return [n for n, _ in _random_instance(cls, model).named_modules() if n]


def _default_layers(cls, model: str) -> list[str]:
    return cls(model=model)._default_layers(_random_instance(cls, model))


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
                hub = _hf_cache()
                raise self._not_found(
                    f"{hub} ({type(exc).__name__})",
                    f"python -c \"import timm; timm.create_model('{self.model}', pretrained=True)\"") from None
            return net.eval()
        net = _seeded(lambda: timm.create_model(self.model, pretrained=False), self.seed)
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
        return _hf_cache()

    def weights_present(self):
        """The cached timm weight file of this model, or None."""
        timm = require("timm", self.arch)
        cfg = timm.models.get_pretrained_cfg(self.model)
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        return _hf_file(hub_id, ("model.safetensors", "pytorch_model.bin")) if hub_id else None


def _hf_cache() -> str:
    return os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")


def _hf_file(repo: str, filenames) -> str | None:
    """Path of a file of a Hugging Face repository in the local hub cache, or None."""
    hub = require("huggingface_hub")
    repo = repo.strip("/")
    for name in filenames:
        found = hub.try_to_load_from_cache(repo, name, cache_dir=_hf_cache())
        if isinstance(found, str):
            return found
    return None


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
                              f"{sorted(_torchvision_video_models())}; image models include resnet50, "
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
        net = _seeded(lambda: tv.models.get_model(self.model, weights=None, **extra), self.seed)
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
            return _seeded(lambda: open_clip.create_model(self.model, pretrained=None), self.seed)
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
        return _hf_cache()

    def weights_present(self):
        """The cached OpenCLIP checkpoint of this architecture and tag, or None."""
        open_clip = require("open_clip", self.arch)
        tags = [t for m, t in open_clip.list_pretrained() if m == self.model]
        tag = tags[0] if self.weights == "pretrained" and tags else self.weights
        cfg = open_clip.get_pretrained_cfg(self.model, tag) or {}
        if not cfg.get("hf_hub"):
            return None
        return _hf_file(cfg["hf_hub"], ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))

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


# Well-known models a listing reports on (any other name of each library works the same way).
CATALOGUE = {
    "timm": ["resnet50", "convnext_tiny", "vit_base_patch16_224", "efficientnet_b1"],
    "torchvision": ["resnet50", "inception_v3", "efficientnet_b1", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s"],
    "open_clip": ["ViT-B-32", "ViT-L-14", "RN50"],
}


def catalogue() -> list[dict]:
    """One row per well-known library model: name, whether its library is installed, and whether its
    pretrained weights are on this machine (and where they are or would be)."""
    from cortexkit.optional import available

    classes = {"timm": TimmModel, "torchvision": TorchvisionModel, "open_clip": OpenCLIPModel}
    rows = []
    for source, models in CATALOGUE.items():
        installed = available(source)
        for model in models:
            row = {"name": f"{source}:{model}", "installed": installed, "weights": "", "where": ""}
            if installed:
                ex = classes[source](model=model)
                found = ex.weights_present()
                row["weights"] = "present" if found else "absent"
                row["where"] = found or ex.weights_location()
            rows.append(row)
    return rows
