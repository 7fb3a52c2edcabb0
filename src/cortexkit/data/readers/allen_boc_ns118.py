"""Allen Brain Observatory two-photon natural scenes, the 31 x 31 extract of 118 scenes.

Layout (``psailamul/Allen_Brain_Observatory``, ``Allen_data_170513``)::

    Allen_train_input.npy   (100, 961) 31x31 grayscale, 0-255      Allen_train_output.npy (100, n_cells)
    Allen_test_input.npy    (18, 961)                              Allen_test_output.npy  (18, n_cells)
    all_input_scenes_118_961.npy (118, 961): every scene; its row is the scene id used here

Responses are trial averages over 50 repeats (dF/F-like), so each image has one trial and no
noise ceiling can be computed. ``Allen_test_output_big.npy`` holds single trials whose image labels
are missing upstream; it is not read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cortexkit.data.model import make_dataset
from cortexkit.data.readers._common import load_npy
from cortexkit.data.readers.registry import register
from cortexkit.errors import DataError

SIDE = 31


def _scene_ids(inputs: np.ndarray, scenes: np.ndarray, source: Path) -> np.ndarray:
    lookup = {row.tobytes(): i for i, row in enumerate(scenes)}
    ids = [lookup.get(row.tobytes(), -1) for row in inputs]
    missing = [i for i, s in enumerate(ids) if s < 0]
    if missing:
        raise DataError(f"images {missing[:5]} are not in all_input_scenes_118_961.npy", source=str(source))
    return np.asarray(ids)


@register(
    "allen_boc_ns118",
    summary="mouse V1 two-photon (Allen Brain Observatory), 118 natural scenes at 31x31, train/test .npy",
    example="cortexkit data convert ../shared/data/allen_boc_ns118_31px allen_ns118.zarr --format allen_boc_ns118",
)
def read_allen_boc_ns118(path):
    """Read the Allen Brain Observatory ns118 extract (31 px scenes, trial-averaged dF/F, source split) into the data model."""
    path = Path(path)
    scenes_file = path / "all_input_scenes_118_961.npy"
    scenes = load_npy(scenes_file, "all scenes")
    parts = {}
    for split in ("train", "test"):
        x_file, y_file = path / f"Allen_{split}_input.npy", path / f"Allen_{split}_output.npy"
        x, y = load_npy(x_file, f"{split} images"), load_npy(y_file, f"{split} responses")
        if x.ndim != 2 or x.shape[1] != SIDE * SIDE:
            raise DataError(f"expected (n_images, {SIDE * SIDE}), got {x.shape}", source=str(x_file))
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise DataError(f"expected ({x.shape[0]}, n_cells) to match {x_file.name}, got {y.shape}", source=str(y_file))
        parts[split] = (_scene_ids(x, scenes, x_file), x, y)
    if parts["train"][2].shape[1] != parts["test"][2].shape[1]:
        raise DataError("train and test responses have different numbers of cells", source=str(path))
    ids = np.concatenate([parts[s][0] for s in ("train", "test")])
    if len(np.unique(ids)) != len(ids):
        raise DataError("an image appears in both train and test inputs", source=str(path))
    images = np.concatenate([parts[s][1] for s in ("train", "test")]).reshape(-1, SIDE, SIDE) / 255.0
    responses = np.concatenate([parts[s][2] for s in ("train", "test")])
    n_cells = responses.shape[1]
    return make_dataset(
        images,
        responses,
        ids,
        ["train"] * len(parts["train"][0]) + ["test"] * len(parts["test"][0]),
        stimulus=ids,
        unit=np.arange(n_cells),
        unit_coords={"area": ["VISp"] * n_cells},
        attrs={
            "modality": "calcium",
            "source": "Allen Brain Observatory Visual Coding 2p, experiment container 511510667 (Cux2-CreERT2, VISp 275 um)",
            "license": "Allen Institute terms of use",
            "citation": "de Vries et al. (2020) Nat Neurosci 23:138-151; Allen Brain Observatory",
            "repeat_averaged": 1,
            "response_window": "trial-averaged dF/F over 50 repeats (upstream extract)",
        },
        validate_result=False,
    )
