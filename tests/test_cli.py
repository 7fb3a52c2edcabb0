"""The command line: help with examples, the full flow on a small recording, and bad input."""

import re

import numpy as np

import pytest
from typer.testing import CliRunner

from cortexkit.cli import app
from cortexkit.optional import available

runner = CliRunner()
TOP = ["demo", "list", "data", "features", "fit", "train", "evaluate", "compare", "decode", "insilico", "analyze", "bench"]
# every command that runs something, as typed after `cortexkit`
COMMANDS = ["demo", "list", "data simulate", "data convert", "data merge", "data info", "features", "fit", "train",
            "evaluate", "compare models", "compare representations", "compare regions", "decode reconstruct",
            "decode parameter", "insilico synthesize", "insilico tuning", "insilico design", "analyze partition", "analyze width", "analyze delays", "analyze probe", "analyze ablations", "analyze self-motion", "bench run", "bench show",
            "bench html"]


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_root_help_lists_at_most_twelve_commands():
    import typer.main

    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(TOP) and len(TOP) <= 12
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in TOP:
        assert cmd in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_with_example(command):
    """Every command's help has a pasteable example that an 80-column terminal does not break."""
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    out = _plain(result.output)
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    lines = []
    for line in out.split("Example:", 1)[1].strip().splitlines():
        if not line.strip():
            break
        lines.append(line.strip())
    assert lines[0].startswith(f"cortexkit {command}")
    # every line but the last ends in a shell continuation, and no option is split from its value
    assert all(line.endswith(" \\") for line in lines[:-1]) and not lines[-1].endswith("\\")
    assert all(not line.removesuffix(" \\").endswith((" --out", " --features", " --format")) for line in lines)


def test_example_block_keeps_the_command():
    from cortexkit.terminal import example_block

    doc = "Do it.\n\n    Example: cortexkit fit a.zarr --out runs/x --features pixels,gabor,alexnet --layers conv2,conv5\n    "
    out = example_block(doc, width=40)
    lines = out.split("Example:")[1].strip().splitlines()
    assert " ".join(line.strip().removesuffix(" \\") for line in lines) == (
        "cortexkit fit a.zarr --out runs/x --features pixels,gabor,alexnet --layers conv2,conv5")
    assert "--layers conv2,conv5" in out and all(len(line.strip()) <= 44 for line in lines)


