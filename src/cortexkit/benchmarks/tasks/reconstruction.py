"""Reconstruction cells: one decoder (``cortexkit decode reconstruct``) on every recording, scored
per test image by 2-way identification in pixel space, with PixCorr, SSIM and the shuffled null."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit.benchmarks.cells import Cell
from cortexkit.evaluation import load_arrays, mean_interval
from cortexkit.metrics import reconstruction as rm
from cortexkit.pipelines import DecoderSpec, ReconstructionConfig, prepare_stimuli, run_reconstruction


# Metrics of the reconstruction runs carried into the benchmark's tables (means over test stimuli; PSNR the median)
RECONSTRUCTION_METRICS = ("lpips_alex", "lpips_vgg", "psnr", "psnr_clip", "pixcorr", "ssim", "temporal_r")


def _per_stimulus(truth: np.ndarray, rec: np.ndarray) -> dict[str, np.ndarray]:
    """PixCorr and SSIM per test stimulus (a clip's: the mean over its frames)."""
    from cortexkit.features.base import is_video

    if not is_video(truth):
        return {"pixcorr": rm.pixcorr(truth, rec), "ssim": rm.ssim(truth, rec)}
    n, f = truth.shape[:2]
    flat_t, flat_r = truth.reshape((n * f,) + truth.shape[2:]), rec.reshape((n * f,) + rec.shape[2:])
    return {"pixcorr": rm.pixcorr(flat_t, flat_r).reshape(n, f).mean(1), "ssim": rm.ssim(flat_t, flat_r).reshape(n, f).mean(1)}


def reconstruction_cell(cell: Cell, log):
    """Decode each recording's test images; the headline is the mean 2-way identification."""
    spec = DecoderSpec.model_validate(cell.model.config["decoder"])
    size = cell.benchmark.image_size or cell.model.config.get("image_size", 64)
    config = ReconstructionConfig(decoders=[spec], image_size=size, seed=0)
    frames, per_image, per_recording, nulls = [], [], {}, []
    for label, store in cell.stores.items():
        run_dir = cell.run_dir(label)
        table = run_reconstruction(store, run_dir, config, log=lambda m, label=label: log(f"{label}: {m}"))
        test = data.select(data.open(store), "test")
        truth = prepare_stimuli(test["stimuli"].values, config.image_size)
        rec = load_arrays(run_dir / "reconstructions" / f"{spec.model_name}.npz")["reconstructions"]
        # per image, in the pixel space of the run's own 2-way_pixels (its mean is that column)
        two_way = rm.identification(truth.reshape(len(truth), -1), rec.reshape(len(rec), -1))
        frames.append(pd.DataFrame({"recording": label, "stimulus": np.asarray(test["stimulus"].values).astype(str),
                                    "score": two_way, **_per_stimulus(truth, rec)}))
        per_image.append(two_way)
        rows = table.set_index("method")
        decoded, shuffled = rows.loc[spec.model_name], rows.loc[f"{spec.model_name} (shuffled)"]
        p_column = next(c for c in rows.columns if c.startswith("p_2way"))  # the deepest feature space's
        per_recording[label] = {"score": float(np.nanmean(two_way)), "n": int(np.isfinite(two_way).sum()),
                                "null_shuffled": float(shuffled["2way_pixels"]), "p_value": float(decoded[p_column]),
                                "p_of": p_column[2:],
                                **{c: float(decoded[c]) for c in rows.columns if c.startswith("2way_")},
                                # the seed's metrics beside identification (LPIPS lower is better)
                                **{c: float(decoded[c]) for c in RECONSTRUCTION_METRICS if c in rows.columns}}
        nulls.append(float(shuffled["2way_pixels"]))
    items = pd.concat(frames, ignore_index=True)
    interval = mean_interval(per_image)
    result = {"score": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": interval["n_items"], "normalized": float("nan"), "normalization": "",
              "pixcorr": float(items["pixcorr"].mean()), "ssim": float(items["ssim"].mean()),
              "chance": 0.5, "null_shuffled": float(np.mean(nulls)), "per_recording": per_recording}
    return result, items, {}
