"""A content-addressed cache of extracted features, in Zarr, one row per stimulus.

Features are stored per stimulus: a store's key hashes what the features depend on apart from the
stimuli themselves (the extractor's class, code and parameters, its weights file's content, and
what it was fitted on: the fitting stimuli for an extractor that learns from them, such as a PCA
basis, only their shape for the others), and each
row is found by the hash of its stimulus. Recordings that show the same stimuli (the sessions of
one study, NSD's shared images, a train and a test split) so compute each stimulus's features
once. Change anything the features depend on and the key changes, so a stale row is never served
(it is simply not found). Each batch of new rows is written to a temporary folder and renamed into
place, so a killed run leaves no half-written entry; a damaged entry counts as missing.

The cache lives in ``$CORTEXKIT_CACHE`` or ``~/.cache/cortexkit/features``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import zarr

from cortexkit.code_stamps import code_stamp, file_stamp
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
        if path.is_file():  # the weights' content: a copy of the same file is the same weights
            return file_stamp(path)
        st = path.stat()
        return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except Exception:  # missing weights: the extractor itself will say so
        return str(weights)


def _row_hashes(stimuli) -> np.ndarray:
    """``(n, 20)`` uint8 SHA-1 digests of each stimulus (its float32 bytes and shape)."""
    a = np.ascontiguousarray(np.asarray(stimuli, dtype=np.float32))
    shape = str(a.shape[1:]).encode()
    return np.array([np.frombuffer(hashlib.sha1(shape + row.tobytes()).digest(), np.uint8) for row in a],
                    dtype=np.uint8).reshape(len(a), 20)


def feature_key(extractor, fit_stimuli) -> str:
    """The key of the store holding ``extractor``'s features when fitted on ``fit_stimuli``.

    Extractors that do not learn from the stimuli (``learns_from_stimuli = False``) depend on the
    fitting stimuli's shape only, so every recording of stimuli of one shape shares the store.
    """
    params = json.dumps(extractor.get_params(deep=False), sort_keys=True, default=str)
    fit = (_array_hash(fit_stimuli) if getattr(extractor, "learns_from_stimuli", True)
           else str(np.shape(fit_stimuli)[1:]))
    h = hashlib.sha1()
    # the extractor's code (its modules and what they import; a user's model: its file's content): a
    # fix to one extractor recomputes its features only
    code = extractor.code_stamp() if hasattr(extractor, "code_stamp") else code_stamp(extractor)
    for part in (type(extractor).__qualname__, params, _weights_stamp(extractor), fit, code):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


class FeatureCache:
    """Per-stimulus feature rows: :meth:`features` returns cached rows and computes only the others.

    ``hits`` counts calls served entirely from the cache, ``misses`` calls that computed anything
    and ``rows_computed`` the stimuli whose features were computed.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else default_root()
        self.hits = 0
        self.misses = 0
        self.rows_computed = 0

    def _store(self, key: str) -> Path:
        return self.root / key

    def _index(self, store: Path) -> dict[bytes, tuple[Path, int]]:
        """``{stimulus digest: (entry, row)}`` over the store's readable entries."""
        index: dict[bytes, tuple[Path, int]] = {}
        for entry in sorted(store.glob("*.zarr")) if store.is_dir() else ():
            try:
                rows = np.asarray(zarr.open_group(str(entry), mode="r")["rows"][...])
            except Exception:  # damaged: its rows are recomputed
                continue
            for i, digest in enumerate(rows):
                index.setdefault(digest.tobytes(), (entry, i))
        return index

    def _read(self, hits: dict[Path, list[tuple[int, int]]], n: int) -> dict[str, np.ndarray] | None:
        """Assemble ``{layer: (n, features)}`` from ``{entry: [(output row, entry row)]}``; None if
        an entry cannot be read or disagrees on the layers."""
        out: dict[str, np.ndarray] = {}
        for entry, pairs in hits.items():
            try:
                group = zarr.open_group(str(entry), mode="r")
                names = list(group.attrs["layers"])
                if out and names != list(out):
                    return None
                dst = np.array([p[0] for p in pairs])
                src = np.array([p[1] for p in pairs])
                rows, where = np.unique(src, return_inverse=True)
                for i, name in enumerate(names):
                    stored = group[f"layer{i}"]
                    # a few rows of a large entry (a batch of a long run): read only the chunks holding them
                    arr = (np.asarray(stored.get_orthogonal_selection((rows, slice(None))))
                           if len(rows) < stored.shape[0] // 2 else np.asarray(stored[...])[rows])
                    if name not in out:
                        out[name] = np.empty((n, arr.shape[1]), np.float32)
                    out[name][dst] = arr[where]
            except Exception:
                return None
        return out

    def put(self, key: str, digests: np.ndarray, layers: dict[str, np.ndarray]) -> None:
        """Store ``{layer: (n, features)}`` rows of the stimuli with these digests under ``key`` (atomically)."""
        name = hashlib.sha1(np.ascontiguousarray(digests).tobytes()).hexdigest()
        with atomic_path(self._store(key) / f"{name}.zarr") as tmp:
            group = zarr.open_group(str(tmp), mode="w")
            group.create_array("rows", data=np.ascontiguousarray(digests, dtype=np.uint8))
            for i, arr in enumerate(layers.values()):
                group.create_array(f"layer{i}", data=np.ascontiguousarray(arr, dtype=np.float32))
            group.attrs["layers"] = list(layers)

    def features(self, extractor, stimuli, fit_stimuli) -> dict[str, np.ndarray]:
        """Cached :func:`~cortexkit.features.extract_features` of ``stimuli`` (fitted on ``fit_stimuli``)."""
        from cortexkit.features.base import extract_features

        key = feature_key(extractor, fit_stimuli)
        digests = _row_hashes(stimuli)
        index = self._index(self._store(key))
        found: dict[Path, list[tuple[int, int]]] = {}
        missing: dict[bytes, list[int]] = {}
        for i, d in enumerate(digests):
            where = index.get(d.tobytes())
            if where is None:
                missing.setdefault(d.tobytes(), []).append(i)
            else:
                found.setdefault(where[0], []).append((i, where[1]))
        out = self._read(found, len(digests)) if found else {}
        if out is None:  # an unreadable entry: compute everything afresh
            out, found = {}, {}
            missing = {}
            for i, d in enumerate(digests):
                missing.setdefault(d.tobytes(), []).append(i)
        if not missing:
            self.hits += 1
            return out
        self.misses += 1
        first = np.array([rows[0] for rows in missing.values()])  # each distinct new stimulus once
        new = extract_features(extractor, np.asarray(stimuli)[first], fit_stimuli=fit_stimuli)
        self.rows_computed += len(first)
        self.put(key, digests[first], new)
        dst = np.concatenate([rows for rows in missing.values()])
        src = np.repeat(np.arange(len(first)), [len(rows) for rows in missing.values()])
        for name, arr in new.items():
            if name not in out:
                out[name] = np.empty((len(digests), arr.shape[1]), np.float32)
            out[name][dst] = arr[src]
        return out
