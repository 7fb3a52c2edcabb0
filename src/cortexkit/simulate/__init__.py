"""In-silico recordings with known ground truth, and the stimuli to drive them."""

from cortexkit.simulate.stimuli import NATURAL_IMAGE_SOURCES, gratings, natural_image_crops
from cortexkit.simulate.mt import MTPopulation, MTSimulationConfig, motion_movies, simulate_mt
from cortexkit.simulate.v1 import V1Population, V1SimulationConfig, simulate_v1
from cortexkit.simulate.v1_video import V1VideoSimulationConfig, simulate_v1_video
from cortexkit.simulate.fmri import FMRISimulationConfig, simulate_fmri
from cortexkit.simulate.streams import StreamsSimulationConfig, simulate_streams
from cortexkit.simulate.partition import PartitionSimulationConfig, simulate_partition
from cortexkit.simulate.movie_fmri import MovieFMRISimulationConfig, simulate_movie_fmri
from cortexkit.render import render_self_motion
from cortexkit.simulate.self_motion import SelfMotionSimulationConfig, simulate_self_motion

# Populations by name (`cortexkit data simulate --population NAME`): (config model, simulator). A
# simulator returns one dataset, or ``{subject: dataset}`` for several subjects (fmri).
POPULATIONS = {"v1": (V1SimulationConfig, simulate_v1), "mt": (MTSimulationConfig, simulate_mt),
               "fmri": (FMRISimulationConfig, simulate_fmri), "streams": (StreamsSimulationConfig, simulate_streams),
               "partition": (PartitionSimulationConfig, simulate_partition),
               "movie-fmri": (MovieFMRISimulationConfig, simulate_movie_fmri),
               "self-motion": (SelfMotionSimulationConfig, simulate_self_motion),
               "v1-video": (V1VideoSimulationConfig, simulate_v1_video)}

__all__ = [
    "POPULATIONS",
    "NATURAL_IMAGE_SOURCES",
    "natural_image_crops",
    "gratings",
    "V1Population",
    "V1SimulationConfig",
    "simulate_v1",
    "V1VideoSimulationConfig",
    "simulate_v1_video",
    "MTPopulation",
    "MTSimulationConfig",
    "motion_movies",
    "simulate_mt",
    "FMRISimulationConfig",
    "simulate_fmri",
    "StreamsSimulationConfig",
    "simulate_streams",
    "PartitionSimulationConfig",
    "simulate_partition",
    "MovieFMRISimulationConfig",
    "simulate_movie_fmri",
    "SelfMotionSimulationConfig",
    "render_self_motion",
    "simulate_self_motion",
]
