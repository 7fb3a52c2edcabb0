"""A small convolutional VAE, trained from scratch, and the decoder that goes through its latents.

Encoder: three stride-2 4x4 convolutions (32, 64, 128 channels, SiLU) and a linear map to the
latent mean and log-variance; decoder: the mirror image with transposed convolutions and a
sigmoid. The loss is the per-image squared error plus ``beta`` times the KL divergence to a unit
Gaussian (a small ``beta`` keeps reconstructions sharp while making the latent space smooth
enough for diffusion). Training uses :func:`cortexkit.training_loop.train`: seeded, checkpointed each
epoch, resumed after a kill. When a dataset has few images, natural-image crops from the
simulator's photographs (``extra_images``) are added to the training set. Videos are decoded frame
by frame: the VAE learns frames, and a clip's latent is its frames' latents side by side.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.decoding.latent import LatentRidge
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError
from cortexkit.training_loop import TrainSettings, train


class ConvVAE(nn.Module):
    """A convolutional VAE: images (B, C, H, W) in [0, 1] <-> latents (B, latent_dim)."""
    def __init__(self, channels: int, size: int, latent_dim: int = 64, width: int = 32):
        super().__init__()
        if size % 8:
            raise ConfigError(f"the autoencoder needs an image size divisible by 8, got {size}")
        self.size, self.channels, self.latent_dim = size, channels, latent_dim
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.SiLU(), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.SiLU(), nn.Flatten(),
        )
        flat = 4 * w * (size // 8) ** 2
        self.to_stats = nn.Linear(flat, 2 * latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (4 * w, size // 8, size // 8)), nn.SiLU(),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.SiLU(), nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.SiLU(),
            nn.ConvTranspose2d(w, channels, 4, 2, 1), nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (B, latent_dim), of images (B, C, H, W)."""
        mean, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-10, 10)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) from latents (B, latent_dim)."""
        return self.decoder(self.from_latent(z))

    def forward(self, x):
        """(reconstruction, mean, log-variance) of images (B, C, H, W), sampling the latent (reparameterised)."""
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decode(z), mean, logvar


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(n, y, x[, c]) in [0, 1] -> (n, c, y, x)."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)


def from_tensor(x: torch.Tensor, gray: bool) -> np.ndarray:
    """Images (n, y, x[, channel]) from a (n, C, H, W) tensor (channels back to the last axis)."""
    x = x.detach().cpu()
    return (x[:, 0] if gray else x.permute(0, 2, 3, 1)).numpy()


def with_natural_crops(images: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``images`` (n, y, x[, c]) followed by ``n`` natural-image crops of their size and colour (seeded),
    the unlabelled images generative decoders add to what they learn an image space from."""
    if not n:
        return images
    from cortexkit.simulate.stimuli import natural_image_crops

    crops = natural_image_crops(int(n), images.shape[1], color=images.ndim == 4, seed=seed + 101)
    return np.concatenate([images, crops.astype(np.float32)])


def train_image_model(build, images: np.ndarray, loss, *, extra: dict, epochs: int, batch_size: int, lr: float,
                      seed: int, device: str, checkpoint, log, description: str):
    """Train an image model on images (n, y, x[, c]) in shuffled batches; resumable through ``checkpoint``.

    ``build(channels, size)`` makes the model (seeded), ``loss(model, batch, n_pixels)`` scores a batch,
    ``extra`` are the model's settings that decide whether a checkpoint resumes."""
    x = to_tensor(images).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(x.shape[1], x.shape[-1]).to(device)
    n_pixels = x[0].numel()

    def batches(rng):
        order = torch.from_numpy(rng.permutation(len(x)))
        for start in range(0, len(x), batch_size):
            yield x[order[start : start + batch_size].to(device)]

    settings = TrainSettings(epochs=epochs, lr=lr, seed=seed, extra={"n": len(x), "shape": list(x.shape), **extra})
    train(model, batches, lambda m, batch: loss(m, batch, n_pixels), settings, checkpoint=checkpoint,
          description=description, log=log)
    return model.eval()


