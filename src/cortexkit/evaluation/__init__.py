"""Evaluation: predictions scored against responses with noise ceilings, tidy results tables, and
the run-folder contract (what a run directory holds, how it is fingerprinted, saved and reopened).

Sits above :mod:`cortexkit.data` and :mod:`cortexkit.metrics` and below the models
(:mod:`cortexkit.encoding`, :mod:`cortexkit.decoding`) and the pipelines, so that ridge runs,
trained predictors and benchmarks score with the same function.
"""

from cortexkit.evaluation.brain_maps import has_volume, write_score_maps
from cortexkit.evaluation.intervals import mean_interval, median_r_interval
from cortexkit.evaluation.paired import combine_sessions, paired_comparison, paired_per_stimulus
from cortexkit.evaluation.runs import (
    split_run_model,
    CONFIG_FILE,
    MODELS_DIR,
    RESULTS_FILE,
    SUMMARY_FILE,
    data_fingerprint,
    load_arrays,
    load_if_settings_match,
    read_run_record,
    read_table,
    run_kind,
    run_lock,
    save_arrays,
    write_run_record,
    write_table,
)
from cortexkit.evaluation.scoring import (
    LOW_CEILING,
    SUMMARY_METRICS,
    ceiling_warning,
    noise_ceiling,
    rf_correlation,
    score_predictions,
    summarize,
    unit_table,
)
from cortexkit.evaluation.selection import SELECTED_BY, choose_model, chosen_per_group, cv_medians, headline_models, selection_record
from cortexkit.evaluation.tables import p_text, to_markdown, write_csv_and_markdown

__all__ = [
    "has_volume",
    "write_score_maps",
    "combine_sessions",
    "mean_interval",
    "median_r_interval",
    "paired_comparison",
    "paired_per_stimulus",
    "CONFIG_FILE",
    "MODELS_DIR",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "SUMMARY_METRICS",
    "LOW_CEILING",
    "ceiling_warning",
    "data_fingerprint",
    "headline_models",
    "SELECTED_BY",
    "choose_model",
    "chosen_per_group",
    "cv_medians",
    "selection_record",
    "load_arrays",
    "load_if_settings_match",
    "noise_ceiling",
    "read_run_record",
    "read_table",
    "rf_correlation",
    "run_kind",
    "run_lock",
    "save_arrays",
    "split_run_model",
    "score_predictions",
    "summarize",
    "p_text",
    "to_markdown",
    "unit_table",
    "write_csv_and_markdown",
    "write_run_record",
    "write_table",
]
