"""In-silico experiments on fitted encoding models: most exciting inputs, the most exciting images of
a pool, and tuning curves from gratings. Every experiment talks to one interface, a
:class:`ResponseModel` (a differentiable map from images to unit responses), built from a ridge run.
"""

from cortexkit.insilico.mei import MEIResult, most_exciting_inputs, top_images
from cortexkit.insilico.response_model import ResponseModel
from cortexkit.insilico.tuning import grating_tuning

__all__ = ["MEIResult", "ResponseModel", "grating_tuning", "most_exciting_inputs", "top_images"]
