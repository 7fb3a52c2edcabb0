import pandas as pd
import pytest

from cortexkit.benchmarks import BENCHMARKS, run_benchmark
from cortexkit.evaluation import to_markdown
from cortexkit.pipelines import FeatureSpec
from cortexkit.errors import ConfigError


def test_v4_benchmark_on_two_sessions(shared_data, tmp_path):
    features = [FeatureSpec(name="pixel_pca", params={"n_components": 20}),
                FeatureSpec(name="gabor", params={"image_size": 24, "outputs": ["energy"]})]
    messages = []
    table = run_benchmark("cowley2023-v4", shared_data, tmp_path, features=features,
                          recordings=["210305", "210325"], log=messages.append)
    assert list(table["recording"]) == ["210305", "210325"]
    assert {"pixel_pca r", "gabor r", "ceiling", "gabor r²/ceiling", "reference"} <= set(table.columns)
    # Real V4 responses are predictable from these features, far above chance.
    assert (table["gabor r"] > 0.2).all()
    row = table.set_index("recording").loc["210325"]
    assert 0.6 < row["ceiling"] < 0.9  # split-half reliability of the repeat-averaged responses
    assert pd.isna(table.set_index("recording").loc["210305", "ceiling"])  # averages only
    on_disk = pd.read_csv(tmp_path / "table.csv", dtype={"recording": str})
    assert list(on_disk["recording"]) == ["210305", "210325"]
    assert (tmp_path / "table.md").read_text().startswith("| recording |")
    # A second run reuses the stores and the models.
    messages.clear()
    run_benchmark("cowley2023-v4", shared_data, tmp_path, features=features, recordings=["210305"], log=messages.append)
    assert not any("converting" in m for m in messages)
    assert any("kept" in m for m in messages)


def test_unknown_benchmark_and_recording(tmp_path, shared_data):
    with pytest.raises(ConfigError, match="unknown benchmark 'v5'"):
        run_benchmark("v5", shared_data, tmp_path)
    with pytest.raises(ConfigError, match=r"has no recording\(s\) \['999'\]"):
        run_benchmark("cowley2023-v4", shared_data, tmp_path, recordings=["999"])
    with pytest.raises(ConfigError, match="needs its source data here"):
        run_benchmark("cowley2023-v4", tmp_path, tmp_path)


def test_registry_entries_are_complete():
    for bench in BENCHMARKS.values():
        assert (bench.recordings or bench.discover) and bench.description and bench.citation
        # encoding benchmarks compare feature spaces in `cortexkit bench NAME`; the others run models
        assert bool(bench.features) == (bench.task == "encoding")
    with pytest.raises(ConfigError, match="is a decoding benchmark"):
        run_benchmark("gold-mt-direction", ".", ".")


def test_markdown():
    md = to_markdown(pd.DataFrame({"a": ["x"], "b": [0.12345], "c": [float("nan")]}))
    assert md == "| a | b | c |\n|---|---|---|\n| x | 0.123 |  |\n"


def test_best_model_columns_and_session_discovery(shared_data, tmp_path):
    """Sessions come from the files present; the stacked model gets its ratio and paired statistics."""
    import json
    import shutil

    src = tmp_path / "data" / "cowley2023_v4"
    for sub, name in [("images", "images_{}.zip"), ("responses_repeat_averaged", "responses_{}.npy"),
                      ("responses_raw", "responses_{}.npy")]:
        (src / sub).mkdir(parents=True)
        for session in ("210325",):
            f = shared_data / "cowley2023_v4" / sub / name.format(session)
            if f.exists():
                shutil.copy(f, src / sub / f.name)
    features = [FeatureSpec(name="pixel_pca", params={"n_components": 20}),
                FeatureSpec(name="gabor", params={"image_size": 24, "outputs": ["energy"]})]
    messages = []
    table = run_benchmark("cowley2023-v4", tmp_path / "data", tmp_path / "out", features=features, baseline="pixel_pca",
                          log=messages.append)
    assert list(table["recording"]) == ["210325"]  # only the session present
    row = table.iloc[0]
    assert row["ratio"] == pytest.approx(row["best model r"] / row["pixel_pca r"], rel=0.02)
    assert row["best model r"] > row["pixel_pca r"] and row["p (swap)"] < 0.05 and row["units better"] > 0.5
    overall = json.loads((tmp_path / "out" / "paired.json").read_text())
    assert overall["n_sessions"] == 1 and overall["min_ratio"] == pytest.approx(row["ratio"])
    assert any("best model vs pixel_pca" in m for m in messages)
