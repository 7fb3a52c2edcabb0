"""The analyses the seed papers are known for, each a function that reads a store, fits what it
needs on the training stimuli, scores on the test stimuli and writes tables into a new folder:

- :mod:`~cortexkit.pipelines.analyses.partition`: variance partitioning over 2-4 feature spaces
- :mod:`~cortexkit.pipelines.analyses.width`: the expansion model's score against its last layer's width
- :mod:`~cortexkit.pipelines.analyses.delays`: time-delayed (FIR) encoding of continuous recordings
- :mod:`~cortexkit.pipelines.analyses.probe`: image classification with frozen features (linear probe)
- :mod:`~cortexkit.pipelines.analyses.ablations`: one choice of a model changed at a time, against the base
- :mod:`~cortexkit.pipelines.analyses.self_motion`: self-motion and optic-flow decoding, DorsalNet encoding
- :mod:`~cortexkit.pipelines.analyses.alignment`: a new subject aligned to a shared decoder, by its amount of data
"""

from cortexkit.pipelines.analyses.alignment import FRACTIONS, run_alignment
from cortexkit.pipelines.analyses.ablations import EXPANSION_BASE, EXPANSION_VARIANTS, run_ablations
from cortexkit.pipelines.analyses.delays import run_delays
from cortexkit.pipelines.analyses.probe import DATASETS, labelled_images, run_probe

from cortexkit.pipelines.analyses.partition import partition, run_partition
from cortexkit.pipelines.analyses.self_motion import decode_self_motion, run_self_motion
from cortexkit.pipelines.analyses.width import WIDTHS, run_width_sweep

__all__ = ["FRACTIONS", "run_alignment", "DATASETS", "EXPANSION_BASE", "EXPANSION_VARIANTS", "WIDTHS", "run_ablations", "labelled_images", "partition", "run_probe", "run_delays", "run_partition", "run_self_motion", "decode_self_motion", "run_width_sweep"]
