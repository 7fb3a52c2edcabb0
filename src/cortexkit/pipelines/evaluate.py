"""Re-scoring a finished run of any kind from what its directory holds."""

from __future__ import annotations

import os

import pandas as pd

from cortexkit.evaluation import SUMMARY_FILE, read_table, run_kind
from cortexkit.pipelines.ridge_encoding import evaluate_run
from cortexkit.pipelines.trained_predictor import evaluate_predictor, load_trained


def evaluate_any_run(run_dir: str | os.PathLike, *, log=print) -> tuple[str, pd.DataFrame]:
    """Score the test predictions of a ridge (`fit`) or trained (`train`) run again.

    Returns
    -------
    (kind, summary) : (str, pandas.DataFrame)
        ``"encoding"`` or ``"training"``, and the summary table written to ``RUN/summary.csv``.
    """
    if run_kind(run_dir) == "training":
        return "training", evaluate_predictor(load_trained(run_dir), run_dir)
    evaluate_run(run_dir, log=log)  # a folder that is no run fails here with a clear error
    return "encoding", read_table(os.path.join(run_dir, SUMMARY_FILE))
