"""Compare two fitted models unit by unit on the same test stimuli: ``RUN:MODEL`` against
``RUN:MODEL`` (two runs on one dataset, or two models of one run), with the paired statistics of
:func:`cortexkit.evaluation.paired_comparison`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit._atomic import check_output, claim_output, write_text
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.evaluation import MODELS_DIR, split_run_model, load_arrays, noise_ceiling, paired_comparison, read_run_record, write_table

UNITS_FILE = "paired_units.csv"
SUMMARY_FILE = "paired_summary.json"


def _model(spec: str) -> tuple[Path, str, dict, dict]:
    """(run dir, model name, run record, model arrays) of ``RUN:MODEL``."""
    run, name = split_run_model(str(spec))
    if name is None and ":" in str(spec):
        raise ConfigError(f"{spec!r}: no run folder {str(spec).rsplit(':', 1)[0]!r}")
    if name is None:
        raise ConfigError(f"{spec!r}: name a model as RUN:MODEL, e.g. runs/demo:gabor")
    run_dir = Path(run)
    record = read_run_record(run_dir, required=("data",))
    path = run_dir / MODELS_DIR / f"{name}.npz"
    if not path.is_file():
        have = sorted(p.stem for p in (run_dir / MODELS_DIR).glob("*.npz"))
        raise ConfigError(f"{run_dir} has no model {name!r}; it has {listed(have) or 'none'}")
    arrays = load_arrays(path)
    if "prediction" not in arrays or "stimulus" not in arrays:
        raise DataError("holds no test predictions", source=str(path))
    return run_dir, name, record, arrays


def compare_predictions(test, model_a: dict, model_b: dict, *, ceiling=None, n_bootstrap: int = 1000, seed: int = 0,
                        labels: tuple[str, str] = ("A", "B"), log=print) -> tuple[pd.DataFrame, dict]:
    """:func:`cortexkit.evaluation.paired_comparison` of two saved models (arrays with
    ``prediction`` and ``stimulus``) on the test split ``test``: predictions aligned to its stimuli,
    its repeats resampled when stimuli have two or more, and the noise ceiling computed unless given."""
    avg = data.repeat_average(test)
    predictions = []
    for label, model in zip(labels, (model_a, model_b)):
        order = pd.Index(model["stimulus"]).get_indexer(avg["stimulus"].values)
        if (order < 0).any() or model["prediction"].shape[1] != avg.shape[1]:
            raise DataError(f"predictions of {label} do not cover the test stimuli and units", variable="prediction")
        predictions.append(np.asarray(model["prediction"])[order])
    try:
        repeats = data.repeats(test).values
    except DataError:  # one trial per stimulus (repeat-averaged recordings): stimuli are resampled alone
        repeats = None
    if repeats is not None and repeats.shape[1] < 2:
        repeats = None
    if ceiling is None and repeats is not None:
        ceiling = noise_ceiling(test, log=log)
    table, summary = paired_comparison(avg.values, *predictions, repeats=repeats, ceiling=ceiling,
                                       units=np.asarray(test["unit"].values), n_bootstrap=n_bootstrap,
                                       n_permutations=n_bootstrap, seed=seed)
    summary["repeats_resampled"] = repeats is not None
    return table, summary


def compare_models(a: str, b: str, out: str | os.PathLike, *, n_bootstrap: int = 1000, seed: int = 0,
                   log=print) -> tuple[pd.DataFrame, dict]:
    """Compare model A with model B on their shared test set; write ``OUT/paired_units.csv`` and
    ``OUT/paired_summary.json``.

    Parameters
    ----------
    a, b : str
        ``RUN:MODEL`` of each model (ridge runs, including a stacked model).
    out : path
        Folder for the tables (and the report page).
    n_bootstrap : int
        Bootstrap draws over test stimuli (and permutations for the swap test).
    """
    check_output(out)
    run_a, name_a, record_a, model_a = _model(a)
    run_b, name_b, record_b, model_b = _model(b)
    if Path(record_a["data"]).resolve() != Path(record_b["data"]).resolve():
        raise ConfigError(f"the models were fitted on different data ({record_a['data']} and {record_b['data']}); "
                          "a paired comparison needs the same test stimuli")
    ds = data.load(record_a["data"])
    table, summary = compare_predictions(data.select(ds, "test"), model_a, model_b, n_bootstrap=n_bootstrap, seed=seed,
                                         labels=(a, b), log=log)
    summary.pop("bootstrap_medians")
    summary.update(a=f"{run_a}:{name_a}", b=f"{run_b}:{name_b}", data=str(record_a["data"]), seed=seed,
                   n_bootstrap=n_bootstrap)
    out = claim_output(out)
    write_table(table, out / UNITS_FILE)
    write_text(out / SUMMARY_FILE, json.dumps(summary, indent=1, default=float))
    return table, summary
