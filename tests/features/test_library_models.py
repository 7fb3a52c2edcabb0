"""Models by name from timm, torchvision and open_clip: real loading code on weights saved in each
library's own format, agreement with cortexkit's own networks, and one-line errors."""

import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cortexkit.errors import ConfigError, DataError
from cortexkit.features import PretrainedCNN, extract_features, get_extractor
from cortexkit.optional import available, require

HAVE = all(available(p) for p in ("torchvision", "timm", "open_clip", "safetensors"))
pytestmark = [pytest.mark.optional, pytest.mark.skipif(
    not HAVE, reason="needs the optional model libraries (`make extras`, or `make test-all`, installs them)")]
tv, timm, open_clip = (require(p) for p in ("torchvision", "timm", "open_clip")) if HAVE else (None, None, None)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 48, 48, 3)).astype(np.float32)


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """Point every library cache at empty folders: nothing may come from (or go to) the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


def _manual(net, module, x, pool=6):
    """Adaptive-pooled output of one module of net for a prepared batch, without cortexkit."""
    out = {}
    handle = module.register_forward_hook(lambda m, i, o: out.setdefault("y", o))
    with torch.no_grad():
        net(x)
    handle.remove()
    y = out["y"]
    if y.ndim == 5:
        y = y.mean(2)
    if y.ndim == 3:
        return y.mean(1).numpy()
    return F.adaptive_avg_pool2d(y, pool).flatten(1).numpy()


def _prepared(images, size, mean, std):
    from cortexkit.image import resize

    x = torch.from_numpy(resize(images, size)).permute(0, 3, 1, 2)
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def test_timm_weights_from_a_safetensors_file(tmp_path, images):
    """A state dict saved with safetensors loads, and the features are the network's own layer outputs."""
    from safetensors.torch import save_file

    torch.manual_seed(3)
    net = timm.create_model("test_resnet", pretrained=False).eval()
    path = tmp_path / "test_resnet.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    ex = get_extractor("timm:test_resnet", {"weights": str(path), "layers": ["layer2", "layer4"]})
    feats = extract_features(ex, images)
    cfg = net.pretrained_cfg
    x = _prepared(images, cfg["input_size"][-1], cfg["mean"], cfg["std"])
    for layer in ("layer2", "layer4"):
        np.testing.assert_allclose(feats[layer], _manual(net, dict(net.named_modules())[layer], x), rtol=1e-4, atol=1e-5)
    # `layers: all` is timm's own list of stage outputs
    assert get_extractor("timm:test_resnet").layer_list() == [f["module"] for f in net.feature_info]
    # random weights differ from the loaded ones, and are seeded
    a = extract_features(get_extractor("timm:test_resnet", {"weights": "random", "layers": ["layer2"]}), images)
    b = extract_features(get_extractor("timm:test_resnet", {"weights": "random", "layers": ["layer2"]}), images)
    np.testing.assert_array_equal(a["layer2"], b["layer2"])
    assert not np.allclose(a["layer2"], feats["layer2"])


def test_timm_vit_tokens_are_averaged(images):
    ex = get_extractor("timm:test_vit", {"weights": "random", "layers": ["blocks.1"]})
    f = extract_features(ex, images)["blocks.1"]
    net = ex.net_
    x = _prepared(images, ex.input_size_, net.pretrained_cfg["mean"], net.pretrained_cfg["std"])
    np.testing.assert_allclose(f, _manual(net, net.blocks[1], x), rtol=1e-4, atol=1e-5)
    assert f.shape == (len(images), net.embed_dim)


@pytest.mark.parametrize("arch,tv_name,layers", [
    ("alexnet", "alexnet", {"conv1": "features.1", "conv2": "features.4", "conv5": "features.11"}),
    ("vgg16", "vgg16", {"conv1_2": "features.3", "conv3_3": "features.15", "conv5_1": "features.25"}),
])
def test_offline_imagenet_weights_reproduce_features_in_torchvision(tmp_path, images, imagenet_weights, arch, tv_name, layers):
    """The shipped AlexNet/VGG16 weights, loaded into torchvision's architecture, give today's features to 1e-4."""
    ours = PretrainedCNN(arch, layers=list(layers)).fit(images)
    expected = ours.extract(images)
    net = tv.models.get_model(tv_name, weights=None)
    state = net.state_dict()
    state.update(ours.net_.state_dict())  # the conv stack; torchvision's classifier stays as initialised
    path = tmp_path / f"{tv_name}.pth"
    torch.save(state, path)
    got = extract_features(get_extractor(f"torchvision:{tv_name}", {"weights": str(path), "layers": list(layers.values())}),
                           images)
    for short, module in layers.items():
        np.testing.assert_allclose(got[module], expected[short], rtol=1e-4, atol=1e-4)


