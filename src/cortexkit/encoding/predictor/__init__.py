"""Trained predictors: a shared core, one readout per session, optional shifter and modulator,
trained end to end on the sessions' single trials.

- :mod:`~cortexkit.encoding.predictor.config`: the typed config (YAML)
- :mod:`~cortexkit.encoding.predictor.model`: the torch modules (``NeuralPredictor``, ``EnsemblePredictor``)
- :mod:`~cortexkit.encoding.predictor.training`: the sessions' data, batches, loss and predictions
"""

from cortexkit.encoding.predictor.config import PredictorConfig, SessionSpec
from cortexkit.encoding.predictor.model import NONLINEARITIES, EnsemblePredictor, NeuralPredictor, build_predictor, make_core
from cortexkit.encoding.predictor.training import PredictorRun, Session, core_input, load_session

__all__ = ["NONLINEARITIES", "EnsemblePredictor", "NeuralPredictor", "PredictorConfig", "PredictorRun", "Session", "SessionSpec",
           "build_predictor", "core_input", "load_session", "make_core"]
