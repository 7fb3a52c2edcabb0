"""Pipelines: a config in, tables (and run-directory files) out. Each is one straight flow through
the layers below; figures and pages are drawn by :mod:`cortexkit.report` from what they write.

- :mod:`~cortexkit.pipelines.simulation`, :mod:`~cortexkit.pipelines.recordings`,
  :mod:`~cortexkit.pipelines.dataset_summary`: data in (simulate, convert, merge, describe)
- :mod:`~cortexkit.pipelines.feature_export`: features of a recording, cached
- :mod:`~cortexkit.pipelines.ridge`: ridge on fixed features (fit, stack, evaluate)
- :mod:`~cortexkit.pipelines.predictor`: cores + readouts trained end to end
- :mod:`~cortexkit.pipelines.predictor_search`: their hyperparameters searched on the validation stimuli
- :mod:`~cortexkit.pipelines.evaluate`: any run scored again
- :mod:`~cortexkit.pipelines.sensorium_submission`: a trained run's predictions in the Sensorium 2023 submission layout
- :mod:`~cortexkit.pipelines.model_comparison`: two models unit by unit, with paired statistics
- :mod:`~cortexkit.pipelines.comparison`: CKA / RSA between feature spaces and neurons
- :mod:`~cortexkit.pipelines.streams`: two regions on the same stimuli (decoding, encoding, CKA)
- :mod:`~cortexkit.pipelines.reconstruction`, :mod:`~cortexkit.pipelines.pooled_reconstruction`:
  decoders scored against null models, one subject or pooled over subjects
- :mod:`~cortexkit.pipelines.parameter_decoding`: stimulus parameters from single trials
- :mod:`~cortexkit.pipelines.insilico`: MEIs, tuning, experiment design on a fitted run
- :mod:`~cortexkit.pipelines.analyses`: the seed papers' analyses (variance partitioning, width
  sweep, dimensionality, time-delayed encoding)
- :mod:`~cortexkit.pipelines.catalog`: what there is to choose from
- :mod:`~cortexkit.pipelines.demo`: the demo
"""

from cortexkit.pipelines.analyses import (EXPANSION_BASE, EXPANSION_VARIANTS, run_ablations, run_delays, run_partition, run_probe,
                                          run_self_motion, run_width_sweep)
from cortexkit.pipelines.catalog import NOUNS, catalog
from cortexkit.pipelines.comparison import compare_representations
from cortexkit.pipelines.dataset_summary import describe_dataset
from cortexkit.pipelines.demo import run_demo
from cortexkit.pipelines.distillation import distilled_store, run_distillation
from cortexkit.pipelines.evaluate import evaluate_any_run
from cortexkit.pipelines.feature_export import export_features, extract_features
from cortexkit.pipelines.insilico import design, response_model, synthesize, tuning
from cortexkit.pipelines.model_comparison import compare_models, compare_predictions
from cortexkit.pipelines.parameter_decoding import DECODING_METHODS, run_parameter_decoding
from cortexkit.pipelines.pooled_reconstruction import reconstruct, run_pooled_reconstruction
from cortexkit.pipelines.predictor_search import run_search
from cortexkit.pipelines.published import CHECKPOINT_FORMATS, checkpoint_run
from cortexkit.pipelines.predictor import (PredictorConfig, evaluate_predictor, load_trained, predictor_config,
                                           run_trained_predictor, saved_predictions, stimulus_predictions,
                                           train_predictor)
from cortexkit.pipelines.reconstruction import (DecoderSpec, ReconstructionConfig, prepare_stimuli, reconstruction_config,
                                                run_reconstruction)
from cortexkit.pipelines.recordings import convert_recording, merge_recordings
from cortexkit.pipelines.ridge import (BANDED, STACKED, BandedSpec, EncodingConfig, FeatureSpec, RidgeSpec, StackSpec, encoding_config,
                                       evaluate_run, feature_specs, fit_feature_space, fit_run, model_names,
                                       run_ridge_encoding)
from cortexkit.pipelines.sensorium_submission import write_submission
from cortexkit.pipelines.simulation import simulate_recording, simulation_config, write_simulation
from cortexkit.pipelines.streams import dissociation_sentence, run_streams

__all__ = [
    "BANDED", "DECODING_METHODS", "EXPANSION_BASE", "EXPANSION_VARIANTS", "NOUNS", "STACKED", "BandedSpec", "DecoderSpec", "EncodingConfig", "FeatureSpec", "PredictorConfig",
    "ReconstructionConfig", "RidgeSpec", "StackSpec", "catalog", "compare_models", "compare_predictions",
    "compare_representations", "convert_recording", "describe_dataset", "design", "dissociation_sentence",
    "encoding_config", "evaluate_any_run", "evaluate_predictor", "evaluate_run", "export_features", "extract_features",
    "feature_specs", "fit_feature_space", "fit_run", "load_trained", "merge_recordings", "model_names",
    "predictor_config", "prepare_stimuli", "reconstruct", "reconstruction_config", "response_model", "run_demo",
    "run_ablations", "run_delays", "run_parameter_decoding", "run_partition", "run_pooled_reconstruction", "run_probe", "run_reconstruction", "run_ridge_encoding", "run_search", "run_self_motion", "write_submission", "run_streams",
    "run_trained_predictor", "checkpoint_run", "CHECKPOINT_FORMATS", "run_width_sweep", "simulate_recording", "simulation_config", "stimulus_predictions", "saved_predictions", "distilled_store", "run_distillation", "synthesize",
    "train_predictor", "tuning", "write_simulation",
]
