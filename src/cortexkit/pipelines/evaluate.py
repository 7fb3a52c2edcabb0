"""Re-scoring a finished run of any kind from what its directory holds."""

from __future__ import annotations

import os

import pandas as pd

from cortexkit.config import parse
from cortexkit.evaluation import SUMMARY_FILE, read_run_record, read_table, run_kind
from cortexkit.pipelines.predictor import evaluate_predictor, load_trained
from cortexkit.pipelines.reconstruction import ReconstructionConfig, run_reconstruction
from cortexkit.pipelines.ridge import evaluate_run


def evaluate_any_run(run_dir: str | os.PathLike, *, log=print) -> tuple[str, pd.DataFrame]:
    """Score the test predictions of a ridge (``fit``), trained (``train``) or reconstruction run again
    (a reconstruction run keeps its reconstructions and recomputes every metric and null).

    Returns
    -------
    (kind, summary) : (str, pandas.DataFrame)
        ``"encoding"``, ``"training"`` or ``"reconstruction"``, and the run's summary table
        (``summary.csv``, or ``metrics.csv`` of a reconstruction run).
    """
    kind = run_kind(run_dir)
    if kind == "training":
        return kind, evaluate_predictor(load_trained(run_dir), run_dir)
    if kind == "reconstruction":
        record = read_run_record(run_dir, required=("data", "reconstruction"))
        config = parse(ReconstructionConfig, record["reconstruction"], os.path.join(run_dir, "config.yaml"))
        return kind, run_reconstruction(record["data"], run_dir, config, log=log)
    evaluate_run(run_dir, log=log)  # a folder that is no run fails here with a clear error
    return "encoding", read_table(os.path.join(run_dir, SUMMARY_FILE))
