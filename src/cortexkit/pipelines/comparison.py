"""Representation comparison: linear CKA or RSA between feature spaces and the neural responses on
the same stimuli (the dorsal-vs-ventral style of question: which model represents what the
neurons do)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cortexkit import data, metrics
from cortexkit._atomic import atomic_path, check_output, claim_output
from cortexkit.errors import ConfigError
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge import FeatureSpec, model_names


def compare_representations(store: str | os.PathLike, specs: list[FeatureSpec], out: str | os.PathLike, *,
                            split: str = "test", method: str = "cka") -> pd.DataFrame:
    """Similarity of every pair of feature spaces (every layer of multi-layer ones) and ``neural``.

    Parameters
    ----------
    store : path
        A recording in the cortexkit data model; extractors are fitted on its train split.
    specs : list of FeatureSpec
        The feature spaces.
    out : path
        Folder for ``comparison.csv``.
    split : {"test", "train", "all"}
        The stimuli compared on; ``neural`` is the repeat-averaged responses to them.
    method : {"cka", "rsa"}
        Linear CKA, or Spearman correlation of correlation-distance RDMs.

    Returns
    -------
    pandas.DataFrame, shape (space, space)
        Indexed and labelled by space name, ``neural`` first.
    """
    if method not in ("cka", "rsa"):
        raise ConfigError(f"--method must be cka or rsa, got {method!r}")
    check_output(out)
    ds = data.load(store)
    sel = ds if split == "all" else data.select(ds, split)
    train = data.select(ds, "train")
    cache = FeatureCache()
    spaces = {"neural": data.repeat_average(sel).values.reshape(sel.sizes["stimulus"], -1)}
    for spec in specs:
        feats = cache.features(get_extractor(spec.name, spec.params), np.asarray(sel["stimuli"].values),
                               np.asarray(train["stimuli"].values))
        for layer, name in model_names(spec):
            spaces[name] = feats[layer]
    matrix = metrics.compare_representations(spaces, method=method)
    frame = pd.DataFrame(matrix, index=list(spaces), columns=list(spaces))
    frame.attrs["title"] = f"{method.upper()} on {sel.sizes['stimulus']} {split} stimuli"
    with atomic_path(claim_output(out) / "comparison.csv") as tmp:
        frame.to_csv(tmp)
    return frame
