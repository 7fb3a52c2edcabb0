"""Cross-validated ridge regression: solvers over tensors and the ``RidgeCV`` estimator."""

from cortexkit.encoding.ridge.banded import BandedRidgeCV
from cortexkit.encoding.ridge.estimator import DEFAULT_ALPHAS, RidgeCV

__all__ = ["RidgeCV", "BandedRidgeCV", "DEFAULT_ALPHAS"]
