"""The pretrained architectures: weight conversion, ImageNet sanity, checkpoints and errors."""

import pickle

import numpy as np
import pytest
import skimage.data
import torch

from cortexkit.errors import ConfigError, DataError
from cortexkit.features import PretrainedCNN
from cortexkit.features.networks import build
from cortexkit.features.networks.weights import load_lpips_pickle

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def _numpy_conv(x, kernel, bias, stride, pad):
    """Flax/LPIPS semantics, independently: out[y, x, o] = sum_ijc in[y s + i, x s + j, c] k[i, j, c, o]."""
    x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    kh, kw = kernel.shape[:2]
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.empty((oh, ow, kernel.shape[3]))
    flat_k = kernel.reshape(-1, kernel.shape[3])
    for yy in range(oh):
        for xx in range(ow):
            patch = x[yy * stride : yy * stride + kh, xx * stride : xx * stride + kw]
            out[yy, xx] = patch.reshape(-1) @ flat_k
    return out + bias


def test_alexnet_conversion_matches_source_semantics(imagenet_weights):
    """Our torch AlexNet's first two layers equal a direct NumPy evaluation of the flax kernels."""
    blob = load_lpips_pickle(imagenet_weights["alexnet"])["AlexNet_0"]
    rng = np.random.default_rng(0)
    img = rng.standard_normal((67, 67, 3)).astype(np.float32)
    net = build("alexnet")
    with torch.no_grad():
        feats = net.features[:4](torch.from_numpy(img).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    h = np.maximum(_numpy_conv(img, blob["Conv_0"]["kernel"], blob["Conv_0"]["bias"], 4, 2), 0)
    # 3x3 max pooling, stride 2
    p = np.stack([[h[y * 2 : y * 2 + 3, x * 2 : x * 2 + 3].max((0, 1)) for x in range((h.shape[1] - 3) // 2 + 1)]
                  for y in range((h.shape[0] - 3) // 2 + 1)])
    ref = _numpy_conv(p, blob["Conv_1"]["kernel"], blob["Conv_1"]["bias"], 1, 2)
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-3)


def test_vgg16_first_layer_matches_source_semantics(imagenet_weights):
    blob = load_lpips_pickle(imagenet_weights["vgg16"])["VGG16_0"]
    img = np.random.default_rng(1).standard_normal((12, 12, 3)).astype(np.float32)
    with torch.no_grad():
        ours = build("vgg16").features[0](torch.from_numpy(img).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, _numpy_conv(img, blob["Conv_0"]["kernel"], blob["Conv_0"]["bias"], 1, 1), rtol=1e-4, atol=1e-4)


def test_trained_first_layer_filters_are_smooth(imagenet_weights):
    """ImageNet conv1 filters are spatially smooth (edges, colour blobs); random ones are not."""
    def smoothness(w):
        w = w - w.mean((2, 3), keepdim=True)
        a, b = w[..., :, :-1].flatten(1), w[..., :, 1:].flatten(1)
        return torch.nn.functional.cosine_similarity(a, b).mean().item()

    assert smoothness(build("alexnet").features[0].weight) > 0.5
    assert abs(smoothness(build("alexnet", "random").features[0].weight)) < 0.1


def test_efficientnet_lite0_sees_the_cat(imagenet_weights):
    cat = skimage.data.chelsea().astype(np.float32)[None] / 255
    extractor = PretrainedCNN("efficientnet_lite0", layers=["logits"]).fit(cat)
    logits = extractor.extract(cat)["logits"][0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert int(np.argmax(logits)) in CAT_CLASSES
    assert probs[list(CAT_CLASSES)].sum() > 0.8


def test_alexnet_reference_values(imagenet_weights):
    """Regression values of the converted AlexNet on chelsea at 224 px (recorded once, globally pooled)."""
    cat = skimage.data.chelsea().astype(np.float32)[None] / 255
    feats = PretrainedCNN("alexnet", pool="global").fit(cat).extract(cat)
    expected = {"conv1": (0.31759, 1.7721), "conv2": (0.49567, 3.5595), "conv3": (0.57042, 2.6307),
                "conv4": (0.64894, 3.0734), "conv5": (0.4414, 3.5684)}
    for layer, (mean, top) in expected.items():
        assert feats[layer].mean() == pytest.approx(mean, abs=2e-4)
        assert feats[layer].max() == pytest.approx(top, abs=2e-3)


def test_user_checkpoint_round_trip(tmp_path):
    net = build("alexnet", "random", seed=3)
    torch.save(net.state_dict(), tmp_path / "mine.pt")
    imgs = np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32)
    a = PretrainedCNN("alexnet", weights="random", seed=3, image_size=64, layers=["conv2"]).fit(imgs).transform(imgs)
    b = PretrainedCNN("alexnet", weights=str(tmp_path / "mine.pt"), image_size=64, layers=["conv2"]).fit(imgs).transform(imgs)
    np.testing.assert_allclose(a, b)


def test_wrong_architecture_and_corrupt_files(tmp_path, imagenet_weights):
    imgs = np.zeros((1, 32, 32, 3), np.float32)
    torch.save(build("alexnet", "random").state_dict(), tmp_path / "alex.pt")
    with pytest.raises(DataError, match=r"alex.pt: does not match the VGG16 architecture: 22 missing .*, 6 unexpected"):
        PretrainedCNN("vgg16", weights=str(tmp_path / "alex.pt")).fit(imgs)
    state = build("alexnet", "random").state_dict()
    state["features.0.weight"] = torch.zeros(64, 3, 7, 7)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(DataError, match=r"shape.pt: parameter features.0.weight has shape \(64, 3, 7, 7\), the architecture \(64, 3, 11, 11\)"):
        PretrainedCNN("alexnet", weights=str(tmp_path / "shape.pt")).fit(imgs)
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match=r"junk.pt: cannot read the checkpoint"):
        PretrainedCNN("alexnet", weights=str(tmp_path / "junk.pt")).fit(imgs)
    (tmp_path / "junk.ckpt").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataError, match=r"junk.ckpt: expected a dict of arrays, got list"):
        PretrainedCNN("alexnet", weights=str(tmp_path / "junk.ckpt")).fit(imgs)
    vgg_blob = load_lpips_pickle(imagenet_weights["vgg16"])
    (tmp_path / "vgg_as_alex.ckpt").write_bytes(pickle.dumps(vgg_blob))
    with pytest.raises(DataError, match=r"vgg_as_alex.ckpt: has no 'AlexNet_0' parameters"):
        PretrainedCNN("alexnet", weights=str(tmp_path / "vgg_as_alex.ckpt")).fit(imgs)
    with pytest.raises(DataError, match=r"nothere.pt: no such weights file"):
        PretrainedCNN("alexnet", weights=str(tmp_path / "nothere.pt")).fit(imgs)


def test_missing_offline_weights_explains(monkeypatch):
    import cortexkit.features.networks.weights as w

    monkeypatch.setattr(w, "_package_dir", lambda name: None)
    monkeypatch.delenv("CORTEXKIT_WEIGHTS", raising=False)
    with pytest.raises(ConfigError, match="make weights"):
        w.find_weights("alexnet")


def test_unknown_layer_and_arch():
    with pytest.raises(ConfigError, match=r"alexnet has no layer\(s\) conv9; its layers: conv1, conv2"):
        PretrainedCNN("alexnet", layers=["conv9"]).layer_list()
    with pytest.raises(ConfigError, match="unknown architecture 'resnet50'"):
        PretrainedCNN("resnet50").fit(np.zeros((1, 8, 8)))
