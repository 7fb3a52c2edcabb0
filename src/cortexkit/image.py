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
    hw = (size, size) if isinstance(size, int) else tuple(size)
    color = x.ndim == gray_ndim + 1
    if color:
        x = x.movedim(-1, -3)  # (..., c, y, x)
    lead = x.shape[:-2]
    out = resize_planes(x.reshape((-1, 1) + tuple(x.shape[-2:])), hw).reshape(lead + hw)
    return out.movedim(-3, -1) if color else out


def resize_planes(x, size: int | tuple[int, int]):
    """Bilinear resize of a (batch, channel, y, x) float tensor, each plane on its own, clamped to
    [0, 1]: the arithmetic of :func:`resize_tensor` (which calls it), for callers that already hold
    channel-first batches (network inputs, either memory layout)."""
    import torch.nn.functional as F

    hw = (size, size) if isinstance(size, int) else tuple(size)
    # Antialiasing only changes a downsampling; for an upsampling it gives plain bilinear weights
    # (equal to 1e-7) through a path about 2.5x slower, so it is used only when an axis shrinks.
    shrink = hw[0] < x.shape[-2] or hw[1] < x.shape[-1]
    out = F.interpolate(x, size=hw, mode="bilinear", antialias=shrink, align_corners=False)
    # in place unless gradients flow (the weights are convex: the clamp only trims float rounding)
    return out.clamp(0.0, 1.0) if out.requires_grad else out.clamp_(0.0, 1.0)


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
