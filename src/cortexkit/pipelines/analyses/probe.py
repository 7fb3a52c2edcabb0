"""Image classification with frozen features: a linear probe (a ridge classifier on z-scored features,
one-vs-all, its penalty chosen by leave-one-out cross-validation on the training images, which the
closed-form ridge path gives for the price of one fit) on the features of any feature space, scored
once on held-out images, as the expansion paper does to ask what untrained features support.

Two labelled image sets install offline:

- ``digits``: scikit-learn's handwritten digits (1797 images of 8 x 8 px, 10 classes), upsampled;
- ``photos``: crops of the photographs bundled with scikit-image (15 classes: which photograph a
  crop comes from, a scene and texture task); held-out crops are redrawn when they nearly copy a
  training crop (:func:`cortexkit.simulate.stimuli.replace_copies`), so the score is not leaked.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy import stats

from cortexkit._atomic import check_output, claimed_output
from cortexkit.errors import ConfigError, listed
from cortexkit.config import provenance
from cortexkit.evaluation import to_markdown, write_run_record, write_table
from cortexkit.evaluation.paired import CONFIDENCE, N_BOOTSTRAP
from cortexkit.features import get_extractor
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge.config import EncodingConfig, model_names, spec_extractor

DATASETS = ("digits", "photos")


def labelled_images(name: str, *, size: int = 32, n_per_class: int = 120, test_fraction: float = 0.25,
                    seed: int = 0) -> dict:
    """``{"train": (images, labels), "test": (images, labels), "classes": names}`` of a labelled set
    (see the module); images (n, size, size) in [0, 1], a stratified seeded split."""
    from cortexkit.image import resize
    from cortexkit.simulate.stimuli import NATURAL_IMAGE_SOURCES, natural_image_crops, replace_copies

    rng = np.random.default_rng(seed)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images = resize((d.images / 16.0).astype(np.float32), size)
        labels, classes = d.target, [str(c) for c in range(10)]
        test = np.zeros(len(labels), dtype=bool)
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            test[idx[: int(round(test_fraction * len(idx)))]] = True
        return {"train": (images[~test], labels[~test]), "test": (images[test], labels[test]), "classes": classes}
    if name == "photos":
        n_test = max(1, int(round(test_fraction * n_per_class)))
        train, test = [], []
        for k, source in enumerate(NATURAL_IMAGE_SOURCES):
            draw = lambda n, s, source=source: natural_image_crops(n, size, seed=s, sources=[source])  # noqa: E731
            a = draw(n_per_class - n_test, seed * 1000 + 2 * k)
            b = replace_copies(a, draw(n_test, seed * 1000 + 2 * k + 1), draw, seed * 1000 + 2 * k + 1)
            train.append(a)
            test.append(b)
        y_train = np.repeat(np.arange(len(train)), [len(a) for a in train])
        y_test = np.repeat(np.arange(len(test)), [len(b) for b in test])
        return {"train": (np.concatenate(train), y_train), "test": (np.concatenate(test), y_test),
                "classes": list(NATURAL_IMAGE_SOURCES)}
    raise ConfigError(f"--dataset must be one of {listed(DATASETS)}, got {name!r}")


def run_probe(out: str | os.PathLike, config: EncodingConfig, *, dataset: str = "digits", size: int = 32,
              n_per_class: int = 120, n_bootstrap: int = N_BOOTSTRAP, log=print) -> dict[str, pd.DataFrame]:
    """Linear-probe accuracy of every model (feature space x layer) of ``config`` on a labelled set.

    Writes ``OUT/probe.csv`` (per model: features, the penalty chosen by leave-one-out CV on the
    training images with its CV accuracy, test accuracy with a 95% interval from resampling the test images,
    chance, and the one-sided binomial p of the accuracy against chance), ``OUT/probe.md`` and
    ``OUT/config.yaml``.
    """
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for spec in config.features:
        get_extractor(spec.name, spec.params)
    sets = labelled_images(dataset, size=size, n_per_class=n_per_class, seed=config.seed)
    (x_train, y_train), (x_test, y_test) = sets["train"], sets["test"]
    out = check_output(out)
    with claimed_output(out):
        cache = FeatureCache()
        chance = float(np.max(np.bincount(y_test)) / len(y_test))
        rows = []
        rng = np.random.default_rng(config.seed)
        draws = rng.integers(0, len(y_test), size=(n_bootstrap, len(y_test)))
        for spec in config.features:
            extractor = spec_extractor(spec, config.device)
            f_train = cache.features(extractor, x_train, x_train)
            f_test = cache.features(extractor, x_test, x_train)
            for layer, name in model_names(spec):
                probe = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 6, 17),
                                                                          scoring="accuracy"))
                probe.fit(f_train[layer], y_train)
                correct = probe.predict(f_test[layer]) == y_test
                accuracy = float(correct.mean())
                boot = correct[draws].mean(1)
                tail = 100 * (1 - CONFIDENCE) / 2
                lo, hi = np.percentile(boot, [tail, 100 - tail])
                fitted = probe[-1]
                p = float(stats.binomtest(int(correct.sum()), len(correct), chance, alternative="greater").pvalue)
                rows.append({"model": name, "features": f_train[layer].shape[1], "alpha (CV)": float(fitted.alpha_),
                             "CV accuracy": float(fitted.best_score_), "test accuracy": accuracy, "ci_low": lo, "ci_high": hi,
                             "chance": chance, "p (binomial)": p})
                log(f"{name}: test accuracy {accuracy:.3f} [{lo:.3f}, {hi:.3f}] (chance {chance:.3f})")
        table = pd.DataFrame(rows)
        write_table(table, out / "probe.csv")
        (out / "probe.md").write_text(to_markdown(table) + f"\n{dataset}: {len(y_train)} training and {len(y_test)} test "
                                      f"images, {len(sets['classes'])} classes\n")
        write_run_record(out, {"analysis": "probe", "data": dataset, "settings": {
            "encoding": config.model_dump(), "size": size, "n_per_class": n_per_class, "n_bootstrap": n_bootstrap},
            "provenance": provenance(config.seed)})
    return {"probe": table}
