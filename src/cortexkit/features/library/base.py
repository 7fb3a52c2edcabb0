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
from sklearn.utils._param_validation import StrOptions
from torch import nn

from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.features.torch_layers import NETWORK_CONSTRAINTS, TorchExtractor
from cortexkit.optional import require




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


def seeded(make, seed: int) -> nn.Module:
    """``make()`` under the torch seed ``seed`` (the global generator left as it was)."""
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
        paths = module_paths(type(self), self.model)
        if self.layers in ("all", None):
            return list(default_layers(type(self), self.model))
        names = [self.layers] if isinstance(self.layers, str) else list(self.layers)
        bad = [n for n in names if n not in paths and n != self._root_name]
        if bad:
            some = [p for p in paths if p.count(".") <= 1][:15]
            raise ConfigError(f"{self.arch} has no layer(s) {listed(bad)}; module paths include {listed(some)} "
                              f"(`layers: all` gives {listed(default_layers(type(self), self.model))})")
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
def random_instance(cls, model: str) -> nn.Module:
    """A random-weight network of ``cls`` named ``model`` (cached: for listing its modules)."""
    return cls(model=model)._build("random")


def module_paths(cls, model: str) -> list[str]:
    """Every module path of the model (``named_modules``), the names ``layers`` may use."""
    return [n for n, _ in random_instance(cls, model).named_modules() if n]


def default_layers(cls, model: str) -> list[str]:
    """The layers ``layers: all`` means for the model."""
    return cls(model=model)._default_layers(random_instance(cls, model))


def hf_cache() -> str:
    """The Hugging Face hub cache folder (``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or ``~/.cache/huggingface/hub``)."""
    return os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")


def hf_file(repo: str, filenames) -> str | None:
    """Path of a file of a Hugging Face repository in the local hub cache, or None."""
    hub = require("huggingface_hub")
    repo = repo.strip("/")
    for name in filenames:
        found = hub.try_to_load_from_cache(repo, name, cache_dir=hf_cache())
        if isinstance(found, str):
            return found
    return None
