import numpy as np
import pytest
from skimage.color import rgb2gray
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from cortexkit.errors import DataError
from cortexkit.metrics import reconstruction as rm


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    gt = rng.random((4, 32, 32, 3))
    rec = np.clip(gt + 0.2 * rng.standard_normal(gt.shape), 0, 1)
    return gt, rec


def test_ssim_brain_diffuser_matches_scikit_image(pair):
    gt, rec = pair
    ours = rm.ssim(gt, rec)
    ref = [structural_similarity(rgb2gray(g), rgb2gray(r), gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1.0) for g, r in zip(gt, rec)]
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_ssim_skimage_default_matches(pair):
    gt, rec = pair
    ref = [structural_similarity(g, r, channel_axis=-1, data_range=1.0) for g, r in zip(gt, rec)]
    np.testing.assert_allclose(rm.ssim(gt, rec, convention="skimage"), ref, atol=1e-10)
    ref_gray = [structural_similarity(g[..., 0], r[..., 0], data_range=1.0) for g, r in zip(gt, rec)]
    np.testing.assert_allclose(rm.ssim(gt[..., 0], rec[..., 0], convention="skimage"), ref_gray, atol=1e-10)


def test_psnr_on_uint8_matches_scikit_image(pair):
    gt, rec = pair
    ref = [peak_signal_noise_ratio(rm.to_uint8(g), rm.to_uint8(r), data_range=255) for g, r in zip(gt, rec)]
    np.testing.assert_allclose(rm.psnr(gt, rec), ref, rtol=1e-12)
    assert np.isinf(rm.psnr(gt, gt)).all()


def test_pixcorr_hand_example():
    gt = np.array([[[0.0, 1.0], [0.0, 1.0]], [[0.0, 0.5], [1.0, 0.5]]])
    rec = np.array([[[0.2, 0.8], [0.2, 0.8]], [[1.0, 0.5], [0.0, 0.5]]])
    np.testing.assert_allclose(rm.pixcorr(gt, rec), [1.0, -1.0])


def test_two_way_identification_hand_example():
    # r[i, j] = corr(gt_i, rec_j); rec 0 beats both other ground truths, rec 1 one of two, rec 2 none.
    gt = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], float)
    rec = np.array([[1, 0, 0, 0], [0.1, 0.5, 0, 0.4], [0.9, 0.9, 0.1, 0.0]], float)
    r = np.corrcoef(gt, rec)[:3, 3:]
    expected = [np.sum(r[:, j] < r[j, j]) / 2 for j in range(3)]
    np.testing.assert_allclose(rm.identification(gt, rec), expected)
    assert expected[0] == 1.0
    np.testing.assert_allclose(rm.retrieval_top1(gt, rec), [float(np.argmax(r[:, j]) == j) for j in range(3)])


def test_n_way_and_chance_level():
    rng = np.random.default_rng(3)
    gt = rng.standard_normal((40, 20))
    assert rm.identification(gt, gt, n_way=5).mean() == 1.0
    noise = rm.identification(gt, rng.standard_normal((40, 20)))
    assert abs(noise.mean() - 0.5) < 0.1
    with pytest.raises(DataError, match="n_way must be between 2 and the number of images"):
        rm.identification(gt, gt, n_way=50)


def test_permutation_pvalue():
    rng = np.random.default_rng(4)
    gt = rng.standard_normal((30, 10))
    good = gt + 0.5 * rng.standard_normal(gt.shape)
    assert rm.identification_pvalue(gt, good, n_permutations=200) < 0.01
    assert rm.identification_pvalue(gt, rng.standard_normal(gt.shape), n_permutations=200) > 0.01
    same = np.broadcast_to(rng.standard_normal(10), gt.shape)  # one image for all, like the mean-image null
    assert np.isnan(rm.identification_pvalue(gt, same, n_permutations=200))


def test_shape_errors():
    with pytest.raises(DataError, match="'reconstructions': shape"):
        rm.pixcorr(np.zeros((2, 8, 8)), np.zeros((2, 8, 9)))
    with pytest.raises(DataError, match="smaller than the 11-px SSIM window"):
        rm.ssim(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))
