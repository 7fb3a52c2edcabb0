"""Ablations of a feature space: the same model with one choice changed at a time (the expansion
paper's initialisation, nonlinearity, first-layer filters, pooling and each layer removed), each
scored on the test split and compared with the unchanged model unit by unit.

Every variant is a feature space with some parameters overridden; each gets its own ridge (alphas
chosen per unit by CV on the training stimuli). Per variant: median r pooled over the recordings
with a test-stimulus interval, and against the base model the paired statistics of
:func:`cortexkit.evaluation.paired_comparison` (per recording; with several recordings, their
combination by :func:`cortexkit.evaluation.combine_sessions`).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cortexkit._atomic import check_output, claimed_output
from cortexkit.errors import ConfigError
from cortexkit.evaluation import to_markdown
from cortexkit.evaluation.intervals import median_r_interval
from cortexkit.evaluation.paired import N_BOOTSTRAP, combine_sessions, paired_comparison
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.analyses.common import load_recordings, ridge_predict, space_features, write_record, write_tables
from cortexkit.pipelines.ridge.config import EncodingConfig, FeatureSpec, model_names

# The expansion paper's ablations, on the benchmark's expansion model.
EXPANSION_BASE = {"widths": [100, 300, 500, 3000], "image_size": 140}
EXPANSION_VARIANTS = {
    "init=uniform": {"init": "uniform"},
    "nonlinearity=none": {"nonlinearity": "none"},
    "nonlinearity=elu": {"nonlinearity": "elu"},
    "first_layer=gabor": {"first_layer": "gabor"},
    "first_layer=random": {"first_layer": "random"},
    "pool=max": {"pool": "max"},
    "without layer 2": {"remove": [2]},
    "without layer 3": {"remove": [3]},
    "without layer 4": {"remove": [4]},
    "connectivity=full": {"connectivity": "full"},
}


def run_ablations(stores, out: str | os.PathLike, base: FeatureSpec, variants: dict[str, dict], *,
                  config: EncodingConfig | None = None, n_bootstrap: int = N_BOOTSTRAP, allow_overlap: bool = False,
                  log=print) -> dict[str, pd.DataFrame]:
    """Score ``base`` and each variant (``{name: parameter overrides}``) on every store.

    Writes ``OUT/ablations.csv`` (per model: median r with its interval; against the base: median
    difference with its interval, Wilcoxon p, fraction of units better), ``OUT/units.csv``,
    ``OUT/ablations.md`` and ``OUT/config.yaml``.
    """
    config = config or EncodingConfig()
    if not variants:
        raise ConfigError("no variants to compare with the base model")
    specs = {"base": base}
    for name, params in variants.items():
        if name == "base":
            raise ConfigError("'base' names the unchanged model; give the variant another name")
        specs[name] = base.model_copy(update={"params": {**base.params, **params}})
    for name, spec in specs.items():
        get_extractor(spec.name, spec.params)  # bad parameters fail before any work, naming the variant
        if len(model_names(spec)) != 1:
            raise ConfigError(f"variant {name!r} makes {len(model_names(spec))} models; ablations compare one layer")
    out = check_output(out)
    recs = load_recordings(stores, seed=config.seed, allow_overlap=allow_overlap, log=log)
    with claimed_output(out):
        cache = FeatureCache()
        predictions = {name: [] for name in specs}
        for name, spec in specs.items():
            for rec in recs:
                (_, (a, b)), = space_features(rec, spec, cache, config.device).items()
                predictions[name].append(ridge_predict(config, a, rec.y_train, b)[0])
            log(f"{name}: fitted on {len(recs)} recording(s)")
        rows, units = [], []
        for name in specs:
            ci = median_r_interval([(r.y_test, p) for r, p in zip(recs, predictions[name])], n_bootstrap=n_bootstrap,
                                   seed=config.seed)
            row = {"model": name, "median r": ci["median"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}
            if name != "base":
                per = {}
                for rec, p, p0 in zip(recs, predictions[name], predictions["base"]):
                    table, per[rec.label] = paired_comparison(rec.y_test, p, p0, units=rec.units, n_bootstrap=n_bootstrap,
                                                              n_permutations=n_bootstrap, seed=config.seed)
                    units.append(table.assign(recording=rec.label, model=name))
                if len(per) == 1:
                    s = next(iter(per.values()))
                    diff, lo, hi, p = s["median_diff"], s["ci_low"], s["ci_high"], s["wilcoxon_p"]
                    better = s["fraction_a_better"]
                else:
                    s = combine_sessions(per)
                    diff, lo, hi, p = s["mean_median_diff"], s["ci_low"], s["ci_high"], s["wilcoxon_p"]
                    better = float(np.mean([v["fraction_a_better"] for v in per.values()]))
                row.update({"diff vs base": diff, "diff ci_low": lo, "diff ci_high": hi, "p (Wilcoxon)": p,
                            "share of units better": better})
            rows.append(row)
            log(f"{name}: median r {ci['median']:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}]")
        table = pd.DataFrame(rows)
        tables = {"ablations": table, "units": pd.concat(units, ignore_index=True)}
        write_tables(out, tables)
        (out / "ablations.md").write_text(to_markdown(table) + f"\nbase: {base.name} {base.params}; "
                                          f"{sum(len(r.units) for r in recs)} units of {len(recs)} recording(s)\n")
        write_record(out, "ablations", recs, {"base": base.model_dump(), "variants": variants,
                                              "encoding": config.model_dump(), "n_bootstrap": n_bootstrap}, config.seed)
    return tables
