"""Fitted models shared between runs: a folder of ``.npz`` models keyed by the hash of the settings
that made them (data fingerprint, feature space, ridge settings, seed, the code of the extractor and
of the ridge fit), so that runs fitting the same model on the same data (the benchmark runner's
cells) fit it once, and a fix to the code fits it again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cortexkit._atomic import copy_file
from cortexkit.evaluation import load_if_settings_match


def fit_code(spec) -> dict[str, str]:
    """Hashes of the code a fitted model of feature space ``spec`` depends on: its extractor's (a
    user's model: its file's content) and the ridge fit's."""
    from cortexkit.code_stamps import code_stamp, modules_hash
    from cortexkit.features.registry import get_extractor

    extractor = get_extractor(spec.name, spec.params)
    return {"features": extractor.code_stamp() if hasattr(extractor, "code_stamp") else code_stamp(extractor),
            "ridge": modules_hash("cortexkit.encoding.ridge", "cortexkit.pipelines.ridge.fit")}


def cached_model(model_cache, settings: str, name: str) -> Path | None:
    """Where a model fitted with ``settings`` sits in the shared cache (None without a cache)."""
    if model_cache is None:
        return None
    return Path(model_cache) / hashlib.sha1(settings.encode()).hexdigest() / f"{name}.npz"


def reuse_model(path: Path, cached: Path | None, settings: str, name: str, log) -> bool:
    """Copy a model with these settings from the shared cache into the run; whether there was one."""
    if cached is None or load_if_settings_match(cached, settings) is None:
        return False
    copy_file(cached, path)
    log(f"{name}: fitted with these settings by another run, reused ({cached})")
    return True
