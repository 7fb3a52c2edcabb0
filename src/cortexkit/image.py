"""Small image helpers shared by the simulator and the feature extractors."""

from __future__ import annotations

import numpy as np

# Rec. 709 luminance weights, as scikit-image's rgb2gray uses.
LUMINANCE = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)


def to_grayscale(images: np.ndarray, gray_ndim: int = 3) -> np.ndarray:
    """Luminance of a stimulus batch.

    ``images`` has ``gray_ndim`` dims when already grayscale ((n, y, x) by default; 4 for
    (n, frame, y, x) videos), or one more for a trailing channel axis of size 1 or 3.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == gray_ndim:
        return images
    if images.ndim == gray_ndim + 1 and images.shape[-1] == 3:
        return images @ LUMINANCE
    if images.ndim == gray_ndim + 1 and images.shape[-1] == 1:
        return images[..., 0]
    raise ValueError(f"expected {gray_ndim} dims, or {gray_ndim + 1} with 1 or 3 channels; got {images.shape}")


def resize(images: np.ndarray, size: int | tuple[int, int], gray_ndim: int = 3) -> np.ndarray:
    """Resize a batch of images (or video frames) with antialiasing, keeping values in [0, 1].

    Parameters
    ----------
    images : array, shape (..., y, x) or (..., y, x, channel)
        Grayscale images have ``gray_ndim`` dims (the leading ones being batch axes); one more means
        a channel axis.
    size : int or (int, int)
        Output side (square) or (height, width).
    gray_ndim : int
        3 for image batches, 4 for video batches.

    Returns
    -------
    array, shape (..., height, width[, channel])
    """
    import torch
    import torch.nn.functional as F

    images = np.asarray(images, dtype=np.float32)
    hw = (size, size) if isinstance(size, int) else tuple(size)
    color = images.ndim == gray_ndim + 1
    x = torch.from_numpy(np.ascontiguousarray(images))
    if color:
        x = x.movedim(-1, -3)  # (..., c, y, x)
    lead = x.shape[:-2]
    flat = x.reshape((-1, 1) + tuple(x.shape[-2:]))
    out = F.interpolate(flat, size=hw, mode="bilinear", antialias=True, align_corners=False)
    out = out.reshape(lead + hw)
    if color:
        out = out.movedim(-3, -1)
    return out.clamp_(0.0, 1.0).numpy()
