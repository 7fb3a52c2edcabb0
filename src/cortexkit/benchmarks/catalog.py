"""One listing per noun (``cortexkit list NOUN``): the benchmarks and the named models here, every
other noun (formats, feature spaces, decoders, cores, readouts) from :func:`cortexkit.pipelines.catalog`."""

from __future__ import annotations

import pandas as pd

from cortexkit.benchmarks.definition import BENCHMARKS, metric_label
from cortexkit.benchmarks.models import builtin_models
from cortexkit.errors import ConfigError, listed
from cortexkit.pipelines import NOUNS as PIPELINE_NOUNS
from cortexkit.pipelines import catalog as pipeline_catalog

NOUNS = (*PIPELINE_NOUNS, "models", "benchmarks")


def catalog(noun: str) -> list[tuple[str, pd.DataFrame]]:
    """The listing of ``noun`` (one of :data:`NOUNS`) as titled tables."""
    if noun not in NOUNS:
        raise ConfigError(f"nothing to list called {noun!r}; choose one of {listed(NOUNS)}")
    if noun == "benchmarks":
        rows = [(b.name, b.task, b.stimulus, metric_label(b.metric), b.source, ", ".join(b.models),
                 b.description + ("" if b.default else f" (run only when named: {b.not_default})"))
                for b in BENCHMARKS.values()]
        return [("benchmarks (`cortexkit bench run NAME`; data under --data-root)",
                 pd.DataFrame(rows, columns=["name", "task", "stimuli", "metric", "data", "models", "what"]))]
    if noun == "models":
        rows = []
        for m in builtin_models().values():
            runs = [b.name for b in BENCHMARKS.values() if m.name in b.models]
            rows.append((m.name, m.kind, "/".join(m.stimulus), ", ".join(runs) or "-", m.description))
        return [("named models (`cortexkit bench run --models NAME`, `cortexkit fit --model NAME`; a .yaml path works "
                 "the same)", pd.DataFrame(rows, columns=["name", "kind", "stimuli", "in the benchmarks", "what"]))]
    return pipeline_catalog(noun)
