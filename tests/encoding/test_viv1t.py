"""ViV1T's checkpoint folders load into an architecture-faithful module that reproduces the original.

The folder is ``$CORTEXKIT_REFERENCE_VIV1T`` when set (any folder of the layout: ``args.yaml``,
``ckpt/model_state.pt``, ``reference.npz`` with ``mouse_ids`` and, per mouse M, ``video_M``,
``behavior_M``, ``pupil_center_M``, ``output_M``; optionally ``core_M``, ``shifts_M``,
``readout_mu_M``), else ``../shared/data/viv1t_reference``."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cortexkit.encoding.viv1t import load_viv1t
from cortexkit.errors import ConfigError, DataError

from ..conftest import SHARED_DATA

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference():
    folder = Path(os.environ.get("CORTEXKIT_REFERENCE_VIV1T", SHARED_DATA / "viv1t_reference"))
    if not (folder / "args.yaml").is_file():
        pytest.skip(f"no ViV1T reference folder at {folder}")
    return folder, dict(np.load(folder / "reference.npz"))


def outputs(model, ref: dict) -> dict[str, np.ndarray]:
    """Every mouse's outputs, core, shifts and readout positions on its reference inputs."""
    out = {}
    for m in ref["mouse_ids"]:
        video, behavior, pupil = (torch.from_numpy(ref[f"{k}_{m}"]) for k in ("video", "behavior", "pupil_center"))
        with torch.no_grad():
            response, core = model(video, str(m), behavior, pupil)
            out[f"output_{m}"], out[f"core_{m}"] = response.numpy(), core.numpy()
            out[f"shifts_{m}"] = model.shifters[str(m)](pupil[..., -core.shape[2]:]).numpy()
            out[f"readout_mu_{m}"] = model.readouts[str(m)].positions().numpy()
    return out


@pytest.fixture(scope="module")
def computed(reference):
    folder, ref = reference
    return outputs(load_viv1t(folder), ref)


def check(got: dict, ref: dict) -> None:
    compared = [k for k in got if k in ref]
    assert any(k.startswith("output_") for k in compared)
    for key in compared:
        np.testing.assert_allclose(got[key], ref[key], rtol=0, atol=TOLERANCE, err_msg=key)


@pytest.mark.reference
def test_the_checkpoint_reproduces_every_mouse(reference, computed):
    check(computed, reference[1])


@pytest.mark.reference
def test_a_reference_perturbed_by_1e_3_fails(reference, computed):
    ref, got = reference[1], computed
    for key in [k for k in ref if k.startswith(("output_", "core_"))]:
        bent = {k: v.copy() for k, v in ref.items()}
        bent[key].flat[bent[key].size // 3] += 1e-3
        with pytest.raises(AssertionError):
            check(got, bent)


def test_bad_folders_are_one_line(reference, tmp_path):
    folder, _ = reference
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    with pytest.raises(DataError, match=r"run_without/args.yaml: missing \(the run's arguments; a ViV1T run folder holds"):
        load_viv1t(tmp_path / "run_without")
    args = (copy / "args.yaml").read_text()
    (copy / "args.yaml").write_text(args.replace("core_patch_mode: 0", "core_patch_mode: 1"))
    with pytest.raises(ConfigError, match="core_patch_mode: 1 is not implemented"):
        load_viv1t(copy)
    (copy / "args.yaml").write_text(args.replace("core_emb_dim: 32", "core_emb_dim: 48"))
    with pytest.raises(DataError, match=r"key 'core.vivit.tokenizer.spatial_pos_embedding' has shape \(1, 1, 435, 32\); args.yaml gives \(1, 1, 435, 48\)"):
        load_viv1t(copy)
    (copy / "args.yaml").write_text(args)
    saved = torch.load(copy / "ckpt" / "model_state.pt", map_location="cpu", weights_only=True)
    del saved["model"]["readouts.B.features"]
    torch.save(saved, copy / "ckpt" / "model_state.pt")
    with pytest.raises(DataError, match="does not match args.yaml: it lacks key 'readouts.B.features'"):
        load_viv1t(copy)
