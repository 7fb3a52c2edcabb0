"""A response-conditioned UNet denoiser over latent grids, for images and for clips.

Latents are (B, C, F, H, W): a clip's F frames, or F = 1 for an image. Spatial layers act on each
frame alone (kernels 1 x 3 x 3); with ``temporal=True`` every residual block is followed by a
temporal convolution (3 x 1 x 1) and the coarsest level's spatial self-attention by attention
across frames at each position, so a clip is denoised as a whole (a factorised space-time UNet,
as video diffusion models do); the temporal layers start at zero, so the model begins as a stack
of per-frame image denoisers.

- **levels**: ``len(mults)`` resolutions, channels ``width * mults[i]``, one residual block per
  level on the way down and two on the way up (the second after the skip connection), halving
  the side between levels; self-attention at the coarsest level and in the middle;
- **conditioning**: a sinusoidal embedding of the diffusion step plus a learned projection of the
  response vector (or a learned "no response" embedding, for classifier-free guidance) scales and
  shifts every residual block's activations (added embeddings, as DDPM's UNet takes its timestep).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cortexkit.decoding.diffusion import timestep_embedding
from cortexkit.errors import ConfigError


class FrameNorm(nn.GroupNorm):
    """GroupNorm over each frame of (B, C, F, H, W) alone: statistics never mix frames (only the
    temporal layers do)."""

    def forward(self, x):
        """``x`` (B, C, F, H, W) normalised frame by frame."""
        b, c, f, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(b * f, c, h, w))
        return y.reshape(b, f, c, h, w).transpose(1, 2)


def _norm(c: int) -> FrameNorm:
    return FrameNorm(math.gcd(8, c), c)


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class Block(nn.Module):
    """Residual block on (B, C, F, H, W) modulated by the embedding; a temporal convolution after it."""

    def __init__(self, cin: int, cout: int, emb: int, temporal: bool):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv3d(cin, cout, (1, 3, 3), padding=(0, 1, 1))
        self.film = nn.Linear(emb, 2 * cout)
        self.norm2, self.conv2 = _norm(cout), _zero(nn.Conv3d(cout, cout, (1, 3, 3), padding=(0, 1, 1)))
        self.skip = nn.Identity() if cin == cout else nn.Conv3d(cin, cout, 1)
        self.time = nn.Sequential(_norm(cout), nn.SiLU(), _zero(nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0)))) \
            if temporal else None

    def forward(self, x, e):
        """``x`` (B, C, F, H, W) under the embedding ``e`` (B, emb)."""
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        scale, shift = self.film(e)[:, :, None, None, None].chunk(2, dim=1)
        h = self.conv2(nn.functional.silu(self.norm2(h) * (1 + scale) + shift))
        h = self.skip(x) + h
        return h + self.time(h) if self.time is not None else h


class Attention(nn.Module):
    """Self-attention over the positions of each frame, then (temporal) over the frames at each position."""

    def __init__(self, c: int, temporal: bool, heads: int = 4):
        super().__init__()
        heads = math.gcd(heads, c)
        self.norm, self.attn = _norm(c), nn.MultiheadAttention(c, heads, batch_first=True)
        self.out = _zero(nn.Linear(c, c))
        if temporal:
            self.tnorm, self.tattn = _norm(c), nn.MultiheadAttention(c, heads, batch_first=True)
            self.tout = _zero(nn.Linear(c, c))
        self.temporal = temporal

    def forward(self, x):
        """``x`` (B, C, F, H, W) plus what attention over its positions (and frames) adds."""
        b, c, f, h, w = x.shape
        tokens = self.norm(x).permute(0, 2, 3, 4, 1).reshape(b * f, h * w, c)
        y = self.out(self.attn(tokens, tokens, tokens, need_weights=False)[0])
        x = x + y.reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3)
        if self.temporal and f > 1:
            tokens = self.tnorm(x).permute(0, 3, 4, 2, 1).reshape(b * h * w, f, c)
            y = self.tout(self.tattn(tokens, tokens, tokens, need_weights=False)[0])
            x = x + y.reshape(b, h, w, f, c).permute(0, 4, 3, 1, 2)
        return x


class LatentUNet(nn.Module):
    """Predicts the noise in latents (B, C, F, H, W) at steps t (B,), given responses (B, n_units) or none."""

    def __init__(self, channels: int, n_units: int, latent_size: int, width: int = 64, mults=(1, 2),
                 temporal: bool = False, emb: int = 128):
        super().__init__()
        if width < 8 or width % 8:
            raise ConfigError(f"unet_width must be a multiple of 8, at least 8; got {width}")
        if latent_size % (2 ** (len(mults) - 1)):
            raise ConfigError(f"a {latent_size} x {latent_size} latent grid cannot be halved {len(mults) - 1} time(s) "
                              f"for the UNet's {len(mults)} levels; give unet_levels <= "
                              f"{1 + int(math.log2(latent_size & -latent_size))}")
        self.emb_dim = emb
        self.time = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.resp = nn.Sequential(nn.Linear(n_units, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.null = nn.Parameter(torch.zeros(emb))
        widths = [width * m for m in mults]
        self.inp = nn.Conv3d(channels, widths[0], (1, 3, 3), padding=(0, 1, 1))
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        prev = widths[0]
        for i, w in enumerate(widths):
            last = i == len(widths) - 1
            self.down.append(nn.ModuleList([Block(prev, w, emb, temporal)] + ([Attention(w, temporal)] if last else [])))
            self.downsample.append(nn.Identity() if last else nn.Conv3d(w, w, (1, 3, 3), (1, 2, 2), (0, 1, 1)))
            prev = w
        self.mid = nn.ModuleList([Block(prev, prev, emb, temporal), Attention(prev, temporal), Block(prev, prev, emb, temporal)])
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            first = i == len(widths) - 1
            self.up.append(nn.ModuleList([Block(prev + w, w, emb, temporal), Block(w, w, emb, temporal)]
                                         + ([Attention(w, temporal)] if first else [])))
            self.upsample.append(nn.Identity() if i == 0 else nn.Sequential(
                nn.Upsample(scale_factor=(1, 2, 2), mode="nearest"), nn.Conv3d(w, widths[i - 1], (1, 3, 3), padding=(0, 1, 1))))
            prev = w if i == 0 else widths[i - 1]
        self.out = nn.Sequential(_norm(widths[0]), nn.SiLU(), _zero(nn.Conv3d(widths[0], channels, (1, 3, 3), padding=(0, 1, 1))))

    def embedding(self, t, responses=None, keep=None):
        """The step embedding plus the response's (the null embedding where ``keep`` is False or no response)."""
        e = self.time(timestep_embedding(t, self.emb_dim))
        null = self.null.expand(len(t), -1)
        if responses is None:
            return e + null
        cond = self.resp(responses)
        return e + (cond if keep is None else torch.where(keep[:, None], cond, null))

    def forward(self, z, t, responses=None, keep=None):
        """The predicted noise (B, C, F, H, W) in ``z`` at steps ``t``; ``keep`` (bool per sample): use the
        response there, the null embedding elsewhere."""
        e = self.embedding(t, responses, keep)
        h, skips = self.inp(z), []
        for layers, down in zip(self.down, self.downsample):
            for layer in layers:
                h = layer(h, e) if isinstance(layer, Block) else layer(h)
            skips.append(h)
            h = down(h)
        for layer in self.mid:
            h = layer(h, e) if isinstance(layer, Block) else layer(h)
        for layers, up in zip(self.up, self.upsample):
            h = torch.cat([h, skips.pop()], 1)
            for layer in layers:
                h = layer(h, e) if isinstance(layer, Block) else layer(h)
            h = up(h)
        return self.out(h)
