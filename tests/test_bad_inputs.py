"""Bad input of every command ends with exit code 2 and one line naming the option, file or field,
never a traceback, and leaves no partial output. Add a row for every new command or option."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cortexkit.cli import app

runner = CliRunner()

# (arguments; {store}, {cfg} (its folder), {tmp} (an empty folder) and {shared} are filled in), expected text of the error line
CASES = [
    ("data simulate {tmp}/x.zarr --n-train -5", "n_train: Input should be greater than or equal to 1"),
    ("data simulate {tmp}/x.zarr --n-train 0", "n_train: Input should be greater than or equal to 1"),
    ("data simulate {tmp}/x.zarr --n-repeats 0", "n_repeats: Input should be greater than or equal to 2"),
    ("data simulate {tmp}/x.zarr --size 0", "size: Input should be greater than or equal to 8"),
    ("data simulate {tmp}/x.zarr --n-simple 0 --n-complex 0", "n_simple + n_complex must be at least 1"),
    ("data simulate {tmp}/x.zarr --population v2", "--population must be one of ['v1', 'mt', 'fmri', 'streams'], got 'v2'"),
    ("fit {store} --out {tmp}/r --features pixels,pixels", "feature spaces need distinct labels"),
    ("fit {store} --out {tmp}/r --features pixel_pca -p n_components=-3", "'n_components' parameter of PixelPCA must be an int in the range [1, inf)"),
    ("fit {store} --out {tmp}/r --features pixel_pca -p n_components=0", "'n_components' parameter of PixelPCA must be an int in the range [1, inf)"),
    ("fit {store} --out {tmp}/r --features gabor -p n_orientations=abc", "'n_orientations' parameter of GaborPyramid must be an int"),
    ("fit {store} --out {tmp}/r --features pixels -p bogus=1", "no feature space in ['pixels'] takes parameter(s) ['bogus']"),
    ("fit {store} --out {tmp}/r --features ,", "--features is empty"),
    ("fit {store} --out {tmp}/r --features gabor --layers conv9", "--layers applies to multi-layer feature spaces"),
    ("fit {store} --out {tmp}/r --features alexnet --layers conv9 -p weights=random", "alexnet has no layer(s) ['conv9']"),
    ("fit {store} --out {tmp}/r --features pixels --device tpu", "device: Value error, device must be cpu, cuda or cuda:N, got 'tpu'"),
    ("fit {store} --out {tmp}/r --model nope", "unknown model 'nope'"),
    ("fit {store} --out {tmp}/r --model stacked-v4 --config {cfg}/ok.yaml", "give --config or --model, not both"),
    ("fit {store} --out {tmp}/r --features vgg99", "unknown feature extractor 'vgg99'"),
    ("fit {tmp}/missing.zarr --out {tmp}/r", "missing.zarr: no such file or directory"),
    ("fit {store} --out /proc/cortexkit-run --features pixels", "/proc/cortexkit-run: No such file or directory"),
    ("train {cfg}/lr.yaml --out {tmp}/t", "lr.yaml: lr: Input should be greater than 0"),
    ("train {cfg}/channels.yaml --out {tmp}/t", "bad core parameters {'channels': -8"),
    ("train {cfg}/ok.yaml --out {tmp}/t --device tpu", "device: Value error, device must be cpu, cuda or cuda:N, got 'tpu'"),
    ("train {cfg}/ok.yaml --out {tmp}/t --epochs 0", "epochs: Input should be greater than or equal to 1"),
    ("decode reconstruct {store} --out {tmp}/rr --image-size 0", "image_size: Input should be greater than or equal to 8"),
    ("decode reconstruct {store} --out {tmp}/rr --permutations -1", "n_permutations: Input should be greater than or equal to 0"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder vae", "unknown decoder 'vae'"),
    ("decode reconstruct {store} {tmp}/missing.zarr --out {tmp}/rr --decoder pca", "missing.zarr: no such file or directory"),
    ("data merge {tmp}/m.zarr a={store}", "needs two or more recordings to merge, got 1"),
    ("data merge {tmp}/m.zarr a={store} b={tmp}/missing.zarr", "missing.zarr: no such file or directory"),
    ("data merge {tmp}/m.zarr a={store} b={store} --match name", "match must be one of ['stimulus', 'content'], got 'name'"),
    ("data merge {tmp}/m.zarr a={store} {store}", "expected AREA=STORE"),
    ("compare regions {store} --out {tmp}/s", "needs units of two or more regions"),
    ("compare regions {store} --out {tmp}/s --similarity cca", "similarity must be 'cka' or 'rsa', got 'cca'"),
    ("data convert {shared}/gold_mt_dots {tmp}/g.zarr --format gold_mt --option size=0", "reader option size must be a positive number, got 0"),
    ("data convert {tmp} {tmp}/o.zarr --format nope", "unknown format 'nope'"),
    ("bench run nope --out {tmp}/lb", "unknown benchmark 'nope'"),
    ("bench run --models nope --out {tmp}/lb", "unknown model 'nope'"),
    ("bench run sim-mt --models gabor --out {tmp}/lb", "no model of ['gabor'] runs on ['sim-mt']"),
    ("bench run sim-v1 sim-v1 --out {tmp}/lb", "benchmarks named twice: ['sim-v1']"),
    ("bench run --models {tmp}/absent.yaml --out {tmp}/lb", "absent.yaml: no such model file"),
    ("bench run sim-v1 --recordings nope --models gabor --out {tmp}/lb", "benchmark 'sim-v1' has no recording(s) ['nope']"),
    ("bench run --recordings seed0 --out {tmp}/lb", "--recordings names recordings of one benchmark"),
    ("bench show --out {tmp}/lb", "no benchmark results here"),
    ("bench show sim-v1 --out {tmp}/lb --view cells", "--view must be recordings, layers or areas"),
    ("bench html {tmp}/site --out {tmp}/lb", "no benchmark results here"),
    ("decode parameter {store} orientation --method lda", "method must be one of ['logistic', 'poisson']"),
    ("decode reconstruct {store} --out {tmp}/rr --decoder ,", "--decoder is empty"),
    ("list nouns", "nothing to list called 'nouns'"),
    ("data info {cfg}/missing_chunk.zarr", "'responses': 1 of 1 chunk(s) are missing from the store"),
    ("data info {cfg}/truncated_chunk.zarr", "'responses': cannot read this array"),
    ("evaluate {tmp}", "not a run directory"),
]


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, small_v1):
    from cortexkit import data

    tmp = tmp_path_factory.mktemp("bad")
    store = data.save(small_v1, tmp / "v1.zarr")
    (tmp / "lr.yaml").write_text(f"data:\n  - {{path: {store}}}\nlr: -1\n")
    import shutil

    for damaged in ("missing_chunk", "truncated_chunk"):
        copy = Path(shutil.copytree(store, tmp / f"{damaged}.zarr"))
        chunk = next(p for p in (copy / "responses").rglob("*") if p.is_file() and p.name != "zarr.json")
        if damaged == "missing_chunk":
            chunk.unlink()
        else:
            chunk.write_bytes(chunk.read_bytes()[:50])
    (tmp / "ok.yaml").write_text(f"data:\n  - {{path: {store}}}\n")
    (tmp / "channels.yaml").write_text(f"data:\n  - {{path: {store}}}\ncore: {{kind: conv2d, channels: -8}}\n")
    return tmp, store


@pytest.mark.parametrize("args, expected", CASES, ids=[c[0].split()[0] + ":" + c[1][:40] for c in CASES])
def test_bad_input_is_one_line_with_exit_2(setup, args, expected, tmp_path):
    from tests.conftest import SHARED_DATA

    tmp, store = setup
    if "{shared}" in args and not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data")
    out = tmp_path / "case"
    out.mkdir()
    argv = args.format(store=store, cfg=tmp, tmp=out, shared=SHARED_DATA).split()
    before = set(out.iterdir())
    result = runner.invoke(app, argv)
    text = _plain(result.stderr if hasattr(result, "stderr") else result.output).strip()
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    assert text.startswith("error:") and expected in text, text
    left = {p.name for p in set(out.iterdir()) - before}
    assert not left, f"left behind: {sorted(left)}"
