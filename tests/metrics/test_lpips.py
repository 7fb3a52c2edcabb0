"""LPIPS: equal to the reference implementation (the ``lpips`` package, with the same network
weights) on fixed images, zero on identical images, symmetric, and ordered by distortion strength."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage import data as skdata
from skimage.transform import resize

from cortexkit.features.perceptual import LPIPS
from cortexkit.optional import available, require


@pytest.fixture(scope="module")
def photos():
    """Eight natural images (scikit-image's own) at 64 x 64, RGB in [0, 1]."""
    names = ("astronaut", "chelsea", "coffee", "rocket", "camera", "cat", "immunohistochemistry", "hubble_deep_field")
    out = []
    for name in names:
        img = getattr(skdata, name)().astype(np.float32)
        img = img / 255.0 if img.max() > 1 else img
        img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
        out.append(resize(img, (64, 64), anti_aliasing=True).astype(np.float32))
    return np.stack(out)


@pytest.mark.parametrize("net", ["alex", pytest.param("vgg", marks=pytest.mark.slow)])  # VGG: 8 s; CI runs it
def test_identity_symmetry_and_order_of_distortions(photos, net, imagenet_weights):
    lpips = LPIPS(net)
    np.testing.assert_allclose(lpips(photos, photos), 0.0, atol=1e-6)
    rng = np.random.default_rng(0)
    noisy = np.clip(photos + rng.normal(0, 0.1, photos.shape), 0, 1).astype(np.float32)
    np.testing.assert_allclose(lpips(photos, noisy), lpips(noisy, photos), rtol=1e-5)
    # stronger noise and stronger blur are further away, image by image
    for distort in (lambda x, s: np.clip(x + rng.normal(0, s, x.shape), 0, 1).astype(np.float32),
                    lambda x, s: gaussian_filter(x, (0, 20 * s, 20 * s, 0)).astype(np.float32)):
        d = np.stack([lpips(photos, distort(photos, s)) for s in (0.02, 0.05, 0.1, 0.2)])
        assert (np.diff(d, axis=0) > 0).all()
    # another image is further than a mild distortion of the same one
    assert (lpips(photos, np.roll(photos, 1, axis=0)) > lpips(photos, distort(photos, 0.02))).all()


@pytest.mark.optional
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_equals_the_reference_implementation(photos, net, imagenet_weights):
    """The ``lpips`` package (v0.1 heads shipped in it) with cortexkit's network weights loaded:
    the same distance to 1e-5 on photos against noisy, blurred and other photos."""
    if not (available("lpips") and available("torchvision")):
        pytest.skip("needs the lpips reference package (`make extras` installs it)")
    require("torchvision")
    import lpips as reference
    import torch

    ours = LPIPS(net)
    ref = reference.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    # the reference's network is torchvision's `features` cut into slices named by the same indices
    state = {}
    for key, value in ours.net.state_dict().items():
        index = key.split(".")[0]
        module = next(name for name, m in ref.net.named_children() if index in dict(m.named_children()))
        state[f"{module}.{key}"] = value
    ref.net.load_state_dict(state)
    rng = np.random.default_rng(1)
    others = [np.clip(photos + rng.normal(0, 0.1, photos.shape), 0, 1), gaussian_filter(photos, (0, 1.5, 1.5, 0)),
              np.roll(photos, 1, axis=0)]
    for other in others:
        other = other.astype(np.float32)
        with torch.no_grad():
            expected = ref(torch.from_numpy(photos).permute(0, 3, 1, 2), torch.from_numpy(other).permute(0, 3, 1, 2),
                           normalize=True).flatten().numpy()
        np.testing.assert_allclose(ours(photos, other), expected, rtol=1e-4, atol=1e-5)
