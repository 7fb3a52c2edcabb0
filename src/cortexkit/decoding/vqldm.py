"""Reconstruction by a response-conditioned latent diffusion model over a VQ-VAE's latent grids.

The two stages of latent diffusion, trained from scratch on the recording's training stimuli plus
unlabelled natural images (for videos, natural-image clips with motion):

1. a :class:`~cortexkit.decoding.vqvae.VQVAE` learns a ``latent_size`` x ``latent_size`` grid of
   ``latent_channels`` codebook vectors per image (per frame of a clip);
2. a :class:`~cortexkit.decoding.latent_unet.LatentUNet` learns DDPM's noise prediction (Ho et al.
   2020) on the standardised quantised grids (a clip's frames stacked in time and, for videos,
   denoised together by its temporal layers), conditioned on the responses; the condition is
   dropped on ``p_uncond`` of the pairs and absent for the unlabelled images, so sampling uses
   classifier-free guidance ``eps_u + guidance (eps_c - eps_u)``.

Reconstruction samples deterministic DDIM (Song et al. 2021) from seeded noise (or, with
``init_strength`` < 1, from a ridge estimate of the grid re-noised part of the way), snaps each
vector to its nearest code and decodes it. Both stages checkpoint every epoch and resume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cortexkit.decoding.autoencoder import with_natural_crops
from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.decoding.diffusion import ddim, linear_schedule
from cortexkit.decoding.latent import LatentRidge
from cortexkit.decoding.latent_unet import LatentUNet
from cortexkit.decoding.vqvae import check_grid, decode_grids, encode_images, train_vqvae
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError
from cortexkit.training_loop import TrainSettings, train


def natural_clips(n: int, size: int, n_frames: int, seed: int) -> np.ndarray:
    """``n`` grayscale clips (n, frames, size, size) of the bundled photographs translating at random
    velocities: unlabelled videos for the video decoder's unconditional branch."""
    from cortexkit.simulate.mt import motion_movies

    return motion_movies(n, size, n_frames, seed=seed + 211, grating_fraction=0.0)[0] if n else \
        np.zeros((0, n_frames, size, size), np.float32)


