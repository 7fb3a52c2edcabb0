"""The plugin registry and config resolution shared by every command."""

import pytest
from pydantic import BaseModel, ConfigDict, Field

from cortexkit.config import parse_key_values, resolve_config
from cortexkit.errors import ConfigError
from cortexkit.registry import Registry


def test_registry_decorator_lookup_and_defaults():
    things = Registry("widget")

    @things.register("plain")
    @things.register("big", size=10)
    class Widget:
        def __init__(self, size=1):
            self.size = size

    assert things.lookup("plain") is Widget
    assert things.lookup("big")().size == 10 and things.lookup("big")(size=3).size == 3
    with pytest.raises(ConfigError, match=r"unknown widget 'small'; available: big, plain"):
        things.lookup("small")


def test_every_family_uses_the_registry():
    from cortexkit.benchmarks import BENCHMARKS
    from cortexkit.data.readers import READERS
    from cortexkit.decoding import DECODERS
    from cortexkit.encoding.cores import CORES
    from cortexkit.encoding.readouts import READOUTS
    from cortexkit.features import EXTRACTORS

    expected = [(READERS, {"cowley2023", "nsd", "sensorium2023"}), (EXTRACTORS, {"gabor", "alexnet", "expansion"}),
                (CORES, {"conv2d", "transformer", "transfer"}), (READOUTS, {"gaussian2d", "factorized", "linear"}),
                (DECODERS, {"pca", "diffusion", "search"}), (BENCHMARKS, {"cowley2023-v4", "allen-ns118"})]
    for registry, names in expected:
        assert isinstance(registry, Registry) and names <= set(registry), registry.kind
    assert list(BENCHMARKS) == ["cowley2023-v4", "cowley2023-v4-reconstruction", "cowley2023-v4-paper", "allen-ns118", "goris2015-v1v2",
                                "gold-mt-direction", "sim-v1", "sim-mt", "sim-fmri", "sim-v1-reconstruction",
                                    "sim-v1-video-reconstruction"]  # listing order = import order


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = "cpu"
    cv: int = Field(5, ge=2)


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    inner: _Inner = Field(default_factory=_Inner)


def test_resolve_config_layers_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\ninner: {cv: 7}\n")
    cfg = resolve_config(_Outer, path, {"seed": None, "inner": {"device": "cuda", "cv": None}})
    assert (cfg.seed, cfg.inner.device, cfg.inner.cv) == (3, "cuda", 7)  # None = not given; nested dicts merge
    assert resolve_config(_Outer, None, {"seed": 5}).seed == 5
    with pytest.raises(ConfigError, match=r"option\(s\) \['n_units'\] do not apply to --population v1"):
        resolve_config(_Outer, None, {"n_units": 4}, context="--population v1")
    with pytest.raises(ConfigError, match=r"options: inner.cv: Input should be greater than or equal to 2"):
        resolve_config(_Outer, None, {"inner": {"cv": 1}})


def test_parse_key_values():
    assert parse_key_values(["a=1", "b=true", "c=x,y", "d="]) == {"a": 1, "b": True, "c": "x,y", "d": None}
    with pytest.raises(ConfigError, match="--option expects key=value, got 'oops'"):
        parse_key_values(["oops"])


def test_shipped_stacked_model_names_models_it_fits():
    """The stacked V4 model parses and combines every layer of every member (none picked by hand)."""
    from cortexkit.benchmarks import get_model
    from cortexkit.pipelines.ridge import stack_components
    from cortexkit.pipelines.ridge.config import model_names

    config = get_model("stacked-v4").encoding()
    every = [name for spec in config.features for _, name in model_names(spec)]
    assert config.stack.models == []
    assert [name for _, _, name in stack_components(config)] == every
    assert {name.split(".")[0] for name in every} == {"alexnet", "vgg16", "expansion", "gabor"}, every
