"""STSBench's dorsal-stream suite on a recording of self-motion movies: decode the self-motion and
the optic flow from the responses, and encode the responses with DorsalNet.

1. **Self-motion decoding.** Ridge from single-trial responses (z-scored with the training trials'
   statistics; penalty by leave-one-out CV on the training trials) to the heading's unit vector,
   speed, yaw and pitch, fitted on the training trials and scored on every test trial: median angle
   between decoded and true heading, R² of the others. Chance is the same fit with the training
   labels shuffled across trials (``n_permutations`` times); p = (1 + nulls at least as good) /
   (1 + n_permutations).
2. **Optic-flow decoding** (stores with an ``optic_flow`` variable, stimulus x flow_y x flow_x x
   component): ridge to the flattened flow field, scored per test trial by the correlation of the
   decoded and true fields and the mean end-point error (pixels per frame), with the same
   permutation null.
3. **DorsalNet encoding.** DorsalNet (:mod:`cortexkit.features.dorsalnet`) is trained on freshly
   rendered self-motion clips (never the recording's movies), or loaded from ``dorsalnet``; the
   encoding of the units by its stages is compared with the same network untrained and with motion
   energy (and, given ``published``, with the published DorsalNet of Mineault et al. 2021,
   :mod:`cortexkit.features.dorsalnet_mineault`): for each feature space the stage is chosen by ridge
   CV on the training stimuli, and the
   test score (median r, interval, r² over the noise ceiling) and paired differences are reported.

Writes ``decoding.csv``, ``flow.csv``, ``encoding.csv``, ``units.csv``, ``self_motion.md``, a figure
(``self_motion.png``: decoded against true heading azimuth, decoded flow fields, encoding scores)
and ``config.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import metrics
from cortexkit._atomic import atomic_path, check_output, claimed_output
from cortexkit.errors import DataError, listed
from cortexkit.evaluation import to_markdown
from cortexkit.evaluation.intervals import median_r_interval
from cortexkit.evaluation.paired import N_BOOTSTRAP, paired_comparison
from cortexkit.features.cache import FeatureCache
from cortexkit.features.dorsalnet import (decoded_self_motion, heading_error, load_dorsalnet, self_motion_targets,
                                          train_dorsalnet)
from cortexkit.pipelines.analyses.common import load_recording, ridge_predict, space_features, write_record, write_tables
from cortexkit.pipelines.ridge.config import EncodingConfig, FeatureSpec

REQUIRED = ("heading_azimuth", "heading_elevation", "speed", "yaw", "pitch")
ALPHAS = np.logspace(-2, 5, 15)


def _trial_parameters(ds) -> tuple[dict, np.ndarray, np.ndarray]:
    """Each trial's self-motion parameters, split index of train and test trials."""
    missing = [k for k in REQUIRED if k not in ds.coords]
    if missing:
        raise DataError(f"has no stimulus coordinate(s) {listed(missing)}; self-motion analyses need {listed(REQUIRED)} "
                        "(simulate one: cortexkit data simulate sm.zarr --population self-motion)", variable="stimulus")
    index = pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)
    split = np.asarray(ds["split"].values)[index]
    params = {k: np.asarray(ds[k].values, dtype=float)[index] for k in REQUIRED}
    return params, np.flatnonzero(split == "train"), np.flatnonzero(split == "test")


