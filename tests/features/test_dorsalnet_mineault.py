"""The published DorsalNet (Mineault et al. 2021) reproduces the original module's blocks.

The reference folder is ``$CORTEXKIT_REFERENCE_DORSALNET`` when set (any folder of the same layout:
``dorsalnet.pt`` and ``reference.npz`` with ``pixels``, ``input`` and one array per block), else
``../shared/data/dorsalnet_mineault2021``."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cortexkit.errors import ConfigError, DataError
from cortexkit.features import get_extractor
from cortexkit.features.networks.dorsalnet_mineault import BLOCKS, load_mineault_dorsalnet, normalize

from ..conftest import SHARED_DATA

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference():
    folder = Path(os.environ.get("CORTEXKIT_REFERENCE_DORSALNET", SHARED_DATA / "dorsalnet_mineault2021"))
    if not (folder / "dorsalnet.pt").is_file():
        pytest.skip(f"no DorsalNet reference folder at {folder}")
    return folder, dict(np.load(folder / "reference.npz"))


def check_blocks(model, ref: dict) -> None:
    """Each block of ``model`` on the reference input equals the original's (to TOLERANCE)."""
    np.testing.assert_allclose(normalize(torch.from_numpy(ref["pixels"][:, 0])).numpy(), ref["input"], atol=TOLERANCE)
    with torch.no_grad():
        out = model.blocks(torch.from_numpy(ref["input"]))
    for name in BLOCKS:
        if name in ref:
            np.testing.assert_allclose(out[name].numpy(), ref[name], rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


@pytest.mark.reference
def test_published_weights_reproduce_the_original_blocks(reference):
    folder, ref = reference
    check_blocks(load_mineault_dorsalnet(folder / "dorsalnet.pt"), ref)


@pytest.mark.reference
def test_a_reference_perturbed_by_1e_3_fails(reference):
    folder, ref = reference
    model = load_mineault_dorsalnet(folder / "dorsalnet.pt")
    for name in BLOCKS:
        bent = {k: v.copy() for k, v in ref.items()}
        bent[name].flat[bent[name].size // 2] += 1e-3
        with pytest.raises(AssertionError):
            check_blocks(model, bent)


@pytest.mark.reference
def test_the_feature_space_returns_the_pooled_blocks(reference):
    folder, ref = reference
    videos = ref["pixels"][:, 0]  # gray clips (n, t, y, x): the three channels are equal
    ex = get_extractor("dorsalnet_mineault", {"weights": str(folder / "dorsalnet.pt"), "layers": list(BLOCKS), "pool": 2})
    features = ex.fit(videos).extract(videos)
    for name in BLOCKS:
        pooled = torch.nn.functional.adaptive_avg_pool3d(torch.from_numpy(ref[name]), (1, 2, 2)).flatten(1).numpy()
        np.testing.assert_allclose(features[name], pooled, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


def test_wrong_files_and_settings_are_one_line(reference, tmp_path):
    folder, _ = reference
    with pytest.raises(ConfigError, match="dorsalnet_mineault needs the published weights: -p weights=PATH"):
        get_extractor("dorsalnet_mineault").fit(np.zeros((2, 4, 16, 16), np.float32))
    with pytest.raises(ConfigError, match="has no block\\(s\\) res9"):
        get_extractor("dorsalnet_mineault", {"weights": str(folder / "dorsalnet.pt"), "layers": ["res9"]}).fit(
            np.zeros((2, 4, 16, 16), np.float32))
    state = torch.load(folder / "dorsalnet.pt", map_location="cpu", weights_only=True)
    del state["subnet.res2.branch2.b.weight"]
    torch.save(state, tmp_path / "cut.pt")
    with pytest.raises(DataError, match=r"cut.pt: is not the published DorsalNet: it lacks key 'res2.branch2.b.weight'"):
        load_mineault_dorsalnet(tmp_path / "cut.pt")
    state = torch.load(folder / "dorsalnet.pt", map_location="cpu", weights_only=True)
    state["subnet.res1.branch2.c.weight"] = torch.zeros(32, 8, 3, 1, 1)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(DataError, match=r"key 'res1.branch2.c.weight' has shape \(32, 8, 3, 1, 1\); DorsalNet's is \(32, 8, 1, 1, 1\)"):
        load_mineault_dorsalnet(tmp_path / "shape.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.pt: cannot read the checkpoint"):
        load_mineault_dorsalnet(tmp_path / "junk.pt")
