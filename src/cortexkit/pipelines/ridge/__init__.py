"""Ridge encoding on fixed features, as a run directory that fills up step by step.

- :mod:`~cortexkit.pipelines.ridge.config`: feature spaces, ridge settings, stacked model, device
- :mod:`~cortexkit.pipelines.ridge.fit`: features (cached) -> RidgeCV per model -> test predictions
- :mod:`~cortexkit.pipelines.ridge.stack`: the stacked model over a run's models
- :mod:`~cortexkit.pipelines.ridge.banded`: the banded (joint) model over a run's models, split per space
- :mod:`~cortexkit.pipelines.ridge.models`: models shared between runs fitted alike
- :mod:`~cortexkit.pipelines.ridge.evaluate`: scores with ceilings -> results.csv, summary.csv
- :mod:`~cortexkit.pipelines.ridge.run`: fit and score in one call
"""

from cortexkit.pipelines.ridge.config import (BANDED, STACKED, BandedSpec, EncodingConfig, FeatureSpec, RidgeSpec, StackSpec, encoding_config,
                                              feature_specs, model_names, spec_extractor)
from cortexkit.pipelines.ridge.evaluate import evaluate_run, read_encoding_run
from cortexkit.pipelines.ridge.fit import fit_feature_space, fit_run, train_targets
from cortexkit.pipelines.ridge.run import run_ridge_encoding
from cortexkit.pipelines.ridge.stack import stack_components

__all__ = ["BANDED", "STACKED", "BandedSpec", "EncodingConfig", "FeatureSpec", "RidgeSpec", "StackSpec", "encoding_config", "evaluate_run",
           "feature_specs", "fit_feature_space", "fit_run", "model_names", "read_encoding_run", "run_ridge_encoding",
           "spec_extractor", "stack_components", "train_targets"]
