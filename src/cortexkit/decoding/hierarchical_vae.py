"""A hierarchical (ladder) VAE trained from scratch, and the first-stage decoder that goes through it.

brain-diffuser's and SpikeVAEDiff's first stage regresses the latents of VDVAE, a very deep
hierarchical VAE, from the responses and decodes them into a blurry but well-laid-out image, which
the diffusion stage then refines. This is the same design at a size that trains on a CPU:

- **bottom-up**: a convolutional encoder keeps its activations at each resolution (side / 8, / 4, / 2);
- **top-down**: from a learned constant at side / 8, groups of latents (``groups`` per resolution,
  ``latent_channels`` maps each) are drawn coarse to fine; each group has a prior ``p(z | h)`` from the
  top-down state ``h`` and a posterior ``q(z | h, bottom-up)``; the group's sample is added back into
  ``h`` (residual), and ``h`` is upsampled between resolutions; a last convolution gives the pixels;
- **loss**: squared error plus ``beta`` times the KL divergence of every group's posterior to its prior.

:class:`HierarchicalVAEDecoder` maps responses (ridge, re-standardised as brain-diffuser does) to the
posterior means of the first ``n_regressed`` groups of each training image (brain-diffuser regresses
VDVAE's first 31 of 75); at decoding, the later groups take their prior means given the predicted
ones (temperature 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.autoencoder import from_tensor, to_tensor, train_image_model, with_natural_crops
from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.decoding.latent import LatentRidge
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError

SCALES = (8, 4, 2)  # resolutions of the latent groups: side / 8, side / 4, side / 2


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.SiLU(), nn.Conv2d(cout, cout, 3, padding=1))


class HierarchicalVAE(nn.Module):
    """Bottom-up encoder, top-down decoder with ``groups`` latent groups per resolution (see the module)."""

    def __init__(self, channels: int, size: int, width: int = 32, latent_channels: int = 4, groups: int = 2):
        super().__init__()
        if size % 8:
            raise ConfigError(f"the hierarchical VAE needs an image size divisible by 8, got {size}")
        self.size, self.width, self.latent_channels, self.groups = size, width, latent_channels, groups
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down = nn.ModuleList(nn.Sequential(_block(width, width), nn.AvgPool2d(2)) for _ in range(3))
        self.top = nn.Parameter(torch.zeros(1, width, size // 8, size // 8))
        n = len(SCALES) * groups
        self.prior = nn.ModuleList(nn.Conv2d(width, 2 * latent_channels + width, 3, padding=1) for _ in range(n))
        self.posterior = nn.ModuleList(nn.Conv2d(2 * width, 2 * latent_channels, 3, padding=1) for _ in range(n))
        self.from_z = nn.ModuleList(nn.Conv2d(latent_channels, width, 1) for _ in range(n))
        self.mix = nn.ModuleList(_block(width, width) for _ in range(n))
        self.out = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _block(width, width), nn.SiLU(),
                                 nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid())
        for conv in self.prior:  # start with priors at N(0, 1) and no prior-side residual
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def group_shapes(self) -> list[tuple[int, int, int]]:
        """(channels, y, x) of each latent group, coarse to fine."""
        return [(self.latent_channels, self.size // s, self.size // s) for s in SCALES for _ in range(self.groups)]

    def bottom_up(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Encoder activations by scale (8, 4, 2)."""
        h, acts = self.stem(x), {}
        for k, stage in enumerate(self.down):
            h = stage(h)
            acts[2 ** (k + 1)] = h
        return acts

    def top_down(self, acts: dict | None, given: list | None = None, n: int | None = None, sample: bool = True):
        """Run the top-down pass. Each group's latent is, in order of preference: ``given[i]``
        (when given and not None), a posterior sample or mean (when ``acts``), else its prior mean.

        Returns (images, KL per image summed over groups, posterior means per group)."""
        batch = n if acts is None else len(next(iter(acts.values())))
        h = self.top.expand(batch, -1, -1, -1)
        kl = torch.zeros(batch, device=h.device)
        means, i = [], 0
        for scale in SCALES:
            if h.shape[-1] != self.size // scale:
                h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
            for _ in range(self.groups):
                p = self.prior[i](h)
                p_mean, p_logvar, h_prior = p[:, :self.latent_channels], p[:, self.latent_channels:2 * self.latent_channels], p[:, 2 * self.latent_channels:]
                h = h + h_prior
                z = p_mean
                if acts is not None:
                    q_mean, q_logvar = self.posterior[i](torch.cat([h, acts[scale]], 1)).chunk(2, 1)
                    q_logvar, p_logvar = q_logvar.clamp(-10, 10), p_logvar.clamp(-10, 10)
                    kl = kl + 0.5 * (p_logvar - q_logvar + (q_logvar.exp() + (q_mean - p_mean) ** 2) / p_logvar.exp()
                                     - 1).flatten(1).sum(1)
                    z = q_mean + torch.randn_like(q_mean) * (0.5 * q_logvar).exp() if sample else q_mean
                    means.append(q_mean)
                if given is not None and i < len(given) and given[i] is not None:
                    z = given[i]
                h = self.mix[i](h + self.from_z[i](z))
                i += 1
        return self.out(h), kl, means

    def forward(self, x: torch.Tensor):
        """(reconstruction, KL per image) with sampled posterior latents."""
        rec, kl, _ = self.top_down(self.bottom_up(x))
        return rec, kl


