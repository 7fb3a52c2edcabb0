"""One file per dataset (or simulation), each registering its benchmarks; importing this package
registers them all, in listing order."""

from cortexkit.benchmarks.plugins import cowley2023, allen_ns118, goris2015, gold_mt, simulated  # noqa: F401
