"""Fuzzing: garbage in a source file gives a DataError naming it, never a raw traceback."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortexkit.data.readers import get_reader
from cortexkit.errors import CortexkitError

from .test_cowley2023 import _write_session


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cowley")
    _write_session(root, "210322", n_images=4)
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300), which=st.sampled_from(["raw", "avg", "zip"]))
def test_garbled_files_raise_data_errors(session_dir, junk, which):
    targets = {
        "raw": session_dir / "responses_raw" / "responses_210322.npy",
        "avg": session_dir / "responses_repeat_averaged" / "responses_210322.npy",
        "zip": session_dir / "images" / "images_210322.zip",
    }
    path = targets[which]
    original = path.read_bytes()
    # Either pure garbage or a valid file cut short at a random point.
    cut = original[: len(junk) * 7 % max(1, len(original))] if junk[:1] == b"\x00" else junk
    path.write_bytes(cut)
    try:
        with pytest.raises(CortexkitError) as info:
            get_reader("cowley2023").read(session_dir, session="210322")
        assert path.name in str(info.value)
    finally:
        path.write_bytes(original)
    assert np.load(targets["avg"]).shape == (4, 4)
