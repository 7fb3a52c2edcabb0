"""What there is to choose from, one listing per noun: source formats, feature spaces, decoders,
cores and readouts (``cortexkit list NOUN``; models and benchmarks are listed by
:func:`cortexkit.benchmarks.catalog`)."""

from __future__ import annotations

import pandas as pd

from cortexkit.data.readers import READERS
from cortexkit.decoding import DECODERS
from cortexkit.encoding.cores import CORES
from cortexkit.encoding.readouts import READOUTS
from cortexkit.features import EXTRACTORS
from cortexkit.features.library import catalogue

NOUNS = ("formats", "features", "decoders", "cores", "readouts")


def _params(obj) -> str:
    try:
        return ", ".join(f"{k}={v!r}" for k, v in obj().get_params(deep=False).items())
    except Exception:  # plugins that are not scikit-learn-style estimators (torch modules)
        return ""


def catalog(noun: str) -> list[tuple[str, pd.DataFrame]]:
    """The listing of ``noun`` (one of :data:`NOUNS`) as titled tables."""
    if noun == "formats":
        rows = [(name, READERS.summary(name), "; ".join(f"{k}: {v}" for k, v in r.options.items()), r.example)
                for name, r in sorted(READERS.items())]
        return [("source formats (`cortexkit data convert --format NAME`)",
                 pd.DataFrame(rows, columns=["format", "what", "options", "example"]))]
    if noun == "features":
        rows = [(name, EXTRACTORS.summary(name), _params(EXTRACTORS[name])) for name in sorted(EXTRACTORS)]
        library = [(r["name"], "yes" if r["installed"] else 'no (pip install "cortexkit[zoo]")', r["weights"], r["where"])
                   for r in catalogue()]
        return [("feature spaces (`--features NAME`, parameters with `-p key=value`)",
                 pd.DataFrame(rows, columns=["name", "what", "parameters"])),
                ("models by name (any timm/torchvision/open_clip model works the same way; weights: PATH for a file)",
                 pd.DataFrame(library, columns=["model", "library", "weights", "where"]))]
    if noun == "decoders":
        rows = [(name, DECODERS.summary(name), _params(DECODERS[name])) for name in sorted(DECODERS)]
        return [("decoders (`cortexkit decode reconstruct --decoder NAME`)",
                 pd.DataFrame(rows, columns=["name", "what", "parameters"]))]
    if noun in ("cores", "readouts"):
        registry = CORES if noun == "cores" else READOUTS
        rows = [(name, registry.summary(name)) for name in sorted(registry)]
        return [(f"{noun} of trained predictors (config `{noun[:-1]}: {{kind: NAME}}`)",
                 pd.DataFrame(rows, columns=["name", "what"]))]
    raise ValueError(noun)
