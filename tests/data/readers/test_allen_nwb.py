from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.image import ImageSeries

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError

read = get_reader("allen_nwb").read
N_SCENES = 6


def make_session(path, with_templates=False, seed=0):
    """A Visual Coding Neuropixels-style session: units, channels, natural-scene presentations."""
    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="test session", identifier="715093703",
                  session_start_time=datetime(2019, 1, 1, tzinfo=timezone.utc))
    probe = nwb.create_device("probeA")
    group = nwb.create_electrode_group("probeA", description="", location="", device=probe)
    nwb.add_electrode_column("valid_data", "whether data from this channel is usable")
    for cid, loc, ok in [(850, "VISp", True), (851, "VISp", True), (852, "LGd", True), (853, "VISp", False)]:
        nwb.add_electrode(id=cid, x=0.0, y=0.0, z=0.0, imp=0.0, location=loc, filtering="", group=group, valid_data=ok)
    # Presentations: 0.25 s each, scenes 0-5 and blanks (-1), 10 repeats, shuffled.
    frames = rng.permutation(np.repeat(np.arange(-1, N_SCENES), 10))
    starts = 100.0 + 0.25 * np.arange(len(frames))
    table = TimeIntervals(name="natural_scenes_presentations", description="natural scenes")
    table.add_column("frame", "image index, -1 for blank")
    for s, f in zip(starts, frames):
        table.add_interval(start_time=s, stop_time=s + 0.25, frame=float(f))
    nwb.add_time_intervals(table)
    # Unit k fires (k+1) * (frame + 2) spikes in each presentation, spread inside the window.
    nwb.add_unit_column("peak_channel_id", "peak channel")
    nwb.add_unit_column("quality", "sorting quality")
    nwb.add_unit_column("snr", "signal to noise")
    # The release's quality metrics; AllenSDK hides units failing them by default.
    for col in ("isi_violations", "amplitude_cutoff", "presence_ratio"):
        nwb.add_unit_column(col, col)
    good_qc = {"isi_violations": 0.1, "amplitude_cutoff": 0.01, "presence_ratio": 0.99}
    units = [(850, "good", good_qc), (851, "good", good_qc), (852, "good", good_qc), (850, "noise", good_qc),
             (851, "good", {**good_qc, "isi_violations": 2.0}), (851, "good", {**good_qc, "presence_ratio": 0.5}),
             (853, "good", good_qc)]  # the last one's peak channel is not valid
    for k, (cid, q, metrics) in enumerate(units):
        spikes = np.concatenate([s + np.linspace(0.01, 0.24, (k + 1) * (f + 2)) for s, f in zip(starts, frames)])
        nwb.add_unit(spike_times=spikes, peak_channel_id=cid, quality=q, snr=float(k), **metrics)
    if with_templates:
        tmpl = (np.arange(N_SCENES)[:, None, None] * 40 + np.zeros((1, 20, 30))).astype(np.uint8)
        nwb.add_stimulus_template(ImageSeries(name="natural_scenes", data=tmpl, unit="NA", rate=1.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return frames


@pytest.fixture
def templates(tmp_path):
    t = (np.arange(N_SCENES)[:, None, None] * 40 + np.zeros((1, 20, 30))).astype(np.uint8)
    np.save(tmp_path / "scenes.npy", t)
    return tmp_path / "scenes.npy"


def test_counts_areas_and_stimuli(tmp_path, templates):
    frames = make_session(tmp_path / "s.nwb")
    ds = read(tmp_path / "s.nwb", images=str(templates), image_size=10)
    data.validate(ds, check_values=True)
    assert ds.sizes["trial"] == len(frames) and ds.sizes["unit"] == 3  # the 'noise' unit is dropped
    assert list(ds["area"].values) == ["VISp", "VISp", "LGd"]
    expected = np.outer(frames + 2, [1, 2, 3])
    np.testing.assert_array_equal(ds["responses"].values, expected)
    assert ds["stimuli"].shape == (N_SCENES + 1, 10, 15)
    np.testing.assert_allclose(ds["stimuli"].sel(stimulus="blank").values, 0.5)
    np.testing.assert_allclose(ds["stimuli"].sel(stimulus="scene003").values, 120 / 255, atol=1e-3)
    assert (ds["split"].sel(stimulus="blank").values == "train")
    assert (data.repeat_counts(ds).values == 10).all()


def test_area_filter_bins_and_templates_in_file(tmp_path):
    frames = make_session(tmp_path / "s.nwb", with_templates=True)
    ds = read(tmp_path / "s.nwb", areas="VISp", time_bin=0.05, image_size=8)
    assert ds.sizes["unit"] == 2 and ds["responses"].dims == ("trial", "unit", "time") and ds.sizes["time"] == 5
    np.testing.assert_array_equal(ds["responses"].values.sum(-1)[:, 0], frames + 2)
    assert ds.attrs["sampling_rate"] == pytest.approx(20.0)


def test_errors(tmp_path, templates):
    make_session(tmp_path / "s.nwb")
    with pytest.raises(ConfigError, match="has no natural-scene templates"):
        read(tmp_path / "s.nwb")
    with pytest.raises(DataError, match=r"'units': no units left after the filters"):
        read(tmp_path / "s.nwb", images=str(templates), areas="CA1")
    np.save(tmp_path / "few.npy", np.zeros((3, 5, 5), np.uint8))
    with pytest.raises(DataError, match=r"few.npy: 'frame': presentations show image 5 but there are 3 templates"):
        read(tmp_path / "s.nwb", images=str(tmp_path / "few.npy"))
    (tmp_path / "bad.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(DataError, match=r"bad.nwb: cannot read the NWB file"):
        read(tmp_path / "bad.nwb", images=str(templates))


def test_allensdk_quality_filter(tmp_path, templates):
    """By default the units AllenSDK returns (its QC thresholds, valid peak channel); qc=none keeps all."""
    make_session(tmp_path / "s.nwb")
    ds = read(tmp_path / "s.nwb", images=str(templates), image_size=8)
    assert list(ds["unit"].values) == [0, 1, 2]
    everything = read(tmp_path / "s.nwb", images=str(templates), image_size=8, qc="none", quality="all")
    assert list(everything["unit"].values) == [0, 1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(everything["isi_violations"].values[4], 2.0)
    with pytest.raises(ConfigError, match=r"qc must be one of allensdk, none, got 'strict'"):
        read(tmp_path / "s.nwb", images=str(templates), qc="strict")
