import h5py
import numpy as np
import pytest
import scipy.io as sio

from cortexkit import data, metrics
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError

read = get_reader("nsd").read
VOL = (3, 4, 5)
TRIALS_PER_SESSION = 750  # as in NSD: the reader maps trials through masterordering in blocks of 750


def make_nsd(root, n_sessions=2, n_images=40, seed=0, trials=TRIALS_PER_SESSION):
    """A miniature NSD release: real file names, dataset names, dtypes and index conventions."""
    rng = np.random.default_rng(seed)
    design = root / "nsddata" / "experiments" / "nsd"
    design.mkdir(parents=True)
    n_total = 750 * n_sessions
    # 1-based positions into subjectim; images 1..10 are the shared ones, repeated often.
    masterordering = rng.integers(1, 31, size=n_total)
    subjectim = np.tile(np.arange(1, 31), (8, 1)) + np.arange(8)[:, None] * 0
    subjectim[1] = subjectim[1][::-1]
    sharedix = np.arange(1, 11)
    sio.savemat(design / "nsd_expdesign.mat", {"masterordering": masterordering[None, :], "subjectim": subjectim,
                                                "sharedix": sharedix[None, :]})
    stim = root / "nsddata_stimuli" / "stimuli" / "nsd"
    stim.mkdir(parents=True)
    brick = (np.arange(n_images)[:, None, None, None] * 6 + np.zeros((1, 24, 24, 3))).astype(np.uint8)
    with h5py.File(stim / "nsd_stimuli.hdf5", "w") as fh:
        fh["imgBrick"] = brick
    betas_dir = root / "nsddata_betas" / "ppdata" / "subj01" / "func1pt8mm" / "betas_fithrf_GLMdenoise_RR"
    betas_dir.mkdir(parents=True)
    signal = rng.standard_normal((n_images + 1,) + VOL) * 2  # each image's true response pattern
    for s in range(n_sessions):
        ids = subjectim[0, masterordering[s * 750 : s * 750 + trials] - 1]
        b = (signal[ids] + rng.standard_normal((trials,) + VOL)) * 300 * 1.5 + 300 * 0.7  # % change x 300
        with h5py.File(betas_dir / f"betas_session{s + 1:02d}.hdf5", "w") as fh:
            fh["betas"] = b.astype(np.int16)
    return root, masterordering, subjectim, signal


