"""The general NWB 2.x reader, on real files written by others and on files written here."""

import tracemalloc
from datetime import datetime, timezone

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.image import ImageSeries
from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError
from cortexkit.pipelines.dataset_summary import describe_dataset

read = get_reader("nwb").read
REAL = {"dandi": "real_formats/nwb/dandicli_sub-anm369963_ses-20170228.nwb",
        "pynapple": "real_formats/nwb/pynapple_A8604-211122.nwb"}


def direct_counts(path, table, windows):
    """Spike counts per unit and window read with h5py alone: an independent check of the reader."""
    with h5py.File(path, "r") as fh:
        ends = fh["units/spike_times_index"][:]
        times = fh["units/spike_times"][:]
        start = fh[f"intervals/{table}/start_time"][:]
    starts = np.concatenate([[0], ends[:-1]])
    out = []
    for s in start:
        out.append([[np.count_nonzero((times[a:b] >= s + lo) & (times[a:b] < s + hi)) for lo, hi in windows]
                    for a, b in zip(starts, ends)])
    return np.array(out)


def test_real_dandi_trials(shared_data, tmp_path):
    """A DANDI session (Svoboda lab ALM): trials with NaN stop_time, so a window is needed."""
    path = shared_data / REAL["dandi"]
    with pytest.raises(DataError, match=r"'intervals/trials': stop_time is NaN on 178 of 178 rows: give the response window with --option window"):
        read(path, intervals="trials")
    store = data.convert(path, tmp_path / "dandi.zarr", "nwb", {"intervals": "trials", "window": "0,5"})
    ds = data.load(store)
    expected = direct_counts(path, "trials", [(0.0, 5.0)])[..., 0]
    assert expected.sum() > 100  # the unit fires in these windows: the comparison is not of zeros
    np.testing.assert_array_equal(ds["responses"].values, expected)
    assert list(ds["unit"].values) == [1001] and ds["quality"].values[0] == "Excellent"
    assert ds["area"].values[0].startswith("brain_region: ALM")  # the units' electrode's location
    assert ds.attrs["pixels"] == "none" and ds.sizes["stimulus"] == 178
    assert set(ds["type"].values) <= {"lick left", "lick right", "n/a"} and ds["type"].dims == ("stimulus",)
    rows = dict(describe_dataset(store))
    assert rows["stimuli"] == "178 stimuli without pixels (the source gave no images)"
    assert rows["units"] == "1" and rows["trials"] == "178"
    # the trial type as the stimulus: repeats, and bins within the window
    ds = read(path, intervals="trials", window="0,5", stimulus="type", time_bin=0.5)
    assert ds["responses"].dims == ("trial", "unit", "time") and ds.sizes["time"] == 10
    binned = direct_counts(path, "trials", [(0.5 * k, 0.5 * (k + 1)) for k in range(10)])
    np.testing.assert_array_equal(ds["responses"].values, binned)
    assert sorted(ds["stimulus"].values) == sorted(set(ds["stimulus_id"].values))
    assert data.repeat_counts(ds).values.min() > 1
    assert ds["is_good"].dims == ("trial",)  # varies within a trial type: a trial variable