def train_hierarchical_vae(images: np.ndarray, *, width: int = 32, latent_channels: int = 4, groups: int = 2,
                           beta: float = 0.01, epochs: int = 30, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                           device: str = "cpu", checkpoint=None, log=None) -> HierarchicalVAE:
    """Train a :class:`HierarchicalVAE` on images (n, y, x[, c]); resumable through ``checkpoint``."""
    def loss(m, batch, n_pixels):
        rec, kl = m(batch)
        return ((rec - batch) ** 2).flatten(1).sum(1).mean() / n_pixels + beta * kl.mean() / n_pixels

    return train_image_model(lambda channels, size: HierarchicalVAE(channels, size, width, latent_channels, groups),
                             images, loss, extra={"width": width, "latent_channels": latent_channels, "groups": groups,
                                                  "beta": beta, "model": "hierarchical_vae"},
                             epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                             checkpoint=checkpoint, log=log, description="hierarchical VAE")


@DECODERS.register("hvae")
class HierarchicalVAEDecoder(Decoder):
    """Responses -> the first ``n_regressed`` latent groups of a hierarchical VAE (ridge) -> top-down decoding.

    Parameters
    ----------
    width, latent_channels, groups, beta, epochs, batch_size, lr : the VAE and its training
    n_regressed : int, optional
        Latent groups predicted from the responses, coarse first (all by default); the rest take
        their prior means.
    extra_images : int
        Natural-image crops added to the VAE's training images (not to the ridge).
    alphas, restandardize : the ridge
    checkpoint_dir : path, optional
        Where ``hvae.pt`` is checkpointed (resumable).
    """

    name = "hvae"

    def __init__(self, width=32, latent_channels=4, groups=2, beta=0.01, epochs=30, batch_size=64, lr=2e-3,
                 n_regressed=None, extra_images=2000, alphas=DEFAULT_ALPHAS, restandardize=True, seed=0, device="cpu",
                 checkpoint_dir=None, log=None):
        self.width = width
        self.latent_channels = latent_channels
        self.groups = groups
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_regressed = n_regressed
        self.extra_images = extra_images
        self.alphas = alphas
        self.restandardize = restandardize
        self.seed = seed
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.log = log

    def _fit(self, responses, stimuli):
        from cortexkit.features.base import is_video

        # Videos: the VAE learns frames; a clip's latents are its frames' latents side by side.
        self.frames_ = stimuli.shape[1] if is_video(stimuli) else None
        if self.frames_:
            stimuli = stimuli.reshape((-1,) + stimuli.shape[2:])
        n_groups = len(SCALES) * self.groups
        k = n_groups if self.n_regressed is None else int(self.n_regressed)
        if not 1 <= k <= n_groups:
            raise ConfigError(f"n_regressed must be within 1..{n_groups} (the VAE's latent groups), got {self.n_regressed}")
        self.k_ = k
        images = with_natural_crops(stimuli, self.extra_images, self.seed)
        ckpt = Path(self.checkpoint_dir) / "hvae.pt" if self.checkpoint_dir else None
        self.vae_ = train_hierarchical_vae(images, width=self.width, latent_channels=self.latent_channels, groups=self.groups,
                                           beta=self.beta, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                           seed=self.seed, device=self.device, checkpoint=ckpt, log=self.log)
        latents = self._encode_images(stimuli)
        if self.frames_:
            latents = latents.reshape(len(responses), -1)
        self.map_ = LatentRidge(self.alphas, self.restandardize, self.seed).fit(responses, latents)

    def encode(self, stimuli) -> np.ndarray:
        """Posterior means of the first ``n_regressed`` groups, flattened: (n, latents) per image, the
        frames' side by side per clip."""
        x = np.asarray(stimuli, np.float32)
        if self.frames_:
            return self._encode_images(x.reshape((-1,) + x.shape[2:])).reshape(len(x), -1)
        return self._encode_images(x)

    @torch.no_grad()
    def _encode_images(self, stimuli) -> np.ndarray:
        x = to_tensor(np.asarray(stimuli, np.float32)).to(self.device)
        out = []
        for s in range(0, len(x), 256):
            _, _, means = self.vae_.top_down(self.vae_.bottom_up(x[s:s + 256]), sample=False)
            out.append(torch.cat([m.flatten(1) for m in means[:self.k_]], 1).cpu())
        return torch.cat(out).numpy()

    @torch.no_grad()
    def decode(self, latents) -> np.ndarray:
        """Images (or clips) from flattened latents of the first ``n_regressed`` groups (the rest at
        their prior means)."""
        z = torch.from_numpy(np.asarray(latents, np.float32)).to(self.device)
        n = len(z)
        shapes = self.vae_.group_shapes()[:self.k_]
        sizes = [int(np.prod(s)) for s in shapes]
        z = z.reshape(-1, sum(sizes))
        out = []
        for s in range(0, len(z), 256):
            part = z[s:s + 256]
            given = [g.reshape(len(part), *shape) for g, shape in zip(part.split(sizes, 1), shapes)]
            out.append(self.vae_.top_down(None, given=given, n=len(part))[0].cpu())
        frame_shape = tuple(self.stimulus_shape_)[1:] if self.frames_ else tuple(self.stimulus_shape_)
        images = from_tensor(torch.cat(out), gray=len(frame_shape) == 2)
        return images.reshape((n, self.frames_) + images.shape[1:]) if self.frames_ else images

    def _reconstruct(self, responses):
        return self.decode(self.map_.predict(responses))