def test_layout_and_trial_mapping(tmp_path):
    root, order, subjectim, _ = make_nsd(tmp_path)
    ds = read(root, image_size=8)
    assert ds.sizes["trial"] == 1500 and ds.sizes["unit"] == np.prod(VOL)
    expected = [f"nsd{i:05d}" for i in subjectim[0, order - 1]]
    assert list(ds["stimulus_id"].values) == expected
    # Image n of the brick has gray level 6 (n - 1): stimulus "nsdNNNNN" must show it.
    stim = ds["stimuli"].sel(stimulus="nsd00007").values
    np.testing.assert_allclose(stim * 255, 36, atol=0.5)
    test = ds["stimulus"].values[ds["split"].values == "test"]
    assert set(test) <= {f"nsd{i:05d}" for i in range(1, 11)}
    # z-scored per voxel within each session
    r = ds["responses"].values[:750]
    np.testing.assert_allclose(r.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(r.std(0), 1, atol=1e-3)
    assert ds.attrs["modality"] == "fmri"


def test_ncsnr_from_repeats(tmp_path):
    root, *_ = make_nsd(tmp_path)
    ds = read(root, image_size=8, zscore=False)
    rep = data.repeats(data.select(ds, ["train", "test"]))
    snr = metrics.ncsnr(rep.values)
    # signal sd 2, noise sd 1 (x 1.5 scaling on both): ncsnr ~ 2
    assert 1.6 < np.median(snr) < 2.4


def test_mask_and_sessions(tmp_path):
    root, *_ = make_nsd(tmp_path)
    mask = np.zeros(VOL, bool)
    mask[1, 2, 3] = mask[0, 0, 0] = True
    np.save(tmp_path / "mask.npy", mask)
    ds = read(root, sessions=1, mask=str(tmp_path / "mask.npy"), image_size=8)
    assert ds.sizes == {**ds.sizes, "unit": 2, "trial": 750}
    assert sorted(zip(ds["voxel_axis0"].values, ds["voxel_axis1"].values, ds["voxel_axis2"].values)) == [(0, 0, 0), (1, 2, 3)]
    np.save(tmp_path / "bad.npy", np.ones((2, 2), bool))
    with pytest.raises(DataError, match=r"bad.npy: 'mask': shape \(2, 2\) does not match the beta volume \(3, 4, 5\)"):
        read(root, mask=str(tmp_path / "bad.npy"))


def test_convert_streams(tmp_path):
    root, *_ = make_nsd(tmp_path / "nsd")
    store = data.convert(root, tmp_path / "nsd.zarr", "nsd", {"image_size": 8, "sessions": 1})
    ds = data.load(store)
    assert ds.sizes["trial"] == 750 and ds["stimuli"].shape[1:] == (8, 8, 3)


def test_errors(tmp_path):
    root, *_ = make_nsd(tmp_path)
    with pytest.raises(ConfigError, match="subject must be 1-8"):
        read(root, subject=9)
    with pytest.raises(DataError, match=r"betas_session07.hdf5: missing \(session betas\)"):
        read(root, sessions="1,7")
    beta = root / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR/betas_session02.hdf5"
    beta.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(DataError, match=r"betas_session02.hdf5: cannot open the HDF5 file"):
        read(root)
    with h5py.File(beta, "w") as fh:
        fh["data"] = np.zeros(3)
    with pytest.raises(DataError, match=r"betas_session02.hdf5: no dataset 'betas' \(has \['data'\]\)"):
        read(root)


def test_nifti_mask_and_betas_match_hdf5(tmp_path):
    """NSD's own ROI files (.nii.gz, -1 outside the brain) and NIfTI betas index the same voxels as HDF5."""
    nib = pytest.importorskip("nibabel")
    root, *_ = make_nsd(tmp_path, n_sessions=1)
    roi = np.zeros(VOL, np.int16)
    roi[0, 0, 0] = roi[1, 2, 3] = roi[2, 3, 1] = 1
    roi[2, 3, 4] = -1  # outside the brain in NSD's files: not kept
    roi_dir = root / "nsddata" / "ppdata" / "subj01" / "func1pt8mm" / "roi"
    roi_dir.mkdir(parents=True)
    # NIfTI stores (x, y, z); the HDF5 betas are the same volume transposed.
    nib.save(nib.Nifti1Image(roi.T.astype(np.float32), np.eye(4)), roi_dir / "nsdgeneral.nii.gz")
    np.save(tmp_path / "mask.npy", roi > 0)
    from_nii = read(root, mask=str(roi_dir / "nsdgeneral.nii.gz"), image_size=8)
    from_npy = read(root, mask=str(tmp_path / "mask.npy"), image_size=8)
    np.testing.assert_array_equal(from_nii["unit"].values, from_npy["unit"].values)
    assert from_nii.sizes["unit"] == 3
    np.testing.assert_allclose(from_nii["responses"].values, from_npy["responses"].values)

    beta_dir = root / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
    with h5py.File(beta_dir / "betas_session01.hdf5", "r") as fh:
        betas = fh["betas"][()]
    (beta_dir / "betas_session01.hdf5").unlink()
    nib.save(nib.Nifti1Image(betas.T, np.eye(4)), beta_dir / "betas_session01.nii.gz")
    from_nii_betas = read(root, mask=str(roi_dir / "nsdgeneral.nii.gz"), image_size=8)
    np.testing.assert_allclose(from_nii_betas["responses"].values, from_npy["responses"].values, rtol=1e-6)
    with pytest.raises(DataError, match=r"nsdgeneral.nii.gz: 'mask': shape \(3, 4\) does not match the beta volume "
                                        r"\(3, 4, 5\) \(NIfTI shapes are read transposed\)"):
        nib.save(nib.Nifti1Image(np.ones((4, 3), np.float32), np.eye(4)), roi_dir / "nsdgeneral.nii.gz")
        read(root, mask=str(roi_dir / "nsdgeneral.nii.gz"))
    (roi_dir / "nsdgeneral.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(DataError, match=r"nsdgeneral.nii.gz: cannot read the NIfTI file"):
        read(root, mask=str(roi_dir / "nsdgeneral.nii.gz"))


def test_roi_labels_become_areas(tmp_path):
    """A label volume (NSD's prf-visualrois layout: 1..7 = V1v ... hV4, 0 and -1 outside) names each
    voxel's area; without a mask the labelled voxels are kept; trials carry their session."""
    root, *_ = make_nsd(tmp_path)
    labels = np.zeros(VOL, np.int16) - 1
    labels[0, 0, :] = 1
    labels[1, 1, :2] = 7
    labels[2, 3, 4] = 0
    np.save(tmp_path / "rois.npy", labels)
    ds = read(root, rois=str(tmp_path / "rois.npy"), image_size=8)
    assert sorted(ds["area"].values.tolist()) == ["V1v"] * 5 + ["hV4"] * 2
    assert np.array_equal(np.unique(ds["session"].values), [1, 2]) and (ds["session"].values[:750] == 1).all()
    mask = np.zeros(VOL, bool)
    mask[0, 0, 0] = mask[2, 3, 4] = True
    np.save(tmp_path / "mask.npy", mask)
    both = read(root, rois=str(tmp_path / "rois.npy"), mask=str(tmp_path / "mask.npy"), roi_names="1=V1", image_size=8)
    assert dict(zip(both["voxel_axis0"].values.tolist(), both["area"].values.tolist())) == {0: "V1", 2: "other"}
    with pytest.raises(ConfigError, match=r"roi_names must look like 1=V1v,2=V1d \(or name a .ctab file\); got 'V1'"):
        read(root, rois=str(tmp_path / "rois.npy"), roi_names="V1")
    np.save(tmp_path / "bad.npy", np.zeros((3, 4), np.int16))
    with pytest.raises(DataError, match=r"bad.npy: 'rois': shape \(3, 4\) does not match the beta volume"):
        read(root, rois=str(tmp_path / "bad.npy"))


def test_captions_from_coco_annotations(tmp_path):
    import json
    import shutil

    import pandas as pd

    root, *_ = make_nsd(tmp_path)
    info = pd.DataFrame({"nsdId": np.arange(40), "cocoId": 1000 + np.arange(40),
                         "cocoSplit": np.where(np.arange(40) % 2, "train2017", "val2017")})
    info.to_csv(root / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv")
    coco = tmp_path / "coco"
    coco.mkdir()
    for split, parity in (("train2017", 1), ("val2017", 0)):
        ann = [{"image_id": 1000 + i, "id": k, "caption": f"image {i} caption {k} "} for i in range(40) if i % 2 == parity
               for k in range(2)]
        (coco / f"captions_{split}.json").write_text(json.dumps({"annotations": ann}))
    ds = read(root, image_size=8, sessions=1, captions=str(coco))
    # NSD image nsd00007 (1-based) is nsdId 6: COCO image 1006, its two captions, stripped
    assert ds["caption"].sel(stimulus="nsd00007").item() == "image 6 caption 0\nimage 6 caption 1"
    # without the option, COCO's annotations in NSD's own stimuli folder are read when present
    assert "caption" not in read(root, image_size=8, sessions=1).coords
    shutil.copytree(coco, root / "nsddata_stimuli" / "stimuli" / "nsd" / "annotations")
    assert read(root, image_size=8, sessions=1)["caption"].sel(stimulus="nsd00008").item() == "image 7 caption 0\nimage 7 caption 1"
    (coco / "captions_val2017.json").write_text(json.dumps({"annotations": []}))
    with pytest.raises(DataError, match="captions_val2017.json: 'annotations': has no caption of COCO image 1000"):
        read(root, image_size=8, sessions=1, captions=str(coco))
    (coco / "captions_val2017.json").write_text("{not json")
    with pytest.raises(DataError, match="captions_val2017.json: 'annotations': is not a COCO captions file"):
        read(root, image_size=8, sessions=1, captions=str(coco))


REAL_NSD = "real_formats/nsd"


def test_real_stim_info_rows_and_ctab(shared_data, tmp_path):
    """Real rows of nsd_stim_info_merged.csv (pandas' unnamed index first, cropBox a tuple string)
    and NSD's real Kastner2015 colour table (tab-separated, trailing spaces, '0 Unknown')."""
    import shutil

    root, *_ = make_nsd(tmp_path)  # images are NSD ids 1..30: nsdId 0..29, the fragment's first rows
    csv = root / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv"
    shutil.copy(shared_data / REAL_NSD / "nsd_stim_info_merged_fragment_rows0-29_72970-72999.csv", csv)
    ds = read(root, image_size=8, sessions=1)
    first = ds.sel(stimulus="nsd00001")
    assert int(first["coco_id"]) == 532481 and str(first["coco_split"].values) == "val2017"
    np.testing.assert_allclose([float(first[c]) for c in ("crop_top", "crop_bottom", "crop_left", "crop_right")],
                               [0, 0, 0.1671875, 0.1671875])
    assert int(ds.sel(stimulus="nsd00002")["coco_id"]) == 245764 and not bool(first["shared1000"])
    from cortexkit.data.readers.nsd import read_stim_info

    info = read_stim_info(csv)
    assert len(info) == 60 and info.index[-1] == 72999 and "Unnamed: 0" not in info.columns
    # the colour table: found beside NSD's label volume name, or named with roi_names
    label_dir = root / "nsddata" / "freesurfer" / "subj01" / "label"
    label_dir.mkdir(parents=True)
    shutil.copy(shared_data / REAL_NSD / "Kastner2015.mgz.ctab.transcribed", label_dir / "Kastner2015.mgz.ctab")
    labels = np.zeros(VOL, np.int16)
    labels[0, 0, :] = 7   # hV4
    labels[1, 1, :2] = 25  # FEF, the last line (no trailing space)
    labels[2, 2, 2] = 17  # V3A
    np.save(tmp_path / "Kastner2015.npy", labels)
    ds = read(root, rois=str(tmp_path / "Kastner2015.npy"), image_size=8, sessions=1)
    assert sorted(ds["area"].values.tolist()) == ["FEF"] * 2 + ["V3A"] + ["hV4"] * 5
    named = read(root, rois=str(tmp_path / "Kastner2015.npy"), roi_names=str(label_dir / "Kastner2015.mgz.ctab"),
                 image_size=8, sessions=1)
    assert named["area"].values.tolist() == ds["area"].values.tolist()
    (tmp_path / "bad.ctab").write_text("0 Unknown\nV1 1\n")
    with pytest.raises(DataError, match=r"bad.ctab: line 2 is not 'index name': 'V1 1'"):
        read(root, rois=str(tmp_path / "Kastner2015.npy"), roi_names=str(tmp_path / "bad.ctab"), image_size=8, sessions=1)
    bad = csv.read_text().replace('"(0, 0, 0.125, 0.125)"', '"(0, 0.125)"', 1)
    csv.write_text(bad)
    with pytest.raises(DataError, match=r"nsd_stim_info_merged.csv: 'cropBox': row 1: expected a tuple of 4 fractions"):
        read(root, image_size=8, sessions=1)
