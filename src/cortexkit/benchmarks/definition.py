"""What a benchmark is: a source dataset (or an in-silico recording), its recordings and split, a
task, a stimulus kind, a headline metric and the models it runs by default.

Each benchmark is one plugin file in :mod:`cortexkit.benchmarks.plugins` with a function decorated
``@BENCHMARKS.register("name")`` that returns a :class:`Benchmark`. Nothing is computed until the
runner (:mod:`cortexkit.benchmarks.runner`) runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cortexkit.errors import ConfigError, listed
from cortexkit.registry import Registry

TASKS = ("encoding", "decoding", "reconstruction")
STIMULI = ("image", "movie")
# The headline metric of each task: the median over units of held-out Pearson r (against the
# noise-free rates where the recording is simulated); cross-validated decoding accuracy; the mean
# 2-way identification of reconstructions (pixel correlation).
METRICS = {"pearson": "median r", "pearson_true": "median r (true rates)", "accuracy": "accuracy",
           "identification": "2-way identification"}


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's definition (no work is done until it is run).

    Parameters
    ----------
    name, description, citation : str
    folder, format : str
        The source folder under the data root and its reader (both "" for a simulated benchmark).
    recordings : dict
        Label -> reader options (or simulation settings) of each recording.
    models : tuple of str
        The models ``cortexkit bench run NAME`` runs (built-in model names or ``.yaml`` paths, in
        table order).
    task, stimulus, metric : str
        One of :data:`TASKS`, :data:`STIMULI` and :data:`METRICS`.
    simulate : str, optional
        A simulated population ("v1", "mt", "fmri"); ``recordings`` then hold its config fields (a
        population of several subjects gives each recording the subject named by its label).
    parameter : str, optional
        Decoding: the stimulus coordinate or trial variable decoded.
    reference : dict
        Label -> reference figures from the literature, shown in the recordings table.
    discover : callable, optional
        ``discover(folder) -> {label: options}``: the recordings found in a source folder (other
        sessions of a study), used instead of ``recordings`` when given.
    sources : callable, optional
        ``sources(folder) -> {label: {"options": reader options, "split": "all" | "train"}}``: the
        recordings that may train transferred models (the population embedding, ``{sources}`` in a
        model's config) of every recording scored, except the recording itself; ``split`` says which of
        a source's stimuli its models may see. A scored recording's test stimuli that have pixel copies
        among its sources' stimuli are left out of every model's scores (and counted in the table).
    best, baseline : str, optional
        Two of ``models``: the recordings table compares ``best`` with ``baseline`` unit by unit
        (ratio of median r, paired interval, p-values, fraction of units better).
    compare_to : tuple of str
        Models every other model is compared with in the benchmark's ``levers`` table (paired
        difference in median r and the share of units better, per reference), e.g. the best model
        without transfer and a published model.
    image_size : int, optional
        Reconstruction: the side (px) every decoder works and is scored at (default: each model's own
        ``image_size``), so small simulated stimuli are not upsampled.
    default : bool
        Whether ``cortexkit bench run`` without names runs it; a benchmark that cannot rank models
        is left out (``not_default`` says why) and runs only when named.
    not_default : str
        Why it is not run by default.
    """

    name: str
    description: str
    folder: str
    format: str
    recordings: dict[str, dict]
    models: tuple[str, ...] = ()
    task: str = "encoding"
    stimulus: str = "image"
    metric: str = "pearson"
    simulate: str | None = None
    parameter: str | None = None
    citation: str = ""
    reference: dict[str, str] = field(default_factory=dict)
    discover: Callable[[Path], dict[str, dict]] | None = None
    sources: Callable[[Path], dict[str, dict]] | None = None
    best: str | None = None
    baseline: str | None = None
    compare_to: tuple[str, ...] = ()
    image_size: int | None = None
    default: bool = True
    not_default: str = ""

    def __post_init__(self):
        if self.task not in TASKS or self.stimulus not in STIMULI or self.metric not in METRICS:
            raise ConfigError(f"benchmark {self.name!r}: task must be one of {TASKS}, stimulus one of {STIMULI}, "
                              f"metric one of {listed(METRICS)}")
        if self.task == "decoding" and not self.parameter:
            raise ConfigError(f"benchmark {self.name!r}: a decoding benchmark names its parameter")
        if self.simulate is None and not (self.folder and self.format):
            raise ConfigError(f"benchmark {self.name!r}: needs a source folder and format, or a simulated population")
        for role in ("best", "baseline"):
            if getattr(self, role) is not None and getattr(self, role) not in self.models:
                raise ConfigError(f"benchmark {self.name!r}: {role} {getattr(self, role)!r} is not one of its models")
        unknown = [m for m in self.compare_to if m not in self.models]
        if unknown:
            raise ConfigError(f"benchmark {self.name!r}: compare_to names {listed(unknown)}, not among its models")

    def definition(self) -> dict:
        """What the benchmark's numbers depend on (part of every cell's fingerprint)."""
        return {"name": self.name, "folder": self.folder, "format": self.format, "task": self.task,
                "stimulus": self.stimulus, "metric": self.metric, "simulate": self.simulate,
                "parameter": self.parameter, "recordings": self.recordings,
                **({"image_size": self.image_size} if self.image_size else {})}

    @property
    def source(self) -> str:
        """Where the data comes from, in words."""
        return f"DATA_ROOT/{self.folder} ({self.format})" if self.folder else f"simulated {self.simulate.upper()}"


# Benchmarks by name; each plugin file registers a function returning its Benchmark.
BENCHMARKS = Registry("benchmark", wrap=lambda name, factory, meta: factory())


def get_benchmark(name: str) -> Benchmark:
    """The registered benchmark ``name``."""
    return BENCHMARKS.lookup(name)


def metric_label(metric: str) -> str:
    """How a benchmark's headline metric is named in tables."""
    return METRICS.get(metric, metric)
