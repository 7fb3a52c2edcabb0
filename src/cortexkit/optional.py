"""Optional ecosystem libraries (timm, torchvision, open_clip, diffusers, transformers), imported
on first use with a one-line install hint when they are missing.

The default install stays lean: ``make extras`` in a checkout adds them all, pinned to the torch
already installed (elsewhere, ``pip install "cortexkit[zoo]"`` adds the backbone libraries -
torchvision, timm, open_clip; install the torchvision made for your torch first, or pip fetches
the torch it was made for - and ``"cortexkit[generative]"`` the diffusion stack: diffusers,
transformers, safetensors). Nothing here downloads anything: :func:`offline` turns the Hugging Face
hub's network access off while weights are looked up, so a missing file is an error, not a download.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import sys

from cortexkit.errors import ConfigError

# package -> (import name, extra that installs it)
EXTRAS = {
    "torchvision": "zoo",
    "timm": "zoo",
    "open_clip": "zoo",
    "diffusers": "generative",
    "transformers": "generative",
    "safetensors": "generative",
}
PIP_NAMES = {"open_clip": "open_clip_torch"}
_SHIM = []  # keeps the operator library below alive


def _torchvision_operator_shim() -> None:
    """Declare the two torchvision operators whose fake kernels torchvision registers on import.

    PyPI's torchvision wheels are built against CUDA torch; next to a CPU-only torch their compiled
    operators (nms, roi_align, ...) cannot load, which torchvision tolerates for every operator
    except ``nms`` and ``qnms``, whose registration then fails the import. Declaring their schemas
    lets the import finish; the models and transforms do not use these detection operators (calling
    them still fails, inside torchvision).
    """
    import torch

    if _SHIM or hasattr(torch.ops.torchvision, "nms"):
        return
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _SHIM.append(lib)


def _import_torchvision():
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left a half-initialised package behind
    _torchvision_operator_shim()
    return importlib.import_module("torchvision")


def require(package: str, what: str | None = None):
    """Import an optional library, or raise one :class:`ConfigError` line saying how to install it.

    Parameters
    ----------
    package : str
        Import name: torchvision, timm, open_clip, diffusers, transformers or safetensors.
    what : str, optional
        What needs it, for the message (e.g. ``"timm:resnet50"``).
    """
    extra = EXTRAS.get(package, "zoo")
    try:
        # timm, open_clip and diffusers import torchvision themselves: make it importable first
        if package != "safetensors" and importlib.util.find_spec("torchvision") is not None:
            _import_torchvision()
        return importlib.import_module(package)
    except ModuleNotFoundError as exc:
        pip_name = PIP_NAMES.get(package, package)
        first = ", after the torchvision release made for your torch" if extra == "zoo" else ""
        raise ConfigError(f"{what or package} needs the {pip_name} package (missing module {exc.name!r}): `make extras` "
                          f"installs the optional libraries in a cortexkit checkout; elsewhere pip install "
                          f"\"cortexkit[{extra}]\"{first}") from None


def available(package: str) -> bool:
    """Whether an optional library is installed (without importing it)."""
    return importlib.util.find_spec(package) is not None


@contextlib.contextmanager
def offline():
    """Hugging Face hub and transformers in offline mode: weights come from the local cache or fail.

    The libraries' own log lines about failed downloads are silenced meanwhile (the caller turns the
    failure into one error line)."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    hub_constants = None
    logging_was = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        # huggingface_hub reads HF_HUB_OFFLINE once at import; set its constant too when loaded
        hub_constants = sys.modules.get("huggingface_hub.constants")
        old = getattr(hub_constants, "HF_HUB_OFFLINE", None)
        if hub_constants is not None:
            hub_constants.HF_HUB_OFFLINE = True
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if hub_constants is not None:
            hub_constants.HF_HUB_OFFLINE = old
        logging.disable(logging_was)
