"""A VQ-VAE (van den Oord et al. 2017) trained from scratch: images <-> a grid of codebook vectors.

- **encoder**: a 3x3 stem, then per halving of the side a residual block and a stride-2 4x4
  convolution (channels ``width`` x 1, 2, 4, 4 ...), a last residual block and a 1x1 map to
  ``latent_channels``: a ``latent_size`` x ``latent_size`` grid of vectors;
- **quantiser**: each vector is replaced by its nearest of ``codebook_size`` codebook vectors; the
  codebook follows exponential moving averages of the vectors assigned to each code (decay
  ``ema_decay``; a code unused for a while restarts at a vector of the batch), the encoder gets the
  decoder's gradient straight through the quantiser and a commitment loss ``commitment * ||z - sg(q)||^2``;
- **decoder**: the mirror image with nearest-neighbour upsampling and a sigmoid;
- **loss**: squared error, the commitment term, and ``perceptual`` times LPIPS (AlexNet, where its
  weights are installed), as latent diffusion's first stage is trained.

Videos are encoded frame by frame (:class:`cortexkit.decoding.vqldm.VQLDMDecoder` lays a clip's
grids side by side in time).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.autoencoder import from_tensor, to_tensor, train_image_model
from cortexkit.errors import ConfigError, CortexkitError


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, c), c)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, plus the input (through a 1x1 convolution when the width changes)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(_norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1), _norm(cout), nn.SiLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        """``x`` (B, C, H, W) through the block, plus the skip path."""
        return self.skip(x) + self.body(x)


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantisation with EMA codebook updates and dead-code restarts (see the module)."""

    def __init__(self, codebook_size: int, dim: int, decay: float = 0.99, eps: float = 1e-5):
        super().__init__()
        self.decay, self.eps = decay, eps
        self.register_buffer("codebook", torch.zeros(codebook_size, dim))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("embed_sum", torch.zeros(codebook_size, dim))
        self.register_buffer("started", torch.tensor(False))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code of each row of ``flat`` (N, dim)."""
        d = (flat**2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + (self.codebook**2).sum(1)[None]
        return d.argmin(1)

    def forward(self, z: torch.Tensor):
        """(quantised z with straight-through gradients, commitment loss, code indices) of z (B, D, H, W)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        if self.training:
            self._update(flat.detach())
        idx = self.nearest(flat)
        q = self.codebook[idx].reshape(b, h, w, d).permute(0, 3, 1, 2)
        commit = ((z - q.detach()) ** 2).mean()
        return z + (q - z).detach(), commit, idx.reshape(b, h, w)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor) -> None:
        k = len(self.codebook)
        if not bool(self.started):  # codes start at vectors of the first batch
            pick = torch.randint(0, len(flat), (k,), device=flat.device)
            self.codebook.copy_(flat[pick])
            self.embed_sum.copy_(flat[pick])
            self.cluster_size.fill_(1.0)
            self.started.fill_(True)
        idx = self.nearest(flat)
        onehot = nn.functional.one_hot(idx, k).type(flat.dtype)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + self.eps) / (n + k * self.eps) * n
        self.codebook.copy_(self.embed_sum / size[:, None])
        dead = self.cluster_size < 1e-2  # unused for about 1 / (1 - decay) batches: restart at a batch vector
        if dead.any():
            pick = torch.randint(0, len(flat), (int(dead.sum()),), device=flat.device)
            self.codebook[dead] = flat[pick]
            self.embed_sum[dead] = flat[pick]
            self.cluster_size[dead] = 1.0


