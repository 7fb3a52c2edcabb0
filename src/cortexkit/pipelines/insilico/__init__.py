"""In-silico experiments on a fitted run: the run's model as a response model, its most exciting
inputs, tuning and receptive fields, and the next stimuli to show."""

from cortexkit.pipelines.insilico.design import design, load_pool
from cortexkit.pipelines.insilico.models import ensemble, load_model, response_model
from cortexkit.pipelines.insilico.synthesis import synthesize, write_stimulus_image
from cortexkit.pipelines.insilico.tuning import tuning

__all__ = ["design", "ensemble", "load_model", "load_pool", "response_model", "synthesize", "tuning",
           "write_stimulus_image"]
