"""Figures and the HTML report of a run."""

from cortexkit.report.html import write_report

__all__ = ["write_report"]
