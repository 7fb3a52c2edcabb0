"""Cross-validated ridge regression: solvers over tensors and the ``RidgeCV`` estimator."""

from cortexkit.encoding.ridge.banded import BandedRidgeCV
from cortexkit.encoding.ridge.estimator import DEFAULT_ALPHAS, RidgeCV
from cortexkit.encoding.ridge.forward import ForwardBlocksRidgeCV

__all__ = ["RidgeCV", "BandedRidgeCV", "ForwardBlocksRidgeCV", "DEFAULT_ALPHAS"]
