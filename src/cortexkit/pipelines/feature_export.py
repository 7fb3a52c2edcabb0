"""Feature extraction of a whole recording (cached), optionally written as a Zarr store."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit import data
from cortexkit._atomic import atomic_path, check_output
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge import FeatureSpec, feature_specs


def export_features(store: str | os.PathLike, spec: FeatureSpec, out: str | os.PathLike | None = None,
                    cache: FeatureCache | None = None) -> dict[str, np.ndarray]:
    """Features of every stimulus of a recording, the extractor fitted on its train split.

    Parameters
    ----------
    store : path
        A recording in the cortexkit data model.
    spec : FeatureSpec
        The extractor and its parameters.
    out : path, optional
        Write the features here as Zarr: ``features_<i>`` (stimulus, feature_<i>) per layer, with
        the stimulus labels, splits, extractor name, parameters and layer names.
    cache : FeatureCache, optional
        Where features are looked up and stored (the default cache if omitted).

    Returns
    -------
    dict of str to array, each of shape (stimulus, feature)
        One entry per layer.
    """
    if out:
        check_output(out)
    ds = data.load(store)
    train = data.select(ds, "train")
    cache = cache or FeatureCache()
    feats = cache.features(get_extractor(spec.name, spec.params), np.asarray(ds["stimuli"].values),
                           np.asarray(train["stimuli"].values))
    if out:
        result = xr.Dataset(
            {f"features_{i}": (("stimulus", f"feature_{i}"), arr) for i, arr in enumerate(feats.values())},
            coords={"stimulus": ds["stimulus"].values, "split": ("stimulus", ds["split"].values.astype(object))},
            attrs={"extractor": spec.name, "params": json.dumps(spec.params, default=str), "layers": json.dumps(list(feats)),
                   "written_by": "cortexkit"},
        )
        with atomic_path(out) as tmp:
            result.to_zarr(tmp, consolidated=False)
    return feats


def extract_features(store: str | os.PathLike, model: str, *, layers: str | None = None, params: dict | None = None,
                     out: str | os.PathLike | None = None) -> tuple[pd.DataFrame, str]:
    """``cortexkit features``: the features of every stimulus of ``store`` under the feature space
    ``model`` (``layers`` and ``params`` as for :func:`~cortexkit.pipelines.ridge.feature_specs`),
    cached, and written to ``out`` when given. Returns a table (layer, stimuli, features) and one
    line saying where they are."""
    cache = FeatureCache()
    feats = export_features(store, feature_specs(model, layers=layers, params=params)[0], out, cache)
    table = pd.DataFrame([(k, len(a), a.shape[1]) for k, a in feats.items()], columns=["layer", "stimuli", "features"])
    return table, f"cache: {cache.root} ({'hit' if cache.hits else 'computed'})" + (f"; wrote {out}" if out else "")
