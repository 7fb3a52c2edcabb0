"""The leaderboard: cells equal the individual runs, resume by fingerprint, run on Dask, fail clearly."""

import json
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit.benchmarks import get_benchmark, leaderboard
from cortexkit.benchmarks.model_specs import builtin_models, read_model
from cortexkit.cli import app
from cortexkit.errors import ConfigError, CortexkitError

QUIET = dict(log=lambda m: None)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """pixel-pca and gabor on the simulated V1 benchmark (no data folder needed)."""
    out = tmp_path_factory.mktemp("board")
    messages = []
    table = leaderboard.run_leaderboard(None, out, models=["pixel-pca", "gabor"], benchmarks=["sim-v1"],
                                        log=messages.append)
    return out, table, messages


def test_cells_equal_the_individual_runs(board, tmp_path):
    out, table, _ = board
    assert set(table["model"]) == {"pixel-pca", "gabor"} and set(table["benchmark"]) == {"sim-v1"}
    store = out / "stores" / "sim-v1" / "seed0.zarr"
    runner = CliRunner()
    # The same model by hand: fit + evaluate on the leaderboard's store with the model's settings.
    result = runner.invoke(app, ["fit", str(store), "--out", str(tmp_path / "run"), "--features", "gabor",
                                 "-p", "image_size=56"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["evaluate", str(tmp_path / "run")]).exit_code == 0
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
    leaderboard.run_leaderboard(None, out, models=["pixel-pca", "gabor"], benchmarks=["sim-v1"], log=messages.append)
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
    leaderboard.run_leaderboard(None, out, models=[str(path), "gabor"], benchmarks=["sim-v1"], log=messages.append)
    assert "2 cells, 1 up to date, 1 to compute" in messages
    after = json.loads(cell.read_text())
    assert after["fingerprint"] != before["fingerprint"] and after["score"] != before["score"]
    assert after["model_spec"]["config"]["features"][0]["params"] == {"n_components": 20}  # what ran


def test_a_changed_source_file_reconverts_and_recomputes(shared_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(shared_data / "allen_boc_ns118_31px", root / "allen_boc_ns118_31px")
    out = tmp_path / "board"
    run = lambda messages: leaderboard.run_leaderboard(root, out, models=["pixel-pca"], benchmarks=["allen-ns118"],
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


def test_decoding_cell_equals_the_decode_pipeline(shared_data, tmp_path):
    from cortexkit import data
    from cortexkit.pipelines import run_parameter_decoding

    out = tmp_path / "board"
    logistic = tmp_path / "logistic.yaml"  # the built-in model without its 200 label shuffles (test time)
    logistic.write_text("description: x\ntask: decoding\nstimulus: [movie]\nkind: parameter_decoding\n"
                        "config: {method: logistic, C: 0.01, n_permutations: 0}\n")
    table = leaderboard.run_leaderboard(shared_data, out, models=["poisson-ml", str(logistic)],
                                        benchmarks=["gold-mt-direction"], **QUIET)
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
    comparisons = leaderboard.paired_top(out, "gold-mt-direction")
    assert len(comparisons) == 1 and comparisons[0]["ci_low"] <= comparisons[0]["diff"] <= comparisons[0]["ci_high"]
    assert data.open(out / "stores" / "gold-mt-direction" / "cell0.zarr").sizes["unit"] == 1


def test_cells_run_as_dask_tasks(board, tmp_path):
    distributed = pytest.importorskip("distributed")
    out, table, _ = board
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        again = leaderboard.run_leaderboard(None, tmp_path, models=["pixel-pca"], benchmarks=["sim-v1"],
                                            scheduler=cluster.scheduler_address, **QUIET)
    serial = table.set_index("model").loc["pixel-pca", "score"]
    assert again.set_index("model").loc["pixel-pca", "score"] == pytest.approx(serial, abs=1e-9)


def test_a_named_benchmark_without_its_data_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="needs its source data here"):
        leaderboard.run_leaderboard(tmp_path, tmp_path / "b", models=["pixel-pca"], benchmarks=["allen-ns118"], **QUIET)
    messages = []  # benchmarks not named: the one without data is skipped, the simulated one still runs
    table = leaderboard.run_leaderboard(tmp_path, tmp_path / "b", models=["motion-energy"], log=messages.append)
    assert any(m.startswith("goris2015-v1v2: skipped") for m in messages)
    assert list(table["benchmark"]) == ["sim-mt"]


def test_plan_matches_task_and_stimulus():
    pairs = {(b.name, m.name) for b, m in leaderboard.plan_cells(None, None)}
    assert ("sim-mt", "motion-energy") in pairs and ("sim-v1", "motion-energy") not in pairs
    assert ("gold-mt-direction", "poisson-ml") in pairs and ("gold-mt-direction", "gabor") not in pairs
    assert ("cowley2023-v4-reconstruction", "pca-decoder") in pairs
    # A model restricted to some benchmarks runs elsewhere only when both are named.
    assert ("cowley2023-v4", "trained-conv2d") not in pairs
    assert [(b.name, m.name) for b, m in leaderboard.plan_cells(["trained-conv2d"], ["cowley2023-v4"])] == \
        [("cowley2023-v4", "trained-conv2d")]


@pytest.mark.parametrize("models, benchmarks, message", [
    (["nope"], None, "unknown model 'nope'"),
    (None, ["nope"], "unknown benchmark(s) ['nope']"),
    (["gabor"], ["gold-mt-direction"], "no model of ['gabor'] runs on ['gold-mt-direction']"),
])
def test_bad_names_fail_with_one_clear_line(models, benchmarks, message):
    with pytest.raises(ConfigError) as err:
        leaderboard.plan_cells(models, benchmarks)
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


def test_every_builtin_model_is_valid_and_runs_somewhere():
    from cortexkit.benchmarks import BENCHMARKS

    for model in builtin_models().values():
        assert any(model.runs_by_default_on(b) for b in BENCHMARKS.values()), model.name
    assert get_benchmark("sim-v1").definition()["simulate"] == "v1"


def test_cli_show_and_site(board, tmp_path):
    out, _, _ = board
    runner = CliRunner()
    result = runner.invoke(app, ["leaderboard", "show", "--store", str(out)])
    assert result.exit_code == 0 and "gabor" in result.output and "sim-v1" in result.output
    result = runner.invoke(app, ["leaderboard", "html", str(tmp_path / "site"), "--store", str(out)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "benchmarks" / "sim-v1.html").is_file()
    assert (tmp_path / "site" / "models" / "gabor.html").is_file()
    result = runner.invoke(app, ["leaderboard", "show", "--store", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no leaderboard results here" in result.output


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


def test_site_in_a_real_browser(board, tmp_path):
    """Chromium loads the index and a benchmark page from disk; the matrix is there and sorts."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (Debian package `chromium`)")
    from cortexkit.report import write_leaderboard_site

    out, table, _ = board
    index = write_leaderboard_site(out, tmp_path / "site")
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
        leaderboard.run_leaderboard(None, out, models=[str(bad), "gabor"], benchmarks=["sim-v1"], **QUIET)
    assert "1 of 1 cell(s) failed" in str(err.value) and "sim-v1 / no-core: unknown core 'nope'" in str(err.value)
    assert set(leaderboard.read_leaderboard(out)["model"]) == {"pixel-pca", "gabor"}
