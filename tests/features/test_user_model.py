"""Your own model plugs in without editing cortexkit: a feature space or a trained predictor's core
named as path/to/file.py:Name, under a documented contract, with errors naming file and attribute."""

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.errors import ConfigError, DataError
from cortexkit.features import get_extractor
from cortexkit.features.cache import feature_key

MODEL = '''
import numpy as np
import torch
from torch import nn


class MyNet(nn.Module):
    """Two convolutions; LAYERS names what cortexkit reads by default."""
    LAYERS = ["conv", "head"]

    def __init__(self, width=4):
        super().__init__()
        torch.manual_seed(SEED)
        self.conv = nn.Conv2d(3, width, 5)
        self.head = nn.Conv2d(width, 2, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)))


def energy(stimuli):
    """A plain callable: stimuli -> {layer: (n, features)}."""
    flat = stimuli.reshape(len(stimuli), -1)
    return {"mean": flat.mean(1, keepdims=True), "contrast": flat.std(1, keepdims=True)}


energy.LAYERS = ["mean", "contrast"]


class MyCore(nn.Module):
    """A core: (batch, channel, y, x) centred images -> (batch, out_channels, y', x')."""

    def __init__(self, channels=4, in_channels=1):
        super().__init__()
        self.out_channels = channels
        self.conv = nn.Conv2d(in_channels, channels, 5, padding=2)

    def forward(self, x):
        return torch.nn.functional.elu(self.conv(x))


class NoChannels(nn.Module):
    def forward(self, x):
        return x
'''


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mymodels" / "model.py"
    path.parent.mkdir()
    path.write_text(MODEL.replace("SEED", "0"))
    return path


def test_a_torch_module_class_is_a_multi_layer_feature_space(model_file, small_v1):
    images = small_v1["stimuli"].values[:10]
    ex = get_extractor(f"{model_file}:MyNet", {"args": {"width": 3}, "pool": 2})
    features = ex.fit(images).extract(images)
    assert list(features) == ["conv", "head"] and features["conv"].shape == (10, 3 * 2 * 2)
    # the contract: (batch, 3, y, x) in [0, 1], gray repeated; each layer average-pooled to pool x pool
    ref = ex.built_.eval()
    x = torch.from_numpy(images[:, None].repeat(3, 1).astype(np.float32))
    with torch.no_grad():
        conv = torch.nn.functional.adaptive_avg_pool2d(ref.conv(x), 2).flatten(1).numpy()
    np.testing.assert_allclose(features["conv"], conv, rtol=1e-5, atol=1e-6)


def test_a_plain_callable_and_the_fit_command(model_file, small_store, tmp_path):
    images = data.load(small_store)["stimuli"].values
    features = get_extractor(f"{model_file}:energy").fit(images).extract(images)
    np.testing.assert_allclose(features["mean"][:, 0], images.reshape(len(images), -1).mean(1), rtol=1e-6)
    result = CliRunner().invoke(app, ["fit", str(small_store), "--out", str(tmp_path / "run"), "--features",
                                      f"{model_file}:MyNet,{model_file}:energy", "--permutations", "0"])
    assert result.exit_code == 0, result.output
    models = sorted(p.stem for p in (tmp_path / "run" / "models").glob("*.npz"))
    assert models == ["MyNet.conv", "MyNet.head", "energy.contrast", "energy.mean"]
    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 4 * 12


def test_cached_features_follow_edits_of_the_file(model_file, small_v1):
    images = small_v1["stimuli"].values[:4]
    before = feature_key(get_extractor(f"{model_file}:MyNet"), images)
    assert feature_key(get_extractor(f"{model_file}:MyNet"), images) == before
    model_file.write_text(MODEL.replace("SEED", "1"))
    assert feature_key(get_extractor(f"{model_file}:MyNet"), images) != before


