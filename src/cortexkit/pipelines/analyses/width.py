"""The expansion model's headline curve: encoding score as a function of the final layer's width.

Widths are nested: the width-``w`` model is the first ``w`` channels of the widest one. Weights
come from one seeded generator filled in order (layers 2-4 first, then layer 5 channel by channel),
so these are exactly the features of :class:`~cortexkit.features.expansion.ExpansionModel` built with
that last width (a test checks it), and one extraction serves the whole sweep. Each width gets its
own ridge (alphas chosen per unit by CV on the training stimuli), its test score with a
test-stimulus bootstrap interval, its score over the noise ceiling (the percent of explainable
variance) and the effective dimensionality of its training features. The saturation width is the
smallest width whose median r reaches ``saturation`` (95%) of the best width's.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cortexkit import metrics
from cortexkit._atomic import check_output, claimed_output
from cortexkit.errors import ConfigError
from cortexkit.evaluation import to_markdown
from cortexkit.evaluation.intervals import median_r_interval
from cortexkit.evaluation.paired import N_BOOTSTRAP
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.features.expansion import final_size
from cortexkit.pipelines.analyses.common import load_recordings, ridge_predict, write_record, write_tables
from cortexkit.pipelines.ridge.config import EncodingConfig, FeatureSpec

WIDTHS = (3, 10, 30, 100, 300, 1000, 3000, 10000)
# The benchmark's expansion model (benchmarks/models/expansion.yaml): narrower early layers and 140 px
# than the source's 224 px with 1000/3000/5000, so a sweep runs on a CPU in minutes.
BASE = {"widths": [100, 300, 500, 3000], "image_size": 140}


def run_width_sweep(stores: list, out: str | os.PathLike, *, widths=WIDTHS, params: dict | None = None,
                    config: EncodingConfig | None = None, saturation: float = 0.95, n_bootstrap: int = N_BOOTSTRAP,
                    allow_overlap: bool = False, log=print) -> dict[str, pd.DataFrame]:
    """Score the expansion model at each final-layer width on every store (units pooled over stores).

    Writes ``OUT/widths.csv`` (per width: features, median r with its interval, median R², median
    r²/ceiling and its interval, effective dimensionality), ``OUT/units.csv`` (per store, width
    and unit), ``OUT/widths.md`` and ``OUT/config.yaml``; returns the tables (``saturation`` in
    ``widths.attrs``).
    """
    config = config or EncodingConfig()
    widths = sorted({int(w) for w in widths})
    if not widths or widths[0] < 1:
        raise ConfigError(f"--widths must be positive channel counts, got {widths}")
    if not 0 < saturation <= 1:
        raise ConfigError(f"saturation must be in (0, 1], got {saturation}")
    params = {**BASE, **(params or {})}
    if "layers" in params or "global_pool" in params:
        raise ConfigError("the width sweep reads the last layer's channels: leave `layers` and `global_pool` unset")
    base = list(params["widths"])
    spec = FeatureSpec(name="expansion", params={**params, "widths": base[:3] + [widths[-1]]})
    extractor = get_extractor(spec.name, spec.params)  # bad parameters fail before any work
    per_channel = final_size(int(params["image_size"])) ** 2
    out = check_output(out)
    recs = load_recordings(stores, seed=config.seed, allow_overlap=allow_overlap, log=log)
    with claimed_output(out):
        cache = FeatureCache()
        feats = []
        for rec in recs:
            f_train = cache.features(extractor, rec.train_stimuli, rec.train_stimuli)["expansion"]
            f_test = cache.features(extractor, rec.test_stimuli, rec.train_stimuli)["expansion"]
            feats.append((f_train, f_test))
            log(f"{rec.label}: expansion features at width {widths[-1]} ({f_train.shape[1]} features)")
        rows, units = [], []
        for w in widths:
            pairs, ceilings, dims, zdims = [], [], [], []
            for rec, (f_train, f_test) in zip(recs, feats):
                a, b = f_train[:, : w * per_channel], f_test[:, : w * per_channel]  # channel-major columns
                scale = float(np.sqrt(np.mean(a.var(axis=0)))) or 1.0
                pred, model = ridge_predict(config, a / scale, rec.y_train, b / scale)
                pairs.append((rec.y_test, pred))
                ceilings.append(rec.ceiling if rec.ceiling is not None else np.full(len(rec.units), np.nan))
                dims.append(metrics.effective_dimensionality(a))
                zdims.append(metrics.effective_dimensionality(a, standardize=True))
                units.append(pd.DataFrame({"recording": rec.label, "width": w, "unit": rec.units,
                                           "pearson": metrics.pearson(rec.y_test, pred),
                                           "r2": metrics.r2(rec.y_test, pred), "alpha": model.alpha_}))
            ci = median_r_interval(pairs, ceilings=ceilings, n_bootstrap=n_bootstrap, seed=config.seed)
            r2 = np.concatenate([metrics.r2(y, p) for y, p in pairs])
            rows.append({"width": w, "features": w * per_channel, "median r": ci["median"], "ci_low": ci["ci_low"],
                         "ci_high": ci["ci_high"], "median R2": float(np.nanmedian(r2)),
                         "r2/ceiling": ci["normalized"], "r2/ceiling ci_low": ci["normalized_ci_low"],
                         "r2/ceiling ci_high": ci["normalized_ci_high"], "effective dim": float(np.mean(dims)),
                         "effective dim (z-scored)": float(np.mean(zdims))})
            log(f"width {w}: median r {ci['median']:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}], "
                f"effective dimensionality {np.mean(dims):.1f}")
        table = pd.DataFrame(rows)
        best = table["median r"].max()
        knee = int(table.loc[table["median r"] >= saturation * best, "width"].min())
        table.attrs["saturation"] = knee
        tables = {"widths": table, "units": pd.concat(units, ignore_index=True)}
        write_tables(out, tables)
        (out / "widths.md").write_text(to_markdown(table) + f"\nsaturation width ({saturation:.0%} of the best median r): "
                                       f"{knee}; {sum(len(r.units) for r in recs)} units of {len(recs)} recording(s)\n")
        write_record(out, "width", recs, {"widths": widths, "expansion": spec.params, "saturation": saturation,
                                          "encoding": config.model_dump(), "n_bootstrap": n_bootstrap}, config.seed)
    return tables
