"""Decoding a stimulus parameter from single-trial responses, with chance, p-value and confusion.

The parameter is a stimulus coordinate (looked up through each trial's ``stimulus_id``) or a
per-trial variable. Continuous angles can be binned into classes (``bins``); ``by`` splits the
trials by another parameter (e.g. coherence) for a neurometric curve. The confusion matrix and the
neurometric curve are drawn by :func:`cortexkit.report.write_decoding_report`.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit._atomic import check_output, claim_output
from cortexkit import data
from cortexkit.decoding import decode_parameter, neurometric
from cortexkit.decoding.stimulus_parameters import METHODS

DECODING_METHODS = METHODS  # how a parameter can be decoded (model files name one)
from cortexkit.evaluation import write_table
from cortexkit.errors import ConfigError, DataError, listed


def trial_values(ds: xr.Dataset, name: str) -> np.ndarray:
    """Per-trial values of a trial variable or a stimulus coordinate ``name``."""
    if name in ds.variables and ds[name].dims == ("trial",):
        return np.asarray(ds[name].values)
    if name in ds.variables and ds[name].dims == ("stimulus",):
        index = pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)
        return np.asarray(ds[name].values)[index]
    options = sorted(v for v in ds.variables if ds[v].dims in (("trial",), ("stimulus",)) and v not in ("stimulus", "split"))
    raise DataError(f"is neither a trial variable nor a stimulus coordinate; options: {options}", variable=name)


def run_parameter_decoding(store: str | os.PathLike, parameter: str, out: str | os.PathLike, *, by: str | None = None,
                           bins: int | None = None, n_permutations: int = 200, seed: int = 0,
                           method: str = "logistic", C: float = 1.0) -> dict:
    """Decode ``parameter`` from every trial's responses; write ``OUT/decoding.csv``.

    Parameters
    ----------
    store : path
        A recording; trials with non-finite responses are left out.
    parameter : str
        A trial variable or stimulus coordinate (e.g. ``trial_direction``).
    out : path
        Folder for ``decoding.csv``.
    by : str, optional
        Split the trials by this parameter for a neurometric curve.
    bins : int, optional
        Bin a continuous angle (degrees) into this many classes centred on 0, 360/bins, ...
    n_permutations, seed :
        Label shuffles for the p-value, and the seed of folds and shuffles.
    method, C :
        ``"logistic"`` (with inverse L2 penalty ``C``) or ``"poisson"`` (maximum likelihood on
        counts), see :func:`cortexkit.decoding.decode_parameter`.

    Returns
    -------
    dict
        ``{"result": ParameterDecoding, "curve": {level: accuracy} or None, "table": DataFrame,
        "parameter": name, "by": name or None, "n_classes": int, "values": the decoded values (trial)}``.
    """
    check_output(out)
    if method not in METHODS:  # before any work
        raise ConfigError(f"method must be one of {listed(METHODS)}, got {method!r}")
    ds = data.load(store)
    x = np.asarray(ds["responses"].values, dtype=np.float64).reshape(ds.sizes["trial"], -1)
    keep = np.isfinite(x).all(1)
    y = trial_values(ds, parameter)[keep]
    x = x[keep]
    if bins:
        width = 360.0 / bins  # angular bins centred on 0, width, 2 width, ...
        y = (np.round(np.mod(y.astype(float), 360.0) / width) % bins * width).astype(int)
    result = decode_parameter(x, y, n_permutations=n_permutations, seed=seed, method=method, C=C)
    out = claim_output(out)
    rows = [{"parameter": parameter, "subset": "all", "trials": len(y), "score": result.score, "chance": result.chance,
             "p_value": result.p_value, "kind": result.kind, "method": method}]
    curve = None
    if by is not None:
        curve = neurometric(x, y, trial_values(ds, by)[keep], seed=seed)
        rows += [{"parameter": parameter, "subset": f"{by}={level:g}", "score": acc, "kind": "classification"}
                 for level, acc in curve.items()]
    table = pd.DataFrame(rows)
    write_table(table, out / "decoding.csv")
    return {"result": result, "curve": curve, "table": table, "parameter": parameter, "by": by,
            "n_classes": len(np.unique(y)), "values": y}
