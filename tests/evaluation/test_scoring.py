"""Scoring helpers: the low-ceiling warning, and the score-vs-ceiling figure's naming."""

import numpy as np

from cortexkit import data
from cortexkit.evaluation import LOW_CEILING, ceiling_warning


def test_low_ceiling_warning_in_info(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.r_[np.arange(20), np.repeat(np.arange(20, 30), 6)]
    ds = data.make_dataset(rng.random((30, 8, 8)).astype(np.float32), rng.poisson(3, (len(ids), 12)).astype(np.float32),
                           ids, np.array(["train"] * 20 + ["test"] * 10))  # responses are pure noise
    from cortexkit.pipelines import describe_dataset

    rows = dict(describe_dataset(data.save(ds, tmp_path / "noise.zarr")))
    assert f"is below {LOW_CEILING}" in rows["warning"]
    assert ceiling_warning(np.array([0.5, 0.9, np.nan])) is None and ceiling_warning(None) is None


def test_score_vs_ceiling_names_the_square_root():
    import pandas as pd

    from cortexkit.report import figures

    fig = figures.score_vs_ceiling(pd.DataFrame({"model": ["m"] * 3, "pearson": [0.3, 0.5, 0.6], "ceiling": [0.36, 0.64, 0.81]}))
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("sqrt(ceiling)") and "median r/sqrt(ceiling) 0.62" in ax.get_title()  # 0.5, 0.625, 0.667


def test_score_vs_depth_shows_layer_names():
    import pandas as pd

    from cortexkit.report import figures

    r = pd.DataFrame({"feature_space": ["alexnet"] * 2 + ["vgg16"] * 2, "depth": [1, 2, 1, 2],
                      "layer": ["conv1", "conv2", "conv1_1", "conv1_2"], "model": list("abcd"), "pearson": [.1, .3, .2, .25]})
    labels = [t.get_text() for t in figures.score_vs_depth(r).axes[0].get_xticklabels()]
    assert labels == ["conv1/conv1_1", "conv2/conv1_2"]
