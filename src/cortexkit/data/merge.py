"""Merging recordings of different regions that saw the same stimuli into one recording.

Two regions are rarely recorded at once: STSBench's dorsal units and TVSD's ventral units, or two
sessions of one array, come as separate recordings. Comparing what the regions extract from the
same stimuli needs them in one dataset, with an ``area`` per unit. :func:`merge_regions` builds it:

- **stimuli** are matched by label (``match="stimulus"``) or by content (``match="content"``: each
  stimulus's best-correlated stimulus in the first recording on a small thumbnail, mutual best
  matches with correlation >= ``min_content_correlation``; for stores whose labels differ but whose
  pixels are the same images, possibly decoded or resized differently). Only stimuli present in every
  recording are kept; their pixels come from the first recording, and matched stimuli whose pixels
  differ by more than ``pixel_tolerance`` (mean absolute difference) are an error;
- **trials** become *pseudo-trials*, as for any pseudo-population of neurons not recorded together:
  the k-th trial of a stimulus in one recording is paired with its k-th trial in the others, so a
  stimulus keeps as many trials as its fewest-trial recording has. Trial-to-trial noise correlations
  between regions are therefore not those of a simultaneous recording;
- **units** keep their coordinates (absent ones filled with NaN or ""), take the recording's name as
  ``area`` (the original area, if any, is kept as ``source_area``) and are labelled ``AREA/UNIT``;
- **splits**: a stimulus held out (``test``, else ``val``) in any recording is held out in the merge,
  so no model trains on a stimulus another recording tests on;
- **stimulus coordinates** (e.g. stimulus parameters) come from the first recording that has them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from cortexkit.data.model import make_dataset
from cortexkit.errors import DataError, listed

MATCHES = ("stimulus", "content")


def _thumbnails(stimuli: np.ndarray, dims: tuple, size: int = 8, frames: int = 4) -> np.ndarray:
    """Each stimulus as a centred, unit-length vector of block means (channels averaged; for videos, ``frames``
    evenly spaced frames side by side, so that the same object moving differently stays apart)."""
    s = np.asarray(stimuli, np.float32)
    if "channel" in dims:
        s = s.mean(-1)
    if "frame" not in dims:
        s = s[:, None]
    pick = np.unique(np.linspace(0, s.shape[1] - 1, min(frames, s.shape[1])).round().astype(int))
    s = s[:, pick]
    n, f, h, w = s.shape
    ys = np.linspace(0, h, size + 1).astype(int)
    xs = np.linspace(0, w, size + 1).astype(int)
    t = np.stack([s[:, :, ys[i]:max(ys[i + 1], ys[i] + 1), xs[j]:max(xs[j + 1], xs[j] + 1)].mean((2, 3))
                  for i in range(size) for j in range(size)], axis=2).reshape(n, -1)
    t -= t.mean(1, keepdims=True)
    return t / (np.linalg.norm(t, axis=1, keepdims=True) + 1e-8)


def _content_match(first: xr.Dataset, other: xr.Dataset, name: str, min_corr: float) -> dict:
    """Labels of ``other``'s stimuli mapped to the labels of ``first``'s stimuli with the same content."""
    dims = first["stimuli"].dims
    a, b = _thumbnails(first["stimuli"].values, dims), _thumbnails(other["stimuli"].values, dims)
    corr = b @ a.T
    best_a = corr.argmax(1)
    best_b = corr.argmax(0)
    mutual = best_b[best_a] == np.arange(len(b))
    good = mutual & (corr[np.arange(len(b)), best_a] >= min_corr)
    if not good.any():
        raise DataError(f"no stimulus matches one of the first recording's by content (best thumbnail correlation "
                        f"{corr.max():.2f} < {min_corr})", source=name, variable="stimuli")
    la, lb = first["stimulus"].values, other["stimulus"].values
    return {lb[i]: la[best_a[i]] for i in np.flatnonzero(good)}


def _trials_by_stimulus(ds: xr.Dataset) -> dict:
    out: dict = {}
    for t, s in enumerate(ds["stimulus_id"].values.tolist()):
        out.setdefault(s, []).append(t)
    return out


def _fill(values: np.ndarray | None, n: int, like: np.ndarray) -> np.ndarray:
    if values is not None:
        return np.asarray(values)
    if like.dtype.kind in "biuf":
        return np.full(n, np.nan)
    return np.full(n, "", dtype=object)


def merge_regions(recordings: Mapping[str, xr.Dataset], *, match: str = "stimulus", pixel_tolerance: float = 0.05,
                  min_content_correlation: float = 0.95) -> xr.Dataset:
    """One recording of several regions from recordings that showed the same stimuli (see the module).

    Parameters
    ----------
    recordings : mapping of area name to dataset
        Two or more recordings in the data model, in the order their units are stacked; the name
        becomes each unit's ``area``. Their ``source`` attribute (or the name) is used in errors.
    match : {"stimulus", "content"}
        Match stimuli by label, or by pixel content.
    pixel_tolerance : float
        Largest mean absolute pixel difference allowed between matched stimuli (1 disables the check).
    min_content_correlation : float
        With ``match="content"``, the smallest thumbnail correlation of a match.

    Returns
    -------
    xarray.Dataset
        Stimuli present in every recording, pseudo-trials, all units with ``area``.

    Raises
    ------
    DataError
        Naming the recording and the field: fewer than two recordings, different modalities, stimulus
        or response shapes, no shared stimuli, matched stimuli with different pixels.
    """
    if match not in MATCHES:
        raise DataError(f"match must be one of {listed(MATCHES)}, got {match!r}", variable="match")
    if len(recordings) < 2:
        raise DataError(f"needs two or more recordings to merge, got {len(recordings)}")
    names = list(recordings)
    sets = [recordings[n] for n in names]
    source = {n: str(ds.attrs.get("source", n)) for n, ds in zip(names, sets)}
    first_name, first = names[0], sets[0]
    for n, ds in zip(names[1:], sets[1:]):
        for attr in ("modality", "sampling_rate"):
            if ds.attrs.get(attr) != first.attrs.get(attr):
                raise DataError(f"{attr} {ds.attrs.get(attr)!r} differs from {first_name}'s {first.attrs.get(attr)!r}",
                                source=n, variable=attr)
        if ds["stimuli"].dims != first["stimuli"].dims or ds["stimuli"].shape[1:] != first["stimuli"].shape[1:]:
            raise DataError(f"stimuli {dict(ds['stimuli'].sizes)} differ from {first_name}'s {dict(first['stimuli'].sizes)}; "
                            "convert both with the same size, frames and colour", source=n, variable="stimuli")
        if ds["responses"].dims != first["responses"].dims or ds["responses"].shape[2:] != first["responses"].shape[2:]:
            raise DataError(f"responses {dict(ds['responses'].sizes)} differ in dims or time bins from {first_name}'s "
                            f"{dict(first['responses'].sizes)}", source=n, variable="responses")

    # Labels of each recording's stimuli in the first recording's labelling.
    relabel = []
    for n, ds in zip(names, sets):
        labels = ds["stimulus"].values
        if match == "stimulus" or ds is first:
            relabel.append({s: s for s in labels.tolist()})
        else:
            relabel.append(_content_match(first, ds, n, min_content_correlation))
    present = [set(m.values()) for m in relabel[1:]]
    shared = [s for s in first["stimulus"].values.tolist() if all(s in p for p in present)]
    if not shared:
        raise DataError(f"no stimulus is in every recording (matched by {match})", source=", ".join(names), variable="stimulus")

    # Row of each shared stimulus (first recording's label) in every recording.
    rows_of = []
    for m, ds in zip(relabel, sets):
        row = {m[s]: i for i, s in enumerate(ds["stimulus"].values.tolist()) if s in m}
        rows_of.append(np.array([row[s] for s in shared]))
    stimuli = first["stimuli"].values[rows_of[0]]
    for n, ds, rows in zip(names[1:], sets[1:], rows_of[1:]):
        theirs = ds["stimuli"].values[rows]
        diff = np.abs(theirs - stimuli).reshape(len(shared), -1).mean(1)
        if diff.max() > pixel_tolerance:
            worst = int(diff.argmax())
            raise DataError(f"stimulus {shared[worst]!r} differs from {first_name}'s (mean absolute pixel difference "
                            f"{diff[worst]:.3f} > {pixel_tolerance}); convert both the same way or raise the tolerance",
                            source=n, variable="stimuli")

    given = np.stack([ds["split"].values.astype(str)[rows] for ds, rows in zip(sets, rows_of)])
    split = np.where((given == "test").any(0), "test", np.where((given == "val").any(0), "val", "train"))

    trials = [_trials_by_stimulus(ds) for ds in sets]
    original = [{v: k for k, v in m.items()} for m in relabel]
    trial_rows: list[list[int]] = [[] for _ in sets]
    stimulus_id = []
    for s in shared:
        lists = [tr.get(orig[s], []) for tr, orig in zip(trials, original)]
        k = min(len(lst) for lst in lists)
        for i, lst in enumerate(lists):
            trial_rows[i].extend(lst[:k])
        stimulus_id.extend([s] * k)
    if not stimulus_id:
        raise DataError("no stimulus has a trial in every recording", source=", ".join(names), variable="stimulus_id")
    responses = np.concatenate([np.asarray(ds["responses"].values)[r] for ds, r in zip(sets, trial_rows)], axis=1)

    unit_names = sorted({c for ds in sets for c, v in ds.coords.items() if v.dims == ("unit",) and c != "unit"} - {"area"})
    unit_coords: dict[str, list] = {c: [] for c in unit_names}
    area, source_area, labels = [], [], []
    for n, ds in zip(names, sets):
        u = ds.sizes["unit"]
        area += [n] * u
        source_area += (ds["area"].values.astype(str).tolist() if "area" in ds.coords else [""] * u)
        labels += [f"{n}/{v}" for v in ds["unit"].values.tolist()]
        for c in unit_names:
            like = next(d[c].values for d in sets if c in d.coords)
            unit_coords[c].append(_fill(ds[c].values if c in ds.coords else None, u, like))
    coords = {c: np.concatenate(v) for c, v in unit_coords.items()}
    coords = {c: (v.astype(str) if v.dtype == object else v) for c, v in coords.items()}
    coords["area"] = np.array(area)
    if any(source_area):
        coords["source_area"] = np.array(source_area)

    stim_coords = {}
    for rows, ds in zip(rows_of, sets):  # the first recording's coordinates, then any the others add
        for c, v in ds.coords.items():
            if v.dims == ("stimulus",) and c != "stimulus" and c not in stim_coords:
                stim_coords[c] = np.asarray(v.values)[rows]
    attrs = dict(first.attrs)
    attrs.update({"source": "; ".join(f"{n}: {source[n]}" for n in names),
                  "merged_regions": ", ".join(names), "stimulus_match": match,
                  "pseudo_trials": "trials of different recordings paired by their order within each stimulus"})
    return make_dataset(stimuli, responses, stimulus_id, split, stimulus=shared, unit=labels, unit_coords=coords,
                        stimulus_coords=stim_coords, stimulus_dims=first["stimuli"].dims, attrs=attrs,
                        validate_result=False)
