"""What two brain regions extract from the same stimuli (STSBench's dorsal-vs-ventral question).

For a recording whose units carry an ``area`` coordinate with two or more regions (a simulation
from ``cortexkit data simulate --population streams``, or real data with both streams, e.g. STSBench's
dorsal and TVSD's ventral recordings merged by stimulus):

1. **decoding**: each stimulus parameter (e.g. ``object``, ``motion_direction``, ``motion_speed``)
   from each region's single trials, cross-validated logistic regression with its chance level and
   a permutation p-value; each pair of regions compared on the same trials with an exact McNemar
   test (which region's cross-validated predictions are right more often). A *double
   dissociation* is two parameters and two regions where each region decodes its parameter
   better, both with p < ``alpha``;
2. **encoding**: ridge per unit on 2-D (frame-averaged) and 3-D (spatio-temporal) features, scored
   per region;
3. **similarity**: linear CKA (or RSA) between the regions' stimulus-averaged responses and every
   model layer;
4. **reconstruction** (when decoders are given): the test stimuli reconstructed from each region's
   units alone with :func:`~cortexkit.pipelines.run_reconstruction` (each region's units saved as
   ``OUT/regions/AREA.zarr``, its run under ``OUT/reconstruction/AREA/``), one table over regions.

Writes ``OUT/decoding.csv``, ``OUT/comparisons.csv``, ``OUT/encoding.csv``, ``OUT/similarity.csv``,
``OUT/reconstruction.csv`` and ``OUT/reconstruction_comparisons.csv`` (with decoders: each pair of
regions per decoder, per-stimulus 2-way identification, bootstrap interval and Wilcoxon p) and the
encoding run under ``OUT/encoding/``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from cortexkit._atomic import check_output, claim_output
from cortexkit import data, metrics
from cortexkit.data.model import REQUIRED_VARIABLES
from cortexkit.decoding import decode_parameter
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.evaluation import load_arrays, paired_per_stimulus, write_csv_and_markdown, write_table
from cortexkit.features.base import is_video
from cortexkit.metrics import reconstruction as rm
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.parameter_decoding import trial_values
from cortexkit.pipelines.reconstruction import identification_features, prepare_stimuli, run_reconstruction
from cortexkit.pipelines.ridge import EncodingConfig, FeatureSpec, evaluate_run, fit_run, model_names

DEFAULT_FEATURES = (FeatureSpec(name="gabor", label="gabor_2d"), FeatureSpec(name="motion_energy", label="motion_energy_3d"))


def _parameters(ds, given: list[str] | None) -> list[str]:
    """The stimulus coordinates to decode: ``given``, or every one with 2-16 distinct values."""
    if given:
        return list(given)
    skip = {"stimulus", "split", "start"}
    return [name for name, c in ds.coords.items() if c.dims == ("stimulus",) and name not in skip
            and 2 <= len(np.unique(c.values)) <= 16]


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test of two classifiers on the same trials: (trials only A gets right, only B
    gets right, two-sided binomial p-value of that split)."""
    a_only = int((correct_a & ~correct_b).sum())
    b_only = int((~correct_a & correct_b).sum())
    p = 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return a_only, b_only, p


def double_dissociation(comparisons: pd.DataFrame, alpha: float = 0.01) -> dict | None:
    """The strongest double dissociation in a comparisons table (two parameters, two regions, each
    region significantly better on one), or None."""
    best = None
    sig = comparisons[comparisons["p_mcnemar"] < alpha]
    for (_, r1), (_, r2) in itertools.combinations(sig.iterrows(), 2):
        if {r1["area_a"], r1["area_b"]} != {r2["area_a"], r2["area_b"]} or r1["parameter"] == r2["parameter"]:
            continue
        if r1["better"] != r2["better"]:
            p = max(r1["p_mcnemar"], r2["p_mcnemar"])
            if best is None or p < best["p"]:
                best = {"p": p, r1["better"]: r1["parameter"], r2["better"]: r2["parameter"]}
    return best