def test_simulate_info_fit_evaluate(tmp_path):
    store = tmp_path / "v1.zarr"
    r = runner.invoke(app, ["data", "simulate", str(store), "--n-train", "200", "--n-test", "20", "--n-repeats", "4",
                            "--n-simple", "4", "--n-complex", "4", "--size", "16", "--seed", "2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["data", "info", str(store)])
    assert r.exit_code == 0, r.output
    out = _plain(r.output)
    assert "train: 200, test: 20" in out and "noise ceiling (test, split-half)" in out and "V1: 8" in out
    run = tmp_path / "run"
    # fit ends like every run command: scores and a report page in its run folder
    r = runner.invoke(app, ["fit", str(store), "--out", str(run), "--features", "pixels,gabor", "--max-memory", "512MB"])
    assert r.exit_code == 0, r.output
    assert (run / "models" / "pixels.npz").exists() and (run / "models" / "gabor.npz").exists()
    assert "gabor" in r.output and (run / "results.csv").exists() and (run / "report.html").exists()
    (run / "report.html").unlink()
    r = runner.invoke(app, ["evaluate", str(run)])
    assert r.exit_code == 0, r.output
    assert "gabor" in r.output and (run / "results.csv").exists()
    html = (run / "report.html").read_text()
    for src in re.findall(r'src="([^"]+)"', html):
        assert (run / src).is_file(), src
    assert "receptive_fields_pixels.png" in html and "score_vs_ceiling.png" in html


def test_simulate_with_config_file(tmp_path):
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("n_train: 30\nn_test: 5\nn_repeats: 3\nn_simple: 2\nn_complex: 1\nsize: 12\n")
    r = runner.invoke(app, ["data", "simulate", str(tmp_path / "s.zarr"), "--config", str(cfg), "--seed", "4"])
    assert r.exit_code == 0, r.output
    assert "3 V1 units, 30 train + 5 test" in r.output


def test_simulate_fmri_writes_one_store_per_subject(tmp_path):
    from cortexkit import data

    cfg = tmp_path / "fmri.yaml"
    cfg.write_text("n_train: 20\nn_shared: 8\nvoxels: [3, 4]\nsize: 40\nrois: [V1, V4]\n")
    r = runner.invoke(app, ["data", "simulate", str(tmp_path / "fmri"), "--population", "fmri", "--config", str(cfg),
                            "--n-subjects", "2"])
    assert r.exit_code == 0, r.output
    assert "84 trials of 28 images" in _plain(r.output)
    a, b = (data.load(tmp_path / "fmri" / f"subj0{s}.zarr") for s in (1, 2))
    assert a.attrs["modality"] == "fmri" and set(a["area"].values) == {"V1", "V4"}
    assert list(a["stimulus"].values[:8]) == list(b["stimulus"].values[:8])  # the shared test images
    r = runner.invoke(app, ["data", "simulate", str(tmp_path / "x"), "--population", "fmri", "--n-simple", "3"])
    assert r.exit_code == 2 and "do not apply to --population fmri" in _plain(r.output)
    # The folder is not a store: every command reading it says what is inside.
    r = runner.invoke(app, ["data", "info", str(tmp_path / "fmri")])
    assert r.exit_code == 2
    assert (f"fmri: is a folder of 2 stores (subj01.zarr, subj02.zarr), not a store: name one, e.g. "
            f"{tmp_path / 'fmri' / 'subj01.zarr'}") in " ".join(_plain(r.output).split())
    # `info` shows the ceiling evaluation divides by: NCSNR for fMRI, with the same median.
    from cortexkit.evaluation import noise_ceiling

    r = runner.invoke(app, ["data", "info", str(tmp_path / "fmri" / "subj01.zarr")])
    assert r.exit_code == 0, r.output
    row = next(line for line in _plain(r.output).splitlines() if "noise ceiling (test" in line)
    assert "noise ceiling (test, NCSNR)" in row and "split-half" not in _plain(r.output)
    expected = np.nanmedian(noise_ceiling(data.select(a, "test")))
    assert f"median {expected:.3f}," in row


def _error_line(result) -> str:
    text = _plain(result.stderr if hasattr(result, "stderr") else result.output).strip()
    assert "Traceback" not in text
    return text


def test_missing_store_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["data", "info", str(tmp_path / "missing.zarr")])
    assert result.exit_code == 2
    line = _error_line(result)
    assert line.startswith("error:") and "missing.zarr: no such file or directory" in line
    assert len(line.splitlines()) == 1


def test_brackets_in_messages_are_printed(tmp_path, capsys):
    """Messages are text, never markup: `pip install "cortexkit[zoo]"` and paths with brackets print whole."""
    from cortexkit import terminal

    terminal.error('timm is not installed: pip install "cortexkit[zoo]"')
    terminal.log("saved to runs/[v4]/fit")
    terminal.step("1/4 simulate [bold] cells")
    terminal.print_table(__import__("pandas").DataFrame({"install [zoo]": ['pip install "cortexkit[zoo]"']}))
    out = capsys.readouterr()
    assert 'pip install "cortexkit[zoo]"' in out.err and "runs/[v4]/fit" in out.out
    assert "1/4 simulate [bold] cells" in out.out and "install [zoo]" in out.out
    assert out.out.count('"cortexkit[zoo]"') == 1 and "\\[" not in out.out + out.err
    result = runner.invoke(app, ["data", "info", str(tmp_path / "[zoo].zarr")])
    assert result.exit_code == 2 and "[zoo].zarr: no such file or directory" in _error_line(result)


def test_corrupt_store_exit_2(tmp_path):
    bad = tmp_path / "bad.zarr"
    bad.mkdir()
    (bad / "zarr.json").write_text("{{{")
    result = runner.invoke(app, ["fit", str(bad), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "bad.zarr: cannot read the Zarr store" in _error_line(result)


def test_bad_config_field_named(tmp_path):
    cfg = tmp_path / "enc.yaml"
    cfg.write_text("ridge:\n  cv: 1\n")
    result = runner.invoke(app, ["fit", str(tmp_path / "x.zarr"), "--out", str(tmp_path / "r"), "--config", str(cfg)])
    assert result.exit_code == 2
    assert "enc.yaml: ridge.cv: Input should be greater than or equal to 2" in _error_line(result)


def test_unknown_feature_space(tmp_path, small_store):
    result = runner.invoke(app, ["fit", str(small_store), "--out", str(tmp_path / "r"), "--features", "vgg99"])
    assert result.exit_code == 2
    assert "unknown feature extractor 'vgg99'" in _error_line(result)


def test_evaluate_not_a_run(tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a run directory" in _error_line(result)


def test_convert_and_info_real_data(shared_data, tmp_path):
    out = tmp_path / "allen.zarr"
    r = runner.invoke(app, ["data", "convert", str(shared_data / "allen_boc_ns118_31px"), str(out), "--format", "allen_boc_ns118"])
    assert r.exit_code == 0, r.output
    assert "212 units" in _plain(r.output)
    r = runner.invoke(app, ["data", "info", str(out)])
    assert r.exit_code == 0 and "calcium" in r.output and "train: 100, test: 18" in _plain(r.output)


def test_convert_bad_option_syntax(tmp_path):
    r = runner.invoke(app, ["data", "convert", str(tmp_path), str(tmp_path / "o.zarr"), "-f", "cowley2023", "-o", "session"])
    assert r.exit_code == 2 and "--option expects key=value, got 'session'" in _error_line(r)


@pytest.mark.parametrize("noun, names", [
    ("formats", ["cowley2023", "allen_boc_ns118", "goris2015", "gold_mt"]),
    # where the model libraries are absent, the listing says how to install them (the documented route)
    ("features", ["gabor", "motion_energy", "alexnet", "timm:resnet50"]
     + ([] if all(available(p) for p in ("torchvision", "timm", "open_clip")) else ["make extras installs it"])),
    ("decoders", ["pca", "retrieval", "second_sight"]),
    ("cores", ["conv2d", "conv3d", "transformer"]),
    ("readouts", ["gaussian2d", "factorized"]),
    ("models", ["stacked-v4", "pixel-pca", "cowley2023-v4"]),
    ("benchmarks", ["cowley2023-v4", "sim-fmri", "gold-mt-direction"]),
])
def test_list_every_noun(noun, names):
    r = runner.invoke(app, ["list", noun], terminal_width=300)
    assert r.exit_code == 0, r.output
    for name in names:  # brackets in a table are text, not terminal markup
        assert name in _plain(r.output), name


@pytest.mark.slow  # about 8 s on 2 cores; CI runs it
def test_simulate_mt_and_layer_sweep(tmp_path):
    store = tmp_path / "mt.zarr"
    r = runner.invoke(app, ["data", "simulate", str(store), "--population", "mt", "--n-train", "60", "--n-test", "10",
                            "--n-repeats", "3", "--n-units", "4", "--size", "16"])
    assert r.exit_code == 0, r.output
    assert "4 MT units" in r.output
    r = runner.invoke(app, ["data", "simulate", str(tmp_path / "x.zarr"), "--population", "mt", "--n-simple", "3"])
    assert r.exit_code == 2 and "['n_simple'] do not apply to --population mt" in _error_line(r)
    run = tmp_path / "run"
    r = runner.invoke(app, ["fit", str(store), "--out", str(run), "--features", "motion_energy,alexnet",
                            "--layers", "conv1,conv2", "--param", "weights=random", "--param", "image_size=64"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (run / "models").iterdir()) == ["alexnet.conv1.npz", "alexnet.conv2.npz", "motion_energy.npz"]
    assert "score_vs_depth.png" in (run / "report.html").read_text()


def test_features_and_compare(tmp_path, small_store):
    out = tmp_path / "f.zarr"
    r = runner.invoke(app, ["features", str(small_store), "--model", "pixel_pca", "--param", "n_components=5", "--out", str(out)])
    assert r.exit_code == 0, r.output
    import xarray as xr

    f = xr.open_zarr(out, consolidated=False)
    assert f["features_0"].shape == (340, 5)
    r = runner.invoke(app, ["compare", "representations", str(small_store), "--features", "pixels,gabor", "--out",
                            str(tmp_path / "cmp")])
    assert r.exit_code == 0, r.output
    table = (tmp_path / "cmp" / "comparison.csv").read_text()
    assert table.startswith(",neural,pixels,gabor") and (tmp_path / "cmp" / "figures" / "comparison.png").exists()
    assert "figures/comparison.png" in (tmp_path / "cmp" / "report.html").read_text()


def test_train_with_data_override_then_evaluate_and_report(tmp_path):
    store = tmp_path / "v1.zarr"
    r = runner.invoke(app, ["data", "simulate", str(store), "--n-train", "200", "--n-test", "20", "--n-repeats", "4",
                            "--n-simple", "0", "--n-complex", "6", "--size", "16", "--seed", "3"])
    assert r.exit_code == 0, r.output
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("data:\n  - {path: nowhere.zarr, key: x}\ncore: {kind: conv2d, channels: 4, layers: 1, first_kernel: 7}\n"
                   "epochs: 2\nbatch_size: 64\n")
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", str(cfg), "--out", str(run), "--data", f"v1={store}", "--epochs", "1"])
    assert r.exit_code == 0, r.output
    assert "trained:conv2d" in r.output and (run / "report.html").is_file()
    trained = (run / "config.yaml").read_text()
    assert str(store) in trained and "nowhere.zarr" not in trained and "epochs: 1" in trained
    r = runner.invoke(app, ["evaluate", str(run)])
    assert r.exit_code == 0 and "trained:conv2d" in r.output and "r²/ceiling" in r.output, r.output
    r = runner.invoke(app, ["train", str(cfg), "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "nowhere.zarr" in _plain(r.output)


def test_paired_command(tmp_path, small_store):
    run = tmp_path / "run"
    r = runner.invoke(app, ["fit", str(small_store), "--out", str(run), "--features", "pixels,gabor"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["compare", "models", f"{run}:gabor", f"{run}:pixels", "--out", str(tmp_path / "p"),
                            "--n-bootstrap", "200"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p" / "paired_units.csv").exists() and (tmp_path / "p" / "report.html").exists()
    assert "p, swap permutation" in _plain(r.output) and "permutation_p" not in _plain(r.output)
    r = runner.invoke(app, ["compare", "models", f"{run}:alexnet", f"{run}:pixels", "--out", str(tmp_path / "q")])
    assert r.exit_code == 2 and "has no model 'alexnet'; it has gabor, pixels" in _plain(r.output)
    r = runner.invoke(app, ["compare", "models", "gabor", f"{run}:pixels", "--out", str(tmp_path / "q")])
    assert r.exit_code == 2 and "name a model as RUN:MODEL" in _plain(r.output)


@pytest.mark.slow
def test_every_run_command_ends_with_a_report(tmp_path, small_store, shared_data):
    """The analysis commands end as fit does: scores on the terminal, report.html in the run folder;
    `evaluate` scores a reconstruction run again from what it holds."""
    from cortexkit import data
    from cortexkit.simulate import simulate_streams

    r = runner.invoke(app, ["decode", "reconstruct", str(small_store), "--out", str(tmp_path / "rec"), "--decoder", "pca",
                            "--image-size", "16", "--permutations", "20"])
    assert r.exit_code == 0, r.output
    assert "pca (shuffled)" in _plain(r.output) and (tmp_path / "rec" / "report.html").is_file()
    before = (tmp_path / "rec" / "metrics.csv").read_text()
    (tmp_path / "rec" / "report.html").unlink()
    r = runner.invoke(app, ["evaluate", str(tmp_path / "rec")])
    assert r.exit_code == 0 and "kept" in _plain(r.output), r.output
    assert (tmp_path / "rec" / "metrics.csv").read_text() == before and (tmp_path / "rec" / "report.html").is_file()

    store = data.convert(shared_data / "gold_mt_dots", tmp_path / "mt.zarr", "gold_mt",
                         {"cell": 0, "experiment": "tuning", "measure": "count", "size": 8, "frame_rate": 5})
    r = runner.invoke(app, ["decode", "parameter", str(store), "direction", "--out", str(tmp_path / "dec"),
                            "--permutations", "10", "--method", "poisson"])
    assert r.exit_code == 0, r.output
    assert "figures/confusion.png" in (tmp_path / "dec" / "report.html").read_text()

    data.save(simulate_streams(n_objects=4, n_directions=4, speeds=[1.0, 2.0], n_starts=1, n_repeats=4, n_dorsal=12,
                               n_ventral=12, size=16, n_frames=6), tmp_path / "s.zarr")
    r = runner.invoke(app, ["compare", "regions", str(tmp_path / "s.zarr"), "--out", str(tmp_path / "streams"),
                            "--permutations", "5", "--features", "gabor"], terminal_width=200)
    assert r.exit_code == 0, r.output
    out = _plain(r.output)
    assert "decoding per region" in out and ("double dissociation" in out)
    page = (tmp_path / "streams" / "report.html").read_text()
    assert "figures/streams.png" in page and "Encoding per region" in page


def test_version_matches_the_package_and_the_changelog():
    import re
    from pathlib import Path

    from cortexkit import __version__

    root = Path(__file__).resolve().parents[1]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"cortexkit {__version__}"
    assert re.search(r'^version = "([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1) == __version__
    assert f"## [{__version__}] - " in (root / "CHANGELOG.md").read_text()
