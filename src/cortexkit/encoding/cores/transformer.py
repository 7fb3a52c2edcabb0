"""Factorised spatio-temporal transformer core (ViViT's factorised self-attention; cf. ViV1T).

The video is cut into tubelets (``tubelet`` frames x ``patch`` x ``patch`` pixels), each linearly
embedded with learned spatial and temporal position embeddings. Every block applies self-attention
across the patches of each frame, then across the frames at each patch position, then an MLP
(pre-norm, residual). The tokens are returned as a feature map (B, dim, T', H/patch, W/patch) for
the readouts. Images are videos of one frame.
"""

from __future__ import annotations

import torch
from torch import nn

from cortexkit.encoding.cores.base import CORES, Core


class FactorisedBlock(nn.Module):
    """Spatial attention within each frame, then causal temporal attention per patch."""
    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
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
        s = x.reshape(b * t, n, d)
        h = self.norm_s(s)
        s = s + self.attn_s(h, h, h, need_weights=False)[0]
        x = s.reshape(b, t, n, d).transpose(1, 2).reshape(b * n, t, d)
        h = self.norm_t(x)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1)  # causal in time
        x = x + self.attn_t(h, h, h, attn_mask=mask, need_weights=False)[0]
        x = x.reshape(b, n, t, d).transpose(1, 2)
        return x + self.mlp(self.norm_m(x))


@CORES.register("transformer")
class FactorisedTransformerCore(Core):
    """(B, C, T, H, W) -> (B, dim, T // tubelet, H // patch, W // patch); ``image_size`` is H (= W) or (H, W)."""

    video = True

    def __init__(self, in_channels: int = 1, image_size: int | tuple[int, int] = 32, frames: int = 12, patch: int = 4,
                 tubelet: int = 1, dim: int = 64, depth: int = 3, heads: int = 4, mlp_ratio: float = 2.0,
                 dropout: float = 0.0):
        super().__init__()
        self.patch, self.tubelet = patch, tubelet
        self.embed = nn.Conv3d(in_channels, dim, (tubelet, patch, patch), stride=(tubelet, patch, patch))
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.pos_space = nn.Parameter(torch.zeros(1, 1, (h // patch) * (w // patch), dim))
        self.pos_time = nn.Parameter(torch.zeros(1, max(1, frames // tubelet), 1, dim))
        nn.init.trunc_normal_(self.pos_space, std=0.02)
        nn.init.trunc_normal_(self.pos_time, std=0.02)
        self.blocks = nn.ModuleList(FactorisedBlock(dim, heads, mlp_ratio, dropout) for _ in range(depth))
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
            tokens = block(tokens)
        tokens = self.norm(tokens)
        return tokens.permute(0, 3, 1, 2).reshape(b, d, t, hh, ww)
