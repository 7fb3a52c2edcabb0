"""Reconstruction pooled over subjects who saw the same test stimuli (NSD's shared images).

Subjects have different voxels (and, in NSD, different training images), so no decoder can take
all their responses at once. Each subject's decoders are fitted and run on its own data by
:func:`~cortexkit.pipelines.run_reconstruction` (``OUT/SUBJECT/``); on the test stimuli every subject
saw, the subjects' evidence is then pooled per decoder:

- **retrieval**: the candidate with the highest correlation between predicted and candidate latents
  *averaged over subjects* (a consensus identification, not an average of images);
- **mindeye**: one model for all subjects (MindEye2: each subject's linear adapter into one shared
  backbone, prior and generator), fitted on every subject's training data and decoding each subject
  through its adapter; its subjects' reconstructions are then pooled as below;
- **every other decoder**: the mean of the subjects' reconstructions of each shared stimulus (for the
  linear ``pca`` decoder this equals decoding the average of the subjects' predicted latents mapped
  to pixels; for generative decoders it trades detail for agreement).

``OUT/pooled/metrics.csv`` scores each subject and the pooled reconstructions on the same shared
stimuli, with each decoder's shuffled null; ``OUT/pooled/comparisons.csv`` tests the pool against each
subject per stimulus (2-way identification in the deepest identification space: mean difference,
95% bootstrap interval over stimuli, Wilcoxon signed-rank p); ``OUT/pooled/reconstructions/NAME.npz`` holds the pooled
and the subjects' images of the shared stimuli, ``OUT/pooled/ground_truth.npz`` the stimuli;
:func:`cortexkit.report.write_pooled_reconstruction_report` draws them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit._atomic import check_output, claim_output
from cortexkit import data
from cortexkit.errors import DataError
from cortexkit.evaluation import load_arrays, paired_per_stimulus, save_arrays, write_csv_and_markdown
from cortexkit.features.base import is_video
from cortexkit.metrics import reconstruction as rm
from cortexkit.pipelines.reconstruction import (ReconstructionConfig, lpips_models, identification_features, prepare_stimuli,
                                                run_reconstruction, score)


def _subject_name(store: Path, taken: set) -> str:
    name = store.name.removesuffix(".zarr") or store.parent.name
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def run_pooled_reconstruction(stores: list[str | os.PathLike], out: str | os.PathLike,
                              config: ReconstructionConfig | None = None, *, log=print) -> pd.DataFrame:
    """Reconstruct per subject, then pool the subjects on their shared test stimuli (see the module).

    Parameters
    ----------
    stores : list of paths
        Two or more recordings (one per subject); test stimuli are matched by label and must have
        the same pixels in every store.
    out : path
        The run directory: one sub-run per subject and ``pooled/``.
    config : ReconstructionConfig, optional
        The decoders and settings, the same for every subject.

    Returns
    -------
    pandas.DataFrame
        One row per (``subject``, ``method``) on the shared stimuli, ``subject`` "pooled" for the pool,
        with the metrics of :func:`~cortexkit.pipelines.reconstruction.score`.
    """
    config = config or ReconstructionConfig()
    out = check_output(out)
    if len(stores) < 2:
        raise DataError(f"pooling needs two or more subjects' stores, got {len(stores)}")
    subjects: dict[str, Path] = {}
    for store in map(Path, stores):
        subjects[_subject_name(store, set(subjects))] = store
    tests = {name: data.select(data.load(store), "test") for name, store in subjects.items()}
    claim_output(out)
    labels = [list(map(str, t["stimulus"].values)) for t in tests.values()]
    others = [set(lab) for lab in labels[1:]]
    shared = [s for s in labels[0] if all(s in other for other in others)]
    if not shared:
        raise DataError("the subjects share no test stimulus (matched by label)", source=", ".join(map(str, stores)),
                        variable="stimulus")
    index = {name: pd.Index(lab).get_indexer(shared) for name, lab in zip(tests, labels)}
    first = next(iter(tests))
    gt = prepare_stimuli(tests[first]["stimuli"].values[index[first]], config.image_size)
    for name, test in tests.items():
        theirs = prepare_stimuli(test["stimuli"].values[index[name]], config.image_size)
        diff = float(np.abs(theirs - gt).mean())
        if diff > 1e-3:
            raise DataError(f"the shared test stimuli differ from {first}'s (mean absolute difference {diff:.3g})",
                            source=str(subjects[name]), variable="stimuli")
    fitted = _shared_models(subjects, out, config, log)
    for name, store in subjects.items():  # the shared stimuli are checked first: this is the long part
        run_reconstruction(store, out / name, config, fitted={label: view[name] for label, view in fitted.items()},
                           log=lambda m, n=name: log(f"{n}: {m}"))
    log(f"pooling {len(subjects)} subjects on {len(shared)} shared test stimuli")
    video = is_video(gt)
    gt_feats = identification_features(gt, video)
    lpips = lpips_models(video)
    common = dict(video=video, n_permutations=config.n_permutations, seed=config.seed)
    rng = np.random.default_rng(config.seed)
    rows, comparisons = [], []
    space = list(gt_feats)[-1]  # the deepest identification space: AlexNet conv5 when its weights are installed
    pooled_dir = out / "pooled"
    for spec in config.decoders:
        name = spec.model_name
        saved = {s: load_arrays(out / s / "reconstructions" / f"{name}.npz") for s in subjects}
        per_subject = {s: a["reconstructions"][index[s]] for s, a in saved.items()}
        if spec.name == "retrieval":
            evidence = np.mean([a["similarity"][np.ix_(index[s], index[s])] for s, a in saved.items()], axis=0)
            pooled = gt[np.argmax(evidence, axis=1)]
        else:
            pooled = np.mean(list(per_subject.values()), axis=0).astype(np.float32)
        save_arrays({"reconstructions": pooled, "stimulus": np.array(shared), "subjects": np.array(list(per_subject)),
                     **{f"subject_{i}": r for i, r in enumerate(per_subject.values())}},
                    pooled_dir / "reconstructions" / f"{name}.npz")
        per_stimulus = {}
        for subject, rec in [*per_subject.items(), ("pooled", pooled)]:
            feats = identification_features(rec, video)  # the pool's are reused, permuted, for its null
            rows.append({"subject": subject, "method": name, "kind": "decoder",
                         **score(gt, rec, gt_feats, lpips, rec_feats=feats, **common)})
            per_stimulus[subject] = rm.identification(gt_feats[space], feats[space])
        for subject in per_subject:
            test = paired_per_stimulus(per_stimulus["pooled"], per_stimulus[subject], seed=config.seed)
            c = {"method": name, "versus": subject, "pooled": test.pop("a"), "subject": test.pop("b"), **test}
            comparisons.append(c)
            log(f"{name}: pooled vs {subject}, 2-way ({space}) {c['pooled']:.3f} vs {c['subject']:.3f}, "
                f"difference {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}], Wilcoxon p={c['wilcoxon_p']:.3g}")
        order = rng.permutation(len(pooled))
        rows.append({"subject": "pooled", "method": f"{name} (shuffled)", "kind": "null",
                     **score(gt, pooled[order], gt_feats, lpips, rec_feats={k: v[order] for k, v in feats.items()},
                             **common)})
    save_arrays({"stimuli": gt, "stimulus": np.array(shared)}, pooled_dir / "ground_truth.npz")
    table = pd.DataFrame(rows)
    write_csv_and_markdown(table, pooled_dir, "metrics")
    write_csv_and_markdown(pd.DataFrame(comparisons).assign(space=space), pooled_dir, "comparisons")
    return table



def _shared_models(subjects: dict[str, Path], out: Path, config: ReconstructionConfig, log) -> dict:
    """``mindeye`` decoders fitted once on every subject (MindEye2: one backbone, an adapter per
    subject), as ``{label: {subject: view}}``; the fit resumes from ``OUT/checkpoints/LABEL``."""
    import json

    from cortexkit.decoding.mindeye import MindEyeDecoder, SubjectView
    from cortexkit.evaluation import data_fingerprint
    from cortexkit.pipelines.reconstruction import decoding_pairs

    specs = [spec for spec in config.decoders if spec.name == "mindeye"]
    if not specs:
        return {}
    pairs = {name: decoding_pairs(store, config.image_size) for name, store in subjects.items()}
    fingerprint = json.dumps({name: data_fingerprint(p[0]) for name, p in pairs.items()}, sort_keys=True)
    models = {}
    for spec in specs:
        params = {"seed": config.seed, "log": log, "checkpoint_dir": str(out / "checkpoints" / spec.model_name), **spec.params}
        log(f"{spec.model_name}: one model shared by {len(pairs)} subjects")
        model = MindEyeDecoder(**params).fit_subjects({name: (p[3], p[4]) for name, p in pairs.items()})
        models[spec.model_name] = {name: SubjectView(model, name, fingerprint) for name in pairs}
    return models


def reconstruct(stores: list[str | os.PathLike], out: str | os.PathLike, config: ReconstructionConfig | None = None,
                *, log=print) -> pd.DataFrame:
    """``cortexkit decode reconstruct``: one store is one reconstruction run
    (:func:`~cortexkit.pipelines.run_reconstruction`); several (one per subject) are each decoded
    and pooled on their shared test stimuli (:func:`run_pooled_reconstruction`, whose table has a
    ``subject`` column)."""
    if len(stores) == 1:
        return run_reconstruction(stores[0], out, config, log=log)
    return run_pooled_reconstruction(stores, out, config, log=log)
