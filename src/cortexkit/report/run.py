"""The report of any run directory, chosen by what wrote it."""

from __future__ import annotations

import os
from pathlib import Path

from cortexkit.evaluation import read_run_record, run_kind
from cortexkit.report.encoding_run import write_report
from cortexkit.report.reconstruction import write_reconstruction_report
from cortexkit.report.predictor import write_predictor_report

_WRITERS = {"encoding": write_report, "training": write_predictor_report, "reconstruction": write_reconstruction_report}


def write_run_report(run_dir: str | os.PathLike) -> Path:
    """Draw the report of a ridge (`fit`), trained (`train`) or reconstruction run; returns its path."""
    kind = run_kind(run_dir)
    if kind is None:
        read_run_record(run_dir, required=("data", "encoding"))  # raises the "not a run directory" error
    return _WRITERS[kind](run_dir)
