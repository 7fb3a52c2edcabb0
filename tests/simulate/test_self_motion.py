"""Self-motion movies: the optic-flow truth follows the heading and rotation as projective geometry
says, the rendered dots move as that flow says, and the MSTd-like units fire most for their
preferred heading."""

import numpy as np

from cortexkit.simulate import render_self_motion, simulate_self_motion
from cortexkit.simulate.self_motion import heading_vectors


def _motion(az=0.0, el=0.0, speed=0.3, yaw=0.0, pitch=0.0, n=1):
    return {"heading_azimuth": np.full(n, az), "heading_elevation": np.full(n, el), "speed": np.full(n, speed),
            "yaw": np.full(n, yaw), "pitch": np.full(n, pitch)}


def test_the_focus_of_expansion_is_the_heading():
    g = 16
    for az, el in ((0, 0), (20, 0), (-25, 10), (10, -20)):
        _, flow = render_self_motion(_motion(az, el), fov=90, flow_grid=g)
        # the focus of expansion sits at (tan az, tan el / cos az) in image coordinates (focal length 1
        # at a 90-degree field of view); find where the flow vanishes by least squares on its expansion
        centres = (np.arange(g) + 0.5) / g * 2 - 1
        x, y = np.meshgrid(centres, -centres)
        u, v = flow[0, ..., 0], -flow[0, ..., 1]  # v upward
        # translation-only flow is radial about the focus: u (y - fy) = v (x - fx), i.e. v fx - u fy = v x - u y
        A = np.column_stack([v.ravel(), -u.ravel()])
        fx, fy = np.linalg.lstsq(A, (v * x - u * y).ravel(), rcond=None)[0]
        h = heading_vectors([az], [el])[0]
        np.testing.assert_allclose([fx, fy], [h[0] / h[2], h[1] / h[2]], atol=0.02)
        assert np.all(u * (x - fx) + v * (y - fy) > 0)  # moving forward: everything expands


def test_rendered_dots_move_as_the_flow_says():
    """A pure yaw shifts the whole (narrow-field) image sideways by the flow's dx each frame."""
    movies, flow = render_self_motion(_motion(speed=1e-9, yaw=2.0), fov=30, size=64, n_dots=2000, n_frames=4)
    a, b = movies[0, 1] - movies[0, 1].mean(), movies[0, 2] - movies[0, 2].mean()
    spectrum = np.fft.ifft2(np.fft.fft2(b) * np.conj(np.fft.fft2(a)) / (np.abs(np.fft.fft2(a) * np.fft.fft2(b)) + 1e-9))
    dy, dx = np.unravel_index(np.argmax(np.abs(spectrum)), spectrum.shape)
    dx = dx - 64 if dx > 32 else dx
    dy = dy - 64 if dy > 32 else dy
    assert flow[0, ..., 0].mean() < -2  # turning right: the scene moves left
    assert abs(dx - flow[0, ..., 0].mean()) <= 1.0 and abs(dy) <= 1


def test_units_prefer_their_heading_and_the_recording_is_reproducible():
    ds = simulate_self_motion(n_train=400, n_test=20, n_units=30, seed=3)
    rate = ds["true_rate"].values
    heading = heading_vectors(ds["heading_azimuth"].values, ds["heading_elevation"].values)
    pref = heading_vectors(ds["pref_azimuth"].values, ds["pref_elevation"].values)
    translational = ds["rotation_weight"].values < 0.3
    # the stimulus that drives a translation-tuned unit most heads within 35 degrees of its preference
    best = heading[np.argmax(rate, axis=0)]
    angle = np.rad2deg(np.arccos(np.clip(np.sum(best * pref, 1), -1, 1)))
    assert translational.sum() >= 5 and np.median(angle[translational]) < 35
    assert ds["optic_flow"].shape == (420, 8, 8, 2) and set(np.unique(ds["split"].values)) == {"train", "test"}
    again = simulate_self_motion(n_train=400, n_test=20, n_units=30, seed=3)
    np.testing.assert_array_equal(ds["responses"].values, again["responses"].values)
    np.testing.assert_array_equal(ds["stimuli"].values, again["stimuli"].values)
