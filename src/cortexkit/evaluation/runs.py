"""The run-folder contract: what a run directory holds, how its inputs are fingerprinted, and how
its files are written (atomically) and reopened (with errors naming the file).

Every run directory has ``config.yaml`` (the resolved settings under one key saying what kind of
run it is, the data path, and the provenance: versions, seed, time, host). Then, by kind::

    encoding        models/NAME.npz, results.csv, summary.csv, figures/, report.html
    training        checkpoint.pt, model.pt, results.csv, summary.csv, figures/, report.html
    reconstruction  reconstructions/NAME.npz, checkpoints/, metrics.csv, metrics.md, figures/, report.html

Array files (``.npz``) carry a ``settings`` string (JSON of the data fingerprint and the settings
that produced them); a rerun keeps a file whose settings match and recomputes the rest, which is
how interrupted runs resume.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit._atomic import atomic_path, exclusive
from cortexkit.config import dump_yaml, load_yaml
from cortexkit.errors import DataError

CONFIG_FILE = "config.yaml"
MODELS_DIR = "models"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.csv"
RUN_KINDS = ("encoding", "training", "reconstruction")
# Every float of a table reads back exactly as it was written (medians of a reread table equal those
# of the table in memory, to the last bit): pandas 3 does so by default, older ones need round_trip.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def write_run_record(run_dir: str | os.PathLike, record: dict) -> Path:
    """Write ``RUN/config.yaml`` (atomically); ``record`` holds one of :data:`RUN_KINDS` as a key."""
    return dump_yaml(record, Path(run_dir) / CONFIG_FILE)


def read_run_record(run_dir: str | os.PathLike, required: tuple[str, ...] = ()) -> dict:
    """The mapping in ``RUN/config.yaml``.

    Parameters
    ----------
    run_dir : path
        A run directory.
    required : tuple of str
        Keys the record must have (e.g. ``("data", "encoding")``).

    Raises
    ------
    DataError
        When the folder holds no config.yaml or a required key is missing.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise DataError("not a run directory (no config.yaml); create it with `cortexkit fit`", source=str(run_dir))
    raw = load_yaml(path)
    missing = [k for k in required if k not in raw]
    if missing:
        raise DataError(f"missing {' or '.join(repr(k) for k in required)}", source=str(path))
    return raw


def run_lock(run_dir: str | os.PathLike):
    """Hold ``RUN/.lock`` while writing a run, so that two processes never write one folder at once
    (a context manager; see :func:`cortexkit._atomic.exclusive`)."""
    return exclusive(Path(run_dir) / ".lock", str(run_dir))


def run_kind(run_dir: str | os.PathLike) -> str | None:
    """``"encoding"``, ``"training"`` or ``"reconstruction"``: what wrote the run; None if not a run."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    raw = load_yaml(path)
    return next((kind for kind in RUN_KINDS if kind in raw), None)


def data_fingerprint(ds: xr.Dataset) -> str:
    """A content hash (SHA-1 hex) of what a fit depends on: stimuli, responses, trial ids and splits."""
    h = hashlib.sha1()
    for name in ("stimuli", "responses", "stimulus_id", "split"):
        values = np.ascontiguousarray(ds[name].values)
        h.update(f"{name}{values.shape}{values.dtype}".encode())
        h.update(values.tobytes() if values.dtype.kind != "U" else "\n".join(values.tolist()).encode())
    return h.hexdigest()


def save_arrays(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write named arrays to ``path`` (.npz, uncompressed), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file handle keeps numpy from appending ".npz" to the temp name
            np.savez(fh, **arrays)
    return Path(path)


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of a file written by :func:`save_arrays`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError("no such file (run the fit or reconstruction that writes it)", source=str(path)) from None
    except Exception as exc:
        raise DataError(f"cannot read the saved arrays ({type(exc).__name__}: {exc})", source=str(path)) from None


def load_if_settings_match(path: str | os.PathLike, settings: str) -> dict[str, np.ndarray] | None:
    """The arrays at ``path`` if the file exists and was made with ``settings``; else None."""
    if not Path(path).exists():
        return None
    arrays = load_arrays(path)
    return arrays if str(arrays.get("settings", "")) == settings else None


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a results table as CSV (no index), atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A results table written by :func:`write_table`; a clear error if the run was not evaluated."""
    path = Path(path)
    if not path.is_file():
        raise DataError("missing; run `cortexkit evaluate` on this run first", source=str(path))
    # Only empty cells (how write_table writes NaN) are missing: pandas' default would also turn the
    # strings "null", "NA" or "None" (a null-model row, a unit or area named NA) into NaN.
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"], **_EXACT_FLOATS)
    except Exception as exc:  # truncated, binary or otherwise damaged: say which file
        raise DataError(f"cannot read this table ({type(exc).__name__}: {str(exc)[:120]}); run the command that "
                        "writes it again", source=str(path)) from None


def split_run_model(text: str) -> tuple[str, str | None]:
    """``RUN:MODEL`` -> (RUN, MODEL); a bare ``RUN`` -> (RUN, None). The run is the first prefix before
    a colon that is a folder, so model names with colons (``timm:resnet50.layer3``) survive."""
    for i, ch in enumerate(text):
        if ch == ":" and i and Path(text[:i]).is_dir():
            return text[:i], text[i + 1:] or None
    return text, None