def train_vae(images: np.ndarray, *, latent_dim: int = 64, width: int = 32, beta: float = 1e-3, epochs: int = 30,
              batch_size: int = 64, lr: float = 2e-3, seed: int = 0, device: str = "cpu",
              checkpoint: str | os.PathLike | None = None, log=None) -> ConvVAE:
    """Train a :class:`ConvVAE` on images (n, y, x[, c]); resumable through ``checkpoint``."""
    def loss(m, batch, n_pixels):
        rec, mean, logvar = m(batch)
        mse = ((rec - batch) ** 2).flatten(1).sum(1).mean() / n_pixels
        kl = -0.5 * (1 + logvar - mean**2 - logvar.exp()).sum(1).mean() / n_pixels
        return mse + beta * kl

    return train_image_model(lambda channels, size: ConvVAE(channels, size, latent_dim, width), images, loss,
                             extra={"latent": latent_dim, "width": width, "beta": beta}, epochs=epochs,
                             batch_size=batch_size, lr=lr, seed=seed, device=device, checkpoint=checkpoint, log=log,
                             description="autoencoder")


@DECODERS.register("autoencoder")
class AutoencoderDecoder(Decoder):
    """Responses -> VAE latent means (ridge, re-standardised) -> the VAE's decoder.

    Parameters
    ----------
    latent_dim, width, beta, epochs, batch_size, lr : the VAE and its training
    extra_images : int
        Natural-image crops from bundled photographs added to the VAE's training images (not to
        the ridge), in the stimuli's size and colour.
    checkpoint_dir : path, optional
        Where the VAE checkpoint goes (resumable); none by default.
    vae_checkpoint : path, optional
        The VAE checkpoint file itself (default ``checkpoint_dir/vae.pt``); decoders given the same
        file and the same VAE settings share one trained VAE.
    """

    name = "autoencoder"

    def __init__(self, latent_dim=64, width=32, beta=1e-3, epochs=30, batch_size=64, lr=2e-3, extra_images=2000,
                 alphas=DEFAULT_ALPHAS, restandardize=True, seed=0, device="cpu", checkpoint_dir=None, log=None,
                 vae_checkpoint=None):
        self.vae_checkpoint = vae_checkpoint
        self.latent_dim = latent_dim
        self.width = width
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.extra_images = extra_images
        self.alphas = alphas
        self.restandardize = restandardize
        self.seed = seed
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.log = log

    def _checkpoint(self) -> Path | None:
        if self.vae_checkpoint:
            return Path(self.vae_checkpoint)
        return Path(self.checkpoint_dir) / "vae.pt" if self.checkpoint_dir else None

    def _fit(self, responses, stimuli):
        from cortexkit.features.base import is_video

        # Videos: the VAE learns frames; a clip's latent is its frames' latents side by side.
        self.frames_ = stimuli.shape[1] if is_video(stimuli) else None
        frames = stimuli.reshape((-1,) + stimuli.shape[2:]) if self.frames_ else stimuli
        images = with_natural_crops(frames, self.extra_images, self.seed)
        self.vae_ = train_vae(images, latent_dim=self.latent_dim, width=self.width, beta=self.beta, epochs=self.epochs,
                              batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=self.device,
                              checkpoint=self._checkpoint(), log=self.log)
        self.extra_latents_ = self._encode_images(images[len(frames):])  # the crops, for models that want a prior
        self.map_ = LatentRidge(self.alphas, self.restandardize, self.seed).fit(responses, self.encode(stimuli))

    @torch.no_grad()
    def _encode_images(self, images) -> np.ndarray:
        x = to_tensor(np.asarray(images, np.float32)).to(self.device)
        if len(x) == 0:
            return np.zeros((0, self.latent_dim), np.float32)
        return torch.cat([self.vae_.encode(x[s : s + 256])[0] for s in range(0, len(x), 256)]).cpu().numpy()

    def encode(self, stimuli) -> np.ndarray:
        """VAE latent means of stimuli: (n, latent_dim) per image, (n, frames * latent_dim) per clip."""
        x = np.asarray(stimuli, np.float32)
        if getattr(self, "frames_", None):
            return self._encode_images(x.reshape((-1,) + x.shape[2:])).reshape(len(x), -1)
        return self._encode_images(x)

    @torch.no_grad()
    def decode(self, latents) -> np.ndarray:
        """Images (n, y, x[, channel]) from VAE latents (n, latent_dim), or clips from (n, frames * latent_dim)."""
        z = torch.from_numpy(np.asarray(latents, np.float32)).to(self.device)
        n = len(z)
        z = z.reshape(-1, self.latent_dim)
        frame_shape = tuple(self.stimulus_shape_)[1:] if self.frames_ else tuple(self.stimulus_shape_)
        out = from_tensor(torch.cat([self.vae_.decode(z[s : s + 256]) for s in range(0, len(z), 256)]),
                          gray=len(frame_shape) == 2)
        return out.reshape((n, self.frames_) + out.shape[1:]) if self.frames_ else out

    def _reconstruct(self, responses):
        return self.decode(self.map_.predict(responses))