def test_errors_name_the_file_and_the_attribute(model_file, tmp_path, small_v1):
    images = small_v1["stimuli"].values[:4]
    with pytest.raises(DataError, match=r"nowhere.py: no such Python file"):
        get_extractor(f"{tmp_path}/nowhere.py:MyNet").fit(images)
    with pytest.raises(ConfigError, match=r"model.py has no attribute 'Nope'; it defines: .*MyCore, MyNet"):
        get_extractor(f"{model_file}:Nope").fit(images)
    with pytest.raises(ConfigError, match=r"no layer\(s\) fc in MyNet"):
        get_extractor(f"{model_file}:MyNet", {"layers": ["fc"]}).fit(images)
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(ConfigError, match=r"broken.py: importing it failed \(ModuleNotFoundError"):
        get_extractor(f"{tmp_path / 'broken.py'}:X").fit(images)


def test_your_own_core_in_a_predictor_config(model_file, small_store, tmp_path):
    from cortexkit.encoding.predictor import PredictorConfig, SessionSpec
    from cortexkit.encoding.predictor.model import make_core
    from cortexkit.pipelines import evaluate_predictor, train_predictor

    config = PredictorConfig(data=[SessionSpec(path=str(small_store), key="v1")], core={"kind": f"{model_file}:MyCore", "channels": 3},
                             readout={"kind": "gaussian2d"}, epochs=2, batch_size=32, seed=0)
    run = train_predictor(config, tmp_path / "run", log=lambda *_: None)
    evaluate_predictor(run, tmp_path / "run")
    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 12
    with pytest.raises(ConfigError, match=r"core '.*model.py:NoChannels' has no integer attribute 'out_channels'"):
        make_core({"kind": f"{model_file}:NoChannels"})


KINDS = '''
import numpy as np
from torch import nn


class Callable:
    """A callable class: cortexkit builds it, then calls the instance with the stimuli."""
    def __init__(self, scale=1.0):
        self.scale = scale

    def __call__(self, stimuli):
        return self.scale * stimuli.reshape(len(stimuli), -1)[:, :5]


def factory():
    """A function returning a module."""
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())


def plain(stimuli):
    return stimuli.reshape(len(stimuli), -1)[:, :3]


class Failing(nn.Module):
    def forward(self, x):
        raise ValueError("shape mismatch in my layer")


def broken(stimuli):
    raise RuntimeError("my bug")


def nans(stimuli):
    out = stimuli.reshape(len(stimuli), -1)[:, :4].copy()
    out[:2] = np.nan
    return out


def rows(stimuli):
    return np.zeros((len(stimuli) + 1, 3))


class Exploding:
    def __init__(self):
        raise KeyError("no config")
'''


def test_every_documented_kind_and_what_user_code_raises(tmp_path, small_v1):
    """A module class, a factory returning a module, a plain function and a callable class each become a
    feature space; an exception in the user's code, NaN/inf or rows that do not match the stimuli are one
    error naming the file and the object."""
    path = tmp_path / "kinds.py"
    path.write_text(KINDS)
    x = np.asarray(small_v1["stimuli"].values[:6])
    out = get_extractor(f"{path}:Callable", {"args": {"scale": 2.0}}).fit(x).extract(x)
    np.testing.assert_allclose(out["output"], 2.0 * x.reshape(6, -1)[:, :5])
    assert get_extractor(f"{path}:factory").fit(x).extract(x)["output"].shape[0] == 6
    np.testing.assert_allclose(get_extractor(f"{path}:plain").fit(x).extract(x)["output"], x.reshape(6, -1)[:, :3])
    cases = {"Failing": r"kinds.py: Failing.forward raised ValueError: shape mismatch in my layer",
             "broken": r"kinds.py: broken raised RuntimeError: my bug",
             "nans": r"kinds.py: nans returned 8 NaN/inf value\(s\) in layer 'output' \(2 of 6 stimuli\)",
             "rows": r"kinds.py: rows returned shape \(7, 3\) for 6 stimuli",
             "Exploding": r"kinds.py: building Exploding raised KeyError: 'no config'"}
    for name, message in cases.items():
        with pytest.raises(DataError, match=message):
            get_extractor(f"{path}:{name}").fit(x).extract(x)
