"""Every figure and HTML page: run reports (ridge, trained, reconstruction), decoding and comparison
figures, the leaderboard site. Pages are built from :mod:`cortexkit.report.page`; figures live in
:mod:`cortexkit.report.figures` and return matplotlib figures without saving them.
"""

from cortexkit.report.comparison import write_comparison_figure
from cortexkit.report.encoding_run import write_report
from cortexkit.report.in_silico import write_synthesis_report, write_tuning_report
from cortexkit.report.leaderboard import write_leaderboard_site
from cortexkit.report.parameter_decoding import write_decoding_figures
from cortexkit.report.paired import write_paired_report
from cortexkit.report.reconstruction import write_pooled_reconstruction_report, write_reconstruction_report
from cortexkit.report.run import write_run_report
from cortexkit.report.streams import write_streams_figure
from cortexkit.report.trained import write_predictor_report

__all__ = [
    "write_synthesis_report",
    "write_tuning_report",
    "write_leaderboard_site",
    "write_paired_report",
    "write_report",
    "write_predictor_report",
    "write_reconstruction_report",
    "write_pooled_reconstruction_report",
    "write_run_report",
    "write_decoding_figures",
    "write_streams_figure",
    "write_comparison_figure",
]