class _Ridge:
    """Ridge on z-scored responses with the penalty chosen by efficient leave-one-out CV (one
    eigendecomposition serves every permutation of the labels)."""

    def __init__(self, x_train: np.ndarray):
        self.mean, self.sd = x_train.mean(0), x_train.std(0) + 1e-9
        z = (x_train - self.mean) / self.sd
        self.u, s, _ = np.linalg.svd(z, full_matrices=False)
        self.s2 = s**2
        self.z = z

    def fit_predict(self, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
        yc = y - y.mean(0)
        uty = self.u.T @ yc
        best, best_alpha = np.inf, ALPHAS[0]
        for alpha in ALPHAS:  # LOO residuals of ridge from the SVD (hat-matrix diagonal)
            shrink = self.s2 / (self.s2 + alpha)
            fitted = self.u @ (shrink[:, None] * uty)
            hat = (self.u**2) @ shrink
            loo = (yc - fitted) / (1 - hat)[:, None]
            err = float(np.mean(loo**2))
            if err < best:
                best, best_alpha = err, alpha
        w = np.linalg.solve(self.z.T @ self.z + best_alpha * np.eye(self.z.shape[1]), self.z.T @ yc)
        return ((x_test - self.mean) / self.sd) @ w + y.mean(0)


def _self_motion_scores(pred: np.ndarray, params: dict, max_speed: float, max_rotation: float) -> dict[str, float]:
    dec = decoded_self_motion(pred, max_speed, max_rotation)
    out = {"heading": float(np.median(heading_error(dec["heading_azimuth"], dec["heading_elevation"],
                                                       params["heading_azimuth"], params["heading_elevation"])))}
    for k in ("speed", "yaw", "pitch"):
        t = params[k]
        out[k] = float(1 - np.sum((dec[k] - t) ** 2) / np.sum((t - t.mean()) ** 2))
    return out


def _flow_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    pc, tc = pred - pred.mean(1, keepdims=True), true - true.mean(1, keepdims=True)
    r = np.sum(pc * tc, 1) / np.sqrt(np.sum(pc**2, 1) * np.sum(tc**2, 1) + 1e-12)
    epe = np.linalg.norm((pred - true).reshape(len(pred), -1, 2), axis=2).mean(1)
    return {"flow r": float(np.median(r)), "end-point error": float(np.mean(epe))}


def _p_value(observed: float, null: np.ndarray, higher_better: bool) -> float:
    better = null >= observed if higher_better else null <= observed
    return float((1 + np.sum(better)) / (1 + len(null)))


def decode_self_motion(ds, *, n_permutations: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Self-motion and optic-flow decoding of a store's dataset (see the module docstring):
    (decoding table, flow table, arrays for the figure)."""
    params, tr, te = _trial_parameters(ds)
    if len(tr) < 10 or len(te) < 2:
        raise DataError(f"needs at least 10 training and 2 test trials, got {len(tr)} and {len(te)}", variable="split")
    x = np.asarray(ds["responses"].values, dtype=np.float64)
    if x.ndim != 2:
        raise DataError("self-motion decoding needs one response per trial and unit (trial, unit)", variable="responses")
    # target scales from the training trials alone (the test labels are read once, to score)
    max_speed = float(np.max(params["speed"][tr])) or 1.0
    max_rotation = float(max(np.max(np.abs(params["yaw"][tr])), np.max(np.abs(params["pitch"][tr])))) or 1.0
    targets = self_motion_targets(params, max_speed, max_rotation).astype(np.float64)
    ridge = _Ridge(x[tr])
    rng = np.random.default_rng([seed, 43])
    test_params = {k: v[te] for k, v in params.items()}
    pred = ridge.fit_predict(targets[tr], x[te])
    observed = _self_motion_scores(pred, test_params, max_speed, max_rotation)
    perms = [rng.permutation(len(tr)) for _ in range(n_permutations)]
    nulls = [_self_motion_scores(ridge.fit_predict(targets[tr][p], x[te]), test_params, max_speed, max_rotation) for p in perms]
    rows = []
    for k, label, unit in (("heading", "heading (median angular error)", "deg"), ("speed", "speed", "R²"),
                           ("yaw", "yaw", "R²"), ("pitch", "pitch", "R²")):
        null = np.array([n[k] for n in nulls])
        higher = k != "heading"
        rows.append({"parameter": label, "unit": unit, "score": observed[k], "chance": float(np.median(null)),
                     "p": _p_value(observed[k], null, higher), "test trials": len(te)})
    decoding = pd.DataFrame(rows)
    dec = decoded_self_motion(pred, max_speed, max_rotation)
    figure = {"true_azimuth": test_params["heading_azimuth"], "decoded_azimuth": dec["heading_azimuth"]}
    flow = pd.DataFrame()
    if "optic_flow" in ds:
        f = np.asarray(ds["optic_flow"].values, dtype=np.float64)
        shape = f.shape[1:]
        index = pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)
        f = f.reshape(len(f), -1)[index]
        pred_f = ridge.fit_predict(f[tr], x[te])
        obs = _flow_scores(pred_f, f[te])
        null = [_flow_scores(ridge.fit_predict(f[tr][p], x[te]), f[te]) for p in perms]
        flow = pd.DataFrame([{"measure": k, "score": v, "chance": float(np.median([n[k] for n in null])),
                              "p": _p_value(v, np.array([n[k] for n in null]), k == "flow r"), "test trials": len(te)}
                             for k, v in obs.items()])
        distinct = np.sort(np.unique(np.asarray(ds["stimulus_id"].values)[te], return_index=True)[1])[:3]  # 3 movies
        figure.update({"flow_true": f[te][distinct].reshape(-1, *shape), "flow_decoded": pred_f[distinct].reshape(-1, *shape)})
    return decoding, flow, figure


def run_self_motion(store: str | os.PathLike, out: str | os.PathLike, *, dorsalnet: str | os.PathLike | None = None,
                    published: str | os.PathLike | None = None, n_clips: int = 3000, epochs: int = 12, channels: int = 16, n_permutations: int = 200,
                    config: EncodingConfig | None = None, n_bootstrap: int = N_BOOTSTRAP, allow_overlap: bool = False,
                    log=print) -> dict[str, pd.DataFrame]:
    """The whole suite (see the module docstring) on ``store``; returns its tables."""
    config = config or EncodingConfig()
    out = check_output(out)
    rec = load_recording(store, seed=config.seed, allow_overlap=allow_overlap, log=log)
    _trial_parameters(rec.ds)  # the coordinates are there before anything trains
    if dorsalnet is not None:
        load_dorsalnet(dorsalnet)  # a bad checkpoint fails first, naming the file
    if published is not None:
        from cortexkit.features.networks.dorsalnet_mineault import load_mineault_dorsalnet

        load_mineault_dorsalnet(published)
    with claimed_output(out):
        decoding, flow, figure = decode_self_motion(rec.ds, n_permutations=n_permutations, seed=config.seed)
        for row in decoding.itertuples():
            log(f"decoding {row.parameter}: {row.score:.3f} {row.unit} (chance {row.chance:.3f}, p {row.p:.3g})")
        net_info = {}
        if dorsalnet is None:
            size, frames = rec.train_stimuli.shape[-2], rec.train_stimuli.shape[1]
            net_info = train_dorsalnet(out / "dorsalnet", n_clips=n_clips, size=int(size), n_frames=int(frames),
                                       channels=channels, epochs=epochs, seed=config.seed, device=config.device, log=log)
            dorsalnet = out / "dorsalnet" / "dorsalnet.pt"
            log(f"dorsalnet: validation heading error {net_info['median_heading_error_deg']:.1f} deg (shuffled "
                f"{net_info['median_heading_error_shuffled_deg']:.1f}), speed R² {net_info['speed_r2']:.3f}")
        else:
            net_info = load_dorsalnet(dorsalnet)[1].get("metrics", {})
        spaces = {"dorsalnet": FeatureSpec(name="dorsalnet", params={"weights": str(Path(dorsalnet).resolve())}),
                  "dorsalnet (untrained)": FeatureSpec(name="dorsalnet", params={"weights": "random", "channels": channels}),
                  "motion energy": FeatureSpec(name="motion_energy", params={"temporal_sigma": 1.0})}
        if published is not None:  # the network of the paper, trained on natural flythroughs
            spaces["dorsalnet (published)"] = FeatureSpec(name="dorsalnet_mineault", params={
                "weights": str(Path(published).resolve()), "layers": ["s1", "res0", "res1", "res2", "res3"]})
        cache = FeatureCache()
        predictions, chosen = {}, {}
        for name, spec in spaces.items():
            best = None
            for layer, (a, b) in space_features(rec, spec, cache, config.device).items():
                pred, model = ridge_predict(config, a, rec.y_train, b)
                cv = float(np.mean(model.best_score_))  # CV on the training stimuli picks the stage
                if best is None or cv > best[0]:
                    best = (cv, layer, pred)
            chosen[name], predictions[name] = best[1], best[2]
            log(f"{name}: stage {best[1]} chosen by CV ({best[0]:.3f})")
        rows, units = [], []
        for name, pred in predictions.items():
            ci = median_r_interval([(rec.y_test, pred)], n_bootstrap=n_bootstrap, seed=config.seed)
            row = {"model": name, "layer": chosen[name], "median r": ci["median"], "ci_low": ci["ci_low"],
                   "ci_high": ci["ci_high"]}
            if rec.ceiling is not None:
                r = metrics.pearson(rec.y_test, pred)
                row["median r²/ceiling"] = float(np.nanmedian(metrics.ceiling_normalized(r, rec.ceiling)))
            if name != "dorsalnet":
                table, s = paired_comparison(rec.y_test, predictions["dorsalnet"], pred, units=rec.units,
                                             n_bootstrap=n_bootstrap, n_permutations=n_bootstrap, seed=config.seed)
                units.append(table.assign(against=name))
                row.update({"dorsalnet minus this": s["median_diff"], "diff ci_low": s["ci_low"], "diff ci_high": s["ci_high"],
                            "p (Wilcoxon)": s["wilcoxon_p"]})
            rows.append(row)
            log(f"{name}: median r {ci['median']:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}]")
        encoding = pd.DataFrame(rows)
        tables = {"decoding": decoding, "encoding": encoding, "units": pd.concat(units, ignore_index=True)}
        if not flow.empty:
            tables["flow"] = flow
        write_tables(out, tables)
        net = pd.DataFrame([net_info]) if net_info else pd.DataFrame()
        text = ["**Self-motion decoded from single trials** (chance: the training labels shuffled)", "", to_markdown(decoding), ""]
        if not flow.empty:
            text += ["**Optic flow decoded from single trials**", "", to_markdown(flow), ""]
        if not net.empty:
            text += ["**DorsalNet's own self-motion readout** (its validation clips)", "", to_markdown(net), ""]
        text += ["**Encoding the units** (stage chosen by CV on the training movies)", "", to_markdown(encoding), "",
                 f"{len(rec.units)} units; {len(rec.train_stimuli)} training and {len(rec.test_stimuli)} test movies"]
        (out / "self_motion.md").write_text("\n".join(text) + "\n")
        _figure(out / "self_motion.png", figure, encoding)
        write_record(out, "self-motion", [rec], {"dorsalnet": str(dorsalnet), "published": str(published) if published else None,
                                                 "n_clips": n_clips, "epochs": epochs,
                                                 "channels": channels, "n_permutations": n_permutations,
                                                 "encoding": config.model_dump(), "n_bootstrap": n_bootstrap}, config.seed)
    return tables


def _figure(path: Path, fig: dict, encoding: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_flow = 3 if "flow_true" in fig else 0
    f, axes = plt.subplots(1, 2 + n_flow, figsize=(4 * (2 + n_flow), 3.8))
    ax = axes[0]
    ax.scatter(fig["true_azimuth"], fig["decoded_azimuth"], s=6, alpha=0.5)
    ax.plot([0, 360], [0, 360], "k--", lw=0.8)
    ax.set(xlabel="true heading azimuth (deg)", ylabel="decoded (deg)", title="heading from single trials", xlim=(0, 360),
           ylim=(0, 360))
    for i in range(n_flow):
        ax = axes[1 + i]
        t, d = fig["flow_true"][i], fig["flow_decoded"][i]
        g = t.shape[0]
        yy, xx = np.mgrid[0:g, 0:g]
        ax.quiver(xx, yy, t[..., 0], -t[..., 1], color="k", angles="xy", label="true")
        ax.quiver(xx, yy, d[..., 0], -d[..., 1], color="tab:red", alpha=0.7, angles="xy", label="decoded")
        ax.set(xticks=[], yticks=[], title=f"optic flow, test movie {i + 1} (one trial)")
        ax.invert_yaxis()
        ax.set_aspect("equal")
        if i == 0:
            ax.legend(loc="lower right", fontsize=7)
    ax = axes[-1]
    y = np.arange(len(encoding))
    ax.barh(y, encoding["median r"], xerr=[encoding["median r"] - encoding["ci_low"], encoding["ci_high"] - encoding["median r"]],
            color="tab:blue")
    ax.set(yticks=y, yticklabels=encoding["model"], xlabel="median test r", title="encoding the units")
    ax.invert_yaxis()
    f.tight_layout()
    with atomic_path(path) as tmp:
        f.savefig(tmp, dpi=110, format="png")
    plt.close(f)
