"""The CNN reconstruction baseline: responses -> a small deconvolutional network -> pixels, trained
end to end.

STSBench reports a convolutional decoder beside its linear one: instead of a fixed latent space
(pixel PCA, a VAE) the whole map from responses to pixels is learned. Here a linear layer takes the
z-scored responses to a ``width`` x (side / 2**``upsamplings``)² feature map, and ``upsamplings``
stages (nearest-neighbour upsampling x2, 3 x 3 convolution, batch norm, ReLU) bring it to the image
size; a 3 x 3 convolution and a sigmoid give the pixels. It is trained with mean squared error on
the training stimuli (AdamW, weight decay, dropout on the responses), early-stopped on a held-out
``val_fraction`` of them (the test split is never seen), checkpointed every epoch when
``checkpoint_dir`` is given (a killed run resumes). Videos are decoded whole: their frames (times
colour channels) are the network's output channels, so one response vector gives a clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.autoencoder import from_tensor, to_tensor
from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.errors import ConfigError
from cortexkit.features.base import is_video
from cortexkit.training_loop import TrainSettings, train


class DeconvNet(nn.Module):
    """Linear map to a small feature map, then upsampling convolutions to ``channels`` x ``size``²."""

    def __init__(self, n_units: int, size: tuple[int, int], channels: int, width: int = 64, upsamplings: int = 3,
                 dropout: float = 0.2):
        super().__init__()
        h, w = size
        scale = 2**upsamplings
        self.h0, self.w0 = -(-h // scale), -(-w // scale)  # ceil: crop to the image at the end
        self.size, self.width = (h, w), width
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_units, width * self.h0 * self.w0))
        stages = []
        for i in range(upsamplings):
            cin, cout = max(width >> i, 8), max(width >> (i + 1), 8)
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                       nn.ReLU()]
        self.up = nn.Sequential(*stages)
        self.out = nn.Conv2d(max(width >> upsamplings, 8), channels, 3, padding=1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Images (n, channels, y, x) in [0, 1] from z-scored responses (n, n_units)."""
        x = self.fc(r).view(len(r), self.width, self.h0, self.w0)
        x = torch.sigmoid(self.out(self.up(x)))
        return x[..., : self.size[0], : self.size[1]]


@DECODERS.register("cnn")
class CNNDecoder(Decoder):
    """Responses -> pixels through a deconvolutional network trained end to end.

    Parameters
    ----------
    width : int
        Channels of the first feature map (halved at each upsampling, at least 8).
    upsamplings : int
        x2 upsampling stages (the first map is the image side / 2**upsamplings).
    dropout, weight_decay, lr, epochs, batch_size, patience : training
    val_fraction : float
        Training stimuli held out for early stopping.
    seed, device, checkpoint_dir, log
    """

    name = "cnn"

    def __init__(self, width=64, upsamplings=3, dropout=0.2, weight_decay=1e-3, lr=3e-3, epochs=60, batch_size=64,
                 patience=8, val_fraction=0.1, seed=0, device="cpu", checkpoint_dir=None, log=None):
        self.width = width
        self.upsamplings = upsamplings
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.val_fraction = val_fraction
        self.seed = seed
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.log = log

    def _fit(self, responses, stimuli):
        if not 0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        self.mean_, self.sd_ = responses.mean(0), responses.std(0) + 1e-6
        r = torch.from_numpy((responses - self.mean_) / self.sd_)
        x = self._as_channels(stimuli)
        rng = np.random.default_rng([self.seed, 47])
        order = rng.permutation(len(r))
        n_val = max(1, int(round(self.val_fraction * len(r))))
        val, tr = order[:n_val], order[n_val:]
        dev = torch.device(self.device)
        torch.manual_seed(self.seed)
        self.net_ = DeconvNet(r.shape[1], tuple(x.shape[2:]), x.shape[1], self.width, self.upsamplings, self.dropout).to(dev)

        def batches(g):
            idx = g.permutation(tr)
            for s in range(0, len(idx), self.batch_size):
                b = torch.from_numpy(idx[s:s + self.batch_size])
                yield r[b].to(dev), x[b].to(dev)

        def loss_fn(model, batch):
            return nn.functional.mse_loss(model(batch[0]), batch[1])

        def validate(model):
            with torch.no_grad():
                return -float(nn.functional.mse_loss(model(r[val].to(dev)), x[val].to(dev)))

        settings = TrainSettings(epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay, patience=self.patience,
                                 lr_patience=max(1, self.patience // 2), seed=self.seed,
                                 extra={"decoder": "cnn", "width": self.width, "upsamplings": self.upsamplings,
                                        "dropout": self.dropout, "batch_size": self.batch_size, "n": len(r),
                                        "val_fraction": self.val_fraction})
        checkpoint = Path(self.checkpoint_dir) / "cnn.pt" if self.checkpoint_dir else None
        train(self.net_, batches, loss_fn, settings, validate=validate, checkpoint=checkpoint, description="cnn decoder",
              log=self.log)
        self.net_.eval()

    def _as_channels(self, stimuli: np.ndarray) -> torch.Tensor:
        """(n, C, y, x): an image's colour channels, or a video's frames (times colours)."""
        self.video_ = is_video(stimuli)
        if not self.video_:
            return to_tensor(stimuli)
        v = stimuli if stimuli.ndim == 5 else stimuli[..., None]  # (n, frame, y, x, colour)
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(v, 4, 2).reshape(len(v), -1, *v.shape[2:4])))

    @torch.no_grad()
    def _reconstruct(self, responses):
        r = torch.from_numpy((responses - self.mean_) / self.sd_).to(self.device)
        out = torch.cat([self.net_(r[s:s + 256]) for s in range(0, len(r), 256)]).cpu()
        if self.video_:  # channels back to (frame[, colour]); the base class reshapes to the stimuli's shape
            shape = tuple(self.stimulus_shape_)
            frames, colours = shape[0], (shape[3] if len(shape) == 4 else 1)
            v = out.numpy().reshape(len(out), frames, colours, *out.shape[2:])
            return np.moveaxis(v, 2, 4)
        return from_tensor(out, gray=len(self.stimulus_shape_) == 2)
