"""In-silico experiments on fitted encoding models: most exciting and diverse exciting inputs, the
most exciting images of a pool, tuning curves from gratings and drifting gratings, receptive-field
maps, and the choice of the next stimuli to show. Every experiment talks to one interface, a
:class:`ResponseModel` (a map from stimuli to unit responses, differentiable where the model is),
built from a ridge run, a stacked model or a trained core.
"""

from cortexkit.insilico.agreement import mei_agreement
from cortexkit.insilico.design import design_experiment, design_scores
from cortexkit.insilico.diverse import DiverseResult, diverse_exciting_inputs
from cortexkit.insilico.mei import MEIResult, most_exciting_inputs, top_images
from cortexkit.insilico.receptive_fields import gradient_maps, sparse_noise_maps
from cortexkit.insilico.response_model import (
    PredictorResponseModel,
    ResponseModel,
    RidgeResponseModel,
    StackedResponseModel,
)
from cortexkit.insilico.tuning import direction_tuning, grating_tuning

__all__ = ["DiverseResult", "MEIResult", "PredictorResponseModel", "ResponseModel", "RidgeResponseModel",
           "StackedResponseModel", "design_experiment", "design_scores", "direction_tuning",
           "diverse_exciting_inputs", "gradient_maps", "grating_tuning", "mei_agreement", "most_exciting_inputs",
           "sparse_noise_maps", "top_images"]
