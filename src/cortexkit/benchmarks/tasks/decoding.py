"""Decoding cells: a stimulus parameter decoded from single trials (``cortexkit decode parameter``)
on every recording; the headline is the cross-validated accuracy averaged over recordings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit.benchmarks.cells import Cell
from cortexkit.errors import DataError
from cortexkit.evaluation import mean_interval
from cortexkit.pipelines import run_parameter_decoding


def decoding_cell(cell: Cell, log):
    """Decode the benchmark's parameter on each recording; score 1 per trial decoded right."""
    settings = cell.model.config
    per_trial, rows, frames, per_recording = [], [], [], {}
    for label, store in cell.stores.items():
        res = run_parameter_decoding(store, cell.benchmark.parameter, cell.run_dir(label),
                                     method=settings.get("method", "logistic"), C=settings.get("C", 1.0),
                                     n_permutations=settings.get("n_permutations", 200), seed=0)
        result = res["result"]
        if result.kind != "classification":
            raise DataError(f"{cell.benchmark.parameter!r} is continuous; decoding benchmarks score classes",
                            source=store)
        correct = (np.asarray(result.predictions) == np.asarray(res["values"])).astype(float)
        per_trial.append(correct)
        frames.append(pd.DataFrame({"recording": label, "trial": np.arange(len(correct)), "score": correct,
                                    "true": np.asarray(res["values"]), "decoded": np.asarray(result.predictions)}))
        rows.append({"recording": label, "score": result.score, "chance": result.chance, "p_value": result.p_value,
                     "trials": len(correct), "normalized": (result.score - result.chance) / (1 - result.chance)})
        per_recording[label] = {"score": result.score, "n": len(correct), "chance": result.chance,
                                "p_value": result.p_value, "normalized": rows[-1]["normalized"]}
    recordings = pd.DataFrame(rows)
    interval = mean_interval(per_trial)
    # (accuracy - chance) / (1 - chance) is the mean of the trials' rescaled scores: same draws, exact
    rescaled = mean_interval([(v - c) / (1 - c) for v, c in zip(per_trial, recordings["chance"])])
    chance = float(recordings["chance"].mean())
    result = {"score": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": int(recordings["trials"].sum()), "normalized": rescaled["mean"],
              "normalized_ci_low": rescaled["ci_low"], "normalized_ci_high": rescaled["ci_high"],
              "normalization": "(accuracy - chance) / (1 - chance)", "chance": chance, "per_recording": per_recording}
    return result, pd.concat(frames, ignore_index=True), {}
