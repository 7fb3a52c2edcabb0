"""Reports of in-silico experiments: the MEI grid beside each unit's most exciting images, diverse
exciting inputs and the agreement of two models' MEIs (``synthesize``); orientation or direction
tuning curves and receptive-field maps (``tuning``). Each is ``OUT/report.html`` with its figures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from cortexkit.evaluation import load_arrays, read_table
from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, facts_html, figure_html, save_figure, table_html, write_page


def write_synthesis_report(out: str | os.PathLike) -> Path:
    """``OUT/report.html`` with ``figures/meis.png`` (and ``diverse.png``) from what
    :func:`cortexkit.pipelines.synthesize` wrote in ``OUT``; returns the page."""
    out = Path(out)
    saved = load_arrays(out / "meis.npz")
    table = read_table(out / "meis.csv")
    video = bool(saved["video"]) if "video" in saved else False
    least = json.loads(str(saved["settings"])).get("least", False)
    kind = "least" if least else "most"
    fig = figures.mei_grid(saved["images"], list(saved["units"]), saved["top_pixels"] / 255.0, table["ratio"].to_numpy(),
                           video=video)
    mei, best = table["mei_response"], table["best_image_response"]
    beyond = np.mean(mei < best if least else mei > best)
    body = [facts_html([("units", len(table)), ("settings", str(saved["settings"])),
                        (f"{kind} exciting input beyond the {kind} exciting recorded image", f"{beyond:.0%} of units")]),
            figure_html(save_figure(fig, out / FIGURES_DIR / "meis.png"),
                        f"Each unit's {kind} exciting input (left; x: its predicted response over that to the unit's "
                        f"{kind} exciting recorded image), then its {kind} exciting recorded images.")]
    if (out / "diverse.npz").exists():
        div = load_arrays(out / "diverse.npz")
        n = div["similarity"].shape[1]
        similarity = div["similarity"][:, ~np.eye(n, dtype=bool)].mean(axis=1)
        fig = figures.diverse_grid(saved["images"], div["images"], list(div["units"]), similarity,
                                   div["responses"] / div["mei_responses"][:, None], video=video)
        body.append(figure_html(save_figure(fig, out / FIGURES_DIR / "diverse.png"),
                                "Diverse exciting inputs: each keeps the fraction of the MEI response above it; "
                                "'sim' is their mean pairwise similarity (low: the unit is invariant to what differs)."))
    if (out / "agreement.csv").exists():
        agreement = read_table(out / "agreement.csv")
        body.append("<h2>Agreement with a second model</h2>" + facts_html(
            [(f"median {c}", f"{agreement[c].median():.2f}") for c in ("cross_drive_ab", "cross_drive_ba", "pixel_r")]))
        if (out / "compare.npz").exists():
            other = load_arrays(out / "compare.npz")
            labels = (str(other["this"]), str(other["model"]))
            fig = figures.mei_pairs(saved["images"], other["images"], list(saved["units"]), labels,
                                    agreement["cross_drive_ab"].to_numpy(), agreement["cross_drive_ba"].to_numpy(),
                                    video=video)
            body.append(figure_html(save_figure(fig, out / FIGURES_DIR / "compare.png"),
                                    f"Each unit's most exciting input from {labels[0]} (top) and from {labels[1]} "
                                    "(bottom); 'other' is the other model's response to that image as a fraction of "
                                    "its response to its own most exciting input."))
    body.append("<h2>Per unit</h2>" + table_html(table))
    return write_page(out / "report.html", f"{kind.capitalize()} exciting inputs", body)


def write_tuning_report(out: str | os.PathLike) -> Path:
    """``OUT/report.html`` with ``figures/orientation_tuning.png`` (image models) or
    ``direction_tuning.png`` (video models) and ``receptive_fields.png`` from what
    :func:`cortexkit.pipelines.tuning` wrote; returns the page."""
    out = Path(out)
    responses, preferred = read_table(out / "tuning.csv"), read_table(out / "preferred.csv")
    parameter = "direction" if "direction" in preferred else "orientation"
    curves = save_figure(figures.tuning_curves(responses, preferred, parameter),
                         out / FIGURES_DIR / f"{parameter}_tuning.png")
    maps = load_arrays(out / "receptive_fields.npz")
    rfs = save_figure(figures.receptive_field_maps(list(maps["units"]), maps["sparse_noise"], maps.get("gradient")),
                      out / FIGURES_DIR / "receptive_fields.png")
    stimulus = "drifting gratings" if parameter == "direction" else "gratings"
    body = [figure_html(curves, f"{parameter.capitalize()} tuning from {stimulus}, each curve scaled to its peak; "
                                f"red: the preferred {parameter}."),
            figure_html(rfs, "Receptive fields: sparse-noise ON minus OFF responses (red: brighter excites)"
                             + (" and the response gradient at mean grey." if "gradient" in maps else ".")),
            "<h2>Per unit</h2>" + table_html(preferred)]
    return write_page(out / "report.html", f"Tuning and receptive fields ({parameter})", body)


def write_design_report(out: str | os.PathLike, n_shown: int = 40) -> Path:
    """``OUT/report.html`` of an experiment design (:func:`cortexkit.pipelines.design`): the chosen
    stimuli in presentation order (their files in ``png/``) and the table of their scores."""
    out = Path(out)
    table = read_table(out / "stimuli.csv")
    settings = json.loads((out / "design.json").read_text())
    shown = table.head(n_shown)
    tiles = "".join(f'<figure style="display:inline-block;margin:0.3em"><img src="png/{f}" width="96">'
                    f"<figcaption>{int(r)}</figcaption></figure>" for r, f in zip(shown["rank"], shown["file"]))
    facts = [("models", ", ".join(settings["models"])), ("pool", settings["pool"]), ("objective", settings["objective"]),
             ("stimuli chosen", len(table)), ("pixel correlation kept below", settings["max_similarity"])]
    keep = [c for c in table.columns if not str(c).startswith(("response_", "pred_"))][:8]
    body = [facts_html(facts), f"<h2>The first {len(shown)} stimuli, in presentation order</h2>", tiles,
            "<h2>Scores</h2>", table_html(table[keep].head(n_shown)),
            '<p>Every stimulus and its predicted responses: <a href="stimuli.csv">stimuli.csv</a>.</p>']
    return write_page(out / REPORT_FILE, "cortexkit experiment design", body)
