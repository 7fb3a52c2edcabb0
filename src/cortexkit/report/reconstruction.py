"""The report of a reconstruction run: the ground-truth/reconstruction grid, brain-optimised search
rounds, GIFs for videos and the metrics table, drawn from what
:func:`cortexkit.pipelines.run_reconstruction` wrote."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np

from cortexkit import data
from cortexkit._atomic import atomic_path
from cortexkit.config import parse
from cortexkit.evaluation import load_arrays, read_run_record, read_table
from cortexkit.features.base import is_video
from cortexkit.metrics import reconstruction as rm
from cortexkit.pipelines.reconstruction import ReconstructionConfig, prepare_stimuli
from cortexkit.report import figures
from cortexkit.terminal import reconstruction_headers
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, config_html, figure_html, save_figure, table_html, write_page


def write_reconstruction_report(run_dir: str | os.PathLike) -> Path:
    """Draw the figures (and GIFs for videos) of a reconstruction run and write ``RUN/report.html``."""
    run_dir = Path(run_dir)
    record = read_run_record(run_dir, required=("data", "reconstruction"))
    config = parse(ReconstructionConfig, record["reconstruction"], str(run_dir / "config.yaml"))
    table = read_table(run_dir / "metrics.csv")
    ds = data.load(record["data"])
    gt = prepare_stimuli(data.select(ds, "test")["stimuli"].values, config.image_size)
    video = is_video(gt)
    saved = {spec.model_name: load_arrays(run_dir / "reconstructions" / f"{spec.model_name}.npz") for spec in config.decoders}
    recs = {name: arrays["reconstructions"] for name, arrays in saved.items()}
    history = next((arrays["history"] for arrays in saved.values() if "history" in arrays), None)

    fig_dir = run_dir / FIGURES_DIR
    n = config.n_grid
    show = {name: (r[:, r.shape[1] // 2] if video else r) for name, r in recs.items()}
    items = [(save_figure(figures.reconstruction_grid(gt[:, gt.shape[1] // 2] if video else gt, show, n=n),
                          fig_dir / "reconstructions.png", dpi=100),
              "Ground truth (top row) and each decoder's reconstruction of the same held-out stimuli"
              + (" (middle frame of each video)." if video else "."))]
    if history is not None:
        items.append((save_figure(figures.search_rounds(history), fig_dir / "search_rounds.png", dpi=100),
                      "Brain-optimised search: the encoding model's score (Pearson r between predicted and measured "
                      "responses) of the best candidate after each round."))
    body = ["<h2>Metrics (means over test stimuli)</h2>", table_html(table.rename(columns=reconstruction_headers(table.columns))),
            "<p>pixcorr: Pearson r of pixels; ssim: brain-diffuser convention; psnr: dB on uint8, the median over test images (an exact copy's is infinite); lpips alex: "
            "LPIPS v0.1 (lower is better); 2way X: two-way identification in feature space X (chance 0.5); "
            "top1: retrieval among all test stimuli; p 2way: permutation p-value of the two-way score; 2way clip / "
            "inception / effnet b1: two-way identification on CLIP ViT-L/14, InceptionV3 and EfficientNet-B1 "
            "features; dist swav: correlation distance on SwAV ResNet-50 features (lower is better); these four "
            "appear when their weights are on the machine (skipped_metrics.json says why one is missing). Null "
            "rows (kind null): shuffled reconstructions, the training mean image, uniform gray.</p>"]
    body += [figure_html(src, caption) for src, caption in items]
    if video:
        import imageio.v3 as iio

        for name, r in recs.items():
            frames = np.concatenate([gt[:n], r[:n]], axis=3)  # ground truth | reconstruction, side by side
            tiles = np.concatenate(list(frames), axis=1)  # videos stacked vertically
            with atomic_path(run_dir / "videos" / f"{name}.gif") as tmp:
                iio.imwrite(tmp, rm.to_uint8(tiles), extension=".gif", loop=0, duration=100)
            body.append(f'<p>{html.escape(name)}: <img src="videos/{html.escape(name)}.gif"></p>')
    body.append(config_html(record))
    return write_page(run_dir / REPORT_FILE, f"cortexkit reconstruction report: {Path(record['data']).name}", body)


def write_pooled_reconstruction_report(run_dir: str | os.PathLike, n: int = 10) -> Path:
    """``RUN/pooled/report.html`` of a pooled run (:func:`cortexkit.pipelines.run_pooled_reconstruction`):
    the metrics of each subject and of the pool on the shared stimuli, the per-stimulus tests of the
    pool against each subject, and ``reconstructions.png`` (ground truth, then for each decoder one row
    per subject and one for the pool; middle frame of videos)."""
    pooled = Path(run_dir) / "pooled"
    gt = load_arrays(pooled / "ground_truth.npz")["stimuli"]
    table = read_table(pooled / "metrics.csv")
    comparisons = read_table(pooled / "comparisons.csv")
    rows = {}
    for method in dict.fromkeys(table.loc[table["kind"] == "decoder", "method"]):
        saved = load_arrays(pooled / "reconstructions" / f"{method}.npz")
        for i, subject in enumerate(saved["subjects"]):
            rows[f"{subject} {method}"] = saved[f"subject_{i}"]
        rows[f"pooled {method}"] = saved["reconstructions"]
    video = is_video(gt)
    frame = (lambda x: x[:, x.shape[1] // 2]) if video else (lambda x: x)
    src = save_figure(figures.reconstruction_grid(frame(gt), {k: frame(v) for k, v in rows.items()}, n=n),
                      pooled / "reconstructions.png", dpi=100)
    space = comparisons["space"].iloc[0] if len(comparisons) else ""
    body = [f"<p>{len(gt)} test stimuli seen by every subject; each subject decoded on its own, then pooled "
            "(retrieval: the candidate with the best correlation averaged over subjects; other decoders: the "
            "mean of the subjects' reconstructions).</p>",
            "<h2>Metrics (means over the shared stimuli)</h2>",
            table_html(table.rename(columns=reconstruction_headers(table.columns))),
            f"<h2>Pool against each subject, per stimulus</h2><p>2-way identification in {html.escape(space)} "
            "features: means, the mean difference (pool - subject) with its 95% bootstrap interval over "
            "stimuli, and the Wilcoxon signed-rank p-value.</p>",
            table_html(comparisons),
            figure_html(src.split("/", 1)[1], "Ground truth (top row), each subject's reconstruction and the pool's"
                        + (" (middle frame of each video)." if video else "."))]
    return write_page(pooled / REPORT_FILE, f"cortexkit pooled reconstruction report: {Path(run_dir).name}", body)


def write_reconstruction_reports(run_dir: str | os.PathLike) -> list[Path]:
    """The pages of what :func:`cortexkit.pipelines.reconstruct` wrote: one run's report, or for a
    pooled run each subject's report and the pooled one (last)."""
    run_dir = Path(run_dir)
    pooled = run_dir / "pooled" / "metrics.csv"
    if not pooled.is_file():
        return [write_reconstruction_report(run_dir)]
    subjects = [s for s in dict.fromkeys(read_table(pooled)["subject"].astype(str)) if s != "pooled"]
    return [write_reconstruction_report(run_dir / s) for s in subjects] + [write_pooled_reconstruction_report(run_dir)]
