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


def readable(value) -> str:
    """A parameter value as a person reads it: short numbers, ranges for long number lists, plain
    words for strings, booleans and None (never a Python repr)."""
    import numbers

    import numpy as np

    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Number):
        return f"{float(value):.3g}" if isinstance(value, (float, np.floating)) else str(int(value))
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {readable(v)}" for k, v in value.items()) + "}" if value else "none"
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) > 4 and all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in items):
            return f"{len(items)} values {readable(min(items))}..{readable(max(items))}"
        return ", ".join(readable(v) for v in items) if items else "none"
    return type(value).__name__


def _params(obj) -> str:
    try:
        return "; ".join(f"{k}: {readable(v)}" for k, v in obj().get_params(deep=False).items())
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
        library = [(r["name"], "yes" if r["installed"] else "no (make extras installs it)", r["weights"], r["where"])
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
