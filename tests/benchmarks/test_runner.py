"""The benchmark runner: cells equal the individual runs, resume by fingerprint, run on Dask, fail
clearly; the tables are views over the cells."""

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit.benchmarks import (BENCHMARKS, Benchmark, builtin_models, get_benchmark, get_model, plan_cells, read_model,
                                  read_results, read_table_view, run_benchmarks)
from cortexkit.benchmarks.comparisons import paired_top
from cortexkit.cli import app
from cortexkit.errors import ConfigError, CortexkitError
from cortexkit.evaluation import to_markdown

QUIET = dict(log=lambda m: None)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """pixel-pca and gabor on the simulated V1 benchmark (no data folder needed)."""
    out = tmp_path_factory.mktemp("board")
    messages = []
    table = run_benchmarks(None, out, models=["pixel-pca", "gabor"], benchmarks=["sim-v1"], log=messages.append)
    return out, table, messages


def test_cells_equal_the_individual_runs(board, tmp_path):
    out, table, _ = board
    assert set(table["model"]) == {"pixel-pca", "gabor"} and set(table["benchmark"]) == {"sim-v1"}
    store = out / "stores" / "sim-v1" / "seed0.zarr"
    runner = CliRunner()
    # The same model by hand: `cortexkit fit --model gabor` on the benchmark's store.
    result = runner.invoke(app, ["fit", str(store), "--out", str(tmp_path / "run"), "--model", "gabor"])
    assert result.exit_code == 0, result.output
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    cell = json.loads((out / "cells" / "sim-v1" / "gabor.json").read_text())
    assert cell["metric"] == "pearson_true"
    assert cell["score"] == pytest.approx(results["pearson_true"].median(), abs=1e-6)
    assert cell["normalized"] == pytest.approx(results["normalized"].median(), abs=1e-6)
    assert cell["pearson"] == pytest.approx(results["pearson"].median(), abs=1e-6)
    items = pd.read_csv(out / "cells" / "sim-v1" / "gabor.items.csv")
    np.testing.assert_allclose(items["score"], results["pearson_true"], atol=1e-6)
    # The interval brackets the score, and the true model family wins with certainty.
    assert cell["ci_low"] < cell["score"] < cell["ci_high"]
    pca = json.loads((out / "cells" / "sim-v1" / "pixel-pca.json").read_text())
    assert cell["score"] > 0.8 and cell["ci_low"] > pca["ci_high"]


def test_rerun_computes_nothing_and_changes_invalidate(board, tmp_path):
    original, _, first = board
    assert "2 cells, 0 up to date, 2 to compute" in first
    out = tmp_path / "copy"  # the module's board stays as it is for the other tests
    shutil.copytree(original, out)
    messages = []
    run_benchmarks(None, out, models=["pixel-pca", "gabor"], benchmarks=["sim-v1"], log=messages.append)
    assert "2 cells, 2 up to date, 0 to compute" in messages
    # A user's model of the same name with another setting is a changed model: its cell is recomputed.
    spec = builtin_models()["pixel-pca"]
    path = tmp_path / "pixel-pca.yaml"
    path.write_text(json.dumps({"description": "fewer components", "task": "encoding", "stimulus": ["image"],
                                "kind": "ridge", "config": {"features": [{"name": "pixel_pca",
                                                                          "params": {"n_components": 20}}]}}))
    assert read_model(path).definition() != spec.definition()
    cell = out / "cells" / "sim-v1" / "pixel-pca.json"
    before = json.loads(cell.read_text())
    messages.clear()
    run_benchmarks(None, out, models=[str(path), "gabor"], benchmarks=["sim-v1"], log=messages.append)
    assert "2 cells, 1 up to date, 1 to compute" in messages
    after = json.loads(cell.read_text())
    assert after["fingerprint"] != before["fingerprint"] and after["score"] != before["score"]
    assert after["model_spec"]["config"]["features"][0]["params"] == {"n_components": 20}  # what ran


