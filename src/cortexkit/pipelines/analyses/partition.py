"""Variance partitioning: how much of each unit's explained variance is unique to one feature space
and how much is shared, from joint fits of every subset of two to four spaces (Lescroart et al.
2015; de Heer et al. 2017).

Every non-empty subset ``S`` of the spaces is fitted on the training stimuli (one space: ridge; two
or more: banded ridge on the joined features, a penalty per space and unit) and scored on the test
stimuli: :math:`R^2(S)` per unit. With :math:`U` all spaces and
:math:`g(S) = R^2(U) - R^2(U \\setminus S)` (what the spaces of ``S`` add to the others), the part of
the variance explained by exactly the spaces of ``T`` (all of them, no other) is the Möbius inversion

.. math:: v(T) = \\sum_{S \\subseteq T} (-1)^{|T| - |S|} g(S),

which for two spaces is the familiar unique :math:`R^2(AB) - R^2(B)` and shared
:math:`R^2(A) + R^2(B) - R^2(AB)`. The estimates are differences of noisy, regularised fits, so a
region can come out negative or a joint model can score below one of its parts: both are counted
and reported per region, never clipped. The joint model's prediction split per space (product
measure) is reported beside it.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pandas as pd

from cortexkit import metrics
from cortexkit._atomic import check_output, claimed_output
from cortexkit.encoding import BandedRidgeCV
from cortexkit.errors import ConfigError, listed
from cortexkit.evaluation.paired import CONFIDENCE, N_BOOTSTRAP
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.evaluation import to_markdown
from cortexkit.pipelines.analyses.common import (load_recordings, ridge_predict, space_features, write_record,
                                                 write_tables)
from cortexkit.pipelines.ridge.config import EncodingConfig, model_names

TRUTH = "true_partition."  # unit coordinate prefix of a simulation's true regions


def region_name(subset, labels) -> str:
    """A region's name: its spaces joined by '&' in config order (``gabor&pixels``)."""
    return "&".join(label for label in labels if label in subset)


def partition(r2_of: dict[frozenset, np.ndarray], labels: list[str]) -> dict[str, np.ndarray]:
    """Regions ``{name: (unit,)}`` of the variance explained by exactly each subset of spaces, from
    the test :math:`R^2` of the joint fit of every non-empty subset (``r2_of``; see the module)."""
    every = frozenset(labels)
    missing = [region_name(s, labels) for n in range(1, len(labels) + 1)
               for s in map(frozenset, itertools.combinations(labels, n)) if s not in r2_of]
    if missing:
        raise ConfigError(f"variance partitioning needs the R² of every subset of the spaces; missing: {listed(missing)}")
    n_units = len(r2_of[every])

    def r2(s):
        return r2_of[s] if s else np.zeros(n_units)

    def g(s):
        return r2(every) - r2(every - s)

    out = {}
    for n in range(1, len(labels) + 1):
        for t in map(frozenset, itertools.combinations(labels, n)):
            out[region_name(t, labels)] = sum((-1) ** (len(t) - k) * g(frozenset(s))
                                              for k in range(1, len(t) + 1) for s in itertools.combinations(t, k))
    return out


def _spaces(config: EncodingConfig) -> list[str]:
    labels = []
    for spec in config.features:
        names = model_names(spec)
        if len(names) != 1:
            raise ConfigError(f"feature space {spec.model_name!r} makes {len(names)} models ({[n for _, n in names]}); "
                              "variance partitioning takes one layer per space: give it `layers: [ONE]`")
        labels.append(spec.model_name)
    if not 2 <= len(labels) <= 4:
        raise ConfigError(f"variance partitioning takes 2 to 4 feature spaces (it fits every subset), got {len(labels)}: "
                          f"{labels}")
    return labels


def run_partition(stores, out: str | os.PathLike, config: EncodingConfig, *, n_iter: int = 20,
                  n_bootstrap: int = N_BOOTSTRAP, allow_overlap: bool = False, log=print) -> dict:
    """Partition each unit's explained test variance over the feature spaces of ``config`` (see the
    module), on one store or several (units pooled; each recording fitted on its own). Writes
    ``OUT/subsets.csv`` (test R² and r of every subset's fit, per unit), ``OUT/partition.csv`` (each
    region per unit, beside the truth where the store has it, and the joint model's split),
    ``OUT/summary.csv`` and ``OUT/summary.md`` (per region: mean over units with an interval from
    resampling each recording's test stimuli, median, fraction of units below zero, the fraction
    of units whose joint fit scores below one of its parts, and, with a truth, its mean, the mean
    absolute error and the correlation over units) and ``OUT/config.yaml``. Returns the tables.
    """
    labels = _spaces(config)
    for spec in config.features:
        get_extractor(spec.name, spec.params)
    out = check_output(out)
    recs = load_recordings(stores, seed=config.seed, allow_overlap=allow_overlap, log=log)
    with claimed_output(out):
        cache = FeatureCache()
        fitted = [_fit_subsets(rec, config, labels, n_iter, cache, log) for rec in recs]
        tables = _tables(recs, labels, fitted, n_bootstrap, config.seed)
        write_tables(out, tables)
        (out / "summary.md").write_text(to_markdown(tables["summary"]))
        write_record(out, "partition", recs, {"encoding": config.model_dump(), "n_iter": n_iter,
                                              "n_bootstrap": n_bootstrap}, config.seed)
    return tables


