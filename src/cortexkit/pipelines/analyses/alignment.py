"""Shared-subject alignment (MindEye2): how much of a new subject's data a shared model needs.

A :class:`~cortexkit.decoding.MindEyeDecoder` is fitted on the *shared* subjects (each with its own
units and training images, one shared backbone). The *new* subject is then added with growing nested
fractions of its training images, training only its linear adapter into the frozen shared model
(``aligned``), then, as MindEye2 does next, the whole model on its data at a lower learning rate
(``fine-tuned``, a copy); for comparison, a model of its own is fitted on the same images (``own``). The
``pooled`` model is fitted on every subject with all the new subject's images. Each is scored once
on the new subject's test stimuli by retrieval with the contrastive head (top-1 among the test
images, and 2-way identification: the share of other test images whose similarity is below the
true one's, with a permutation p-value).

``reach`` is each model's above-chance 2-way accuracy as a share of the pooled model's,
``(acc - 0.5) / (pooled - 0.5)``; the summary gives the smallest fraction at which each model's
mean over ``--repeats`` (model seeds and subsets drawn again) reaches ``--reach`` (0.9 by default)
of the pooled model. Single runs are noisy (early stopping on a few held-out images): use several
repeats for a statement.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit._atomic import check_output, claimed_output
from cortexkit.config import provenance
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.data.overlap import copies_of
from cortexkit.evaluation import write_csv_and_markdown, write_run_record
from cortexkit.metrics import reconstruction as rm
from cortexkit.pipelines.reconstruction import decoding_pairs

FRACTIONS = (0.05, 0.1, 0.2, 0.4, 1.0)


def run_alignment(shared: list[str | os.PathLike], new: str | os.PathLike, out: str | os.PathLike, *,
                  fractions=FRACTIONS, params: dict | None = None, image_size: int = 32, reach: float = 0.9,
                  n_permutations: int = 1000, repeats: int = 1, seed: int = 0, log=print) -> dict[str, pd.DataFrame]:
    """Fit the shared model, align the new subject with each fraction of its data, compare with its own
    model and the pooled one (see the module).

    Writes ``OUT/alignment.csv`` / ``.md`` (one row per repeat, model and fraction: images, top-1,
    2-way, p, reach), ``OUT/means.csv`` / ``.md`` (their means over ``repeats``, with the 2-way SD),
    ``OUT/summary.csv`` / ``.md`` (the fraction at which each model's mean reaches ``reach``) and
    ``OUT/config.yaml``; the models' checkpoints go to ``OUT/checkpoints/`` (a rerun resumes). Each
    repeat draws other model seeds (``seed + repeat``) and other nested subsets.
    """
    from cortexkit.decoding import MindEyeDecoder

    fractions = sorted({float(f) for f in fractions})
    if not fractions or fractions[0] <= 0 or fractions[-1] > 1:
        raise ConfigError(f"fractions must be in (0, 1], got {fractions}")
    if not 0 < reach <= 1:
        raise ConfigError(f"reach must be in (0, 1], got {reach}")
    if not shared:
        raise ConfigError("give at least one shared subject's store")
    params = dict(params or {})
    accepted = MindEyeDecoder().get_params()
    bad = sorted(set(params) - set(accepted))
    if bad:
        raise ConfigError(f"the mindeye decoder has no parameter(s) {listed(bad)}; it takes {listed(sorted(accepted))}")
    out = check_output(out)
    names = [f"shared{k + 1}" for k in range(len(shared))]
    # each subject's (responses, stimuli) of its training split; the new subject's test split scores
    subjects = {name: decoding_pairs(store, image_size)[3:5] for name, store in zip(names, shared)}
    *_, r_train, s_train, r_test, s_test = decoding_pairs(new, image_size)
    for name, store in zip(names, shared):  # a test image in a shared subject's training set would leak
        leaked = int(copies_of(s_test, subjects[name][1]).sum())
        if leaked:
            raise DataError(f"{leaked} of the new subject's test images are among this subject's training images; "
                            "hold them out of every subject's training split", source=str(store), variable="stimuli")
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    with claimed_output(out):
        rows = []
        for rep in range(repeats):  # each repeat: other model seeds and another draw of the nested subsets
            rep_seed = seed + rep
            ck = out / "checkpoints" / (f"repeat{rep}" if repeats > 1 else "")
            rows += _one_repeat(subjects, r_train, s_train, r_test, s_test, fractions, params, n_permutations, rep_seed,
                                ck, log=lambda m, r=rep: log(f"repeat {r + 1}/{repeats}: {m}" if repeats > 1 else m))
        table = pd.DataFrame(rows)
        pooled_2way = table.loc[table["model"] == "pooled"].set_index("seed")["2way"]
        table["reach"] = (table["2way"] - 0.5) / np.maximum(table["seed"].map(pooled_2way) - 0.5, 1e-9)
        means = (table.groupby(["model", "fraction"], sort=False)
                 .agg(images=("images", "first"), top1=("top1", "mean"), two_way=("2way", "mean"),
                      two_way_sd=("2way", "std"), reach=("reach", "mean")).reset_index()
                 .rename(columns={"two_way": "2way", "two_way_sd": "2way sd"}))
        summary = []
        for name in ("aligned", "fine-tuned", "own"):
            part = means[(means["model"] == name) & (means["reach"] >= reach)]
            summary.append({"model": name, "reach": reach, "fraction": float(part["fraction"].min()) if len(part) else float("nan"),
                            "images": int(part["images"].min()) if len(part) else -1,
                            "pooled 2way": float(pooled_2way.mean()), "repeats": repeats})
        summary = pd.DataFrame(summary)
        write_csv_and_markdown(means, out, "means")
        write_csv_and_markdown(table, out, "alignment")
        write_csv_and_markdown(summary, out, "summary")
        write_run_record(out, {"analysis": "alignment", "data": {"shared": [str(Path(s).resolve()) for s in shared],
                                                                 "new": str(Path(new).resolve())},
                               "settings": {"fractions": fractions, "params": params, "image_size": image_size,
                                            "reach": reach, "n_permutations": n_permutations, "repeats": repeats},
                               "provenance": provenance(seed)})
    return {"alignment": table, "means": means, "summary": summary}


def _one_repeat(subjects: dict, r_train, s_train, r_test, s_test, fractions, params: dict, n_permutations: int,
                seed: int, ck: Path, *, log) -> list[dict]:
    """The pooled, shared, aligned, fine-tuned and own models of one repeat, scored on the test stimuli."""
    from cortexkit.decoding import MindEyeDecoder

    order = np.random.default_rng(seed).permutation(len(r_train))  # nested subsets: each fraction holds the smaller

    def model(name, **kw):  # retrieval is what is scored: no prior, generator or encoding models unless asked
        return MindEyeDecoder(**{"seed": seed, "log": log, "generative": False, **params, **kw,
                                 "checkpoint_dir": str(ck / name)})

    def scores(decoder, subject):
        decoder.set_candidates(s_test)
        sim = decoder.similarity(r_test, subject)
        ident = rm.identification_from_similarity(sim)
        return {"seed": seed, "top1": float((sim.argmax(1) == np.arange(len(sim))).mean()), "2way": float(ident.mean()),
                "p_2way": rm.identification_pvalue_from_similarity(sim, n_permutations, seed) if n_permutations
                else float("nan")}

    log(f"pooled model: {len(subjects)} shared subjects and the new one with all its {len(r_train)} images")
    pooled = model("pooled").fit_subjects({**subjects, "new": (r_train, s_train)})
    rows = [{"model": "pooled", "fraction": 1.0, "images": len(r_train), **scores(pooled, "new")}]
    log(f"shared model: {', '.join(subjects)}")
    base = model("shared").fit_subjects(subjects)
    for f in fractions:
        n = max(4, int(round(f * len(r_train))))
        idx = order[:n]
        log(f"fraction {f:g}: {n} images of the new subject")
        aligned = copy.deepcopy(base)
        aligned.checkpoint_dir = str(ck / f"aligned_{f:g}")
        aligned.align("new", r_train[idx], s_train[idx])
        rows.append({"model": "aligned", "fraction": f, "images": n, **scores(aligned, "new")})
        tuned = copy.deepcopy(aligned)
        tuned.checkpoint_dir = str(ck / f"finetuned_{f:g}")
        tuned.finetune("new", r_train[idx], s_train[idx])
        rows.append({"model": "fine-tuned", "fraction": f, "images": n, **scores(tuned, "new")})
        own = model(f"own_{f:g}").fit(r_train[idx], s_train[idx])
        rows.append({"model": "own", "fraction": f, "images": n, **scores(own, None)})
    return rows
