"""Benchmarks by name: a source dataset, its recordings, the feature spaces and the score.

Each benchmark converts its recordings from the source format (once; later runs reuse the stores),
fits :func:`~cortexkit.benchmarks.fit_run` per recording, evaluates, and collects one row per
recording: median held-out Pearson r per feature space, with the split-half ceiling and the
ceiling-normalised score (r²/ceiling) where the recording has single-trial repeats.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cortexkit import data
from cortexkit._atomic import write_text
from cortexkit.benchmarks.config import EncodingConfig, FeatureSpec, RidgeSpec
from cortexkit.benchmarks.runner import evaluate_run, fit_run, model_names
from cortexkit.errors import ConfigError, CortexkitError

V4_SESSIONS = ("190925", "190927", "190928", "190929", "210224", "210305", "210322", "210325", "210621")


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    folder: str  # under the data root
    format: str
    recordings: dict[str, dict]  # label -> reader options
    features: tuple[FeatureSpec, ...]
    citation: str = ""
    reference: dict[str, str] = field(default_factory=dict)  # label -> reference numbers, for the table


_PCA = FeatureSpec(name="pixel_pca", params={"n_components": 200})
_GABOR_V4 = FeatureSpec(name="gabor", params={"image_size": 56, "outputs": ["energy"]})
# The expansion model at a CPU-friendly size: 140 px (its minimum) and a tenth of the source's widths
# in layers 2-4 (100, 300, 500), 3000 in layer 5 -- about 50 ms per image on 2 cores.
_EXPANSION_V4 = FeatureSpec(name="expansion", params={"widths": [100, 300, 500, 3000], "image_size": 140})
_ALEXNET = FeatureSpec(name="alexnet", params={"layers": "all"})
_ALEXNET_UNTRAINED = FeatureSpec(name="alexnet", params={"layers": "all", "weights": "random"}, label="alexnet_untrained")
# VGG16 at the images' native 112 px (224 px costs 5x the time on a CPU).
_VGG16 = FeatureSpec(name="vgg16", params={"layers": "all", "image_size": 112})

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark(
            name="cowley2023-v4",
            description="macaque V4, 9 sessions of 400-1200 images (Cowley et al. 2023); seeded 80/20 split",
            folder="cowley2023_v4",
            format="cowley2023",
            recordings={s: {"session": s, "seed": 0, "test_fraction": 0.2} for s in V4_SESSIONS},
            features=(_PCA, _GABOR_V4, _EXPANSION_V4, _ALEXNET_UNTRAINED, _ALEXNET, _VGG16),
            citation="Cowley, Stan, Pillow & Smith (2023) bioRxiv",
            reference={"210325": "PCA 0.16 / best AlexNet conv 0.54", "210322": "0.14 / 0.47", "210621": "0.08 / 0.56"},
        ),
        Benchmark(
            name="allen-ns118",
            description="mouse V1 two-photon, 118 natural scenes at 31 px (Allen Brain Observatory); source split 100/18",
            folder="allen_boc_ns118_31px",
            format="allen_boc_ns118",
            recordings={"511510667": {}},
            features=(FeatureSpec(name="pixel_pca", params={"n_components": 50}), FeatureSpec(name="gabor")),
            citation="de Vries et al. (2020) Nat Neurosci; Allen Brain Observatory",
        ),
    ]
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}; available: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


def _store_for(bench: Benchmark, label: str, source: Path, run_dir: Path, log) -> Path:
    store = run_dir / "data.zarr"
    options = bench.recordings[label]
    wanted = json.dumps({"format": bench.format, "options": options}, sort_keys=True, default=str)
    if store.exists():
        try:
            if data.open(store).attrs.get("conversion") == wanted:
                return store
        except CortexkitError:
            pass
    log(f"{label}: converting {source} ({bench.format})")
    return data.convert(source, store, bench.format, options, log=log)


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table."""
    def cell(v):
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def run_benchmark(
    name: str,
    data_root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    features: list[FeatureSpec] | None = None,
    recordings: list[str] | None = None,
    ridge: RidgeSpec | None = None,
    log=print,
) -> pd.DataFrame:
    """Run a benchmark; write ``OUT/table.csv`` and ``OUT/table.md``; return the table.

    Every recording gets its own run directory ``OUT/<recording>/`` (store, models, results), so
    an interrupted benchmark resumes where it stopped.
    """
    bench = get_benchmark(name)
    source = Path(data_root) / bench.folder
    if not source.exists():
        raise ConfigError(f"{source}: benchmark {name!r} needs its source data here (--data-root)")
    labels = recordings or list(bench.recordings)
    unknown = sorted(set(labels) - set(bench.recordings))
    if unknown:
        raise ConfigError(f"benchmark {name!r} has no recording(s) {unknown}; it has {list(bench.recordings)}")
    config = EncodingConfig(features=list(features or bench.features), ridge=ridge or RidgeSpec(), seed=0)
    out = Path(out)
    rows, layer_rows = [], []
    for label in labels:
        run_dir = out / label
        store = _store_for(bench, label, source, run_dir, log)
        fit_run(store, run_dir, config, log=lambda m, label=label: log(f"{label}: {m}"))
        results = evaluate_run(run_dir, log=lambda m, label=label: log(f"{label}: {m}"))
        ds = data.open(store)
        row = {"recording": label, "units": ds.sizes["unit"], "test images": int((ds["split"].values == "test").sum())}
        headline = {}
        for spec in config.features:
            names = model_names(spec)
            medians = {name: float(results.loc[results["model"] == name, "pearson"].median()) for _, name in names}
            if len(names) == 1:
                row[f"{spec.model_name} r"] = medians[names[0][1]]
                headline[spec.model_name] = names[0][1]
                continue
            for depth, (layer, name) in enumerate(names, start=1):
                layer_rows.append({"recording": label, "feature_space": spec.model_name, "layer": layer,
                                   "depth": depth, "median r": medians[name]})
            best_layer, best_name = max(names, key=lambda ln: medians[ln[1]])
            row[f"{spec.model_name} best r"] = medians[best_name]
            row[f"{spec.model_name} best layer"] = best_layer
            headline[spec.model_name] = best_name
        ceiling = results["ceiling"]
        if ceiling.notna().any():
            row["ceiling"] = float(ceiling.median())
            for space, name in headline.items():
                row[f"{space} r²/ceiling"] = float(results.loc[results["model"] == name, "normalized"].median())
        if label in bench.reference:
            row["reference"] = bench.reference[label]
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table[[c for c in table.columns if c != "reference"] + (["reference"] if "reference" in table else [])]
    write_text(out / "table.csv", table.to_csv(index=False))
    write_text(out / "table.md", to_markdown(table))
    if layer_rows:
        layers = pd.DataFrame(layer_rows)
        write_text(out / "layers.csv", layers.to_csv(index=False))
        pivot = layers.pivot_table(index=["feature_space", "depth", "layer"], columns="recording", values="median r",
                                   sort=False).reset_index().drop(columns="depth")
        write_text(out / "layers.md", to_markdown(pivot))
    return table
