"""The whole ridge encoding flow of ``cortexkit fit``: fit, then score the test split."""

from __future__ import annotations

import os

import pandas as pd

from cortexkit.evaluation import SUMMARY_FILE, read_table
from cortexkit.pipelines.ridge.config import EncodingConfig
from cortexkit.pipelines.ridge.evaluate import evaluate_run
from cortexkit.pipelines.ridge.fit import fit_run


def run_ridge_encoding(store: str | os.PathLike, out: str | os.PathLike, config: EncodingConfig | None = None, *,
                       overwrite: bool = False, extra: dict | None = None, allow_overlap: bool = False,
                       log=print) -> pd.DataFrame:
    """Fit every model of ``config`` on ``store`` into the run ``out`` (resumable; see
    :func:`~cortexkit.pipelines.ridge.fit.fit_run`), score them (:func:`evaluate_run`) and return
    the summary table (``RUN/summary.csv``)."""
    fit_run(store, out, config, overwrite=overwrite, extra=extra, allow_overlap=allow_overlap, log=log)
    evaluate_run(out, log=log)
    return read_table(os.path.join(out, SUMMARY_FILE))
