"""Every figure and HTML page: run reports (ridge, trained, reconstruction), comparison, decoding
and in-silico pages, the benchmark site. Pages are built from :mod:`cortexkit.report.page`; figures
live in :mod:`cortexkit.report.figures` and return matplotlib figures without saving them.
"""

from cortexkit.report.analyses import write_alignment_report, write_delays_report, write_partition_report, write_width_report
from cortexkit.report.benchmark_site import write_benchmark_site
from cortexkit.report.comparison import write_comparison_report
from cortexkit.report.encoding_run import write_report
from cortexkit.report.in_silico import write_design_report, write_synthesis_report, write_tuning_report
from cortexkit.report.paired import summary_rows as paired_summary_rows, write_paired_report
from cortexkit.report.parameter_decoding import write_decoding_report
from cortexkit.report.predictor import write_predictor_report
from cortexkit.report.reconstruction import (write_pooled_reconstruction_report, write_reconstruction_report,
                                             write_reconstruction_reports)
from cortexkit.report.run import write_run_report
from cortexkit.report.streams import write_streams_report

__all__ = [
    "write_benchmark_site",
    "write_comparison_report",
    "write_decoding_report",
    "write_alignment_report",
    "write_delays_report",
    "write_design_report",
    "paired_summary_rows",
    "write_paired_report",
    "write_partition_report",
    "write_pooled_reconstruction_report",
    "write_predictor_report",
    "write_reconstruction_report",
    "write_reconstruction_reports",
    "write_report",
    "write_run_report",
    "write_streams_report",
    "write_synthesis_report",
    "write_tuning_report",
    "write_width_report",
]