@DECODERS.register("vqldm")
class VQLDMDecoder(Decoder):
    """VQ-VAE + response-conditioned UNet latent diffusion, for images and videos (see the module).

    Parameters
    ----------
    latent_size : int, optional
        Side of the latent grid: the image side halved a whole number of times (default: a quarter
        of it).
    latent_channels, codebook_size, vq_width, commitment, ema_decay : the VQ-VAE.
    perceptual : float, optional
        Weight of the LPIPS (AlexNet) loss in the VQ-VAE's training, used where its weights are
        installed; default 0.1 on a GPU and none on the CPU (it triples a CPU epoch at 16 px).
    vq_epochs, vq_lr : its training.
    unet_width, unet_levels : the UNet's base channels and number of resolutions.
    temporal : bool, optional
        Temporal layers in the UNet (a video decoder); default: when the stimuli are videos.
        ``True`` on images is refused.
    steps, sample_steps, guidance, p_uncond, init_strength : the diffusion (training steps of the linear
        schedule, DDIM steps, classifier-free guidance scale, condition dropout, where sampling starts:
        1 = pure noise).
    unet_epochs, unet_lr, batch_size : the UNet's training.
    extra_images : int
        Natural-image crops added to both stages' training images (for videos, ``extra_images //
        frames`` moving clips of grayscale photographs).
    alphas : ridge penalties of the latent estimate used when ``init_strength`` < 1.
    checkpoint_dir : path, optional
        Where ``vqvae.pt`` and ``unet.pt`` are checkpointed (resumable).
    """

    name = "vqldm"

    def __init__(self, latent_size=None, latent_channels=4, codebook_size=256, vq_width=16, commitment=0.25,
                 ema_decay=0.99, perceptual=None, vq_epochs=20, vq_lr=1e-3, unet_width=32, unet_levels=2, temporal=None,
                 steps=1000, sample_steps=50, guidance=2.0, p_uncond=0.1, init_strength=0.5, unet_epochs=150,
                 unet_lr=1e-3, batch_size=128, extra_images=2000, alphas=DEFAULT_ALPHAS, seed=0, device="cpu",
                 checkpoint_dir=None, log=None):
        self.latent_size = latent_size
        self.latent_channels = latent_channels
        self.codebook_size = codebook_size
        self.vq_width = vq_width
        self.commitment = commitment
        self.ema_decay = ema_decay
        self.perceptual = perceptual
        self.vq_epochs = vq_epochs
        self.vq_lr = vq_lr
        self.unet_width = unet_width
        self.unet_levels = unet_levels
        self.temporal = temporal
        self.steps = steps
        self.sample_steps = sample_steps
        self.guidance = guidance
        self.p_uncond = p_uncond
        self.init_strength = init_strength
        self.unet_epochs = unet_epochs
        self.unet_lr = unet_lr
        self.batch_size = batch_size
        self.extra_images = extra_images
        self.alphas = alphas
        self.seed = seed
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.log = log

    # -- settings -----------------------------------------------------------------------------
    def check_settings(self, stimulus_shape: tuple) -> None:
        """Refuse settings that cannot work on stimuli of this shape (per stimulus: (y, x[, c]) or
        (frame, y, x[, c])), before any training."""
        from cortexkit.features.base import is_video

        video = is_video(np.empty((1,) + tuple(stimulus_shape), np.float32))
        frame = tuple(stimulus_shape)[1:] if video else tuple(stimulus_shape)
        if frame[0] != frame[1]:
            raise ConfigError(f"vqldm needs square images, got {frame[0]} x {frame[1]} px")
        if self.temporal and not video:
            raise ConfigError("temporal=True makes a video decoder, and this store holds images; leave temporal unset")
        for name in ("codebook_size", "latent_channels", "vq_width", "unet_levels", "steps", "sample_steps",
                     "vq_epochs", "unet_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < float(self.init_strength) <= 1:
            raise ConfigError(f"init_strength must be within (0, 1], got {self.init_strength}")
        if not 0 <= float(self.p_uncond) < 1:
            raise ConfigError(f"p_uncond must be within [0, 1), got {self.p_uncond}")
        check_grid(frame[0], self._grid(frame[0]))

    def _perceptual(self) -> float:
        if self.perceptual is not None:
            return float(self.perceptual)
        return 0.1 if str(self.device).startswith("cuda") else 0.0

    def _grid(self, size: int) -> int:
        return int(self.latent_size) if self.latent_size is not None else max(1, size // 4)

    # -- training ------------------------------------------------------------------------------
    def _fit(self, responses, stimuli):
        from cortexkit.features.base import is_video

        video = is_video(stimuli)
        self.video_, self.frames_ = video, (stimuli.shape[1] if video else 1)
        self.gray_ = stimuli.ndim == (4 if video else 3)
        frames = stimuli.reshape((-1,) + stimuli.shape[2:]) if video else stimuli
        size = frames.shape[1]
        grid = self._grid(size)
        dev = torch.device(self.device)
        ckpt = Path(self.checkpoint_dir) if self.checkpoint_dir else None
        if video:
            n_clips = int(self.extra_images) // self.frames_ if self.gray_ else 0
            extra = natural_clips(n_clips, size, self.frames_, self.seed)
            vq_images = np.concatenate([frames, extra.reshape((-1,) + extra.shape[2:])])
        else:
            vq_images = with_natural_crops(frames, self.extra_images, self.seed)
        self.vae_ = train_vqvae(vq_images, latent_size=grid, latent_channels=self.latent_channels,
                                codebook_size=self.codebook_size, width=self.vq_width, commitment=self.commitment,
                                ema_decay=self.ema_decay, perceptual=self._perceptual(), epochs=self.vq_epochs,
                                batch_size=self.batch_size, lr=self.vq_lr, seed=self.seed, device=self.device,
                                checkpoint=ckpt / "vqvae.pt" if ckpt else None, log=self.log)
        z = self._clips(encode_images(self.vae_, vq_images, self.device))  # (n_all, D, F, h, w)
        n = len(responses)
        self.z_mean_ = z[:n].mean(axis=(0, 2, 3, 4), keepdims=True)[0]
        self.z_std_ = z[:n].std(axis=(0, 2, 3, 4), keepdims=True)[0] + 1e-6
        z = torch.from_numpy((z - self.z_mean_) / self.z_std_).float().to(dev)
        self.r_mean_, self.r_std_ = responses.mean(0), responses.std(0) + 1e-6
        r = torch.from_numpy((responses - self.r_mean_) / self.r_std_).float().to(dev)
        r_all = torch.cat([r, torch.zeros(len(z) - n, r.shape[1], device=dev)])
        paired = torch.arange(len(z), device=dev) < n
        temporal = bool(video if self.temporal is None else self.temporal)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            self.unet_ = LatentUNet(self.latent_channels, r.shape[1], grid, self.unet_width,
                                    tuple(min(2**i, 4) for i in range(int(self.unet_levels))), temporal).to(dev)
        self.alpha_bar_ = linear_schedule(self.steps, dev)
        abar = self.alpha_bar_

        def batches(rng):
            order = torch.from_numpy(rng.permutation(len(z))).to(dev)
            for s in range(0, len(z), self.batch_size):
                yield order[s : s + self.batch_size]

        def loss_fn(model, idx):
            z0 = z[idx]
            t = torch.randint(0, self.steps, (len(idx),), device=dev)
            noise = torch.randn_like(z0)
            a = abar[t][:, None, None, None, None]
            keep = paired[idx] & (torch.rand(len(idx), device=dev) >= self.p_uncond)
            return ((model(a.sqrt() * z0 + (1 - a).sqrt() * noise, t, r_all[idx], keep) - noise) ** 2).mean()

        settings = TrainSettings(epochs=self.unet_epochs, lr=self.unet_lr, seed=self.seed, extra={
            "model": "vqldm-unet", "n": len(z), "units": r.shape[1], "width": self.unet_width, "levels": self.unet_levels,
            "temporal": temporal, "steps": self.steps, "p_uncond": self.p_uncond, "batch_size": self.batch_size,
            # a resumed UNet must belong to this VQ-VAE's latent space
            "vqvae": float(sum(p.detach().double().sum() for p in self.vae_.parameters()))})
        train(self.unet_, batches, loss_fn, settings, checkpoint=ckpt / "unet.pt" if ckpt else None,
              description="latent UNet", log=self.log)
        if self.init_strength < 1:  # the ridge estimate sampling starts from
            self.map_ = LatentRidge(self.alphas, True, self.seed).fit(responses, z[:n].flatten(1).cpu().numpy())

    def _clips(self, grids: np.ndarray) -> np.ndarray:
        """Per-frame grids (n * F, D, h, w) as clips (n, D, F, h, w)."""
        g = grids.reshape((-1, self.frames_) + grids.shape[1:])
        return np.ascontiguousarray(g.transpose(0, 2, 1, 3, 4))

    # -- sampling --------------------------------------------------------------------------------
    def _eps(self, z, t, r):
        tt = torch.full((len(z),), int(t), device=z.device)
        if self.guidance == 1.0:
            return self.unet_(z, tt, r)
        both = self.unet_(torch.cat([z, z]), torch.cat([tt, tt]), torch.cat([r, r]),
                          torch.cat([torch.ones(len(z), dtype=torch.bool, device=z.device),
                                     torch.zeros(len(z), dtype=torch.bool, device=z.device)]))
        cond, uncond = both.chunk(2)
        return uncond + self.guidance * (cond - uncond)

    @torch.no_grad()
    def sample_grids(self, responses, seed: int = 0) -> np.ndarray:
        """Standardised latent clips (n, D, F, h, w) sampled under each response."""
        dev = self.alpha_bar_.device
        r = torch.from_numpy(((np.asarray(responses, np.float32) - self.r_mean_) / self.r_std_).astype(np.float32)).to(dev)
        grid = self._grid(self.stimulus_shape_[1] if self.video_ else self.stimulus_shape_[0])
        shape = (len(r), self.latent_channels, self.frames_, grid, grid)
        g = torch.Generator().manual_seed(int(seed))
        noise = torch.randn(shape, generator=g).to(dev)
        start = self.steps - 1
        if self.init_strength < 1:
            start = int(self.init_strength * (self.steps - 1))
            z0 = torch.from_numpy(self.map_.predict(responses).reshape(shape).astype(np.float32)).to(dev)
            a = self.alpha_bar_[start]
            noise = a.sqrt() * z0 + (1 - a).sqrt() * noise
        out = []
        self.unet_.eval()
        for s in range(0, len(r), 128):
            out.append(ddim(lambda x, t, rr=r[s:s + 128]: self._eps(x, t, rr), noise[s:s + 128], self.alpha_bar_,
                            start, self.sample_steps).cpu())
        return torch.cat(out).numpy()

    def decode(self, clips: np.ndarray) -> np.ndarray:
        """Stimuli from standardised latent clips (n, D, F, h, w)."""
        z = clips * self.z_std_ + self.z_mean_
        frames = np.ascontiguousarray(z.transpose(0, 2, 1, 3, 4)).reshape((-1,) + z.shape[1:2] + z.shape[3:])
        images = decode_grids(self.vae_, frames, self.device, gray=self.gray_)
        return images.reshape((len(clips), self.frames_) + images.shape[1:]) if self.video_ else images

    def _reconstruct(self, responses):
        return self.decode(self.sample_grids(responses, seed=self.seed))