def dissociation_sentence(dissociation: dict | None, alpha: float) -> str:
    """The double dissociation of :func:`double_dissociation` in one sentence."""
    if dissociation is None:
        return f"no double dissociation at p < {alpha}"
    parts = "; ".join(f"{area} decodes {param} better" for area, param in dissociation.items() if area != "p")
    return f"double dissociation: {parts} (both p <= {dissociation['p']:.2g})"


def run_streams(store: str | os.PathLike, out: str | os.PathLike, *, parameters: list[str] | None = None,
                features: list[FeatureSpec] | None = None, n_permutations: int = 200, alpha: float = 0.01,
                reconstruction=None, similarity: str = "cka", seed: int = 0, log=print) -> dict:
    """Decoding, encoding and representational similarity per region (see the module docstring).

    Parameters
    ----------
    reconstruction : ReconstructionConfig, optional
        Decoders for reconstruction from each region (none by default: the step is skipped).
    similarity : {"cka", "rsa"}
        Linear CKA, or RSA (Spearman correlation of correlation-distance RDMs).

    Returns
    -------
    dict
        ``decoding``, ``comparisons``, ``encoding``, ``similarity``, ``reconstruction`` (DataFrames,
        also written as CSV; ``reconstruction`` None without decoders) and ``dissociation``
        (:func:`double_dissociation`, or None).
    """
    if similarity not in ("cka", "rsa"):
        raise ConfigError(f"similarity must be 'cka' or 'rsa', got {similarity!r}")
    check_output(out)
    ds = data.load(store)
    if "area" not in ds.coords or len(np.unique(ds["area"].values)) < 2:
        raise DataError("needs units of two or more regions (an 'area' coordinate on unit)", source=str(store), variable="area")
    areas = list(dict.fromkeys(np.asarray(ds["area"].values).tolist()))
    names = _parameters(ds, parameters)
    unknown = [p for p in names if p not in ds.coords and p not in ds.variables]
    if unknown:
        raise ConfigError(f"{store}: no stimulus parameter(s) {listed(unknown)}; decodable ones: {listed(_parameters(ds, None))}")
    if not names:
        log("decoding: no stimulus parameter to decode (none has 2-16 values; name one with parameters=)")
    out = claim_output(out)
    x = np.asarray(ds["responses"].values, dtype=np.float64).reshape(ds.sizes["trial"], -1)
    keep = np.isfinite(x).all(1)
    area_of = np.asarray(ds["area"].values)
    rows, comparisons = [], []
    for parameter in names:
        y = trial_values(ds, parameter)[keep]
        correct = {}
        for area in areas:
            r = decode_parameter(x[keep][:, area_of == area], y, kind="classification", n_permutations=n_permutations,
                                 seed=seed)
            correct[area] = np.asarray(r.predictions) == y
            rows.append({"parameter": parameter, "area": area, "units": int((area_of == area).sum()), "trials": len(y),
                         "accuracy": r.score, "chance": r.chance, "p_value": r.p_value})
            log(f"decoding {parameter} from {area}: accuracy {r.score:.3f} (chance {r.chance:.3f}, p={r.p_value:.3g})")
        for a, b in itertools.combinations(areas, 2):
            a_only, b_only, p = mcnemar(correct[a], correct[b])
            acc_a, acc_b = float(correct[a].mean()), float(correct[b].mean())
            comparisons.append({"parameter": parameter, "area_a": a, "area_b": b, "accuracy_a": acc_a,
                                "accuracy_b": acc_b, "only_a_right": a_only, "only_b_right": b_only,
                                "p_mcnemar": p, "better": a if acc_a > acc_b else b})
    decoding, comparisons = pd.DataFrame(rows), pd.DataFrame(comparisons)
    write_table(decoding, out / "decoding.csv")
    write_csv_and_markdown(comparisons, out, "comparisons")
    dissociation = double_dissociation(comparisons, alpha) if len(comparisons) else None

    specs = list(features or DEFAULT_FEATURES)
    config = EncodingConfig(features=specs, seed=seed)
    fit_run(store, out / "encoding", config, log=lambda m: log(f"encoding: {m}"))
    results = evaluate_run(out / "encoding", log=lambda m: log(f"encoding: {m}"))
    cols = [c for c in ("pearson", "normalized", "pearson_true") if c in results and results[c].notna().any()]
    encoding = results.groupby(["area", "model"], sort=False)[cols].median().reset_index()
    write_csv_and_markdown(encoding, out, "encoding")

    average = data.repeat_average(ds).values.reshape(ds.sizes["stimulus"], -1)
    spaces = {area: average[:, area_of == area] for area in areas}
    cache = FeatureCache()
    stimuli = np.asarray(ds["stimuli"].values)
    train = np.asarray(data.select(ds, "train")["stimuli"].values)
    for spec in specs:
        feats = cache.features(get_extractor(spec.name, spec.params), stimuli, train)
        for layer, name in model_names(spec):
            spaces[name] = feats[layer]
    matrix = metrics.compare_representations(spaces, method=similarity)
    similarity_table = pd.DataFrame(matrix, index=list(spaces), columns=list(spaces))
    write_table(similarity_table.reset_index(names="space"), out / "similarity.csv")

    recon = recon_comparisons = None
    if reconstruction is not None:
        tables = []
        for area in areas:
            region = out / "regions" / f"{area}.zarr"
            # Only this region's units, so every decoder sees what one stream alone carries.
            sub = ds.isel(unit=np.flatnonzero(area_of == area))
            sub = sub.drop_vars([v for v in sub.data_vars if v not in REQUIRED_VARIABLES])
            data.save(sub, region)
            table = run_reconstruction(region, out / "reconstruction" / str(area), reconstruction,
                                       log=lambda m, a=area: log(f"reconstruction from {a}: {m}"))
            tables.append(table.assign(area=area))
        recon = pd.concat(tables, ignore_index=True)
        recon = recon[["area"] + [c for c in recon.columns if c != "area"]]
        write_csv_and_markdown(recon, out, "reconstruction")
        recon_comparisons = _compare_reconstructions(ds, areas, out, reconstruction)
        write_csv_and_markdown(recon_comparisons, out, "reconstruction_comparisons")
        for _, c in recon_comparisons.iterrows():
            log(f"reconstruction {c['method']}: 2-way ({c['space']}) {c['area_a']} {c['a']:.3f} vs {c['area_b']} "
                f"{c['b']:.3f}, Wilcoxon p={c['wilcoxon_p']:.3g}")
    return {"decoding": decoding, "comparisons": comparisons, "encoding": encoding, "similarity": similarity_table,
            "reconstruction": recon, "reconstruction_comparisons": recon_comparisons,
            "dissociation": dissociation, "areas": areas, "similarity_method": similarity}


def _compare_reconstructions(ds, areas: list, out: Path, config) -> pd.DataFrame:
    """Each pair of regions' reconstructions of the same test stimuli, per decoder: per-stimulus 2-way
    identification in the deepest identification space, paired (:func:`paired_per_stimulus`)."""
    stimuli = prepare_stimuli(data.select(ds, "test")["stimuli"].values, config.image_size)
    video = is_video(stimuli)
    gt = identification_features(stimuli, video)
    space = list(gt)[-1]
    rows = []
    for spec in config.decoders:
        scores = {}
        for area in areas:
            rec = load_arrays(out / "reconstruction" / str(area) / "reconstructions" / f"{spec.model_name}.npz")["reconstructions"]
            scores[area] = rm.identification(gt[space], identification_features(rec, video)[space])
        for a, b in itertools.combinations(areas, 2):
            rows.append({"method": spec.model_name, "area_a": a, "area_b": b, "space": space,
                         **paired_per_stimulus(scores[a], scores[b], seed=config.seed)})
    return pd.DataFrame(rows)
