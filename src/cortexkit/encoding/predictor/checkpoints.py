"""Published encoding-model checkpoints as cortexkit predictors.

STSBench (``encoding/train.py``) saves ``torch.save(net.state_dict(), '<config>_<backbone>_<size>_<layer>.pth')``:
the backbone twice (``ann.*`` and ``inc_features.model.*``), the statistics of a
``BatchNorm2d(C*T, affine=False)`` over the block's channels x frames (``ann_bn.*``), spatial weights
``w_s`` (N, 1, H*W, 1) used as their absolute value and feature weights ``w_f`` (1, N, 1, C*T); the
response is ``sum_{f, p} w_f[n, f] |w_s[n, p]| BN(x)[b, f, p]``, with no bias and no output
nonlinearity. :func:`stsbench_predictor` maps such a file onto cortexkit's ``dorsalnet_mineault`` core
and ``factorized`` readout (``positive: abs``, no bias, ``identity`` output): the core settings, the
readout settings and a state dict for a one-session predictor. Only DorsalNet backbones are known.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from cortexkit.errors import DataError

STSBENCH_NAME = re.compile(r"^(?P<config>.+)_(?P<backbone>[a-z0-9]+)_(?P<size>\d+)_(?P<layer>[a-z]+\d*)$")


def read_state(path: str | os.PathLike) -> dict:
    """A state dict from a ``.pth``/``.pt`` file, with errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such checkpoint file", source=str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error
        raise DataError(f"cannot read the checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(path)) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError("is not a state dict of tensors", source=str(path))
    return state


def stsbench_predictor(path: str | os.PathLike) -> dict:
    """An STSBench encoding checkpoint as cortexkit predictor pieces.

    Returns
    -------
    dict
        ``core`` and ``readout`` settings (``PredictorConfig`` fields), ``n_units``, ``frames``,
        ``image_size`` (from the file name), ``layer``, ``config`` (STSBench's config name), and
        ``state``: the predictor's state dict for a session keyed ``"{session}"`` (a format string).
    """
    from cortexkit.features.networks.dorsalnet_mineault import BLOCKS, MineaultDorsalNet

    path = Path(path)
    name = STSBENCH_NAME.match(path.stem)
    if name is None:
        raise DataError("is not named as STSBench saves checkpoints (<config>_<backbone>_<size>_<layer>.pth, e.g. "
                        "dorsal_stream_dorsalnet_64_res1.pth)", source=str(path))
    if name["backbone"] != "dorsalnet":
        raise DataError(f"has backbone {name['backbone']!r}; cortexkit loads STSBench checkpoints of dorsalnet",
                        source=str(path))
    layer = name["layer"]
    if layer not in BLOCKS:
        raise DataError(f"names layer {layer!r}; DorsalNet's blocks are {', '.join(BLOCKS)}", source=str(path))
    state = read_state(path)
    for key in ("w_s", "w_f", "ann_bn.running_mean", "ann_bn.running_var"):
        if key not in state:
            raise DataError(f"lacks key {key!r} (an STSBench encoding checkpoint holds w_s, w_f, ann_bn.* and ann.*)",
                            source=str(path))
    w_s, w_f = state["w_s"], state["w_f"]
    if w_s.ndim != 4 or w_s.shape[1] != 1 or w_s.shape[3] != 1:
        raise DataError(f"key 'w_s' has shape {tuple(w_s.shape)}; expected (units, 1, positions, 1)", source=str(path))
    n_units, positions = w_s.shape[0], w_s.shape[2]
    if tuple(w_f.shape[:3]) != (1, n_units, 1):
        raise DataError(f"key 'w_f' has shape {tuple(w_f.shape)}; expected (1, {n_units}, 1, features)", source=str(path))
    features = w_f.shape[3]
    channels = 64 if layer == "s1" else 32
    if features % channels or state["ann_bn.running_mean"].shape != (features,):
        raise DataError(f"key 'w_f' has {features} features and 'ann_bn' {tuple(state['ann_bn.running_mean'].shape)}; "
                        f"{layer} gives {channels} channels x frames", source=str(path))
    frames = features // channels
    side = int(name["size"]) // 4
    if side * side != positions:
        raise DataError(f"key 'w_s' has {positions} positions; a {name['size']} px clip gives {side} x {side} at {layer}",
                        source=str(path))
    backbone = {k.removeprefix("ann."): v for k, v in state.items() if k.startswith("ann.") and k != "ann.conv1.weight"}
    expected = MineaultDorsalNet().state_dict()
    missing = sorted(set(expected) - set(backbone))
    if missing:
        raise DataError(f"lacks the backbone key 'ann.{missing[0]}' ({len(missing)} missing)", source=str(path))
    for key, value in backbone.items():
        if key not in expected or tuple(value.shape) != tuple(expected[key].shape):
            got = "unexpected" if key not in expected else f"shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}"
            raise DataError(f"backbone key 'ann.{key}': {got}", source=str(path))
    predictor = {f"core.net.{k}": v for k, v in backbone.items()}
    predictor.update({"core.bn.running_mean": state["ann_bn.running_mean"], "core.bn.running_var": state["ann_bn.running_var"],
                      "core.bn.num_batches_tracked": state.get("ann_bn.num_batches_tracked", torch.tensor(0)),
                      "readouts.{session}.mask": w_s[:, 0, :, 0].reshape(n_units, side, side).clone(),
                      "readouts.{session}.weights": w_f[0, :, 0, :].clone()})
    return {"core": {"kind": "dorsalnet_mineault", "layer": layer, "frames": frames},
            "readout": {"kind": "factorized", "positive": "abs", "bias": False},
            "n_units": n_units, "frames": frames, "image_size": int(name["size"]), "layer": layer,
            "config": name["config"], "state": predictor,
            # the checkpoint's own key of each predictor key, for messages
            "names": {**{f"core.net.{k}": f"ann.{k}" for k in backbone}, "core.bn.running_mean": "ann_bn.running_mean",
                      "core.bn.running_var": "ann_bn.running_var", "core.bn.num_batches_tracked": "ann_bn.num_batches_tracked",
                      "readouts.{session}.mask": "w_s", "readouts.{session}.weights": "w_f"}}
