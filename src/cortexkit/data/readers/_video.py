"""Video decoding with PyAV: frames resampled to a chosen rate, cropped and resized."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cortexkit.errors import DataError
from cortexkit.image import resize, to_grayscale


def read_video(
    path: Path,
    *,
    n_frames: int | None = None,
    frame_rate: float | None = None,
    size: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
    grayscale: bool = False,
) -> np.ndarray:
    """Decode a video file into float32 frames in [0, 1].

    Parameters
    ----------
    n_frames : keep this many frames (all by default); fewer in the file is an error
    frame_rate : resample to this rate (Hz): frame ``k`` shows the last source frame whose
        timestamp is at or before ``k / frame_rate``; the file's own rate by default
    size : resize frames to ``size`` x ``size`` pixels after cropping
    crop : (top, left, height, width) in source pixels
    grayscale : return luminance (frames, y, x) instead of RGB (frames, y, x, 3)
    """
    import av

    if not path.is_file():
        raise DataError("missing video file", source=str(path))
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames, times = [], []
            for frame in container.decode(stream):
                times.append(float(frame.time) if frame.time is not None else len(times) / float(stream.average_rate or 1))
                frames.append(frame.to_ndarray(format="rgb24"))
                if frame_rate is None and n_frames is not None and len(frames) >= n_frames:
                    break
                if frame_rate is not None and n_frames is not None and times[-1] >= (n_frames - 1) / frame_rate:
                    break
    except DataError:
        raise
    except Exception as exc:  # av.error.* and friends: a truncated or foreign file
        raise DataError(f"cannot decode the video ({type(exc).__name__}: {exc})", source=str(path)) from None
    if not frames:
        raise DataError("has no video frames", source=str(path))
    video = np.stack(frames)
    if frame_rate is not None:
        times = np.asarray(times) - times[0]
        count = n_frames if n_frames is not None else int(np.floor(times[-1] * frame_rate + 1e-6)) + 1
        wanted = np.arange(count) / frame_rate
        if wanted[-1] > times[-1] + 1e-6 and n_frames is not None:
            raise DataError(f"lasts {times[-1]:.3f} s; {n_frames} frames at {frame_rate} Hz need {wanted[-1]:.3f} s",
                            source=str(path))
        video = video[np.searchsorted(times, wanted + 1e-6, side="right") - 1]
    elif n_frames is not None:
        if len(video) < n_frames:
            raise DataError(f"has {len(video)} frames; {n_frames} needed", source=str(path))
        video = video[:n_frames]
    if crop is not None:
        top, left, h, w = crop
        if top + h > video.shape[1] or left + w > video.shape[2]:
            raise DataError(f"crop {crop} exceeds the frame size {video.shape[1:3]}", source=str(path))
        video = video[:, top : top + h, left : left + w]
    out = video.astype(np.float32) / 255.0
    if grayscale:
        out = to_grayscale(out)
    if size is not None:
        out = resize(out, size)
    return out
