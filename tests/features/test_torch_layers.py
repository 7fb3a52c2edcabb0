import numpy as np
import pytest
import torch
from torch import nn

from cortexkit.errors import ConfigError
from cortexkit.features import PretrainedCNN, TorchExtractor


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.block = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1))
        self.head = nn.Linear(6, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        h = self.block(x)
        return self.head(h.mean((2, 3)))


@pytest.fixture
def images():
    return np.random.default_rng(0).random((5, 16, 16, 3)).astype(np.float32)


def test_hooks_pooling_and_projection(images):
    net = Tiny()
    ext = TorchExtractor(net, layers=["block.0", "block.2", "head"], pool=2, batch_size=2).fit(images)
    out = ext.extract(images)
    assert list(out) == ["block.0", "block.2", "head"]
    assert out["block.0"].shape == (5, 4 * 2 * 2) and out["block.2"].shape == (5, 6 * 4) and out["head"].shape == (5, 2)
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2)
        expected = torch.nn.functional.adaptive_avg_pool2d(net.block[0](x), 2).flatten(1).numpy()
    np.testing.assert_allclose(out["block.0"], expected, rtol=1e-5, atol=1e-6)
    proj = TorchExtractor(net, layers=["block.0"], pool=None, projection=10, seed=1).fit(images)
    a = proj.extract(images)["block.0"]
    assert a.shape == (5, 10)
    np.testing.assert_array_equal(a, TorchExtractor(net, layers=["block.0"], pool=None, projection=10, seed=1).fit(images).extract(images)["block.0"])
    assert ext.transform(images).shape == (5, 16 + 24 + 2)


def test_forward_stops_after_the_deepest_layer(images):
    net = Tiny()
    called = []
    net.head.register_forward_hook(lambda *a: called.append(1))
    TorchExtractor(net, layers=["block.0"]).fit(images).extract(images)
    assert not called  # the head never ran


def test_grayscale_inputs_and_errors(images):
    gray = images[..., 0]
    out = TorchExtractor(Tiny(), layers=["block.2"]).fit(gray).extract(gray)
    assert out["block.2"].shape[0] == 5
    with pytest.raises(ConfigError, match=r"no layer\(s\) block.9 in Tiny"):
        TorchExtractor(Tiny(), layers=["block.9"]).fit(images)
    with pytest.raises(ConfigError, match="needs a torch.nn.Module"):
        TorchExtractor("alexnet", layers=["x"]).fit(images)


def test_random_alexnet_is_deterministic_per_seed(images):
    a = PretrainedCNN("alexnet", weights="random", seed=0, image_size=64, layers=["conv3"]).fit(images).transform(images)
    b = PretrainedCNN("alexnet", weights="random", seed=0, image_size=64, layers=["conv3"]).fit(images).transform(images)
    c = PretrainedCNN("alexnet", weights="random", seed=1, image_size=64, layers=["conv3"]).fit(images).transform(images)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (5, 384 * 36)


def test_layer_lists():
    assert PretrainedCNN("alexnet").layer_list() == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert len(PretrainedCNN("vgg16").layer_list()) == 13
    assert PretrainedCNN("efficientnet_lite0").layer_list()[-1] == "logits"
