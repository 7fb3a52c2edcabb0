"""Pipelines: a config in, tables (and run-directory files) out. Each is one straight flow through
the layers below; figures and pages are drawn by :mod:`cortexkit.report` from what they write.

- :mod:`~cortexkit.pipelines.ridge_encoding`: ridge on fixed features (``fit_run``, ``evaluate_run``)
- :mod:`~cortexkit.pipelines.trained_predictor`: cores + readouts trained end to end
- :mod:`~cortexkit.pipelines.reconstruction`: decoders scored against null models
- :mod:`~cortexkit.pipelines.pooled_reconstruction`: several subjects pooled on shared test stimuli
- :mod:`~cortexkit.pipelines.parameter_decoding`: stimulus parameters from single trials
- :mod:`~cortexkit.pipelines.comparison`: CKA / RSA between feature spaces and neurons
- :mod:`~cortexkit.pipelines.model_comparison`: two models unit by unit, with paired statistics
- :mod:`~cortexkit.pipelines.streams`: two regions on the same stimuli (decoding, encoding, CKA)
- :mod:`~cortexkit.pipelines.feature_export`, :mod:`~cortexkit.pipelines.dataset_summary`,
  :mod:`~cortexkit.pipelines.demo`
"""

from cortexkit.pipelines.comparison import compare_representations
from cortexkit.pipelines.dataset_summary import describe_dataset
from cortexkit.pipelines.demo import run_demo
from cortexkit.pipelines.evaluate import evaluate_any_run
from cortexkit.pipelines.feature_export import export_features
from cortexkit.pipelines.in_silico import design, response_model, synthesize, tuning
from cortexkit.pipelines.model_comparison import compare_models
from cortexkit.pipelines.parameter_decoding import run_parameter_decoding
from cortexkit.pipelines.pooled_reconstruction import run_pooled_reconstruction
from cortexkit.pipelines.reconstruction import DecoderSpec, ReconstructionConfig, run_reconstruction
from cortexkit.pipelines.streams import run_streams
from cortexkit.pipelines.ridge_encoding import (
    EncodingConfig,
    StackSpec,
    FeatureSpec,
    RidgeSpec,
    evaluate_run,
    feature_specs,
    fit_feature_space,
    fit_run,
    model_names,
)
from cortexkit.pipelines.trained_predictor import evaluate_predictor, load_trained, run_trained_predictor, train_predictor

__all__ = [
    "compare_models",
    "design",
    "response_model",
    "synthesize",
    "tuning",
    "EncodingConfig",
    "StackSpec",
    "FeatureSpec",
    "RidgeSpec",
    "feature_specs",
    "fit_feature_space",
    "fit_run",
    "evaluate_run",
    "model_names",
    "train_predictor",
    "load_trained",
    "evaluate_predictor",
    "run_trained_predictor",
    "evaluate_any_run",
    "DecoderSpec",
    "ReconstructionConfig",
    "run_reconstruction",
    "run_pooled_reconstruction",
    "run_streams",
    "run_parameter_decoding",
    "compare_representations",
    "export_features",
    "describe_dataset",
    "run_demo",
]
