"""In-silico experiments recover the ground truth of simulated V1 from a fitted model."""

import numpy as np
import pytest

from cortexkit import data
from cortexkit.errors import ConfigError
from cortexkit.evaluation import load_arrays
from cortexkit.insilico import grating_tuning, most_exciting_inputs, top_images
from cortexkit.pipelines import EncodingConfig, FeatureSpec, fit_run
from cortexkit.pipelines.insilico import response_model


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Ridge on Gabor energy + linear outputs, fitted to 20 simulated V1 cells."""
    from cortexkit.simulate import simulate_v1

    out = tmp_path_factory.mktemp("insilico")
    store = data.save(simulate_v1(n_train=1000, n_test=50, n_simple=10, n_complex=10, seed=3), out / "v1.zarr")
    fit_run(store, out / "run", EncodingConfig(features=[FeatureSpec(name="gabor")]), log=lambda m: None)
    return data.open(store), response_model(out / "run"), out / "run"


def test_the_response_model_reproduces_the_fitted_predictions(fitted):
    ds, model, run = fitted
    test = data.select(ds, "test")
    saved = load_arrays(run / "models" / "gabor.npz")
    pred = model.predict(np.asarray(test["stimuli"].values))
    np.testing.assert_allclose(pred, saved["prediction"], rtol=1e-4, atol=1e-3 * np.abs(saved["prediction"]).max())
    assert list(model.units) == list(ds["unit"].values.astype(str))


def _filter_correlation(image, true_filter):
    mask = np.abs(true_filter) > 0.1 * np.abs(true_filter).max()  # the receptive field
    return abs(np.corrcoef(true_filter[mask], image[mask])[0, 1])


@pytest.mark.slow  # 6-8 s on 2 cores; CI runs it
def test_simple_cell_meis_look_like_their_true_filters(fitted):
    ds, model, _ = fitted
    simple = np.flatnonzero(ds["cell_type"].values == "simple")
    res = most_exciting_inputs(model, simple, steps=150, seed=0)
    r = [_filter_correlation(img, ds["true_filter"].values[u]) for img, u in zip(res.images, simple)]
    assert np.median(r) >= 0.8, np.round(r, 2)
    assert res.images.min() >= 0 and res.images.max() <= 1
    rms = np.sqrt(((res.images - 0.5) ** 2).mean(axis=(1, 2)))
    assert (rms <= 0.2 + 1e-5).all()  # the contrast budget holds
    # The ascent raised every unit's response above that to any test image.
    pool = np.asarray(data.select(ds, "test")["stimuli"].values)
    assert (res.responses > model.predict(pool)[:, simple].max(0)).all()
    again = most_exciting_inputs(model, simple, steps=150, seed=0)
    np.testing.assert_array_equal(again.images, res.images)  # seeded


def test_complex_cell_meis_carry_the_true_orientation(fitted):
    ds, model, _ = fitted
    complex_ = np.flatnonzero(ds["cell_type"].values == "complex")
    res = most_exciting_inputs(model, complex_, steps=150)
    # The MEI's own orientation: the grating orientation its 2D spectrum peaks at.
    errors = []
    for img, u in zip(res.images, complex_):
        spec = np.abs(np.fft.fftshift(np.fft.fft2(img - img.mean())))
        ky, kx = np.unravel_index(np.argmax(spec), spec.shape)
        c = img.shape[0] // 2
        ori = np.rad2deg(np.arctan2(ky - c, kx - c)) % 180
        errors.append(abs((ori - ds["orientation"].values[u] + 90) % 180 - 90))
    assert np.median(errors) <= 15, np.round(errors, 1)


def test_tuning_curves_peak_at_the_true_orientation(fitted):
    ds, model, _ = fitted
    _, preferred = grating_tuning(model, orientations=np.arange(0, 180, 15.0))
    error = np.abs((preferred["orientation"].to_numpy() - ds["orientation"].values + 90) % 180 - 90)
    assert (error <= 15).mean() >= 0.9, np.round(error, 1)
    ratio = preferred["wavelength"].to_numpy() / ds["wavelength"].values
    assert (np.abs(np.log2(ratio)) <= 0.5 + 1e-9).mean() >= 0.9  # within one step of the sqrt(2) grid


def test_least_exciting_inputs_suppress_below_every_image(fitted):
    ds, model, _ = fitted
    pool = np.asarray(data.select(ds, "test")["stimuli"].values)
    res = most_exciting_inputs(model, [0, 1, 2], steps=100, least=True)
    assert (res.responses < model.predict(pool)[:, :3].min(0)).all()
    order, responses = top_images(model, pool, [0], k=2, least=True)
    assert responses[0, 0] == pytest.approx(model.predict(pool)[:, 0].min()) and responses[0, 0] <= responses[0, 1]


def test_top_images_and_bad_units(fitted):
    ds, model, _ = fitted
    pool = np.asarray(data.select(ds, "test")["stimuli"].values)
    order, responses = top_images(model, pool, [0, 1], k=3)
    full = model.predict(pool)
    assert order.shape == (2, 3) and (np.diff(responses, axis=1) <= 0).all()
    assert responses[0, 0] == pytest.approx(full[:, 0].max())
    with pytest.raises(ConfigError, match="out of range"):
        most_exciting_inputs(model, [99])
    with pytest.raises(ConfigError, match="no unit"):
        model.unit_index(["nope"])
    with pytest.raises(ConfigError, match="contrast"):
        most_exciting_inputs(model, [0], contrast=0.9)


def test_synthesize_and_tuning_commands(fitted, tmp_path):
    from typer.testing import CliRunner

    from cortexkit.cli import app

    ds, _, run = fitted
    runner = CliRunner()
    result = runner.invoke(app, ["insilico", "synthesize", str(run), "--units", "0,1", "--out", str(tmp_path / "m"), "--steps", "30",
                                 "--diverse", "2"])
    assert result.exit_code == 0, result.output
    table = __import__("pandas").read_csv(tmp_path / "m" / "meis.csv", dtype={"unit": str})
    assert list(table["unit"]) == list(ds["unit"].values[:2].astype(str)) and (table["ratio"] > 1).all()
    assert sorted(p.name for p in (tmp_path / "m" / "png").iterdir()) == sorted(
        f"{u}{s}.png" for u in table["unit"] for s in ("", "_diverse_1", "_diverse_2"))
    assert (table["diverse_min_fraction"] >= 0.9 - 1e-4).all()
    assert (tmp_path / "m" / "figures" / "meis.png").is_file() and (tmp_path / "m" / "figures" / "diverse.png").is_file()
    page = (tmp_path / "m" / "report.html").read_text()
    assert 'src="figures/meis.png"' in page and 'src="figures/diverse.png"' in page
    result = runner.invoke(app, ["insilico", "tuning", str(run), "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    for name in ("preferred.csv", "figures/orientation_tuning.png", "figures/receptive_fields.png", "report.html"):
        assert (tmp_path / "t" / name).is_file(), name
    preferred = __import__("pandas").read_csv(tmp_path / "t" / "preferred.csv")
    distance = np.hypot(preferred["rf_x"] - ds["rf_x"].values, preferred["rf_y"] - ds["rf_y"].values)
    assert (distance <= 2 * ds["sigma"].values + 2).mean() >= 0.9  # the RF centres, from sparse noise
    maps = load_arrays(tmp_path / "t" / "receptive_fields.npz")
    assert maps["gradient"].shape == (20, 32, 32) and maps["sparse_noise"].shape == (20, 2, 16, 16)
    result = runner.invoke(app, ["insilico", "synthesize", str(run), "--units", "999", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "out of range" in result.output
    result = runner.invoke(app, ["insilico", "synthesize", str(run), "--model", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "has no model 'nope'" in result.output


def test_receptive_field_maps_find_the_true_filters(fitted):
    from cortexkit.insilico import gradient_maps, sparse_noise_maps

    ds, model, _ = fitted
    simple = np.flatnonzero(ds["cell_type"].values == "simple")
    maps = gradient_maps(model, simple)
    r = [_filter_correlation(m, ds["true_filter"].values[u]) for m, u in zip(maps, simple)]
    assert np.median(r) >= 0.8, np.round(r, 2)
    # Sparse noise: the strongest position (|ON| + |OFF| over 2 px squares) sits on the RF centre.
    noise = sparse_noise_maps(model, range(len(model.units)), size=2)
    assert noise.shape == (len(model.units), 2, 16, 16)
    energy = np.abs(noise).sum(axis=1)
    peak = np.array([np.unravel_index(np.argmax(m), m.shape) for m in energy]) * 2 + 0.5
    distance = np.hypot(peak[:, 0] - ds["rf_y"].values, peak[:, 1] - ds["rf_x"].values)
    sigma = ds["sigma"].values
    assert (distance <= 2 * sigma + 2).mean() >= 0.9, np.round(distance / sigma, 1)


def test_device_option_is_checked_before_any_work(fitted, tmp_path):
    """`--device cuda` on a machine without CUDA stops with one line before loading anything."""
    import torch
    from typer.testing import CliRunner

    from cortexkit.cli import app

    run = fitted[2]
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for command in (["insilico", "tuning", str(run), "--out", str(tmp_path / "t")],
                    ["insilico", "synthesize", str(run), "--out", str(tmp_path / "s"), "--steps", "2"]):
        result = CliRunner().invoke(app, command + ["--device", "cuda"], terminal_width=200)
        assert result.exit_code == 2 and "'cuda' is not available" in result.output, result.output
        assert not (tmp_path / command[command.index("--out") + 1].rsplit("/", 1)[-1]).exists()
