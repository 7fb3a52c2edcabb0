"""NWB windows and bins count what they say: bins tile the window exactly and never reach outside it,
interval-relative bins need trials of one length, and options that would write a store of only zeros
(a window outside the recording) or only NaN (outside the imaging) are refused, naming the option and
the time range the file holds. Checked against an independent count from the file's arrays."""

from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pynwb import NWBHDF5IO, NWBFile

from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError

from .test_nwb import direct_counts, write_ophys, write_session

read = get_reader("nwb").read


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("nwb") / "s.nwb"
    write_session(path, n_spikes=400)  # 20 intervals of 0.25 s from 10 s; spikes 0-25 s
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.floats(-1.0, 2.0), length=st.sampled_from([0.1, 0.2, 0.25, 0.5, 1.0, 1.5]), k=st.integers(1, 6))
def test_random_windows_and_bins_equal_an_independent_count(session, start, length, k):
    start = round(start, 3)
    window = f"{start},{start + length}"
    bin_ = length / k
    try:
        ds = read(session, intervals="stimulus_presentations", window=window, time_bin=bin_)
    except ConfigError as exc:  # refused only when the window holds no spike at all, or lies after every interval
        assert "no spike falls in any trial's window" in str(exc) or "after the end of every interval" in str(exc)
        assert start >= 0.25 or not direct_counts(session, "stimulus_presentations", [(start, start + length)]).any()
        return
    assert ds.sizes["time"] == k  # the bins tile the window exactly
    edges = [(start + j * bin_, start + (j + 1) * bin_) for j in range(k)]
    np.testing.assert_array_equal(ds["responses"].values, direct_counts(session, "stimulus_presentations", edges))
    np.testing.assert_array_equal(ds["responses"].values.sum(-1),
                                  direct_counts(session, "stimulus_presentations", [(start, start + length)])[..., 0])


def test_windows_outside_the_recording_or_after_every_interval_are_refused(session):
    with pytest.raises(ConfigError, match=r"option window=1000,1001 starts 1000 s after each start_time, after the end of "
                                          r"every interval"):
        read(session, intervals="stimulus_presentations", window="1000,1001")  # a 40 s session: a store of zeros before
    with pytest.raises(ConfigError, match=r"no spike falls in any trial's window \(26-29 s; window=26,29, tile=1.0\); "
                                          r"the file's spikes span 0.0\d*-24.9\d* s, so the store would hold only zeros"):
        read(session, intervals="epochs", window="26,29", tile=1.0)  # inside the 30 s epoch, after the last spike
    with pytest.raises(ConfigError, match=r"window=0.5,0.7 starts 0.5 s after each start_time, after the end of every "
                                          r"interval of intervals/stimulus_presentations \(they last 0.25-0.25 s\)"):
        read(session, intervals="stimulus_presentations", window="0.5,0.7")


def test_bins_that_do_not_tile_the_window_are_refused(session):
    with pytest.raises(ConfigError, match=r"time_bin=0.1 s does not tile the 0.25 s window \(2.5 bins\); choose a bin "
                                          r"that divides it"):
        read(session, intervals="stimulus_presentations", window="0,0.25", time_bin=0.1)
    with pytest.raises(ConfigError, match=r"time_bin=0.1 s does not tile the 0.25 s intervals"):
        read(session, intervals="stimulus_presentations", time_bin=0.1)  # the intervals themselves: 0.25 s each
    ds = read(session, intervals="stimulus_presentations", time_bin=0.125)  # without a window: each interval, tiled
    assert ds.sizes["time"] == 2


def write_varied_trials(path):
    """Ten trials lasting 1 and 1.5 s in turn, one unit spiking throughout."""
    nwb = NWBFile(session_description="t", identifier="v", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for s, length in zip(np.arange(0, 20, 2.0), [1.0, 1.5] * 5):
        nwb.add_trial(start_time=s, stop_time=s + length)
    nwb.add_unit(spike_times=np.sort(np.random.default_rng(0).uniform(0, 20, 300)))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_interval_relative_bins_need_trials_of_one_length(tmp_path):
    write_varied_trials(tmp_path / "v.nwb")
    with pytest.raises(ConfigError, match=r"time_bin needs trials of one length, and the intervals of intervals/trials "
                                          r"last 1-1.5 s; give --option window=START,END"):
        read(tmp_path / "v.nwb", time_bin=0.5)
    ds = read(tmp_path / "v.nwb", window="0,1", time_bin=0.5)  # the same span from each start: allowed
    assert ds.sizes["time"] == 2 and ds.sizes["trial"] == 10


def test_an_ophys_window_after_imaging_is_refused(tmp_path):
    write_ophys(tmp_path / "o.nwb", duration=40.0, trial_length=100.0)  # trials run on past the end of imaging
    with pytest.raises(ConfigError, match=r"no sample of ophys/DfOverF/RoiResponseSeries falls in any trial's window "
                                          r"\(.*\); the file's samples of ophys/DfOverF/RoiResponseSeries span 0-39.95 s, "
                                          r"so the store would hold only NaN"):
        read(tmp_path / "o.nwb", window="60,61")
