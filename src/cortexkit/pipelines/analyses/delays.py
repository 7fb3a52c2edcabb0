"""Time-delayed (FIR) encoding of a continuous recording: the features of the frames shown ``d``
samples before each response, for every delay ``d``, in one ridge model whose weights per delay
show each unit's response time course (for fMRI, its haemodynamic response).

The store holds one trial per sample (TR) with a ``run`` coordinate on trials (the samples of a run
in playing order); ``stimulus_id`` names each sample's frame. Training runs are those whose frames
are in the train split; test runs replay the same frames in the same order (repeats), and their
average is the test response of each test sample. Cross-validation leaves whole runs out (samples
of one run are correlated in time), and delays never reach across a run's start. Nothing is chosen
on the test runs: the delays' weights, the alphas, and the best single delay are all fitted or
cross-validated on the training runs.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from cortexkit import data, metrics
from cortexkit._atomic import check_output, claimed_output
from cortexkit.encoding import RidgeCV, delay_features, per_delay
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.evaluation import noise_ceiling, to_markdown
from cortexkit.evaluation.intervals import median_r_interval
from cortexkit.evaluation.paired import N_BOOTSTRAP
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.analyses.common import Recording, write_record, write_tables
from cortexkit.pipelines.ridge.config import EncodingConfig, model_names, spec_extractor


def _runs(ds, store) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """(train trials in playing order, their runs, the test sequence of stimulus ids, the test runs'
    trials), from the trials' ``run`` coordinate."""
    if "run" not in ds.coords or ds["run"].dims != ("trial",):
        raise DataError("has no 'run' coordinate on trials; time-delayed encoding needs each sample's run "
                        "(continuous recordings: one trial per sample, in playing order)", source=str(store),
                        variable="run")
    runs = np.asarray(ds["run"].values)
    ids = np.asarray(ds["stimulus_id"].values)
    split = pd.Series(np.asarray(ds["split"].values), index=np.asarray(ds["stimulus"].values))
    trial_split = split.loc[ids].to_numpy()
    train_runs, test_runs = [], []
    for r in pd.unique(runs):
        kinds = set(trial_split[runs == r])
        if len(kinds) != 1:
            raise DataError(f"run {r} mixes {listed(sorted(kinds))} samples; a run is wholly train or wholly test",
                            source=str(store), variable="split")
        (train_runs if kinds == {"train"} else test_runs).append(r)
    if len(train_runs) < 2:
        raise DataError(f"has {len(train_runs)} training run(s); cross-validation leaves runs out and needs 2 or more",
                        source=str(store), variable="run")
    if not test_runs:
        raise DataError("has no test run", source=str(store), variable="split")
    train = np.concatenate([np.flatnonzero(runs == r) for r in train_runs])
    tests = [np.flatnonzero(runs == r) for r in test_runs]
    sequence = ids[tests[0]]
    for r, t in zip(test_runs, tests):
        if not np.array_equal(ids[t], sequence):
            raise DataError(f"test run {r} plays other frames than test run {test_runs[0]}; test runs must repeat one "
                            "sequence", source=str(store), variable="stimulus_id")
    return train, runs[train], sequence, tests


