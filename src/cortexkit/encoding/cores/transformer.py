"""Factorised spatio-temporal transformer core (ViViT's factorised self-attention; cf. ViV1T).

The video is cut into tubelets (``tubelet`` frames x ``patch`` x ``patch`` pixels), each linearly
embedded with learned spatial and temporal position embeddings. Every block applies self-attention
across the patches of each frame, then across the frames at each patch position, then an MLP
(pre-norm, residual). The tokens are returned as a feature map (B, dim, T', H/patch, W/patch) for
the readouts. Images are videos of one frame.

Options of ViV1T's training script: ``attention="parallel"`` computes the spatial and the temporal
attention from the same normalised tokens and adds both (one residual step instead of two, as in
parallel transformer blocks); ``grad_checkpointing`` recomputes each block's activations in the
backward pass instead of storing them (less memory, the same outputs and gradients, about a third
more compute).
"""

from __future__ import annotations

import torch
import torch.utils.checkpoint
from torch import nn

from cortexkit.encoding.cores.base import CORES, Core


class FactorisedBlock(nn.Module):
    """Spatial attention within each frame and causal temporal attention per patch (one after the
    other, or both from the same input with ``parallel``), then an MLP."""
    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float, parallel: bool = False):
        super().__init__()
        self.parallel = parallel
        self.norm_s = nn.LayerNorm(dim)
        self.attn_s = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_t = nn.LayerNorm(dim)
        self.attn_t = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_m = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x):  # x: (B, T, N, D)
        """Tokens (B, T, N, D) -> tokens of the same shape."""
        b, t, n, d = x.shape
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1)  # causal in time

        def spatial(z):  # attention across the patches of each frame
            h = self.norm_s(z).reshape(b * t, n, d)
            return self.attn_s(h, h, h, need_weights=False)[0].reshape(b, t, n, d)

        def temporal(z):  # attention across frames at each patch position, never to later frames
            h = self.norm_t(z).transpose(1, 2).reshape(b * n, t, d)
            out = self.attn_t(h, h, h, attn_mask=mask, need_weights=False)[0]
            return out.reshape(b, n, t, d).transpose(1, 2)

        if self.parallel:
            x = x + spatial(x) + temporal(x)
        else:
            x = x + spatial(x)
            x = x + temporal(x)
        return x + self.mlp(self.norm_m(x))


@CORES.register("transformer")
class FactorisedTransformerCore(Core):
    """(B, C, T, H, W) -> (B, dim, T // tubelet, H // patch, W // patch); ``image_size`` is H (= W) or (H, W)."""

    video = True

    def __init__(self, in_channels: int = 1, image_size: int | tuple[int, int] = 32, frames: int = 12, patch: int = 4,
                 tubelet: int = 1, dim: int = 64, depth: int = 3, heads: int = 4, mlp_ratio: float = 2.0,
                 dropout: float = 0.0, attention: str = "sequential", grad_checkpointing: bool = False):
        super().__init__()
        if attention not in ("sequential", "parallel"):
            raise ValueError(f"attention must be 'sequential' or 'parallel', got {attention!r}")
        self.grad_checkpointing = bool(grad_checkpointing)
        self.patch, self.tubelet = patch, tubelet
        self.embed = nn.Conv3d(in_channels, dim, (tubelet, patch, patch), stride=(tubelet, patch, patch))
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.pos_space = nn.Parameter(torch.zeros(1, 1, (h // patch) * (w // patch), dim))
        self.pos_time = nn.Parameter(torch.zeros(1, max(1, frames // tubelet), 1, dim))
        nn.init.trunc_normal_(self.pos_space, std=0.02)
        nn.init.trunc_normal_(self.pos_time, std=0.02)
        self.blocks = nn.ModuleList(FactorisedBlock(dim, heads, mlp_ratio, dropout, attention == "parallel")
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.out_channels = dim

    def forward(self, x):
        """Feature map (B, dim, T', H', W') of videos (B, C, T, H, W) (images count as one frame)."""
        if x.ndim == 4:  # an image: one frame
            x = x[:, :, None]
        h = self.embed(x)  # (B, D, T', H', W')
        b, d, t, hh, ww = h.shape
        tokens = h.flatten(3).permute(0, 2, 3, 1) + self.pos_space[:, :, : hh * ww] + self.pos_time[:, :t]
        for block in self.blocks:
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                # the RNG state is saved and restored, so dropout masks match in the recomputation
                tokens = torch.utils.checkpoint.checkpoint(block, tokens, use_reentrant=False)
            else:
                tokens = block(tokens)
        tokens = self.norm(tokens)
        return tokens.permute(0, 3, 1, 2).reshape(b, d, t, hh, ww)
