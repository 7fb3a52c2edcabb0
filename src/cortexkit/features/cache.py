"""A content-addressed cache of extracted features, in Zarr.

The key hashes everything the features depend on: the extractor's class and parameters, its
weights file (path, size, modification time), the stimuli it was fitted on and the stimuli it
transformed, and cortexkit's version. Change any of them and the key changes, so a stale entry is
never served (it is simply not found). Entries are written to a temporary folder and renamed into
place, so a killed run leaves no half-written entry.

The cache lives in ``$CORTEXKIT_CACHE`` or ``~/.cache/cortexkit/features``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import zarr

from cortexkit import __version__
from cortexkit._atomic import atomic_path


def default_root() -> Path:
    """The cache folder: ``$CORTEXKIT_CACHE`` or ``~/.cache/cortexkit/features``."""
    return Path(os.environ.get("CORTEXKIT_CACHE", Path.home() / ".cache" / "cortexkit" / "features"))


def _array_hash(a) -> str:
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    return hashlib.sha1(str(a.shape).encode() + a.tobytes()).hexdigest()


def _weights_stamp(extractor) -> str:
    weights = getattr(extractor, "weights", None)
    if weights is None or weights == "random":
        return str(weights)
    try:
        if weights == "imagenet":
            from cortexkit.features.networks.weights import find_weights

            path = find_weights(extractor.arch)
        elif weights == "pretrained" and hasattr(extractor, "weights_present"):  # a library's own cache
            path = Path(extractor.weights_present())
        else:
            path = Path(weights)
        st = path.stat()
        return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except Exception:  # missing weights: the extractor itself will say so
        return str(weights)


def feature_key(extractor, stimuli, fit_stimuli) -> str:
    """The cache key of ``extractor`` fitted on ``fit_stimuli`` and applied to ``stimuli``."""
    params = json.dumps(extractor.get_params(deep=False), sort_keys=True, default=str)
    h = hashlib.sha1()
    for part in (type(extractor).__qualname__, params, _weights_stamp(extractor), _array_hash(fit_stimuli),
                 _array_hash(stimuli), __version__):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


class FeatureCache:
    """``get(key)`` / ``put(key, layers)`` of ``{layer: array}`` dicts, stored as Zarr groups."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else default_root()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.zarr"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The cached ``{layer: (n, features)}`` arrays under ``key``, or None (a damaged entry counts as missing)."""
        path = self._path(key)
        if not path.is_dir():
            self.misses += 1
            return None
        try:
            group = zarr.open_group(str(path), mode="r")
            names = list(group.attrs["layers"])
            out = {name: np.asarray(group[f"layer{i}"][...]) for i, name in enumerate(names)}
        except Exception:  # a damaged entry is recomputed, not trusted
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, key: str, layers: dict[str, np.ndarray]) -> None:
        """Store ``{layer: (n, features)}`` arrays under ``key`` (atomically)."""
        with atomic_path(self._path(key)) as tmp:
            group = zarr.open_group(str(tmp), mode="w")
            for i, arr in enumerate(layers.values()):
                group.create_array(f"layer{i}", data=np.ascontiguousarray(arr, dtype=np.float32))
            group.attrs["layers"] = list(layers)

    def features(self, extractor, stimuli, fit_stimuli) -> dict[str, np.ndarray]:
        """Cached :func:`~cortexkit.features.extract_features` of ``stimuli``."""
        from cortexkit.features.base import extract_features

        key = feature_key(extractor, stimuli, fit_stimuli)
        found = self.get(key)
        if found is not None:
            return found
        out = extract_features(extractor, stimuli, fit_stimuli=fit_stimuli)
        self.put(key, out)
        return out
