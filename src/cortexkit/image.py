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

    images = np.asarray(images, dtype=np.float32)
    with torch.no_grad():
        return resize_tensor(torch.from_numpy(np.ascontiguousarray(images)), size, gray_ndim).numpy()


def resize_tensor(x, size: int | tuple[int, int], gray_ndim: int = 3):
    """:func:`resize` of a float tensor, differentiable (what in-silico experiments back-propagate
    through); the numpy version calls this one, so the two agree exactly."""
    import torch.nn.functional as F

    hw = (size, size) if isinstance(size, int) else tuple(size)
    color = x.ndim == gray_ndim + 1
    if color:
        x = x.movedim(-1, -3)  # (..., c, y, x)
    lead = x.shape[:-2]
    out = F.interpolate(x.reshape((-1, 1) + tuple(x.shape[-2:])), size=hw, mode="bilinear", antialias=True,
                        align_corners=False).reshape(lead + hw)
    if color:
        out = out.movedim(-3, -1)
    return out.clamp(0.0, 1.0)


def grayscale_tensor(x, gray_ndim: int = 3):
    """:func:`to_grayscale` of a float tensor, differentiable."""
    import torch

    if x.ndim == gray_ndim:
        return x
    if x.ndim == gray_ndim + 1 and x.shape[-1] == 3:
        return x @ torch.as_tensor(LUMINANCE, dtype=x.dtype, device=x.device)
    if x.ndim == gray_ndim + 1 and x.shape[-1] == 1:
        return x[..., 0]
    raise ValueError(f"expected {gray_ndim} dims, or {gray_ndim + 1} with 1 or 3 channels; got {tuple(x.shape)}")