def test_a_changed_source_file_reconverts_and_recomputes(shared_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(shared_data / "allen_boc_ns118_31px", root / "allen_boc_ns118_31px")
    out = tmp_path / "board"
    run = lambda messages: run_benchmarks(root, out, models=["pixel-pca"], benchmarks=["allen-ns118"],
                                          log=messages.append)
    first, second, third = [], [], []
    run(first)
    run(second)
    assert any("converting" in m for m in first) and not any("converting" in m for m in second)
    assert "1 cells, 1 up to date, 0 to compute" in second
    target = root / "allen_boc_ns118_31px" / "Allen_train_output.npy"
    np.save(target, np.load(target) * 2.0)  # the data changed: responses rescaled
    run(third)
    assert any("converting" in m for m in third) and "1 cells, 0 up to date, 1 to compute" in third


@pytest.mark.slow  # 15 s on 2 cores (a conversion and two runs); CI runs it
def test_a_restored_copy_of_the_source_is_not_converted_again(shared_data, tmp_path):
    """Sources are known by content: a copy with new modification times is the same source."""
    import os

    root = tmp_path / "data"
    shutil.copytree(shared_data / "allen_boc_ns118_31px", root / "allen_boc_ns118_31px")
    out = tmp_path / "board"
    first, second = [], []
    run_benchmarks(root, out, models=["pixel-pca"], benchmarks=["allen-ns118"], log=first.append)
    for path in (root / "allen_boc_ns118_31px").rglob("*"):  # as a restore from a backup would leave them
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    run_benchmarks(root, out, models=["pixel-pca"], benchmarks=["allen-ns118"], log=second.append)
    assert any("converting" in m for m in first) and not any("converting" in m for m in second)
    assert "1 cells, 1 up to date, 0 to compute" in second


@pytest.mark.slow  # 30 s on 2 cores: the benchmark again in a fresh process on a copy of the package; CI runs it
def test_a_code_change_to_one_extractor_recomputes_only_its_cells(board, tmp_path):
    """Cells, fitted models and cached features are keyed on the code that made them: with the pixel
    extractors' module changed in a copy of the package, pixel-pca's cell is computed again (its
    features too) and gabor's is kept."""
    import os
    import sys

    import cortexkit

    original, _, _ = board
    out = tmp_path / "board"
    shutil.copytree(original, out)
    package = tmp_path / "package"
    shutil.copytree(Path(cortexkit.__file__).parent, package / "cortexkit", ignore=shutil.ignore_patterns("__pycache__"))
    pixels = package / "cortexkit" / "features" / "pixels.py"
    pixels.write_text(pixels.read_text() + "\n\n# a fix to the pixel extractors\n")
    gabor_cell = out / "cells" / "sim-v1" / "gabor.json"
    pca_cell = out / "cells" / "sim-v1" / "pixel-pca.json"
    before = {p: json.loads(p.read_text()) for p in (gabor_cell, pca_cell)}
    gabor_written = gabor_cell.stat().st_mtime_ns
    script = ("from cortexkit.benchmarks import run_benchmarks; import cortexkit, sys; assert cortexkit.__file__.startswith(sys.argv[2]); "
              "run_benchmarks(None, sys.argv[1], models=['pixel-pca', 'gabor'], benchmarks=['sim-v1'], log=print)")
    env = {**os.environ, "PYTHONPATH": str(package)}  # the feature cache the board's run filled
    done = subprocess.run([sys.executable, "-c", script, str(out), str(package)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 cells, 1 up to date, 1 to compute" in done.stdout, done.stdout
    assert "pixel_pca: features of 1050 stimuli" in done.stdout  # computed again, though the shared cache holds them
    assert "pixel_pca: 100 features, median CV" in done.stdout  # fitted again, not taken from OUT/fits
    assert "gabor" not in done.stdout.split("to compute", 1)[1]
    after = {p: json.loads(p.read_text()) for p in (gabor_cell, pca_cell)}
    assert gabor_cell.stat().st_mtime_ns == gabor_written and after[gabor_cell] == before[gabor_cell]
    assert after[pca_cell]["fingerprint"] != before[pca_cell]["fingerprint"]
    assert after[pca_cell]["score"] == pytest.approx(before[pca_cell]["score"], abs=1e-9)  # a comment: the same numbers


@pytest.mark.slow  # over 8 s; CI runs it
def test_decoding_cell_equals_the_decode_pipeline(shared_data, tmp_path):
    from cortexkit import data
    from cortexkit.pipelines import run_parameter_decoding

    out = tmp_path / "board"
    logistic = tmp_path / "logistic.yaml"  # the built-in model without its 200 label shuffles (test time)
    logistic.write_text("description: x\ntask: decoding\nstimulus: [movie]\nkind: parameter_decoding\n"
                        "config: {method: logistic, C: 0.01, n_permutations: 0}\n")
    table = run_benchmarks(shared_data, out, models=["poisson-ml", str(logistic)], benchmarks=["gold-mt-direction"],
                           **QUIET)
    cell = json.loads((out / "cells" / "gold-mt-direction" / "poisson-ml.json").read_text())
    accuracies = [run_parameter_decoding(out / "stores" / "gold-mt-direction" / f"cell{c}.zarr", "direction",
                                         tmp_path / f"d{c}", method="poisson", n_permutations=0)["result"].score
                  for c in range(5)]
    assert cell["score"] == pytest.approx(np.mean(accuracies), abs=1e-9)
    assert cell["chance"] < cell["ci_low"]  # MT cells carry direction information
    assert set(table["model"]) == {"poisson-ml", "logistic"}
    logistic_cell = json.loads((out / "cells" / "gold-mt-direction" / "logistic.json").read_text())
    by_hand = [run_parameter_decoding(out / "stores" / "gold-mt-direction" / f"cell{c}.zarr", "direction",
                                      tmp_path / f"l{c}", method="logistic", C=0.01, n_permutations=0)["result"].score
               for c in range(5)]
    assert logistic_cell["score"] == pytest.approx(np.mean(by_hand), abs=1e-9)  # the model's C was used
    comparisons = paired_top(out, "gold-mt-direction")
    assert len(comparisons) == 1 and comparisons[0]["ci_low"] <= comparisons[0]["diff"] <= comparisons[0]["ci_high"]
    assert data.open(out / "stores" / "gold-mt-direction" / "cell0.zarr").sizes["unit"] == 1


@pytest.mark.slow  # over 8 s; CI runs it
def test_cells_run_as_dask_tasks(board, tmp_path):
    distributed = pytest.importorskip("distributed")
    out, table, _ = board
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        again = run_benchmarks(None, tmp_path, models=["pixel-pca"], benchmarks=["sim-v1"],
                               scheduler=cluster.scheduler_address, **QUIET)
    serial = table.set_index("model").loc["pixel-pca", "score"]
    assert again.set_index("model").loc["pixel-pca", "score"] == pytest.approx(serial, abs=1e-9)


def test_a_named_benchmark_without_its_data_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="needs its source data here"):
        run_benchmarks(tmp_path, tmp_path / "b", models=["pixel-pca"], benchmarks=["allen-ns118"], **QUIET)
    messages = []  # benchmarks not named: the one without data is skipped, the simulated one still runs
    table = run_benchmarks(tmp_path, tmp_path / "b", models=["motion-energy"], log=messages.append)
    assert any(m.startswith("goris2015-v1v2: skipped") for m in messages)
    assert list(table["benchmark"]) == ["sim-mt"]


def test_plan_runs_each_benchmarks_models_or_the_named_ones():
    pairs = {(b.name, m.name) for b, m in plan_cells(None, None)}
    assert pairs == {(b.name, m) for b in BENCHMARKS.values() if b.default for m in b.models}  # each default benchmark's own models
    assert ("sim-mt", "motion-energy") in pairs and ("sim-v1", "motion-energy") not in pairs
    assert ("gold-mt-direction", "poisson-ml") in pairs and ("cowley2023-v4-reconstruction", "pca-decoder") in pairs
    assert ("cowley2023-v4", "trained-conv2d") not in pairs
    # named models run on every selected benchmark of their task and stimulus kind
    assert [(b.name, m.name) for b, m in plan_cells(["trained-conv2d"], ["cowley2023-v4"])] == \
        [("cowley2023-v4", "trained-conv2d")]
    every = {m.name for _, m in plan_cells(["all"], ["sim-mt"])}
    assert every == {m.name for m in builtin_models().values() if m.runs_on(get_benchmark("sim-mt"))}
    assert "motion-energy" in every and "gabor" not in every


@pytest.mark.parametrize("models, benchmarks, message", [
    (["nope"], None, "unknown model 'nope'"),
    (None, ["nope"], "unknown benchmark 'nope'"),
    (["gabor", "gabor"], None, "models named twice: ['gabor']"),
    (["gabor"], ["gold-mt-direction"], "no model of ['gabor'] runs on ['gold-mt-direction']"),
])
def test_bad_names_fail_with_one_clear_line(models, benchmarks, message):
    with pytest.raises(ConfigError) as err:
        plan_cells(models, benchmarks)
    assert message in str(err.value)


def test_bad_model_files_name_the_file_and_field(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("description: x\ntask: encoding\nstimulus: [image]\nkind: ridge\n"
                   "config: {features: [{name: alexnet, params: {layers: all}}]}\noutput: alexnet.conv9\n")
    with pytest.raises(ConfigError, match=r"m\.yaml.*output must name one of the fitted models"):
        read_model(bad)
    bad.write_text("description: x\ntask: decoding\nstimulus: [image]\nkind: ridge\n")
    with pytest.raises(ConfigError, match=r"m\.yaml.*a ridge model has task encoding"):
        read_model(bad)
    with pytest.raises(ConfigError, match="no such model file"):
        read_model(tmp_path / "absent.yaml")
    bad.write_text("description: x\ntask: encoding\nstimulus: [image]\nkind: ridge\nmembers: [m.yaml]\n")
    with pytest.raises(ConfigError, match=r"m\.yaml.*is \(through its members\) the model itself"):
        read_model(bad)
    bad.write_text("description: x\ntask: encoding\nstimulus: [image]\nkind: ridge\nmembers: [nope]\n")
    with pytest.raises(ConfigError, match="member 'nope': no model file"):
        read_model(bad)


def test_every_model_is_defined_once_and_used():
    """Every built-in model is valid and in some benchmark's list; every benchmark's models exist and
    fit its task; the stacked V4 model takes its feature spaces from its members' files."""
    models = builtin_models()
    assert set(models) == {m for b in BENCHMARKS.values() for m in b.models}
    for bench in BENCHMARKS.values():
        assert bench.models and bench.description and bench.citation and (bench.recordings or bench.discover)
        assert all(models[m].runs_on(bench) for m in bench.models), bench.name
    stacked = models["stacked-v4"]
    features = stacked.encoding().features
    assert [f.model_name for f in features] == ["alexnet", "vgg16", "expansion", "gabor"]
    assert features[3] == models["gabor-energy"].encoding().features[0]
    assert features[0] == models["alexnet"].encoding().features[0] == models["alexnet-conv3"].encoding().features[0]
    assert get_benchmark("sim-v1").definition()["simulate"] == "v1"


def test_markdown():
    md = to_markdown(pd.DataFrame({"a": ["x"], "b": [0.12345], "c": [float("nan")]}))
    assert md == "| a | b | c |\n|---|---|---|\n| x | 0.123 |  |\n"


def test_p_values_read_as_words():
    from cortexkit.evaluation import p_text

    assert [p_text(p) for p in (1 / 1001, 0.0004, 0.001, 0.0123456, float("nan"))] == ["< 0.001", "< 0.001", "0.001",
                                                                                     "0.0123", "n/a"]


def test_cli_show_and_site(board, tmp_path):
    out, _, _ = board
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "show", "--results", str(out)])
    assert result.exit_code == 0 and "gabor" in result.output and "sim-v1" in result.output
    result = runner.invoke(app, ["bench", "show", "sim-v1", "--results", str(out)], terminal_width=200)
    assert result.exit_code == 0 and "gabor r (truth)" in result.output, result.output
    result = runner.invoke(app, ["bench", "html", str(out), "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "benchmarks" / "sim-v1.html").is_file()
    assert (tmp_path / "site" / "models" / "gabor.html").is_file()
    result = runner.invoke(app, ["bench", "show", "--results", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no benchmark results here" in result.output


def test_recordings_table_is_a_view_over_the_cells(board):
    out, _, _ = board
    table = read_table_view(out, "sim-v1")
    cells = {r["model"]: r for r in __import__("cortexkit.benchmarks", fromlist=["read_cells"]).read_cells(out, "sim-v1")}
    row = table.set_index("recording").loc["seed0"]
    assert row["gabor r"] == pytest.approx(cells["gabor"]["per_recording"]["seed0"]["pearson"], abs=1e-12)
    assert row["gabor r (truth)"] == pytest.approx(cells["gabor"]["score"], abs=1e-12)
    assert row["units"] == 40 and row["test images"] == 50


class _Tables(HTMLParser):
    """The rendered DOM's tables: per table id, its hidden flag and body rows as lists of
    (cell attributes, cell text)."""

    def __init__(self, dom: str):
        super().__init__()
        self.tables, self.images, self._table, self._row, self._cell, self._body = {}, [], None, None, None, False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = {"hidden": "hidden" in attrs, "rows": []}
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self._row = []
            self.tables[self._table]["rows"].append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = [attrs, ""]
            self._row.append(self._cell)
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._body, self._row = False, None
        elif tag == "td":
            self._cell = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell[1] += text


def _dom(browser, page, fragment=""):
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                           "--dump-dom", page.as_uri() + fragment], check=True, timeout=60, capture_output=True, text=True)
    return done.stdout


@pytest.mark.optional
def test_site_in_a_real_browser(board, tmp_path):
    """Chromium loads the index and a benchmark page from disk; the matrix is there and sorts."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (Debian package `chromium`)")
    from cortexkit.report import write_benchmark_site

    out, table, _ = board
    index = write_benchmark_site(out, tmp_path / "site")
    scores = table.set_index("model")["score"]

    def order(dom, view="score"):
        tables = _Tables(dom).tables
        return [row[0][1].strip() for row in tables[f"matrix-{view}"]["rows"]], tables

    descending, tables = order(_dom(browser, index, "#sort=sim-v1"))
    assert descending == list(scores.sort_values(ascending=False).index)
    cells = {attrs.get("data-model"): float(attrs["data-value"]) for row in tables["matrix-score"]["rows"]
             for attrs, _ in row[1:] if attrs.get("data-benchmark") == "sim-v1"}
    assert cells == pytest.approx(scores.to_dict(), abs=1e-5)
    ascending, _ = order(_dom(browser, index, "#sort=sim-v1&order=ascending"))
    assert ascending == descending[::-1]
    _, tables = order(_dom(browser, index, "#view=normalized"), "normalized")
    assert tables["matrix-score"]["hidden"] and not tables["matrix-normalized"]["hidden"]
    page = _Tables(_dom(browser, tmp_path / "site" / "benchmarks" / "sim-v1.html"))
    assert len(page.tables["scores"]["rows"]) == 2 and any("distributions" in src for src in page.images)
    assert "Paired comparisons" in _dom(browser, tmp_path / "site" / "benchmarks" / "sim-v1.html")


def test_a_failing_cell_does_not_stop_the_others(board, tmp_path):
    original, _, _ = board
    out = tmp_path / "copy"
    shutil.copytree(original, out)
    bad = tmp_path / "no-core.yaml"  # the core is looked up when the model is built: fails in the cell
    bad.write_text("description: x\ntask: encoding\nstimulus: [image]\nkind: trained\n"
                   "config: {core: {kind: nope}, epochs: 1}\n")
    with pytest.raises(CortexkitError) as err:
        run_benchmarks(None, out, models=[str(bad), "gabor"], benchmarks=["sim-v1"], **QUIET)
    assert "1 of 1 cell(s) failed" in str(err.value) and "sim-v1 / no-core: unknown core 'nope'" in str(err.value)
    assert set(read_results(out)["model"]) == {"pixel-pca", "gabor"}


def _model_file(folder, name: str, features: str) -> str:
    """A user's ridge model file (cheap feature spaces for tests on real data)."""
    path = folder / f"{name}.yaml"
    path.write_text(f"description: {name}\ntask: encoding\nstimulus: [image]\nkind: ridge\nconfig:\n  features: {features}\n")
    return str(path)


@pytest.mark.slow
def test_v4_benchmark_on_two_sessions(shared_data, tmp_path):
    models = [_model_file(tmp_path, "pca20", "[{name: pixel_pca, params: {n_components: 20}}]"),
              _model_file(tmp_path, "gabor24", "[{name: gabor, params: {image_size: 24, outputs: [energy]}}]")]
    messages = []
    run_benchmarks(shared_data, tmp_path / "out", models=models, benchmarks=["cowley2023-v4"],
                   recordings=["210305", "210325"], log=messages.append)
    table = read_table_view(tmp_path / "out", "cowley2023-v4")
    assert list(table["recording"]) == ["210305", "210325"]
    assert {"pixel_pca r", "gabor r", "ceiling", "gabor r²/ceiling", "reference"} <= set(table.columns)
    # Real V4 responses are predictable from these features, far above chance.
    assert (table["gabor r"] > 0.2).all()
    row = table.set_index("recording").loc["210325"]
    assert 0.6 < row["ceiling"] < 0.9  # split-half reliability of the repeat-averaged responses
    assert pd.isna(table.set_index("recording").loc["210305", "ceiling"])  # averages only
    md = tmp_path / "out" / "tables" / "cowley2023-v4" / "recordings.md"
    assert md.read_text().startswith("| recording |")
    # A second run converts nothing and computes nothing.
    messages.clear()
    run_benchmarks(shared_data, tmp_path / "out", models=models, benchmarks=["cowley2023-v4"], recordings=["210305", "210325"],
                   log=messages.append)
    assert not any("converting" in m for m in messages) and "2 cells, 2 up to date, 0 to compute" in messages
    with pytest.raises(ConfigError, match=r"has no recording\(s\) 999 in"):
        run_benchmarks(shared_data, tmp_path / "out", models=models, benchmarks=["cowley2023-v4"], recordings=["999"])


@pytest.fixture
def registered():
    """Benchmarks registered by a test, removed after it."""
    names = []

    def register(bench: Benchmark) -> Benchmark:
        BENCHMARKS.register(bench.name)(lambda: bench)
        names.append(bench.name)
        return bench

    yield register
    for name in names:
        BENCHMARKS.pop(name, None)


@pytest.mark.slow
def test_best_model_against_its_baseline_and_session_discovery(shared_data, tmp_path, registered):
    """Sessions come from the files present; the stacked model gets its ratio and paired statistics,
    and its components are fitted once for every cell (the shared model cache)."""
    import shutil

    from cortexkit.benchmarks.plugins.cowley2023 import discover_sessions

    src = tmp_path / "data" / "cowley2023_v4"
    for sub, name in [("images", "images_{}.zip"), ("responses_repeat_averaged", "responses_{}.npy"),
                      ("responses_raw", "responses_{}.npy")]:
        (src / sub).mkdir(parents=True)
        f = shared_data / "cowley2023_v4" / sub / name.format("210325")
        if f.exists():
            shutil.copy(f, src / sub / f.name)
    pca = _model_file(tmp_path, "pca20", "[{name: pixel_pca, params: {n_components: 20}}]")
    gabor = _model_file(tmp_path, "gabor24", "[{name: gabor, params: {image_size: 24, outputs: [energy]}}]")
    stack = tmp_path / "stack.yaml"
    stack.write_text(f"description: s\ntask: encoding\nstimulus: [image]\nkind: ridge\nmembers: [{pca}, {gabor}]\n"
                     "config: {stack: {cv: 5}}\n")
    registered(Benchmark(name="test-v4", description="x", folder="cowley2023_v4", format="cowley2023", recordings={},
                         discover=discover_sessions, models=(pca, gabor, str(stack)), best=str(stack), baseline=pca,
                         citation="x"))
    messages = []
    run_benchmarks(tmp_path / "data", tmp_path / "out", benchmarks=["test-v4"], log=messages.append)
    table = read_table_view(tmp_path / "out", "test-v4")
    assert list(table["recording"]) == ["210325"]  # only the session present
    row = table.iloc[0]
    assert "stack r" not in table and row["ratio"] == pytest.approx(row["best model r"] / row["pixel_pca r"], rel=0.02)
    assert row["best model r"] > row["pixel_pca r"] and row["share of units better"] > 0.5
    assert row["p (swap)"] == "< 0.001" or float(row["p (swap)"]) < 0.05
    overall = json.loads((tmp_path / "out" / "tables" / "test-v4" / "paired.json").read_text())
    assert overall["n_sessions"] == 1 and overall["min_ratio"] == pytest.approx(row["ratio"])
    assert any("stack vs pca20" in m for m in messages)
    assert sum("fitted with these settings by another run, reused" in m for m in messages) == 2  # the stack's members


def _permute_test_trials(ds, seed=0):
    """The recording with the stimulus each test trial showed shuffled among the test trials: the
    test responses no longer belong to their stimuli; training data untouched."""
    split = dict(zip(ds["stimulus"].values.tolist(), ds["split"].values.tolist()))
    ids = ds["stimulus_id"].values.copy()
    test = np.flatnonzero([split[i] == "test" for i in ids.tolist()])
    ids[test] = ids[np.random.default_rng(seed).permutation(test)]
    return ds.assign(stimulus_id=("trial", ids))


@pytest.mark.slow  # over 8 s; CI runs it
def test_areas_table_of_a_simulated_fmri_benchmark(tmp_path, registered, monkeypatch):
    """Per-area views from the cells' per-unit items: each region is best predicted by its own units.
    Every choice (each recording's and each area's layer) is made by CV on the training split:
    shuffling the test trials moves the test scores and changes no choice."""
    layers = tmp_path / "untrained.yaml"
    layers.write_text("description: x\ntask: encoding\nstimulus: [image]\nkind: ridge\nconfig:\n  features: "
                      "[{name: alexnet, params: {weights: random, layers: [conv1, conv2, conv5]}, label: alexnet_untrained}]\n")
    config = {"n_subjects": 1, "n_train": 240, "n_shared": 60, "voxels": [14, 18], "size": 48, "rois": ["V1", "higher"],
              "ncsnr_range": [0.8, 1.5], "seed": 0}
    registered(Benchmark(name="test-fmri", description="x", folder="", format="", simulate="fmri",
                         recordings={"subj01": config}, models=("gabor-energy-native", str(layers)), citation="x"))
    run_benchmarks(None, tmp_path / "out", benchmarks=["test-fmri"], **QUIET)
    areas = read_table_view(tmp_path / "out", "test-fmri", "areas").set_index("area")
    assert set(areas.index) == {"V1", "higher"} and areas["units"].sum() == read_table_view(
        tmp_path / "out", "test-fmri")["units"].iloc[0]
    assert areas.loc["higher", "alexnet_untrained layer (CV)"] in ("conv2", "conv5")
    assert abs(areas.loc["V1", "ceiling"] - areas.loc["V1", "true ceiling"]) < 0.1  # NCSNR ceiling near the truth
    layers_table = read_table_view(tmp_path / "out", "test-fmri", "layers")
    assert list(layers_table["layer"]) == ["conv1", "conv2", "conv5"]
    assert (layers_table["chosen"].fillna("") == "yes").sum() == 1
    chosen = layers_table.loc[layers_table["chosen"] == "yes"].iloc[0]
    page = (tmp_path / "out" / "tables" / "test-fmri" / "layers.md").read_text()
    assert page.count(" *") == 1 and f"{chosen['median r']:.3f} *" in page  # the markdown marks the choice
    # The same benchmark with the test trials shuffled: same choices, other test scores.
    import cortexkit.benchmarks.recordings as recordings
    simulate = recordings.simulate_recording
    monkeypatch.setattr(recordings, "simulate_recording", lambda kind, options: {
        k: _permute_test_trials(v) for k, v in simulate(kind, options).items()})
    run_benchmarks(None, tmp_path / "shuffled", benchmarks=["test-fmri"], **QUIET)
    shuffled_layers = read_table_view(tmp_path / "shuffled", "test-fmri", "layers")
    shuffled_areas = read_table_view(tmp_path / "shuffled", "test-fmri", "areas").set_index("area")
    pd.testing.assert_series_equal(shuffled_layers["chosen"], layers_table["chosen"])
    np.testing.assert_allclose(shuffled_layers["median CV score"], layers_table["median CV score"], rtol=1e-6)
    pd.testing.assert_series_equal(shuffled_areas["alexnet_untrained layer (CV)"], areas["alexnet_untrained layer (CV)"])
    assert np.abs(shuffled_layers["median r"] - layers_table["median r"]).min() > 0.05
    recordings_table = read_table_view(tmp_path / "out", "test-fmri")
    shuffled_recordings = read_table_view(tmp_path / "shuffled", "test-fmri")
    assert shuffled_recordings["alexnet_untrained layer (CV)"].tolist() == recordings_table["alexnet_untrained layer (CV)"].tolist()


def test_a_benchmark_that_cannot_rank_models_runs_only_when_named():
    from cortexkit.benchmarks.definition import BENCHMARKS
    from cortexkit.benchmarks.runner import plan_cells

    default = {b.name for b, _ in plan_cells(None, None)}
    assert "allen-ns118" not in default and "cowley2023-v4" in default
    assert not BENCHMARKS.lookup("allen-ns118").default and "cannot rank models" in BENCHMARKS.lookup("allen-ns118").not_default
    assert {b.name for b, _ in plan_cells(None, ["allen-ns118"])} == {"allen-ns118"}


def test_paired_summaries_are_kept_by_the_cells_fingerprints(board, tmp_path):
    original, _, _ = board
    out = tmp_path / "copy"
    shutil.copytree(original, out)
    first = paired_top(out, "sim-v1")
    memos = sorted((out / "cells" / "sim-v1" / ".paired").glob("*.json"))
    assert memos  # a redrawn table reads them instead of bootstrapping again
    memos[0].write_text("{damaged")
    assert paired_top(out, "sim-v1") == first  # a damaged memo is computed again, to the same numbers
    assert json.loads(memos[0].read_text())["median_diff"] == pytest.approx(first[0]["diff"])
