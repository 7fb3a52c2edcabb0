"""In-silico experiments on fitted encoding models: most exciting inputs, the most exciting images of
a pool, tuning curves from gratings and receptive-field maps. Every experiment talks to one interface, a
:class:`ResponseModel` (a differentiable map from images to unit responses), built from a ridge run.
"""

from cortexkit.insilico.mei import MEIResult, most_exciting_inputs, top_images
from cortexkit.insilico.receptive_fields import gradient_maps, sparse_noise_maps
from cortexkit.insilico.response_model import ResponseModel
from cortexkit.insilico.tuning import grating_tuning

__all__ = ["MEIResult", "ResponseModel", "gradient_maps", "grating_tuning", "most_exciting_inputs", "sparse_noise_maps",
           "top_images"]
