import numpy as np
import pytest

from cortexkit.errors import ConfigError
from cortexkit.features import GaborPyramid
from cortexkit.filters import gabor, gabor_pair
from cortexkit.simulate import gratings


def test_gabor_is_zero_mean_unit_norm():
    g = gabor((21, 21), 10, 10, 0.3, 6.0, 3.0, phase=0.0)
    assert abs(g.sum()) < 1e-5
    assert abs(np.linalg.norm(g) - 1) < 1e-5
    even, odd = gabor_pair((21, 21), 10, 10, 0.3, 6.0, 3.0)
    assert abs((even * odd).sum()) < 0.05  # quadrature pair: nearly orthogonal


def test_feature_table_matches_output_width():
    stim, _ = gratings(16)
    pyr = GaborPyramid().fit(stim)
    feats = pyr.transform(stim)
    assert feats.shape == (len(stim), len(pyr.features_))
    assert set(pyr.features_["output"]) == {"energy", "even", "odd"}
    assert sorted(pyr.features_["wavelength"].unique()) == pytest.approx([4, 4 * 2**0.5, 8])


def test_linear_outputs_equal_explicit_filters():
    # The strided FFT-free convolution must equal a dot product with the filter at that position.
    rng = np.random.default_rng(0)
    stim = rng.random((3, 20, 20)).astype(np.float32)
    pyr = GaborPyramid(n_orientations=4, outputs=("linear",)).fit(stim)
    feats = pyr.transform(stim)
    table = pyr.features_
    for idx in rng.choice(len(table), 25, replace=False):
        row = table.iloc[idx]
        sigma = pyr.sigma_per_wavelength * row.wavelength
        phase = 0.0 if row.output == "even" else np.pi / 2
        # The kernel lives on its own grid; normalise the same way, centred at the position.
        half = int(np.ceil(3 * sigma))
        k = gabor((2 * half + 1, 2 * half + 1), half, half, np.deg2rad(row.orientation), row.wavelength, sigma, phase)
        padded = np.pad(stim - 0.5, ((0, 0), (half, half), (half, half)))
        y, x = int(row.y), int(row.x)
        patch = padded[:, y : y + 2 * half + 1, x : x + 2 * half + 1]
        np.testing.assert_allclose(feats[:, idx], (patch * k).sum((1, 2)), rtol=1e-4, atol=1e-5)


def test_energy_is_phase_invariant_and_orientation_selective():
    stim, params = gratings(32, orientations=[0, 45, 90, 135], wavelengths=[8], phases=range(0, 360, 45))
    pyr = GaborPyramid(outputs=("energy",)).fit(stim)
    feats = pyr.transform(stim)
    t = pyr.features_
    xs = np.sort(t.x[t.wavelength == 8].unique())
    mid = xs[len(xs) // 2]  # a grid position near the centre
    centre = (t.wavelength == 8) & (t.x == mid) & (t.y == mid)
    for ori in [0, 45, 90, 135]:
        col = np.flatnonzero(centre & (t.orientation == ori))[0]
        resp = feats[:, col]
        same = (params.orientation == ori).to_numpy()
        assert resp[same].std() / resp[same].mean() < 0.02  # invariant to the grating's phase
        assert resp[same].mean() > 5 * resp[~same & (np.abs(params.orientation - ori) == 90)].mean()


def test_color_uses_luminance():
    stim, _ = gratings(16, color=True)
    gray, _ = gratings(16)
    a = GaborPyramid().fit(stim).transform(stim)
    b = GaborPyramid().fit(gray).transform(gray)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_settings():
    stim, _ = gratings(16)
    with pytest.raises(ConfigError, match="outputs must be a non-empty subset"):
        GaborPyramid(outputs=("phase",)).fit(stim)
    with pytest.raises(ConfigError, match="min_wavelength must be >= 2"):
        GaborPyramid(min_wavelength=1).fit(stim)


def test_batching_does_not_change_results():
    stim = np.random.default_rng(2).random((10, 16, 16)).astype(np.float32)
    a = GaborPyramid(batch_size=3).fit(stim).transform(stim)
    b = GaborPyramid(batch_size=100).fit(stim).transform(stim)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
