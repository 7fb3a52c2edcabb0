"""cortexkit: encoding, decoding and benchmarking models of the visual cortex.

The public surface is organised by flow (see the README):

- :mod:`cortexkit.data` -- the xarray data model, Zarr storage, validation, splits
- :mod:`cortexkit.simulate` -- in-silico recordings with known ground truth
- :mod:`cortexkit.features` -- stimulus feature extractors
- :mod:`cortexkit.encoding` -- encoding models (cross-validated ridge)
- :mod:`cortexkit.metrics` -- scores and noise ceilings
- :mod:`cortexkit.benchmarks` -- the fit / evaluate runner producing tidy results
- :mod:`cortexkit.report` -- figures and the HTML report
"""

__version__ = "0.2.0"

from cortexkit.errors import ConfigError, CortexkitError, DataError  # noqa: E402

__all__ = ["__version__", "CortexkitError", "DataError", "ConfigError"]