class VQVAE(nn.Module):
    """Images (B, C, S, S) in [0, 1] <-> a (B, latent_channels, latent_size, latent_size) grid of codes."""

    def __init__(self, channels: int, size: int, latent_size: int, latent_channels: int = 4, codebook_size: int = 256,
                 width: int = 32, ema_decay: float = 0.99):
        super().__init__()
        levels = check_grid(size, latent_size)
        widths = [width * min(2**i, 4) for i in range(levels + 1)]
        enc = [nn.Conv2d(channels, widths[0], 3, padding=1)]
        for i in range(levels):
            enc += [ResBlock(widths[i], widths[i]), nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1)]
        enc += [ResBlock(widths[-1], widths[-1]), _norm(widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], latent_channels, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = VectorQuantizer(codebook_size, latent_channels, ema_decay)
        dec = [nn.Conv2d(latent_channels, widths[-1], 3, padding=1), ResBlock(widths[-1], widths[-1])]
        for i in reversed(range(levels)):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(widths[i + 1], widths[i], 3, padding=1),
                    ResBlock(widths[i], widths[i])]
        dec += [_norm(widths[0]), nn.SiLU(), nn.Conv2d(widths[0], channels, 3, padding=1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Each vector of a grid (B, D, h, w) replaced by its nearest code (no codebook update)."""
        b, d, h, w = z.shape
        idx = self.quantizer.nearest(z.permute(0, 2, 3, 1).reshape(-1, d))
        return self.quantizer.codebook[idx].reshape(b, h, w, d).permute(0, 3, 1, 2)

    def forward(self, x):
        """(reconstruction, commitment loss) of images (B, C, S, S)."""
        q, commit, _ = self.quantizer(self.encoder(x))
        return self.decoder(q), commit


def check_grid(size: int, latent_size: int) -> int:
    """How many halvings take an image of ``size`` px to a ``latent_size`` grid; other sizes are refused."""
    if latent_size < 1 or latent_size > size:
        raise ConfigError(f"latent_size must be within 1..{size} (the image is {size} px), got {latent_size}")
    levels = math.log2(size / latent_size)
    if size % latent_size or levels != int(levels):
        raise ConfigError(f"latent_size must be the image size ({size} px) halved a whole number of times "
                          f"({', '.join(str(size >> k) for k in range(int(math.log2(size)) + 1) if size % (1 << k) == 0)}), "
                          f"got {latent_size}")
    return int(levels)


def perceptual_loss(weight: float, device: str = "cpu", log=None):
    """``f(rec, x)`` -> mean LPIPS (AlexNet) of batches, or None when ``weight`` is 0 or the weights are
    not installed (logged)."""
    if not weight:
        return None
    try:
        from cortexkit.features.perceptual import LPIPS

        lpips = LPIPS("alex", device=device)
    except CortexkitError as exc:
        if log:
            log(f"VQ-VAE: no perceptual loss ({exc}); squared error and commitment only")
        return None
    return lambda rec, x: lpips.distance(rec, x).mean()


def train_vqvae(images: np.ndarray, *, latent_size: int, latent_channels: int = 4, codebook_size: int = 256,
                width: int = 16, commitment: float = 0.25, ema_decay: float = 0.99, perceptual: float = 0.1,
                epochs: int = 20, batch_size: int = 128, lr: float = 1e-3, seed: int = 0, device: str = "cpu",
                checkpoint=None, log=None) -> VQVAE:
    """Train a :class:`VQVAE` on images (n, y, x[, c]); resumable through ``checkpoint``."""
    if codebook_size < 1:
        raise ConfigError(f"codebook_size must be at least 1, got {codebook_size}")
    lpips = perceptual_loss(perceptual, device, log)

    def loss(m, batch, n_pixels):
        rec, commit = m(batch)
        total = ((rec - batch) ** 2).mean() + commitment * commit
        return total + perceptual * lpips(rec, batch) if lpips is not None else total

    return train_image_model(
        lambda channels, size: VQVAE(channels, size, latent_size, latent_channels, codebook_size, width, ema_decay),
        images, loss, extra={"model": "vqvae", "latent_size": latent_size, "latent_channels": latent_channels,
                             "codebook_size": codebook_size, "width": width, "commitment": commitment,
                             "ema_decay": ema_decay, "perceptual": perceptual if lpips is not None else 0.0},
        epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, checkpoint=checkpoint, log=log,
        description="VQ-VAE")


@torch.no_grad()
def encode_images(vae: VQVAE, images: np.ndarray, device: str, quantize: bool = True) -> np.ndarray:
    """The (quantised) latent grids (n, D, h, w) of images (n, y, x[, c])."""
    out = []
    for s in range(0, len(images), 256):
        z = vae.encoder(to_tensor(images[s : s + 256]).to(device))
        out.append((vae.quantize(z) if quantize else z).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def decode_grids(vae: VQVAE, grids: np.ndarray, device: str, gray: bool, quantize: bool = True) -> np.ndarray:
    """Images (n, y, x[, c]) from latent grids (n, D, h, w), each vector first snapped to its code."""
    out = []
    for s in range(0, len(grids), 256):
        z = torch.from_numpy(np.ascontiguousarray(grids[s : s + 256], dtype=np.float32)).to(device)
        out.append(vae.decoder(vae.quantize(z) if quantize else z).cpu())
    return from_tensor(torch.cat(out), gray=gray)
