"""Response-conditioned latent diffusion: a DDPM in the latent space of the VAE.

The denoiser is a residual MLP over the VAE's latent vector: each block is modulated (FiLM: a
scale and a shift per feature) by the sum of a sinusoidal embedding of the diffusion step and an
embedding of the response vector. It is trained to predict the noise added at a random step of a
linear-beta schedule (Ho et al. 2020). The condition is dropped (replaced by a learned "no
response" embedding) on ``p_uncond`` of the training samples, and natural-image crops with no
response at all train the same unconditional branch, so sampling can use classifier-free guidance
``eps = eps_uncond + w (eps_cond - eps_uncond)`` (Ho & Salimans 2022). Sampling is deterministic
DDIM (Song et al. 2021) from seeded noise; :meth:`LatentDiffusionDecoder.refine` re-noises given
latents part of the way and denoises them again (SDEdit), which brain-optimised search uses.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.autoencoder import AutoencoderDecoder
from cortexkit.decoding.base import DECODERS
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.training_loop import TrainSettings, train


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (B, dim) of diffusion timesteps (B,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def linear_schedule(steps: int, device) -> torch.Tensor:
    """Cumulative alpha-bar (steps,) of the linear beta schedule 1e-4 .. 0.02 (Ho et al. 2020)."""
    betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).float().to(device)


@torch.no_grad()
def ddim(eps_fn, z: torch.Tensor, alpha_bar: torch.Tensor, start: int, sample_steps: int) -> torch.Tensor:
    """Deterministic DDIM (Song et al. 2021) from step ``start`` down to 0; ``eps_fn(z, t)`` predicts the noise."""
    ts = np.unique(np.linspace(0, start, min(sample_steps, start + 1)).round().astype(int))[::-1]
    for i, t in enumerate(ts):
        a = alpha_bar[t]
        eps = eps_fn(z, t)
        z0 = (z - (1 - a).sqrt() * eps) / a.sqrt()
        a_prev = alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=z.device)
        z = a_prev.sqrt() * z0 + (1 - a_prev).sqrt() * eps
    return z


class FiLMBlock(nn.Module):
    """A residual MLP block whose activations are scaled and shifted by the conditioning vector (FiLM)."""
    def __init__(self, width: int, cond: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.lin1 = nn.Linear(width, width)
        self.lin2 = nn.Linear(width, width)
        self.film = nn.Linear(cond, 2 * width)
        nn.init.zeros_(self.lin2.weight)
        nn.init.zeros_(self.lin2.bias)

    def forward(self, h, c):
        """``h`` (B, width) updated under conditioning ``c`` (B, cond_dim)."""
        scale, shift = self.film(c).chunk(2, dim=1)
        x = self.norm(h) * (1 + scale) + shift
        return h + self.lin2(torch.nn.functional.silu(self.lin1(torch.nn.functional.silu(x))))


class Denoiser(nn.Module):
    """Predicts the noise in a latent at step t, given an optional response vector."""

    def __init__(self, latent_dim: int, n_units: int, width: int = 512, depth: int = 4, cond_dim: int = 256):
        super().__init__()
        self.cond_dim = cond_dim
        self.inp = nn.Linear(latent_dim, width)
        self.time = nn.Sequential(nn.Linear(cond_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))
        self.resp = nn.Sequential(nn.Linear(n_units, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))
        self.null = nn.Parameter(torch.zeros(cond_dim))
        self.blocks = nn.ModuleList(FiLMBlock(width, cond_dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, latent_dim))

    def forward(self, z, t, responses=None, keep=None):
        """``keep`` (bool per sample): use the response there, the null embedding elsewhere."""
        c = self.time(timestep_embedding(t, self.cond_dim))
        if responses is None:
            cond = self.null.expand(len(z), -1)
        else:
            cond = self.resp(responses)
            if keep is not None:
                cond = torch.where(keep[:, None], cond, self.null.expand(len(z), -1))
        c = c + cond
        h = self.inp(z)
        for block in self.blocks:
            h = block(h, c)
        return self.out(h)


@DECODERS.register("diffusion")
class LatentDiffusionDecoder(AutoencoderDecoder):
    """Reconstruct images by sampling a response-conditioned latent diffusion model.

    Parameters (besides :class:`AutoencoderDecoder`'s, which train the latent space)
    ----------
    steps : int
        Diffusion steps of the training schedule (linear betas 1e-4 .. 0.02).
    sample_steps : int
        DDIM steps when sampling.
    guidance : float
        Classifier-free guidance scale ``w`` (1 = plain conditional sampling).
    init_strength : float
        Where sampling starts: 1 = from pure noise; below 1, from the ridge estimate of the latent
        (the autoencoder decoder's) re-noised to that fraction of the schedule and denoised under
        the response (img2img, as brain-diffuser starts from its VDVAE estimate).
    p_uncond : float
        Fraction of training pairs whose response is dropped.
    diffusion_epochs, diffusion_lr, denoiser_width, denoiser_depth : the denoiser and its training
    """

    name = "diffusion"
    search_batch = 1024  # latents sampled at once by brain-optimised search (a small MLP denoiser)

    def __init__(self, latent_dim=64, width=32, beta=1e-3, epochs=30, batch_size=64, lr=2e-3, extra_images=2000,
                 alphas=DEFAULT_ALPHAS, restandardize=True, seed=0, device="cpu", checkpoint_dir=None, log=None,
                 vae_checkpoint=None, steps=1000, sample_steps=50, guidance=2.0, init_strength=1.0, p_uncond=0.1, diffusion_epochs=200, diffusion_lr=1e-3,
                 denoiser_width=512, denoiser_depth=4):
        super().__init__(latent_dim=latent_dim, width=width, beta=beta, epochs=epochs, batch_size=batch_size, lr=lr,
                         extra_images=extra_images, alphas=alphas, restandardize=restandardize, seed=seed,
                         device=device, checkpoint_dir=checkpoint_dir, log=log, vae_checkpoint=vae_checkpoint)
        self.steps = steps
        self.sample_steps = sample_steps
        self.guidance = guidance
        self.init_strength = init_strength
        self.p_uncond = p_uncond
        self.diffusion_epochs = diffusion_epochs
        self.diffusion_lr = diffusion_lr
        self.denoiser_width = denoiser_width
        self.denoiser_depth = denoiser_depth

    # -- training --------------------------------------------------------------------------
    def _fit(self, responses, stimuli):
        from cortexkit.errors import ConfigError
        from cortexkit.features.base import is_video

        if is_video(stimuli):
            raise ConfigError(f"the {self.name} decoder samples images; for videos use pca, cnn, autoencoder or hvae")
        super()._fit(responses, stimuli)  # the VAE (and a ridge map, kept as a fallback decoder)
        dev = torch.device(self.device)
        self.alpha_bar_ = linear_schedule(self.steps, dev)
        z_paired = torch.from_numpy(self.encode(stimuli)).to(dev)
        z_extra = torch.from_numpy(self.extra_latents_).to(dev)
        # Latents and responses are standardised for the denoiser; stats come from training data.
        self.z_mean_, self.z_std_ = z_paired.mean(0), z_paired.std(0) + 1e-6
        self.r_mean_ = torch.from_numpy(responses.mean(0)).to(dev)
        self.r_std_ = torch.from_numpy(responses.std(0) + 1e-6).to(dev)
        r = (torch.from_numpy(responses).to(dev) - self.r_mean_) / self.r_std_
        z_all = (torch.cat([z_paired, z_extra]) - self.z_mean_) / self.z_std_
        r_all = torch.cat([r, torch.zeros(len(z_extra), r.shape[1], device=dev)])
        paired = torch.cat([torch.ones(len(z_paired), dtype=torch.bool), torch.zeros(len(z_extra), dtype=torch.bool)]).to(dev)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            self.denoiser_ = Denoiser(self.latent_dim, responses.shape[1], self.denoiser_width, self.denoiser_depth).to(dev)
        abar = self.alpha_bar_

        def batches(rng):
            order = torch.from_numpy(rng.permutation(len(z_all))).to(dev)
            for s in range(0, len(z_all), 128):
                yield order[s : s + 128]

        def loss_fn(model, idx):
            z0, cond, has = z_all[idx], r_all[idx], paired[idx]
            t = torch.randint(0, self.steps, (len(idx),), device=dev)
            noise = torch.randn_like(z0)
            a = abar[t][:, None]
            zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
            keep = has & (torch.rand(len(idx), device=dev) >= self.p_uncond)
            return ((model(zt, t, cond, keep) - noise) ** 2).mean()

        ckpt = Path(self.checkpoint_dir) / "denoiser.pt" if self.checkpoint_dir else None
        settings = TrainSettings(epochs=self.diffusion_epochs, lr=self.diffusion_lr, seed=self.seed,
                                 extra={"n": len(z_all), "units": responses.shape[1], "width": self.denoiser_width,
                                        "depth": self.denoiser_depth, "steps": self.steps, "p_uncond": self.p_uncond,
                                        # a resumed denoiser must belong to this VAE's latent space
                                        "vae": float(sum(p.detach().double().sum() for p in self.vae_.parameters()))})
        train(self.denoiser_, batches, loss_fn, settings, checkpoint=ckpt, description="latent diffusion", log=self.log)

    # -- sampling ----------------------------------------------------------------------------
    def _eps(self, z, t, r):
        tt = torch.full((len(z),), int(t), device=z.device)
        cond = self.denoiser_(z, tt, r)
        if self.guidance == 1.0:
            return cond
        uncond = self.denoiser_(z, tt, None)
        return uncond + self.guidance * (cond - uncond)

    def _ddim(self, z, r, start: int) -> torch.Tensor:
        return ddim(lambda x, t: self._eps(x, t, r), z, self.alpha_bar_, start, self.sample_steps)

    def _condition(self, responses) -> torch.Tensor:
        r = torch.from_numpy(np.asarray(responses, np.float32)).to(self.device)
        return (r - self.r_mean_) / self.r_std_

    @torch.no_grad()
    def _sample_from_noise(self, responses, n_samples: int, seed: int) -> np.ndarray:
        r = self._condition(responses).repeat_interleave(n_samples, 0)
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(len(r), self.latent_dim, generator=g).to(self.device)
        z = self._ddim(z, r, self.steps - 1) * self.z_std_ + self.z_mean_
        return z.reshape(len(responses), n_samples, -1).cpu().numpy()

    @torch.no_grad()
    def refine(self, latents, responses, strength: float = 0.5, seed: int = 0) -> np.ndarray:
        """Re-noise latents (n, latent_dim) to ``strength`` of the schedule and denoise them again."""
        z0 = (torch.from_numpy(np.asarray(latents, np.float32)).to(self.device) - self.z_mean_) / self.z_std_
        start = int(strength * (self.steps - 1))
        g = torch.Generator().manual_seed(seed)
        a = self.alpha_bar_[start]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * torch.randn(z0.shape, generator=g).to(self.device)
        return (self._ddim(zt, self._condition(responses), start) * self.z_std_ + self.z_mean_).cpu().numpy()

    @torch.no_grad()
    def sample_latents(self, responses, n_samples: int = 1, seed: int = 0) -> np.ndarray:
        """``n_samples`` VAE latents per response: (n_responses, n_samples, latent_dim), from noise
        or (``init_strength`` < 1) from the ridge estimate re-noised."""
        if self.init_strength >= 1:
            return self._sample_from_noise(responses, n_samples, seed)
        start = np.repeat(self.map_.predict(responses), n_samples, axis=0)
        z = self.refine(start, np.repeat(np.asarray(responses), n_samples, axis=0), self.init_strength, seed=seed)
        return z.reshape(len(responses), n_samples, -1)

    def _reconstruct(self, responses):
        return self.decode(self.sample_latents(responses, 1, seed=self.seed)[:, 0])
