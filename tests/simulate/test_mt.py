import numpy as np

from cortexkit import data, metrics
from cortexkit.encoding import RidgeCV
from cortexkit.features import GaborPyramid, MotionEnergy, extract_features
from cortexkit.simulate import motion_movies, simulate_mt


def test_movies():
    movies, info = motion_movies(20, 16, 8, seed=1)
    assert movies.shape == (20, 8, 16, 16) and movies.min() >= 0 and movies.max() <= 1
    assert set(info["kind"]) == {"grating", "natural"}
    np.testing.assert_array_equal(movies, motion_movies(20, 16, 8, seed=1)[0])


def test_units_are_direction_selective():
    from cortexkit.render import drifting_gratings
    from cortexkit.simulate.mt import MTPopulation

    pop = MTPopulation.sample(8, 24, 12, seed=2)
    for u, p in pop.params.iterrows():
        movies = np.concatenate([
            drifting_gratings([p.direction + offset], [p.wavelength], [p.temporal_frequency], [0.0], [1.0],
                              size=24, n_frames=12)
            for offset in (0.0, 90.0, 180.0)])
        pref, orth, null = pop.rates(movies)[:, u]
        assert pref > 3 * max(orth, null, 1e-3)  # preferred direction >> orthogonal and opposite


def test_motion_energy_beats_2d_features_on_mt():
    ds = simulate_mt(n_train=600, n_test=60, n_repeats=8, n_units=16, seed=4)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y = data.repeat_average(train).values
    rep = data.repeats(test).values
    scores = {}
    for name, ext in [("motion", MotionEnergy(temporal_frequencies=(0.0, 0.125, 0.25))), ("2d", GaborPyramid())]:
        a = extract_features(ext, train["stimuli"].values)
        b = extract_features(ext, test["stimuli"].values, fit_stimuli=train["stimuli"].values)
        (a,), (b,) = a.values(), b.values()
        s = a.std()
        pred = RidgeCV().fit(a / s, y).predict(b / s)
        scores[name] = np.median(metrics.feve(rep, pred))
    assert scores["motion"] > 0.6
    assert scores["motion"] > scores["2d"] + 0.3
