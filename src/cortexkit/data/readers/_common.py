"""Helpers shared by readers: loading files with errors that name them, seeded splits."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import scipy.io

from cortexkit.data.overlap import grouped_split
from cortexkit.errors import ConfigError, DataError, listed


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is an existing file, else a :class:`DataError` naming it and what it should hold."""
    if not path.is_file():
        raise DataError(f"missing ({what})", source=str(path))
    return path


def load_npy(path: Path, what: str) -> np.ndarray:
    """``np.load`` with errors naming the file; never unpickles."""
    require_file(path, what)
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"cannot read {what} ({type(exc).__name__}: {exc})", source=str(path)) from None


def load_pickle(path: Path, what: str):
    """Unpickle a source file (pickles run code: only open files you trust)."""
    require_file(path, what)
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception as exc:
        raise DataError(f"cannot unpickle {what} ({type(exc).__name__}: {exc})", source=str(path)) from None


def read_zip_images(path: Path, names: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Decode the images of a zip archive (sorted by name) into float32 [0, 1] arrays."""
    import imageio.v3 as iio

    require_file(path, "image archive")
    try:
        with zipfile.ZipFile(path) as zf:
            members = sorted(n for n in zf.namelist() if not n.endswith("/")) if names is None else names
            images = []
            for name in members:
                try:
                    img = iio.imread(io.BytesIO(zf.read(name)), extension=Path(name).suffix)
                except Exception as exc:
                    raise DataError(f"cannot decode image {name!r} ({exc})", source=str(path)) from None
                images.append(img)
    except zipfile.BadZipFile as exc:
        raise DataError(f"not a valid zip archive ({exc})", source=str(path)) from None
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise DataError(f"images have different shapes {listed(sorted(shapes))}", source=str(path))
    return members, to_unit_range(np.stack(images))


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Integer images (uint8, uint16) scaled by their type's maximum to float32 [0, 1]."""
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / np.iinfo(images.dtype).max
    return images.astype(np.float32)


def random_split(n: int, test_fraction: float, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """A seeded split of ``n`` stimuli: ``round(test_fraction * n)`` test, the rest train. With
    ``groups`` (:func:`cortexkit.data.overlap.duplicate_groups`), copies of one stimulus stay on one
    side (:func:`cortexkit.data.overlap.grouped_split`; the same split as without when there are none)."""
    if not 0 < test_fraction < 1:
        raise DataError(f"must be between 0 and 1, got {test_fraction}", variable="test_fraction")
    return grouped_split(np.arange(n) if groups is None else groups, test_fraction, seed)


def choose(available: list[str], value, what: str, path: Path, missing: str) -> str:
    """The recording ``value`` among ``available`` (the only one when None), with clear errors."""
    if not available:
        raise DataError(missing, source=str(path))
    if value is None:
        if len(available) > 1:
            raise ConfigError(f"{path}: choose a {what} with --option {what}=...; available: {available}")
        return available[0]
    value = str(value)
    if value not in available:
        raise ConfigError(f"{path}: no {what} {value!r}; available: {available}")
    return value


def check_positive(**values) -> None:
    """A ConfigError naming the first reader option that is not a positive number (sizes, rates)."""
    for name, value in values.items():
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"reader option {name} must be a positive number, got {value!r}")


def load_mat_variable(path: Path, key: str):
    """The ``key`` struct of a MATLAB file (``scipy.io.loadmat``), with errors naming the file."""
    require_file(path, "MATLAB file")
    try:
        m = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except Exception as exc:
        raise DataError(f"cannot read the MATLAB file ({type(exc).__name__}: {exc})", source=str(path)) from None
    if key not in m:
        raise DataError(f"no variable {key!r} (has {listed(sorted(k for k in m if not k.startswith('__')))})", source=str(path))
    return m[key]