def _lite0_to_timm(state: dict) -> dict:
    """The efficientnet-lite0 package's state dict under timm's tf_efficientnet_lite0 names."""
    repeats = (1, 2, 2, 3, 3, 4, 1)
    where = [(s, b) for s, r in enumerate(repeats) for b in range(r)]
    first = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    rest = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
            "_project_conv": "conv_pwl", "_bn2": "bn3"}
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            s, b = where[int(parts[1])]
            names = first if s == 0 else rest
            out[".".join(["blocks", str(s), str(b), names[parts[2]], *parts[3:]])] = value
        else:
            out[".".join([top[parts[0]], *parts[1:]])] = value
    return out


def test_offline_efficientnet_lite0_reproduces_features_in_timm(tmp_path, images, imagenet_weights, monkeypatch):
    """The shipped EfficientNet-lite0 weights in timm's tf_efficientnet_lite0 give today's stage features to 1e-4."""
    from cortexkit.features.library import TimmModel

    state = torch.load(imagenet_weights["efficientnet_lite0"], map_location="cpu", weights_only=True)
    path = tmp_path / "lite0.pth"
    torch.save(_lite0_to_timm(state), path)
    stages = ["stage2", "stage4", "stage7"]
    expected = PretrainedCNN("efficientnet_lite0", layers=stages).fit(images).extract(images)
    # cortexkit's EfficientNet-lite0 normalises with ImageNet statistics; timm's config says 0.5
    monkeypatch.setattr(TimmModel, "_preprocessing", lambda self, net: (224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
    got = extract_features(get_extractor("timm:tf_efficientnet_lite0", {"weights": str(path),
                                                                       "layers": ["blocks.1", "blocks.3", "blocks.6"]}), images)
    for stage, block in zip(stages, ["blocks.1", "blocks.3", "blocks.6"]):
        np.testing.assert_allclose(got[block], expected[stage], rtol=1e-4, atol=1e-4)


def test_torchvision_video_model_takes_whole_videos(tmp_path):
    """r3d_18 sees (n, 3, time, y, x) clips with Kinetics normalisation; a gray movie fills 3 channels."""
    torch.manual_seed(1)
    net = tv.models.get_model("r3d_18", weights=None).eval()
    path = tmp_path / "r3d.pth"
    torch.save(net.state_dict(), path)
    videos = np.random.default_rng(1).random((3, 6, 32, 32)).astype(np.float32)
    ex = get_extractor("torchvision:r3d_18", {"weights": str(path), "layers": ["layer2"], "image_size": 32, "pool": 2})
    assert ex.accepts_video
    f = extract_features(ex, videos)["layer2"]
    x = torch.from_numpy(videos)[:, None].expand(-1, 3, -1, -1, -1)
    mean, std = torch.tensor([0.43216, 0.394666, 0.37645]), torch.tensor([0.22803, 0.22145, 0.216989])
    x = (x - mean[None, :, None, None, None]) / std[None, :, None, None, None]
    np.testing.assert_allclose(f, _manual(net, net.layer2, x, pool=2), rtol=1e-4, atol=1e-5)
    assert get_extractor("torchvision:r3d_18").layer_list() == ["stem", "layer1", "layer2", "layer3", "layer4"]
    with pytest.raises(DataError, match="takes videos"):
        ex.extract(videos[:, 0])


@pytest.fixture
def tiny_clip(tmp_path):
    """A tiny OpenCLIP architecture registered from a JSON config, its random weights saved."""
    cfg = {"embed_dim": 16,
           "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "cortexkit-tiny-vit.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(folder)
    torch.manual_seed(0)
    model = open_clip.create_model("cortexkit-tiny-vit").eval()
    path = tmp_path / "tiny_clip.pt"
    torch.save(model.state_dict(), path)
    return model, path


def test_open_clip_image_embedding_and_text(tiny_clip, images):
    model, path = tiny_clip
    ex = get_extractor("open_clip:cortexkit-tiny-vit", {"weights": str(path)})
    assert ex.layer_list() == ["output"]
    f = extract_features(ex, images)["output"]
    x = _prepared(images, 32, model.visual.image_mean or (0.48145466, 0.4578275, 0.40821073),
                  model.visual.image_std or (0.26862954, 0.26130258, 0.27577711))
    with torch.no_grad():
        np.testing.assert_allclose(f, model.encode_image(x).numpy(), rtol=1e-4, atol=1e-5)
    text = ex.text_features(["a cat", "a grating"])
    with torch.no_grad():
        ref = model.encode_text(open_clip.get_tokenizer("cortexkit-tiny-vit")(["a cat", "a grating"])).numpy()
    np.testing.assert_allclose(text, ref, rtol=1e-4, atol=1e-5)
    blocks = extract_features(get_extractor("open_clip:cortexkit-tiny-vit",
                                            {"weights": str(path), "layers": ["transformer.resblocks.1"]}), images)
    assert blocks["transformer.resblocks.1"].shape == (len(images), 32)


@pytest.mark.parametrize("name,fragment", [
    ("timm:resnet18", "weights for timm:resnet18 not found at"),
    ("torchvision:resnet18", "resnet18-f37072fd.pth; download them on a machine with internet with `curl -L -o"),
    ("torchvision:r3d_18", "r3d_18-b3b3357e.pth"),
])
def test_absent_pretrained_weights_are_one_line(name, fragment, images):
    with pytest.raises(ConfigError) as err:
        get_extractor(name).fit(images)
    message = str(err.value)
    assert fragment in message and "weights: PATH" in message and "\n" not in message


def test_absent_open_clip_weights_are_one_line(images):
    with pytest.raises(ConfigError, match=r"weights for open_clip:ViT-B-32 not found at .*pretrained='openai'"):
        get_extractor("open_clip:ViT-B-32").fit(images)
    with pytest.raises(ConfigError, match="no pretrained tag 'nope' for ViT-B-32"):
        get_extractor("open_clip:ViT-B-32", {"weights": "nope"}).fit(images)


def test_bad_names_layers_and_files(tmp_path, images):
    with pytest.raises(ConfigError, match="timm has no model 'resnet5000'"):
        get_extractor("timm:resnet5000", {"weights": "random"}).fit(images)
    with pytest.raises(ConfigError, match="torchvision has no model 'nonet'"):
        get_extractor("torchvision:nonet", {"weights": "random"}).fit(images)
    with pytest.raises(ConfigError, match=r"timm:test_resnet has no layer\(s\) layer9;"):
        get_extractor("timm:test_resnet", {"layers": ["layer9"]}).layer_list()
    with pytest.raises(ConfigError, match="name a model after 'timm:'"):
        get_extractor("timm:")
    with pytest.raises(DataError, match="no such weights file"):
        get_extractor("timm:test_resnet", {"weights": str(tmp_path / "absent.pth")}).fit(images)
    wrong = tmp_path / "wrong.pth"
    torch.save(tv.models.get_model("resnet18", weights=None).state_dict(), wrong)
    with pytest.raises(DataError, match=r"wrong.pth: does not match timm test_resnet: \d+ missing"):
        get_extractor("timm:test_resnet", {"weights": str(wrong)}).fit(images)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="corrupt.safetensors: cannot read the weights"):
        get_extractor("timm:test_resnet", {"weights": str(corrupt)}).fit(images)
    with pytest.raises(ConfigError, match="bad parameters"):
        get_extractor("timm:test_resnet", {"dtype": "float8"})


def test_missing_library_names_the_extra():
    with pytest.raises(ConfigError, match=r"needs the not_a_package package \(missing module 'not_a_package'\): `make "
                                          r"extras` installs .* elsewhere pip install \"cortexkit\[zoo\]\""):
        require("not_a_package", "something")


def test_bfloat16_autocast_is_close(images):
    a = extract_features(get_extractor("timm:test_resnet", {"weights": "random", "layers": ["layer2"]}), images)["layer2"]
    b = extract_features(get_extractor("timm:test_resnet", {"weights": "random", "layers": ["layer2"], "dtype": "bfloat16"}),
                         images)["layer2"]
    assert b.dtype == np.float32
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_library_cache_weights_are_found_and_listed(tmp_path, images):
    """torchvision's own checkpoint folder is where `weights: pretrained` looks; the listing says so."""
    from typer.testing import CliRunner

    from cortexkit.cli import app

    torch.manual_seed(2)
    net = tv.models.get_model("r3d_18", weights=None)
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(net.state_dict(), folder / "r3d_18-b3b3357e.pth")
    ex = get_extractor("torchvision:r3d_18", {"layers": ["stem"], "image_size": 16}).fit(np.zeros((2, 4, 16, 16), np.float32))
    np.testing.assert_array_equal(ex.net_.stem[0].weight.detach().numpy(), net.stem[0].weight.detach().numpy())
    listing = CliRunner().invoke(app, ["list", "features"], terminal_width=250)
    assert listing.exit_code == 0, listing.output
    rows = {l.strip("│ ").split(" ")[0]: l for l in listing.output.splitlines()}  # the "models by name" rows
    assert "present" in rows["torchvision:r3d_18"] and "r3d_18-b3b3357e.pth" in rows["torchvision:r3d_18"]
    assert "absent" in rows["torchvision:resnet50"]


def test_cli_features_by_library_name(tmp_path, small_store):
    """`cortexkit features STORE --model timm:NAME -p weights=FILE` runs the real loading code end to end."""
    import xarray as xr
    from typer.testing import CliRunner

    from cortexkit.cli import app

    torch.manual_seed(4)
    path = tmp_path / "w.pth"
    torch.save(timm.create_model("test_resnet", pretrained=False).state_dict(), path)
    out = tmp_path / "feats.zarr"
    result = CliRunner().invoke(app, ["features", str(small_store), "--model", "timm:test_resnet", "--layers", "layer1,layer3",
                                      "-p", f"weights={path}", "-p", "image_size=32", "--out", str(out)],
                                env={"CORTEXKIT_CACHE": str(tmp_path / "cache")}, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "layer1" in result.output and "layer3" in result.output
    bad = CliRunner().invoke(app, ["features", str(small_store), "--model", "torchvision:resnet18"],
                             env={"CORTEXKIT_CACHE": str(tmp_path / "cache")}, terminal_width=300)
    assert bad.exit_code == 2 and "weights for torchvision:resnet18 not found at" in bad.output


def test_reconstruction_metric_models_present_or_skipped_with_reason(tmp_path, small_store, monkeypatch):
    """Metric models whose weights sit in torch.hub's folder are used (EfficientNet-B1, SwAV); the
    others are skipped with the one-line reason, listed in skipped_metrics.json."""
    import pandas as pd

    from cortexkit.features.perceptual import SWAV_FILE, metric_extractors
    from cortexkit.pipelines import ReconstructionConfig, run_reconstruction

    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(tv.models.get_model("efficientnet_b1", weights=None).state_dict(),
               folder / os.path.basename(tv.models.get_model_weights("efficientnet_b1").DEFAULT.url))
    trunk = tv.models.resnet50(weights=None).state_dict()
    swav = {f"module.{k}": v for k, v in trunk.items() if not k.startswith("fc.")}
    swav["module.projection_head.0.weight"] = torch.zeros(2, 2)  # the SwAV head, ignored
    torch.save({"state_dict": swav}, folder / SWAV_FILE)
    available, skipped = metric_extractors()
    assert set(available) == {"effnet_b1", "swav"} and set(skipped) == {"clip", "inception"}
    assert "inception_v3_google" in skipped["inception"] and "\n" not in skipped["inception"]

    # the run with these models at 64 px (their 224-240 px inputs take most of a minute on 2 cores)
    import cortexkit.features.perceptual as perceptual

    for ex, _ in available.values():
        ex.image_size = 64
    monkeypatch.setattr(perceptual, "metric_extractors", lambda device="cpu": (available, skipped))
    out = tmp_path / "recon"
    cfg = ReconstructionConfig(decoders=[{"name": "pca"}], image_size=32, n_permutations=0)
    table = run_reconstruction(small_store, out, cfg, log=lambda *a: None).set_index("method")
    assert {"2way_effnet_b1", "dist_swav"} <= set(table.columns) and "2way_clip" not in table.columns
    # the scores are the metric functions on the models' features of the saved reconstructions
    from cortexkit import data
    from cortexkit.metrics.reconstruction import feature_distance, identification
    from cortexkit.pipelines.reconstruction import prepare_stimuli

    gt = prepare_stimuli(data.select(data.load(small_store), "test")["stimuli"].values, 32)
    rec = np.load(out / "reconstructions" / "pca.npz")["reconstructions"]
    (swav_ex, _), (eff_ex, _) = available["swav"], available["effnet_b1"]
    f = lambda ex, x: extract_features(ex, x)["avgpool"]
    np.testing.assert_allclose(table.loc["pca", "dist_swav"], feature_distance(f(swav_ex, gt), f(swav_ex, rec)).mean(), rtol=1e-5)
    np.testing.assert_allclose(table.loc["pca", "2way_effnet_b1"], identification(f(eff_ex, gt), f(eff_ex, rec)).mean(), rtol=1e-5)
    assert set(json.loads((out / "skipped_metrics.json").read_text())) == {"clip", "inception"}


def test_feature_distance_is_one_minus_r():
    from cortexkit.metrics.reconstruction import feature_distance

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 30)), rng.standard_normal((5, 30))
    expected = [1 - np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    np.testing.assert_allclose(feature_distance(a, b), expected, rtol=1e-10)
    np.testing.assert_allclose(feature_distance(a, a), 0, atol=1e-12)


def test_cli_fit_with_a_library_model(tmp_path, small_store):
    """`cortexkit fit --features timm:NAME` names the model in results like any feature space."""
    import pandas as pd
    from typer.testing import CliRunner

    from cortexkit.cli import app

    torch.manual_seed(5)
    path = tmp_path / "w.pth"
    torch.save(timm.create_model("test_resnet", pretrained=False).state_dict(), path)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["fit", str(small_store), "--out", str(out), "--features", "timm:test_resnet",
                                      "--layers", "layer2", "-p", f"weights={path}", "-p", "image_size=32"],
                                env={"CORTEXKIT_CACHE": str(tmp_path / "cache")}, terminal_width=200)
    assert result.exit_code == 0, result.output
    evaluated = CliRunner().invoke(app, ["evaluate", str(out)], terminal_width=200)
    assert evaluated.exit_code == 0, evaluated.output
    assert "timm:test_resnet" in evaluated.output
    cuda = CliRunner().invoke(app, ["fit", str(small_store), "--out", str(tmp_path / "gpu"), "--features", "timm:test_resnet",
                                    "--layers", "layer2", "-p", f"weights={path}", "--device", "cuda"], terminal_width=200)
    if not torch.cuda.is_available():
        assert cuda.exit_code == 2 and "cuda" in cuda.output.lower()


@pytest.mark.slow
def test_library_model_at_full_resolution_in_a_ridge_run(tmp_path, small_store):
    """A full-size torchvision ResNet-18 (random weights saved to a file) at 224 px through `fit` (slow)."""
    from cortexkit.pipelines import EncodingConfig, FeatureSpec, fit_run

    torch.manual_seed(0)
    path = tmp_path / "resnet18.pth"
    torch.save(tv.models.get_model("resnet18", weights=None).state_dict(), path)
    spec = FeatureSpec(name="torchvision:resnet18", params={"weights": str(path), "layers": ["layer2", "layer3"]})
    results = fit_run(small_store, tmp_path / "run", EncodingConfig(features=[spec]), log=lambda *a: None)
    assert results is not None and (tmp_path / "run" / "models").is_dir()
    assert sorted(p.stem for p in (tmp_path / "run" / "models").glob("*.npz")) == ["torchvision:resnet18.layer2",
                                                                                   "torchvision:resnet18.layer3"]


def test_run_model_names_with_colons(tmp_path):
    """RUN:MODEL splits at the run folder, so library model names keep their colon."""
    from cortexkit.evaluation import split_run_model

    run = tmp_path / "run"
    run.mkdir()
    assert split_run_model(f"{run}:timm:resnet50.layer3") == (str(run), "timm:resnet50.layer3")
    assert split_run_model(f"{run}:gabor") == (str(run), "gabor")
    assert split_run_model(str(run)) == (str(run), None)
    assert split_run_model(f"{tmp_path}/absent:gabor") == (f"{tmp_path}/absent:gabor", None)