def run_delays(store: str | os.PathLike, out: str | os.PathLike, config: EncodingConfig, *, delays=tuple(range(8)),
               n_bootstrap: int = N_BOOTSTRAP, log=print) -> dict[str, pd.DataFrame]:
    """Fit a time-delayed ridge model on the training runs and score it on the averaged test runs.

    Writes ``OUT/delays.csv`` (per delay: the share of the weights' energy, mean over units, the
    single-delay models' cross-validated score, and the truth where the store has one),
    ``OUT/units.csv``, ``OUT/summary.csv`` (the delayed model against the best single delay and the
    no-delay model, median r with intervals and r²/ceiling), ``OUT/delays.md`` and
    ``OUT/config.yaml``. Returns the tables; ``delays.attrs["recovered"]`` is the delay with the
    most weight energy.
    """
    if len(config.features) != 1 or len(model_names(config.features[0])) != 1:
        raise ConfigError("time-delayed encoding takes one feature space with one layer")
    spec = config.features[0]
    get_extractor(spec.name, spec.params)
    delays = [int(d) for d in delays]
    out = check_output(out)
    ds = data.load(store, check_values=True, allow_nan_responses=False)
    train, train_runs, sequence, tests = _runs(ds, store)
    stimuli = np.asarray(ds["stimuli"].values)
    index = pd.Series(np.arange(ds.sizes["stimulus"]), index=np.asarray(ds["stimulus"].values))
    ids = np.asarray(ds["stimulus_id"].values)
    responses = np.asarray(ds["responses"].values)
    with claimed_output(out):
        train_frames = np.unique(index.loc[ids[train]].to_numpy())
        extractor = spec_extractor(spec, config.device)
        layer = model_names(spec)[0][0]
        cache = FeatureCache()
        fit_on = stimuli[train_frames]
        f_train = cache.features(extractor, stimuli[index.loc[ids[train]].to_numpy()], fit_on)[layer]
        f_test = cache.features(extractor, stimuli[index.loc[sequence].to_numpy()], fit_on)[layer]
        scale = float(np.sqrt(np.mean(f_train.var(axis=0)))) or 1.0
        f_train, f_test = f_train / scale, f_test / scale
        y_train = responses[train]
        y_test = np.mean([responses[t] for t in tests], axis=0)
        n_groups = min(5, len(np.unique(train_runs)))
        folds = list(GroupKFold(n_groups).split(f_train, groups=train_runs))
        ridge = {**config.ridge.model_dump(), "cv": folds}

        def fit(lags):
            model = RidgeCV(random_state=config.seed, device=config.device, **ridge).fit(
                delay_features(f_train, lags, train_runs), y_train)
            return model, model.predict(delay_features(f_test, lags))

        fir, fir_pred = fit(delays)
        weights = per_delay(fir.coef_, delays)  # (unit, delay, feature)
        energy = (weights**2).sum(2)
        share = energy / np.maximum(energy.sum(1, keepdims=True), 1e-30)
        single = {}
        for d in delays:  # each delay alone, scored by CV on the training runs only
            model, pred = fit([d])
            single[d] = (np.nanmedian(model.best_score_), model, pred)
            log(f"delay {d}: median CV {config.ridge.scoring} {single[d][0]:.3f}, weight share "
                f"{share[:, delays.index(d)].mean():.3f}")
        best_single = max(delays, key=lambda d: single[d][0])
        recovered = delays[int(np.argmax(share.mean(0)))]
        test_ds = data.select(ds, "test")
        ceiling = noise_ceiling(test_ds, seed=config.seed, log=log)
        ceilings = [ceiling if ceiling is not None else np.full(ds.sizes["unit"], np.nan)]
        truth = json.loads(ds.attrs["hrf"]) if "hrf" in ds.attrs else None
        table = pd.DataFrame({"delay": delays, "weight share": share.mean(0),
                              "units preferring": [(share.argmax(1) == j).mean() for j in range(len(delays))],
                              f"single-delay CV {config.ridge.scoring}": [single[d][0] for d in delays]})
        if truth is not None:
            table["true response"] = [truth[d] / sum(truth) if d < len(truth) else 0.0 for d in delays]
        table.attrs["recovered"] = recovered
        rows = []
        for name, pred in ((f"delays {delays[0]}-{delays[-1]}", fir_pred), (f"best single delay ({best_single}, by CV)",
                                                                              single[best_single][2]),
                           ("no delay (0)" if 0 in single else None, single[0][2] if 0 in single else None)):
            if name is None:
                continue
            ci = median_r_interval([(y_test, pred)], ceilings=ceilings, n_bootstrap=n_bootstrap, seed=config.seed)
            rows.append({"model": name, "median r": ci["median"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                         "median R2": float(np.nanmedian(metrics.r2(y_test, pred))), "r2/ceiling": ci["normalized"]})
        summary = pd.DataFrame(rows)
        units = pd.DataFrame({"unit": np.asarray(ds["unit"].values), "pearson": metrics.pearson(y_test, fir_pred),
                              "preferred delay": np.asarray(delays)[share.argmax(1)], "alpha": fir.alpha_})
        tables = {"delays": table, "summary": summary, "units": units}
        write_tables(out, tables)
        true_delay = ds.attrs.get("true_delay")
        (out / "delays.md").write_text(to_markdown(table) + f"\nrecovered delay (most weight): {recovered} samples"
                                       + (f"; true delay: {true_delay}" if true_delay is not None else "") + "\n\n"
                                       + to_markdown(summary))
        rec = Recording(str(store), str(store), ds, stimuli[:0], stimuli[:0], y_train, y_test, ceiling,
                        np.asarray(ds["unit"].values))
        write_record(out, "delays", [rec], {"encoding": config.model_dump(), "delays": delays,
                                            "n_bootstrap": n_bootstrap}, config.seed)
    return tables