def test_real_pynapple_epoch_tiled(shared_data, tmp_path):
    """A phy export (pynapple's test file): one epoch, cut into 10 s trials."""
    path = shared_data / REAL["pynapple"]
    with pytest.raises(DataError, match=r"'intervals/epochs': its 1 trial\(s\) show 1 stimulus: .* --option tile=SECONDS"):
        read(path)
    store = data.convert(path, tmp_path / "p.zarr", "nwb", {"intervals": "epochs", "tile": 10})
    ds = data.load(store)
    with h5py.File(path, "r") as fh:
        stop = fh["intervals/epochs/stop_time"][0]
    n = int(stop // 10)
    assert ds.sizes["trial"] == n and ds.sizes["unit"] == 3
    counts = direct_counts(path, "epochs", [(10.0 * k, 10.0 * (k + 1)) for k in range(n)])[0]  # (unit, window)
    np.testing.assert_array_equal(ds["responses"].values, counts.T)
    assert ds["tags"].values[0] == "wake" and list(ds["electrode_group"].values) == ["group0_psb"] * 3
    np.testing.assert_allclose(ds["window_start"].values, 10.0 * np.arange(n))


def write_session(path, *, n_spikes=200, big_ragged=0, seed=0):
    """A session with units, a stimulus table indexing an ImageSeries, and optional large unused
    ragged unit columns (like Allen's spike_amplitudes and waveforms)."""
    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="test", identifier="s1", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    table = TimeIntervals(name="stimulus_presentations", description="images")
    table.add_column("image_index", "which image")
    table.add_column("contrast", "contrast of the image")
    table.add_column("running", "running speed during the trial")
    images = rng.permutation(np.repeat(np.arange(5), 4))
    starts = 10.0 + 0.5 * np.arange(len(images))
    for s, i in zip(starts, images):
        table.add_interval(start_time=s, stop_time=s + 0.25, image_index=int(i), contrast=0.2 * (i + 1), running=float(rng.random()))
    nwb.add_time_intervals(table)
    # a second table, so the reader must be told which
    epochs = TimeIntervals(name="epochs", description="blocks")
    epochs.add_interval(start_time=0.0, stop_time=30.0)
    nwb.add_time_intervals(epochs)
    nwb.add_unit_column("location", "area")
    nwb.add_unit_column("snr", "signal to noise")
    if big_ragged:
        nwb.add_unit_column("spike_amplitudes", "amplitude of each spike", index=True)
        nwb.add_unit_column("waveforms", "mean waveform on each channel", index=True)
    for k in range(3):
        spikes = np.sort(rng.uniform(0, 25, n_spikes * (k + 1)))
        extra = {}
        if big_ragged:
            extra = {"spike_amplitudes": rng.random(len(spikes)), "waveforms": rng.random((big_ragged, 82))}
        nwb.add_unit(spike_times=spikes, location=["VISp", "VISl", "VISp"][k], snr=float(k), **extra)
    tmpl = (np.arange(5)[:, None, None] * 50 + np.zeros((1, 12, 18))).astype(np.uint8)
    nwb.add_stimulus_template(ImageSeries(name="natural_images", data=tmpl, unit="NA", rate=1.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return images, starts


def test_written_session_stimuli_images_coordinates(tmp_path):
    images, starts = write_session(tmp_path / "s.nwb")
    with pytest.raises(DataError, match=r"several interval tables; choose one with --option intervals=NAME: epochs, stimulus_presentations"):
        read(tmp_path / "s.nwb")
    ds = read(tmp_path / "s.nwb", intervals="stimulus_presentations", stimulus="image_index", images="natural_images", image_size=6)
    data.validate(ds)
    assert list(ds["stimulus"].values) == [str(i) for i in dict.fromkeys(images)]  # order of first showing
    assert ds["stimuli"].shape == (5, 6, 9)
    np.testing.assert_allclose(ds["stimuli"].sel(stimulus="3").values, 150 / 255, atol=1e-3)
    assert (data.repeat_counts(ds).values == 4).all()
    # contrast is fixed per image -> a stimulus coordinate; running speed varies -> a trial variable
    assert ds["contrast"].dims == ("stimulus",) and ds["running"].dims == ("trial",)
    np.testing.assert_allclose(ds["contrast"].sel(stimulus="2").values, 0.6)
    assert list(ds["area"].values) == ["VISp", "VISl", "VISp"] and list(ds["snr"].values) == [0, 1, 2]
    expected = direct_counts(tmp_path / "s.nwb", "stimulus_presentations", [(0.0, 0.25)])[..., 0]
    np.testing.assert_array_equal(ds["responses"].values, expected)
    # images as a .npy file indexed the same way give the same stimuli
    np.save(tmp_path / "imgs.npy", (np.arange(5)[:, None, None] * 50 + np.zeros((1, 12, 18))).astype(np.uint8))
    same = read(tmp_path / "s.nwb", intervals="stimulus_presentations", stimulus="image_index", images=str(tmp_path / "imgs.npy"), image_size=6)
    np.testing.assert_allclose(same["stimuli"].values, ds["stimuli"].values)
    with pytest.raises(ConfigError, match=r"images='nope' is neither a .npy file nor an image series in the file \(series: natural_images\)"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", stimulus="image_index", images="nope")
    with pytest.raises(ConfigError, match="images need --option stimulus=COLUMN"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", images="natural_images")
    with pytest.raises(DataError, match=r"'intervals/stimulus_presentations': has no column 'shape'; columns: start_time, stop_time, image_index"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", stimulus="shape")


def test_stimulus_parameter_decoding_without_pixels(tmp_path):
    """A store without pixels: parameter decoding uses it, feature extraction refuses it."""
    from cortexkit.features import get_extractor
    from cortexkit.pipelines import run_parameter_decoding

    rng = np.random.default_rng(1)
    nwb = NWBFile(session_description="t", identifier="d", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb.add_trial_column("direction", "motion direction (deg)")
    directions = np.tile([0.0, 90.0, 180.0, 270.0], 30)
    trains = [[] for _ in range(8)]
    for t, d in enumerate(directions):
        s = 2.0 * t
        nwb.add_trial(start_time=s, stop_time=s + 1.0, direction=d)
        for u in range(8):  # direction-tuned Poisson units
            rate = 5 + 20 * np.exp(np.cos(np.deg2rad(d - 45 * u)) - 1)
            trains[u].extend(np.sort(s + rng.uniform(0, 1, rng.poisson(rate))))
    for u in range(8):
        nwb.add_unit(spike_times=np.asarray(trains[u]))
    with NWBHDF5IO(str(tmp_path / "dirs.nwb"), "w") as io:
        io.write(nwb)
    store = data.convert(tmp_path / "dirs.nwb", tmp_path / "dirs.zarr", "nwb", {"stimulus": "direction"})
    out = run_parameter_decoding(store, "direction", tmp_path / "dec", n_permutations=20)
    assert out["result"].score > 0.8 and out["result"].p_value < 0.06
    with pytest.raises(DataError, match=r"'stimuli': are 1 x 1 placeholders: the store holds no images"):
        get_extractor("pixels").fit(data.load(store)["stimuli"].values)


def write_ophys(path, n_rois=4, rate=20.0, duration=40.0, trial_length=1.0):
    nwb = NWBFile(session_description="t", identifier="o", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device("scope")
    plane = nwb.create_imaging_plane(name="plane", optical_channel=OpticalChannel("green", "GCaMP", 510.0), description="",
                                     device=device, excitation_lambda=920.0, imaging_rate=rate, indicator="GCaMP6f", location="VISp")
    module = nwb.create_processing_module("ophys", "optical physiology")
    segmentation = ImageSegmentation()
    module.add(segmentation)
    rois = segmentation.create_plane_segmentation("ROIs", plane, "PlaneSegmentation")
    rois.add_column("depth_um", "depth of the ROI")
    for k in range(n_rois):
        mask = np.zeros((8, 8))
        mask[k, k] = 1
        rois.add_roi(image_mask=mask, depth_um=100.0 + 10 * k)
    region = rois.create_roi_table_region("all ROIs", region=list(range(n_rois)))
    t = np.arange(int(duration * rate)) / rate
    values = np.stack([np.sin(t * (k + 1)) + k for k in range(n_rois)], axis=1)
    module.add(DfOverF(RoiResponseSeries(name="RoiResponseSeries", data=values, rois=region, unit="dF/F", rate=rate, starting_time=0.0)))
    for s in np.arange(1.0, duration - 2, 2.0):
        nwb.add_trial(start_time=s, stop_time=s + trial_length)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return t, values


def test_ophys_roi_series_averaged_and_binned(tmp_path):
    t, values = write_ophys(tmp_path / "o.nwb")
    ds = read(tmp_path / "o.nwb")
    assert ds.attrs["modality"] == "calcium" and ds.sizes["unit"] == 4
    np.testing.assert_allclose(ds["depth_um"].values, [100, 110, 120, 130])
    starts = ds["window_start"].values
    expected = np.stack([values[(t >= s) & (t < s + 1.0)].mean(0) for s in starts])
    np.testing.assert_allclose(ds["responses"].values, expected, rtol=1e-5)
    binned = read(tmp_path / "o.nwb", responses="ophys/DfOverF/RoiResponseSeries", time_bin=0.25)
    assert binned.sizes["time"] == 4 and binned.attrs["sampling_rate"] == 4.0
    first = np.stack([values[(t >= s) & (t < s + 0.25)].mean(0) for s in starts])
    np.testing.assert_allclose(binned["responses"].values[..., 0], first, rtol=1e-5)
    with pytest.raises(DataError, match=r"has no ROI response series 'Fluorescence'; series: RoiResponseSeries, ophys/DfOverF/RoiResponseSeries"):
        read(tmp_path / "o.nwb", responses="Fluorescence")


def test_lazy_reads_under_a_memory_cap(tmp_path):
    """Large ragged unit columns (spike amplitudes, waveforms) are never read: the conversion's
    peak of traced memory stays far below their size, which a full to_dataframe() exceeds."""
    from cortexkit.data.readers._nwb import open_nwb

    write_session(tmp_path / "big.nwb", n_spikes=100_000, big_ragged=20_000)  # ~12 MB unread per unit's waveforms
    np.save(tmp_path / "imgs.npy", np.zeros((5, 12, 18), np.uint8))
    with h5py.File(tmp_path / "big.nwb", "r") as fh:
        unused = fh["units/spike_amplitudes"].nbytes + fh["units/waveforms"].nbytes
    cap = 12 * 2**20
    assert unused > 3 * cap

    def peak(fn):
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def full():
        with open_nwb(tmp_path / "big.nwb") as nwb:
            nwb.units.to_dataframe()

    assert peak(full) > unused  # what the lazy reads avoid
    assert peak(lambda: read(tmp_path / "big.nwb", intervals="stimulus_presentations", stimulus="image_index")) < cap

    # allen_nwb reads the same way
    with NWBHDF5IO(str(tmp_path / "big.nwb"), "a") as io:
        nwb = io.read()
        table = TimeIntervals(name="natural_scenes_presentations", description="scenes")
        table.add_column("frame", "image index, -1 for blank")
        for k in range(20):
            table.add_interval(start_time=1.0 + k, stop_time=1.25 + k, frame=float(k % 5))
        nwb.add_time_intervals(table)
        io.write(nwb)
    allen = get_reader("allen_nwb").read
    assert peak(lambda: allen(tmp_path / "big.nwb", images=str(tmp_path / "imgs.npy"), image_size=8)) < cap
    ds = allen(tmp_path / "big.nwb", images=str(tmp_path / "imgs.npy"), image_size=8)
    direct = direct_counts(tmp_path / "big.nwb", "natural_scenes_presentations", [(0.0, 0.25)])[..., 0]
    np.testing.assert_array_equal(ds["responses"].values, direct)


def test_refusals_in_one_line(tmp_path):
    with h5py.File(tmp_path / "v1.nwb", "w") as fh:  # NWB 1.x keeps its version as a root dataset
        fh["nwb_version"] = "NWB-1.0.6"
        fh.create_group("processing")
    with pytest.raises(DataError, match=r"v1.nwb: 'nwb_version': is NWB NWB-1.0.6; cortexkit reads NWB 2.x files"):
        read(tmp_path / "v1.nwb")
    with h5py.File(tmp_path / "plain.h5", "w") as fh:
        fh["x"] = np.zeros(3)
    with pytest.raises(DataError, match=r"plain.h5: 'nwb_version': is not an NWB file"):
        read(tmp_path / "plain.h5")
    (tmp_path / "junk.nwb").write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match=r"junk.nwb: cannot read the NWB file"):
        read(tmp_path / "junk.nwb")
    nwb = NWBFile(session_description="t", identifier="n", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb.add_unit(spike_times=[1.0, 2.0])
    with NWBHDF5IO(str(tmp_path / "no_table.nwb"), "w") as io:
        io.write(nwb)
    with pytest.raises(DataError, match=r"'intervals': has no TimeIntervals table under intervals/"):
        read(tmp_path / "no_table.nwb")
    write_session(tmp_path / "s.nwb")
    with pytest.raises(DataError, match=r"'intervals': has no table 'trials'; interval tables: epochs, stimulus_presentations"):
        read(tmp_path / "s.nwb", intervals="trials")
    with pytest.raises(ConfigError, match=r"window must be START,END"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", window="0.1")
    with pytest.raises(ConfigError, match=r"window must have END > START"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", window="0.3,0.1")
    with pytest.raises(ConfigError, match=r"tile=100 s is longer than every interval of intervals/epochs"):
        read(tmp_path / "s.nwb", intervals="epochs", tile=100)
    with pytest.raises(DataError, match=r"'responses': has no ROI response series 'dff'; series: none"):
        read(tmp_path / "s.nwb", intervals="stimulus_presentations", responses="dff")
