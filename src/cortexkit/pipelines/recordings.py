"""Data in: a source dataset converted into the data model, and recordings of different regions
that saw the same stimuli merged into one store."""

from __future__ import annotations

import os

import pandas as pd

from cortexkit import data


def convert_recording(source: str | os.PathLike, out: str | os.PathLike, format: str, options: dict | None = None,
                      *, allow_overlap: bool = False, log=print) -> str:
    """Convert ``source`` (format ``format``, reader ``options``) into the store ``out`` (streamed; a
    killed conversion resumes; held-out copies of training stimuli refused unless ``allow_overlap``);
    returns one line saying what was written."""
    data.convert(source, out, format, options or {}, allow_overlap=allow_overlap, log=log)
    ds = data.open(out)
    split = pd.Series(ds["split"].values).value_counts()
    return (f"wrote {out}: {ds.sizes['unit']} units, {ds.sizes['trial']} trials of {ds.sizes['stimulus']} stimuli "
            f"({split.get('train', 0)} train + {split.get('test', 0)} test)")


def merge_recordings(out: str | os.PathLike, recordings: dict[str, str | os.PathLike], *, match: str = "stimulus",
                     pixel_tolerance: float = 0.05) -> str:
    """Merge the stores ``recordings`` (area -> path: each store's units get that area) into ``out``
    (:func:`cortexkit.data.merge_regions`: shared stimuli, pseudo-trials paired per stimulus);
    returns one line saying what was written."""
    merged = data.merge_regions({area: data.load(path) for area, path in recordings.items()}, match=match,
                                pixel_tolerance=pixel_tolerance)
    data.save(merged, out)
    units = ", ".join(f"{a} {n}" for a, n in pd.Series(merged["area"].values).value_counts(sort=False).items())
    return (f"wrote {out}: {merged.sizes['unit']} units ({units}), {merged.sizes['stimulus']} shared stimuli, "
            f"{merged.sizes['trial']} pseudo-trials")
