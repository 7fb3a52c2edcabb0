"""Nothing cortexkit did not write is ever replaced or deleted: every command that writes refuses an
output folder (or store) that holds other files, and a file where it wants a folder, with one line
and exit 2, leaving it exactly as it was; a folder it wrote itself it may write again."""

import re

import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app

runner = CliRunner()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, small_v1):
    """A store, a fitted ridge run, a two-region store, a model file and a benchmark results store."""
    from cortexkit.simulate import simulate_streams

    tmp = tmp_path_factory.mktemp("inputs")
    store = data.save(small_v1, tmp / "v1.zarr")
    assert runner.invoke(app, ["fit", str(store), "--out", str(tmp / "run"), "--features", "pixels,pixel_pca",
                               "-p", "n_components=10"]).exit_code == 0
    data.save(simulate_streams(n_objects=2, n_directions=2, speeds=[1.0], n_starts=1, n_repeats=2, n_dorsal=4,
                               n_ventral=4, size=16, n_frames=5), tmp / "streams.zarr")
    (tmp / "train.yaml").write_text(f"data:\n  - {{path: {store}}}\ncore: {{kind: conv2d, channels: 4, layers: 1, "
                                    "first_kernel: 5}\nepochs: 1\n")
    bench = tmp / "bench"
    assert runner.invoke(app, ["bench", "run", "sim-v1", "--models", "pixel-pca", "--out", str(bench)]).exit_code == 0
    return tmp


# Every command that writes, with {out} where it writes (a folder, or a store).
WRITERS = {
    "demo": "demo --out {out} --n-train 40 --n-test 5 --n-repeats 2",
    "data simulate": "data simulate {out} --n-train 20 --n-test 4 --n-repeats 2 --n-simple 2 --n-complex 2 --size 8",
    "data simulate fmri": "data simulate {out} --population fmri --n-subjects 1 --n-train 20 --n-shared 4 --size 32",
    "data convert": "data convert {shared}/allen_boc_ns118_31px {out} --format allen_boc_ns118",
    "data merge": "data merge {out} a={inputs}/v1.zarr b={inputs}/v1.zarr",
    "features": "features {inputs}/v1.zarr --model pixels --out {out}",
    "fit": "fit {inputs}/v1.zarr --out {out} --features pixels",
    "train": "train {inputs}/train.yaml --out {out}",
    "compare models": "compare models {inputs}/run:pixels {inputs}/run:pixel_pca --out {out} --n-bootstrap 20",
    "compare representations": "compare representations {inputs}/v1.zarr --features pixels --out {out}",
    "compare regions": "compare regions {inputs}/streams.zarr --out {out} --permutations 2 --features gabor",
    "decode reconstruct": "decode reconstruct {inputs}/v1.zarr --out {out} --decoder pca --image-size 16 --permutations 2",
    "decode parameter": "decode parameter {inputs}/streams.zarr object --out {out} --permutations 2",
    "insilico synthesize": "insilico synthesize {inputs}/run --model pixels --units 0 --steps 2 --out {out}",
    "insilico tuning": "insilico tuning {inputs}/run --model pixels --out {out}",
    "insilico design": "insilico design {inputs}/run:pixels --pool {inputs}/v1.zarr --n 3 --out {out}",
    "bench run": "bench run sim-v1 --models pixel-pca --out {out}",
    "bench html": "bench html {inputs}/bench --out {out}",
}


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_folder_of_other_files_is_refused_and_left_as_it_was(command, inputs, tmp_path, shared_data):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my notes")
    (target / "sub").mkdir()
    (target / "sub" / "data.csv").write_text("1,2\n")
    argv = WRITERS[command].format(out=target, inputs=inputs, shared=shared_data).split()
    result = runner.invoke(app, argv)
    text = _plain(result.output).strip()
    assert result.exit_code == 2, (command, result.output)
    assert "holds files cortexkit did not write" in text and str(target) in text, text
    assert len(text.splitlines()) == 1 and "Traceback" not in text
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["notes.txt", "sub", "sub/data.csv"]
    assert (target / "notes.txt").read_text() == "my notes"


@pytest.mark.parametrize("command", ["fit", "data simulate", "features", "bench html", "compare representations"])
def test_a_file_where_a_folder_goes_is_refused(command, inputs, tmp_path, shared_data):
    target = tmp_path / "a_file"
    target.write_text("mine")
    result = runner.invoke(app, WRITERS[command].format(out=target, inputs=inputs, shared=shared_data).split())
    assert result.exit_code == 2 and "is a file" in _plain(result.output), result.output
    assert target.read_text() == "mine"


@pytest.mark.parametrize("command", ["fit", "data simulate", "compare representations",
                                     pytest.param("decode reconstruct", marks=pytest.mark.slow)])  # 13 s; CI runs it
def test_what_cortexkit_wrote_it_may_write_again(command, inputs, tmp_path, shared_data):
    argv = WRITERS[command].format(out=tmp_path / "out", inputs=inputs, shared=shared_data).split()
    first = runner.invoke(app, argv)
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, argv)
    assert again.exit_code == 0, again.output


def test_an_empty_folder_is_fine_and_gets_the_marker(inputs, tmp_path):
    from cortexkit._atomic import MARKER

    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, WRITERS["fit"].format(out=tmp_path / "empty", inputs=inputs).split())
    assert result.exit_code == 0, result.output
    assert (tmp_path / "empty" / MARKER).is_file()


def test_a_store_in_the_data_model_is_replaced_another_zarr_is_not(tmp_path, small_v1):
    """data.save replaces a cortexkit store, but refuses a Zarr store some other tool wrote."""
    import zarr

    from cortexkit.errors import ConfigError

    data.save(small_v1, tmp_path / "mine.zarr")
    data.save(small_v1.isel(unit=[0]), tmp_path / "mine.zarr")  # replaced
    assert data.open(tmp_path / "mine.zarr").sizes["unit"] == 1
    zarr.open_group(str(tmp_path / "other.zarr"), mode="w").create_array("x", shape=(3,), dtype="f4")
    with pytest.raises(ConfigError, match="holds files cortexkit did not write"):
        data.save(small_v1, tmp_path / "other.zarr")
    assert (tmp_path / "other.zarr" / "x").is_dir()
