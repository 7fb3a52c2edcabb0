"""Extractors by name, so that configs and the CLI can refer to them.

Each extractor's module registers it with ``@EXTRACTORS.register(name)``. ``alexnet``, ``vgg16``
and ``efficientnet_lite0`` are :class:`~cortexkit.features.PretrainedCNN` with that ``arch`` (pass
``weights: random`` for the untrained control, or a checkpoint path). ``timm:NAME``,
``torchvision:NAME`` and ``open_clip:NAME`` name a model of that library (the extractor registered
as ``timm`` etc. with ``model=NAME``); ``path/to/model.py:Name`` and ``package.module:Name`` name
your own model (:mod:`cortexkit.features.user_model`).
"""

from __future__ import annotations

from typing import Any

from cortexkit.errors import ConfigError
from cortexkit.registry import Registry

EXTRACTORS = Registry("feature extractor")


def get_extractor(name: str, params: dict[str, Any] | None = None):
    """An unfitted extractor by registry name, with keyword parameters.

    Raises
    ------
    ConfigError
        For an unknown name or parameters the extractor does not take.
    """
    params = dict(params or {})
    from cortexkit.registry import is_user_reference

    if is_user_reference(name):  # path/to/model.py:Name or package.module:Name: the user's own model
        params["source"] = name
        name = "user"
    elif ":" in name:  # library:model
        name, model = name.split(":", 1)
        if not model:
            raise ConfigError(f"name a model after {name + ':'!r}, e.g. timm:resnet50")
        params["model"] = model
    factory = EXTRACTORS.lookup(name)
    try:
        extractor = factory(**params)
        extractor._validate_params()  # each extractor's _parameter_constraints (scikit-learn's checks)
    except (TypeError, ValueError) as exc:  # unknown names; sklearn's InvalidParameterError is both
        accepted = sorted(factory().get_params(deep=False))
        raise ConfigError(f"bad parameters for feature extractor {name!r}: {exc} (it takes {accepted})") from None
    return extractor