def _fit_subsets(rec, config, labels, n_iter, cache, log) -> tuple[dict, np.ndarray]:
    """Test predictions of every subset's fit on one recording, and the joint model's split."""
    feats = {}
    for spec in config.features:
        (_, pair), = space_features(rec, spec, cache, config.device).items()
        feats[spec.model_name] = pair
    predictions, joint = {}, None
    for n in range(1, len(labels) + 1):
        for subset in itertools.combinations(labels, n):
            x_train = np.concatenate([feats[s][0] for s in subset], axis=1)
            x_test = np.concatenate([feats[s][1] for s in subset], axis=1)
            if n == 1:
                pred, _ = ridge_predict(config, x_train, rec.y_train, x_test)
            else:
                model = BandedRidgeCV(bands=[feats[s][0].shape[1] for s in subset], n_iter=n_iter,
                                      random_state=config.seed, device=config.device,
                                      **config.ridge.model_dump()).fit(x_train, rec.y_train)
                pred = model.predict(x_test)
                if n == len(labels):
                    joint = model.predict(x_test, split=True)
            predictions[frozenset(subset)] = pred
            log(f"{rec.label} {region_name(subset, labels)}: median test R² "
                f"{np.nanmedian(metrics.r2(rec.y_test, pred)):.3f}")
    return predictions, joint


def _tables(recs, labels, fitted, n_bootstrap, seed) -> dict[str, pd.DataFrame]:
    subsets, per_unit, regions_all, worse_all = [], [], [], []
    every = frozenset(labels)
    for rec, (predictions, joint) in zip(recs, fitted):
        r2_of = {s: metrics.r2(rec.y_test, p) for s, p in predictions.items()}
        regions = partition(r2_of, labels)
        regions_all.append(regions)
        truth = {name: np.asarray(rec.ds[TRUTH + name].values, dtype=float) for name in regions
                 if TRUTH + name in rec.ds.coords}
        subsets += [pd.DataFrame({"recording": rec.label, "unit": rec.units, "subset": region_name(s, labels),
                                  "r2": r2_of[s], "pearson": metrics.pearson(rec.y_test, predictions[s])})
                    for s in predictions]
        split = metrics.r2_split(rec.y_test, joint)
        for name, v in regions.items():
            frame = pd.DataFrame({"recording": rec.label, "unit": rec.units, "region": name, "r2": v})
            if name in truth:
                frame["truth"] = truth[name]
            if "&" not in name:  # the joint model's own attribution of its prediction to this space
                frame["joint_split_r2"] = split[labels.index(name)]
            per_unit.append(frame)
        # a joint fit below one of its parts: the banded search missed the better solution
        worse_all.append(np.any([r2_of[every] < r2_of[frozenset([s])] - 1e-3 for s in labels], axis=0))
    per_unit = pd.concat(per_unit, ignore_index=True)
    worse = np.concatenate(worse_all)
    # Intervals: resample each recording's test stimuli, refit nothing, recompute every subset's R²
    # and the regions, average over all units.
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in regions_all[0]}
    for _ in range(n_bootstrap):
        boot = []
        for rec, (predictions, _) in zip(recs, fitted):
            idx = rng.integers(0, len(rec.y_test), len(rec.y_test))
            boot.append(partition({s: metrics.r2(rec.y_test[idx], p[idx]) for s, p in predictions.items()}, labels))
        for name in draws:
            with np.errstate(all="ignore"):
                draws[name].append(np.nanmean(np.concatenate([b[name] for b in boot])))
    summary = []
    tail = 100 * (1 - CONFIDENCE) / 2
    for name in draws:
        frame = per_unit[per_unit["region"] == name]
        v = frame["r2"].to_numpy()
        ok = np.isfinite(v)
        lo, hi = np.nanpercentile(draws[name], [tail, 100 - tail]) if n_bootstrap else (np.nan, np.nan)
        row = {"region": name, "spaces": name.count("&") + 1, "mean r2": float(np.mean(v[ok])), "ci_low": lo,
               "ci_high": hi, "median r2": float(np.median(v[ok])), "units below 0": float(np.mean(v[ok] < 0)),
               "units": int(ok.sum()), "units with joint < a part": float(worse.mean())}
        if "truth" in frame and frame["truth"].notna().all():
            t = frame["truth"].to_numpy()[ok]
            row.update({"truth mean": float(t.mean()), "mean abs error": float(np.mean(np.abs(v[ok] - t))),
                        "r with truth": float(np.corrcoef(v[ok], t)[0, 1]) if t.std() > 0 else np.nan})
        summary.append(row)
    return {"subsets": pd.concat(subsets, ignore_index=True), "partition": per_unit, "summary": pd.DataFrame(summary)}
