"""The Natural Scenes Dataset (Allen et al. 2022): 7T fMRI single-trial betas to COCO images.

Layout (the NSD data release, paths relative to the NSD root)::

    nsddata/experiments/nsd/nsd_expdesign.mat    masterordering (1 x 30000), subjectim (8 x 10000),
                                                 sharedix (1 x 1000); all 1-based
    nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5 imgBrick (73000, 425, 425, 3) uint8
    nsddata_betas/ppdata/subjNN/<space>/<betas>/betas_sessionSS.hdf5
                                                 betas (750, ...voxels) int16, percent signal change x 300
                                                 (or betas_sessionSS.nii.gz, (...voxels, 750), the same
                                                 values in NIfTI axis order)

Trial ``t`` (0-based over the subject's sessions, 750 per session) shows the 73k image
``subjectim[subject, masterordering[t]]``. Betas are divided by 300 and, by default, z-scored per
voxel within each session (NSD's recommendation). The shared 1000 images (``sharedix``) are the
test split, seen up to three times each; the rest are train. Volumes are large: pass a ``mask`` to
keep a region, either NSD's own ROI file (``nsddata/ppdata/subjNN/<space>/roi/nsdgeneral.nii.gz``,
read with nibabel) or a ``.npy`` array shaped like one beta volume as h5py reads it (the NIfTI
volume transposed). Voxels whose mask value is > 0 are kept: NSD's ROI files mark voxels outside the
brain with -1 and outside the ROI with 0 (the convention of NSD's own example code). Voxels are
always indexed in the HDF5 axis order, whichever format the betas come in. Both betas and images
are read lazily, a session or a block of images at a time. With ``captions`` (a folder holding COCO's
caption files; by default ``nsddata_stimuli/stimuli/nsd/annotations`` when it holds them), each
image's COCO captions become the ``caption`` stimulus coordinate (text-guided decoders read it),
matched through ``nsddata/experiments/nsd/nsd_stim_info_merged.csv``.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as dsa
import h5py
import numpy as np

from cortexkit.data.model import make_dataset
from cortexkit.data.readers._common import load_mat_variable, load_npy, require_file
from cortexkit.data.readers.registry import register
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.image import resize

IMAGE_CHUNK = 64
BETA_SCALE = 300.0


def _open_h5(path: Path, dataset: str):
    require_file(path, "HDF5 file")
    try:
        fh = h5py.File(path, "r")
    except Exception as exc:
        raise DataError(f"cannot open the HDF5 file ({type(exc).__name__}: {exc})", source=str(path)) from None
    if dataset not in fh:
        keys = sorted(fh.keys())
        fh.close()
        raise DataError(f"no dataset {dataset!r} (has {keys})", source=str(path))
    return fh


def _session_files(folder: Path, sessions) -> list[Path]:
    # The release ships HDF5 betas (fast random access); NIfTI betas are read when no HDF5 ones exist.
    suffix = ".hdf5"
    found = sorted(folder.glob("betas_session*.hdf5"))
    if not found:
        suffix = ".nii.gz"
        found = sorted(folder.glob("betas_session*.nii.gz"))
    if not found:
        raise DataError("no betas_sessionNN.hdf5 (or .nii.gz) files", source=str(folder))
    if sessions is None:
        return found
    wanted = list(range(1, int(sessions) + 1)) if isinstance(sessions, int) else [int(s) for s in str(sessions).split(",")]
    files = [folder / f"betas_session{s:02d}{suffix}" for s in wanted]
    for f in files:
        require_file(f, "session betas")
    return files


def _is_nifti(path: Path) -> bool:
    return path.name.endswith((".nii", ".nii.gz"))


def _nifti(path: Path):
    """Open a NIfTI image lazily (header only), with a clear error when nibabel or the file is missing."""
    require_file(path, "NIfTI file")
    try:
        import nibabel
    except ImportError:
        raise ConfigError(f"{path}: reading NIfTI files needs nibabel (pip install nibabel)") from None
    try:
        return nibabel.load(str(path))
    except Exception as exc:
        raise DataError(f"cannot read the NIfTI file ({type(exc).__name__}: {exc})", source=str(path)) from None


def _grid_affine(candidates) -> list | None:
    """The voxel-to-scanner affine of the beta grid, from the first NIfTI among the betas, the mask and
    the ROI volume (HDF5 betas carry none); None when none of them is a NIfTI file."""
    for path in candidates:
        if path is not None and _is_nifti(Path(str(path))):
            return np.asarray(_nifti(Path(str(path))).affine, dtype=float).round(6).tolist()
    return None


def _session_shape(f: Path) -> tuple:
    """(trials, *volume) in HDF5 axis order."""
    if _is_nifti(f):
        shape = _nifti(f).shape
        return (shape[-1],) + tuple(reversed(shape[:-1]))
    with _open_h5(f, "betas") as fh:
        return fh["betas"].shape


def _read_session(f: Path) -> np.ndarray:
    """All betas of one session, (trials, *volume) in HDF5 axis order, raw values."""
    if _is_nifti(f):
        try:
            raw = np.asanyarray(_nifti(f).dataobj)
        except Exception as exc:
            raise DataError(f"cannot read the betas ({type(exc).__name__}: {exc})", source=str(f)) from None
        return raw.transpose(tuple(range(raw.ndim))[::-1])  # (x, y, z, t) -> (t, z, y, x)
    with _open_h5(f, "betas") as fh:
        return fh["betas"][()]


def _load_volume(path: Path, vol_shape: tuple, what: str) -> np.ndarray:
    """A volume (NIfTI or .npy) shaped like one beta volume, in HDF5 axis order."""
    if _is_nifti(path):
        try:
            values = np.asarray(_nifti(path).get_fdata()).T  # NIfTI (x, y, z) -> HDF5 (z, y, x)
        except Exception as exc:
            raise DataError(f"cannot read the {what} ({type(exc).__name__}: {exc})", source=str(path)) from None
    else:
        values = load_npy(path, f"voxel {what}")
    if values.shape != vol_shape:
        raise DataError(f"shape {values.shape} does not match the beta volume {vol_shape}"
                        + (" (NIfTI shapes are read transposed)" if _is_nifti(path) else ""),
                        source=str(path), variable=what)
    if values.dtype.kind not in "biuf":
        raise DataError(f"has dtype {values.dtype}; expected booleans or numbers", source=str(path), variable=what)
    return values


def _load_mask(path: Path, vol_shape: tuple) -> np.ndarray:
    """Flat indices of the voxels a mask keeps (value > 0), in HDF5 axis order."""
    return np.flatnonzero(np.asarray(_load_volume(path, vol_shape, "mask") > 0).ravel())


# The labels of NSD's prf-visualrois.nii.gz (nsddata/ppdata/subjNN/<space>/roi/): 0 outside, -1 outside the brain.
VISUAL_ROIS = {1: "V1v", 2: "V1d", 3: "V2v", 4: "V2d", 5: "V3v", 6: "V3d", 7: "hV4"}


def read_ctab(path: Path) -> dict[int, str]:
    """A FreeSurfer colour table as NSD ships it (``nsddata/freesurfer/subjNN/label/<roi>.mgz.ctab``):
    one ``index name`` line per label, tab- or space-separated, with trailing spaces; ``0 Unknown``
    (outside every ROI) is left out, as voxels labelled 0 are "other"."""
    require_file(path, "ROI colour table")
    out = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2 or not parts[0].lstrip("-").isdigit():
            raise DataError(f"line {number} is not 'index name': {line.strip()!r}", source=str(path))
        if int(parts[0]) > 0:
            out[int(parts[0])] = parts[1]
    if not out:
        raise DataError("names no label above 0", source=str(path))
    return out


def _roi_names(text, root: Path, subject: int, rois: str | None) -> dict[int, str]:
    """ROI label names: ``"1=V1v,2=V1d"``, a ``.ctab`` file, or (by default) the colour table NSD
    ships beside the label volume's name, else NSD's visual ROI labels."""
    if text is None:
        stem = Path(str(rois)).name.split(".")[0] if rois else ""
        ctab = root / "nsddata" / "freesurfer" / f"subj{int(subject):02d}" / "label" / f"{stem}.mgz.ctab"
        return read_ctab(ctab) if stem and ctab.is_file() else dict(VISUAL_ROIS)
    if str(text).endswith(".ctab") or Path(str(text)).is_file():
        return read_ctab(Path(str(text)))
    out = {}
    for part in str(text).split(","):
        key, sep, name = part.partition("=")
        if not sep or not key.strip().lstrip("-").isdigit() or not name.strip():
            raise ConfigError(f"roi_names must look like 1=V1v,2=V1d (or name a .ctab file); got {part!r}")
        out[int(key)] = name.strip()
    return out


def read_stim_info(path: Path):
    """``nsd_stim_info_merged.csv`` as NSD writes it (pandas' unnamed index column first; ``cropBox``
    a tuple string ``"(top, bottom, left, right)"``, the fractions cropped from each side), indexed
    by the 0-based ``nsdId``; ``cropBox`` parsed into ``crop_top`` ... ``crop_right``."""
    import pandas as pd

    require_file(path, "NSD stimulus info")
    try:
        info = pd.read_csv(path, index_col=0)
    except Exception as exc:
        raise DataError(f"cannot read the CSV ({type(exc).__name__}: {exc})", source=str(path)) from None
    missing = [c for c in ("nsdId", "cocoId", "cocoSplit") if c not in info.columns]
    if missing:
        raise DataError(f"has no column(s) {listed(missing)}", source=str(path))
    if "cropBox" in info:
        boxes = []
        for row, text in zip(info.index, info["cropBox"].astype(str)):
            try:
                box = [float(v) for v in text.strip().strip("()[]").split(",")]
            except ValueError:
                box = []
            if len(box) != 4:
                raise DataError(f"row {row}: expected a tuple of 4 fractions like '(0, 0, 0.125, 0.125)', got {text!r}",
                                source=str(path), variable="cropBox")
            boxes.append(box)
        for name, values in zip(("crop_top", "crop_bottom", "crop_left", "crop_right"), np.array(boxes).T):
            info[name] = values
    return info.set_index("nsdId")


def coco_captions(root: Path, folder: Path, nsd_ids: np.ndarray) -> np.ndarray:
    """The COCO captions of NSD images (1-based 73k ids), newline-separated per image.

    ``nsddata/experiments/nsd/nsd_stim_info_merged.csv`` gives each image's ``cocoId`` and ``cocoSplit``
    (its ``nsdId`` is 0-based); ``folder`` holds COCO 2017's ``captions_train2017.json`` and
    ``captions_val2017.json`` (``annotations``: ``image_id``, ``caption``)."""
    import json

    info_file = root / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv"
    info = read_stim_info(info_file)
    wanted = nsd_ids - 1
    absent = sorted(set(wanted) - set(info.index))
    if absent:
        raise DataError(f"has no row for nsdId {absent[:5]}", source=str(info_file), variable="nsdId")
    rows = info.loc[wanted]
    texts: dict[tuple[str, int], list[str]] = {}
    for split in sorted(set(rows["cocoSplit"].astype(str))):
        path = require_file(folder / f"captions_{split}.json", "COCO captions")
        try:
            annotations = json.loads(path.read_text())["annotations"]
            for a in annotations:
                texts.setdefault((split, int(a["image_id"])), []).append(str(a["caption"]).strip())
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"is not a COCO captions file ({type(exc).__name__}: {exc})", source=str(path),
                            variable="annotations") from None
    out = []
    for nsd_id, (coco_id, split) in zip(nsd_ids, zip(rows["cocoId"].astype(int), rows["cocoSplit"].astype(str))):
        found = texts.get((split, coco_id))
        if not found:
            raise DataError(f"has no caption of COCO image {coco_id} (NSD image {nsd_id})",
                            source=str(folder / f"captions_{split}.json"), variable="annotations")
        out.append("\n".join(found))
    return np.array(out, dtype=object)


def _stim_info_coords(root: Path, nsd_ids: np.ndarray) -> dict:
    """COCO id, split, crop box and shared1000 of each image from ``nsd_stim_info_merged.csv``,
    when the release holds it (every row needed must be there)."""
    path = root / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv"
    if not path.is_file():
        return {}
    info = read_stim_info(path)
    absent = sorted(set((nsd_ids - 1).tolist()) - set(info.index))
    if absent:
        raise DataError(f"has no row for nsdId {absent[:5]} (0-based)", source=str(path), variable="nsdId")
    rows = info.loc[nsd_ids - 1]
    coords = {"coco_id": rows["cocoId"].to_numpy(np.int64), "coco_split": rows["cocoSplit"].astype(str).to_numpy()}
    if "shared1000" in rows:
        coords["shared1000"] = rows["shared1000"].astype(str).str.lower().eq("true").to_numpy()
    for name in ("crop_top", "crop_bottom", "crop_left", "crop_right"):
        if name in rows:
            coords[name] = rows[name].to_numpy(np.float32)
    return coords


@register(
    "nsd",
    summary="Natural Scenes Dataset 7T fMRI: per-session HDF5 betas, nsd_stimuli.hdf5, nsd_expdesign.mat",
    example="cortexkit data convert ~/nsd nsd_subj01.zarr --format nsd --option subject=1 --option mask=nsdgeneral_subj01.npy",
    options={
        "subject": "subject 1-8 (default 1)",
        "sessions": "number of sessions from the first, or a comma list, e.g. 1,2,3 (default: all found)",
        "space": "beta space folder (default func1pt8mm)",
        "betas": "beta version folder (default betas_fithrf_GLMdenoise_RR)",
        "mask": "voxel mask: NSD's ROI .nii.gz (e.g. nsdgeneral.nii.gz) or a .npy shaped like one beta volume; keeps values > 0 (recommended)",
        "rois": "ROI label volume (e.g. prf-visualrois.nii.gz, or a .npy): each voxel's `area`; without a mask, keeps the labelled voxels (> 0)",
        "roi_names": "label=name pairs for `rois`, e.g. 1=V1v,2=V1d, or a FreeSurfer .ctab file (default: NSD's "
                     "nsddata/freesurfer/subjNN/label/<rois name>.mgz.ctab when present, else the prf-visualrois labels V1v ... hV4)",
        "image_size": "pixels per side of the stored images (default 128; the source is 425)",
        "zscore": "z-score each voxel within each session (default true)",
        "captions": "folder with COCO's captions_train2017.json / captions_val2017.json: each stimulus gets its COCO "
                    "captions (`caption`, newline-separated), matched through nsd_stim_info_merged.csv (default: "
                    "nsddata_stimuli/stimuli/nsd/annotations when it holds them)",
    },
)
def read_nsd(
    path,
    *,
    subject: int = 1,
    sessions=None,
    space: str = "func1pt8mm",
    betas: str = "betas_fithrf_GLMdenoise_RR",
    mask: str | None = None,
    rois: str | None = None,
    roi_names: str | None = None,
    image_size: int = 128,
    zscore: bool = True,
    captions: str | None = None,
):
    """Read NSD betas (per-session HDF5, z-scored per session), stimuli and the experimental design."""
    root = Path(path)
    if not 1 <= int(subject) <= 8:
        raise ConfigError(f"subject must be 1-8, got {subject}")
    design_file = root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"
    order = np.asarray(load_mat_variable(design_file, "masterordering")).ravel().astype(np.int64)
    subjectim = np.atleast_2d(np.asarray(load_mat_variable(design_file, "subjectim"))).astype(np.int64)
    shared = np.asarray(load_mat_variable(design_file, "sharedix")).ravel().astype(np.int64)
    if subjectim.shape[0] < int(subject):
        raise DataError(f"has {subjectim.shape[0]} subjects, need {subject}", source=str(design_file), variable="subjectim")

    beta_dir = root / "nsddata_betas" / "ppdata" / f"subj{int(subject):02d}" / space / betas
    files = _session_files(beta_dir, sessions)
    shapes = [_session_shape(f) for f in files]
    vol_shape = shapes[0][1:]
    if any(s[1:] != vol_shape for s in shapes):
        raise DataError("sessions have different volume shapes", source=str(beta_dir))
    roi_labels = None if rois is None else np.rint(_load_volume(Path(rois), vol_shape, "rois")).astype(np.int64).ravel()
    names = _roi_names(roi_names, root, int(subject), rois)
    if mask is not None:
        voxels = _load_mask(Path(mask), vol_shape)
    elif roi_labels is not None:
        voxels = np.flatnonzero(roi_labels > 0)
    else:
        voxels = np.arange(int(np.prod(vol_shape)))
    if voxels.size == 0:
        raise DataError("selects no voxels", source=str(mask), variable="mask")
    affine = _grid_affine([files[0], mask, rois])

    counts = [s[0] for s in shapes]
    session_numbers = [int(f.name.removeprefix("betas_session").split(".")[0]) for f in files]
    trial_index = np.concatenate([(sn - 1) * 750 + np.arange(c) for sn, c in zip(session_numbers, counts)])
    if trial_index.max() >= order.size:
        raise DataError(f"masterordering has {order.size} trials; sessions need {trial_index.max() + 1}",
                        source=str(design_file), variable="masterordering")
    image_ids = subjectim[int(subject) - 1, order[trial_index] - 1]  # 1-based 73k ids
    unique_ids = np.unique(image_ids)

    def session_betas(f: Path, n: int):
        b = _read_session(f).reshape(n, -1)[:, voxels].astype(np.float32) / BETA_SCALE
        if zscore:
            sd = b.std(axis=0)
            b = (b - b.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        return b

    responses = dsa.concatenate(
        [dsa.from_delayed(dask.delayed(session_betas)(f, n), shape=(n, voxels.size), dtype=np.float32)
         for f, n in zip(files, counts)], axis=0)

    stim_file = root / "nsddata_stimuli" / "stimuli" / "nsd" / "nsd_stimuli.hdf5"
    with _open_h5(stim_file, "imgBrick") as fh:
        brick_shape = fh["imgBrick"].shape
    if unique_ids.max() > brick_shape[0] or len(brick_shape) != 4:
        raise DataError(f"imgBrick {brick_shape} cannot hold image {unique_ids.max()}", source=str(stim_file))

    def images(ids):
        with _open_h5(stim_file, "imgBrick") as fh:
            raw = fh["imgBrick"][np.sort(ids - 1)]  # h5py needs increasing indices; ids are sorted
        return resize(raw.astype(np.float32) / 255.0, image_size)

    stimuli = dsa.concatenate(
        [dsa.from_delayed(dask.delayed(images)(unique_ids[a : a + IMAGE_CHUNK]),
                          shape=(len(unique_ids[a : a + IMAGE_CHUNK]), image_size, image_size, 3), dtype=np.float32)
         for a in range(0, len(unique_ids), IMAGE_CHUNK)], axis=0)

    # Captions: the folder given, else COCO's annotations where NSD's stimuli folder holds them.
    caption_dir = Path(captions) if captions else None
    default = root / "nsddata_stimuli" / "stimuli" / "nsd" / "annotations"
    if caption_dir is None and any(default.glob("captions_*2017.json")):
        caption_dir = default
    labels = np.array([f"nsd{i:05d}" for i in unique_ids])
    split = np.where(np.isin(unique_ids, shared), "test", "train")
    ijk = np.stack(np.unravel_index(voxels, vol_shape), axis=1)
    if roi_labels is None:
        area = np.array(["mask" if mask is not None else "all"] * voxels.size)
    else:  # labels without a name (0, -1: outside every ROI) are "other"
        area = np.array([names.get(int(v), "other") for v in roi_labels[voxels]])
    ds = make_dataset(
        stimuli,
        responses,
        np.array([f"nsd{i:05d}" for i in image_ids]),
        split,
        stimulus=labels,
        unit=voxels,
        # Voxel position: its index along each axis of the beta volume as stored in the HDF5 file.
        unit_coords={**{f"voxel_axis{i}": ijk[:, i] for i in range(len(vol_shape))},
                     "area": area},
        stimulus_coords={"nsd_id": unique_ids, **_stim_info_coords(root, unique_ids),
                         **({"caption": coco_captions(root, caption_dir, unique_ids)} if caption_dir else {})},
        attrs={
            "modality": "fmri",
            # the voxel grid, so that scores can be written back as volumes (HDF5 axis order; the
            # affine maps NIfTI indices, the same axes reversed, to scanner space)
            "volume_shape": [int(n) for n in vol_shape],
            **({"affine": affine} if affine is not None else {}),
            "source": f"NSD subject {int(subject)}, {space}/{betas}, sessions {session_numbers}",
            "license": "NSD terms of use (naturalscenesdataset.org)",
            "citation": "Allen et al. (2022) A massive 7T fMRI dataset to bridge cognitive neuroscience and AI. Nat Neurosci 25:116-126",
            "response_window": "single-trial GLM betas" + (", z-scored per voxel within session" if zscore else " (% signal change)"),
        },
        validate_result=False,
    )
    # the scan session of each trial, as in cortexkit's fMRI simulation
    return ds.assign_coords(session=("trial", np.repeat(session_numbers, counts)))
