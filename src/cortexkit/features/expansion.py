"""The learning-free "expansion" CNN of Kazemian et al.: fixed first layer, random wide layers.

Layer 1 applies fixed filters to each colour channel separately: curvature filters (12
orientations over 360 degrees x 3 curvatures, 15 x 15 px; the default), Gabor filters, or random
ones. Layers 2-5 are random convolutions without bias (7x7, 5x5, 3x3, 3x3) whose channel counts
widen (``widths``, by default 1000, 3000, 5000 then a last width from 3 to 30000), each followed by
a nonlinearity and spatial pooling (2x2, the last 4x4 with stride 1). Nothing is trained: the
weights come from a seeded generator (Kaiming-uniform or uniform), so a configuration always gives
the same features. The widest layers are computed for a batch of images at a time, sized so the
activations fit ``max_memory``.

``connectivity="full"`` is the paper's locality control: a five-layer perceptron on the flattened
pixels with the same widths (layer 1 as wide as the fixed bank's 108 maps, the last as wide as the
convolutional model's output, width x positions), the same initialisation and nonlinearity, no
pooling. Every unit then sees the whole image.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F

from sklearn.utils._param_validation import StrOptions

from cortexkit._progress import track
from cortexkit.errors import ConfigError, listed
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.registry import EXTRACTORS
from cortexkit.filters import curvature, gabor
from cortexkit.image import resize, resize_tensor
from cortexkit.memory import parse_memory

KERNELS = (7, 5, 3, 3)
POOLS = ((2, 2), (2, 2), (2, 2), (4, 1))  # (kernel, stride) after layers 2-5


def first_layer_bank(kind: str, size: int = 15, seed: int = 0) -> torch.Tensor:
    """Fixed layer-1 filters, (n_filters, 1, size, size)."""
    if kind == "curvature":
        thetas = np.arange(12) * 2 * np.pi / 12
        curves = (0.01, 0.0794, 0.63)  # log-spaced bend, from nearly straight to strongly curved
        bank = [curvature(size, t, c, frequency=1.2, sigma_x=1.0, sigma_y=5.0) for c in curves for t in thetas]
    elif kind == "gabor":
        bank = [gabor((size, size), size // 2, size // 2, t, lam, lam / 2)
                for lam in (4.0, 7.0, 12.0) for t in np.arange(12) * np.pi / 12]
    elif kind == "random":
        g = torch.Generator().manual_seed(seed)
        return torch.randn(36, 1, size, size, generator=g) / size
    else:
        raise ConfigError(f"first_layer must be 'curvature', 'gabor' or 'random', got {kind!r}")
    bank = np.stack(bank)
    bank /= np.linalg.norm(bank.reshape(len(bank), -1), axis=1)[:, None, None]
    return torch.from_numpy(bank[:, None]).float()


def final_size(size: int, removed=()) -> int:
    """Side of the layer-5 map for an input of ``size`` pixels (0 if the layers do not fit), with the
    convolutions of the ``removed`` layers (2-4) left out."""
    size //= 2  # layer 1: same-size convolution, then 2x2 pooling
    for layer, (k, (pk, ps)) in enumerate(zip(KERNELS, POOLS), start=2):
        if layer not in removed:
            size -= k - 1
        if size < pk:
            return 0
        size = (size - pk) // ps + 1
    return size


@EXTRACTORS.register("expansion")
class ExpansionModel(FeatureExtractor):
    """Features of the untrained expansion CNN.

    Parameters
    ----------
    widths : (int, int, int, int)
        Output channels of layers 2-5. The source uses (1000, 3000, 5000, 3..30000) on 224 px
        images; smaller values run faster on a CPU.
    first_layer : {"curvature", "gabor", "random"}
    nonlinearity : {"relu", "elu", "none"}
    init : {"kaiming_uniform", "uniform"}
    pool : {"avg", "max"}
        Spatial pooling after each layer (the source averages).
    global_pool : bool
        Average the last layer over positions (features = last width).
    remove : sequence of int
        Layers among 2-4 whose random convolution and nonlinearity are left out (their pooling is
        kept), for ablations: the next layer then reads the previous one directly.
    connectivity : {"local", "full"}
        Convolutions (local receptive fields, the model) or fully connected layers of the same widths
        (the locality control; see the module docstring).
    layers : "last" or "all"
        Return only layer 5 (default) or every layer (layer 1-4 average-pooled to 4 x 4).
    image_size : int
        Input resolution (at least 140 px so that layer 5 has room for its kernel and pooling).
    max_memory : str or int
        Budget for one batch's activations (default "2GB").
    seed : int
    device : str
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "expansion"

    # first_layer and image_size are checked in fit, with messages that say what fits
    _parameter_constraints: dict = {
        "widths": [list, tuple],
        "nonlinearity": [StrOptions({"relu", "elu", "none"})],
        "init": [StrOptions({"kaiming_uniform", "uniform"})],
        "pool": [StrOptions({"avg", "max"})],
        "global_pool": ["boolean"],
        "remove": [list, tuple],
        "connectivity": [StrOptions({"local", "full"})],
        "layers": [StrOptions({"last", "all"})],
        "seed": [Integral],
        "max_memory": [str, Integral, None],
        "device": [str],
    }

    def __init__(self, widths=(1000, 3000, 5000, 3000), first_layer="curvature", nonlinearity="relu",
                 init="kaiming_uniform", pool="avg", global_pool=False, layers="last", image_size=224,
                 max_memory="2GB", seed=0, device="cpu", remove=(), connectivity="local"):
        self.widths = widths
        self.first_layer = first_layer
        self.nonlinearity = nonlinearity
        self.init = init
        self.pool = pool
        self.global_pool = global_pool
        self.remove = remove
        self.connectivity = connectivity
        self.layers = layers
        self.image_size = image_size
        self.max_memory = max_memory
        self.seed = seed
        self.device = device

    def layer_list(self):
        """The layers ``extract`` returns, in depth order."""
        if self.layers not in ("last", "all"):
            raise ConfigError(f"layers must be 'last' or 'all', got {self.layers!r}")
        return [f"{self.name}.l{i}" for i in range(1, 6)] if self.layers == "all" else [self.name]

    def _act(self, x):
        if self.nonlinearity == "relu":
            return F.relu(x)
        if self.nonlinearity == "elu":
            return F.elu(x)
        if self.nonlinearity == "none":
            return x
        raise ConfigError(f"nonlinearity must be relu, elu or none, got {self.nonlinearity!r}")

    def _pool(self, x, kernel, stride):
        if self.pool == "avg":
            return F.avg_pool2d(x, kernel, stride)
        if self.pool == "max":
            return F.max_pool2d(x, kernel, stride)
        raise ConfigError(f"pool must be 'avg' or 'max', got {self.pool!r}")

    def _fit(self, stimuli):
        if len(self.widths) != 4 or min(self.widths) < 1:
            raise ConfigError(f"widths must be 4 positive channel counts (layers 2-5), got {self.widths}")
        removed = sorted({int(r) for r in self.remove})
        if any(r not in (2, 3, 4) for r in removed):
            raise ConfigError(f"remove names layers among 2, 3 and 4 (layer 1 is the fixed filters, 5 the output), got {listed(self.remove)}")
        self.bank_ = first_layer_bank(self.first_layer, seed=self.seed).to(self.device)
        g = torch.Generator().manual_seed(self.seed)
        self.weights_ = []  # one per layer 2-5; None where the layer is removed
        cin = self.bank_.shape[0] * 3
        for layer, (cout, k) in enumerate(zip(self.widths, KERNELS), start=2):
            if layer in removed:
                self.weights_.append(None)
                continue
            w = torch.empty(cout, cin, k, k)
            if self.init == "kaiming_uniform":  # gain sqrt(2) (ReLU), bound sqrt(6 / fan_in)
                bound = np.sqrt(6.0 / (cin * k * k))
                w.uniform_(-bound, bound, generator=g)
            elif self.init == "uniform":
                w.uniform_(0.0, 1.0, generator=g)
            else:
                raise ConfigError(f"init must be 'kaiming_uniform' or 'uniform', got {self.init!r}")
            self.weights_.append(w.to(self.device))
            cin = cout
        self.output_size_ = final_size(self.image_size, removed)
        if self.output_size_ < 1:
            smallest = next(s for s in range(8, 1024) if final_size(s, removed) >= 1)
            raise ConfigError(f"image_size={self.image_size} is too small for 5 layers; the smallest is {smallest}")
        if self.connectivity == "full":
            self._fit_full(removed)

    def _fit_full(self, removed) -> None:
        """The locality control's weights: fully connected layers of the convolutional model's widths."""
        if self.global_pool:
            raise ConfigError("global_pool has no positions to average with connectivity='full'")
        last = self.widths[3] * self.output_size_**2  # as many features as the convolutional model
        sizes = [3 * self.image_size**2, self.bank_.shape[0] * 3, *self.widths[:3], last]
        g = torch.Generator().manual_seed(self.seed + 1)
        self.fc_ = []  # layers 1-5; None where a layer is removed
        cin = sizes[0]
        for layer, cout in enumerate(sizes[1:], start=1):
            if layer in removed:
                self.fc_.append(None)
                continue
            w = torch.empty(cout, cin)
            if self.init == "kaiming_uniform":
                bound = np.sqrt(6.0 / cin)
                w.uniform_(-bound, bound, generator=g)
            else:
                w.uniform_(0.0, 1.0, generator=g)
            self.fc_.append(w.to(self.device))
            cin = cout

    def _layers(self, x: torch.Tensor, gray: bool = False) -> list[torch.Tensor]:
        """Activations after each of the 5 layers (pooled, before flattening). ``gray``: the three
        colour channels are copies, so layer 1 filters one of them and layer 2 sums its weights over
        the copies (a third of the work of both; equal up to float rounding)."""
        if self.connectivity == "full":
            h, outs = x.flatten(1), []
            for w in self.fc_:
                if w is not None:
                    h = self._act(h @ w.T)
                outs.append(h)
            return outs
        n, c = x.shape[:2]
        pad = self.bank_.shape[-1] // 2
        weights = list(self.weights_)
        if gray:
            h = self._pool(self._act(F.conv2d(x[:, :1], self.bank_, padding=pad)), 2, 2)
            j = next(i for i, w in enumerate(weights) if w is not None)  # the first layer reading layer 1
            weights[j] = weights[j].reshape(weights[j].shape[0], c, -1, *weights[j].shape[2:]).sum(1)
            # Only layers="all" returns layer 1; the others never read it.
            outs = [h.repeat(1, c, 1, 1) if self.layers == "all" else h]
            if j > 0:  # removed layers pass layer 1's maps on: they need all colour copies
                h = h.repeat(1, c, 1, 1)
                weights[j] = self.weights_[j]
        else:
            # Layer 1: every fixed filter on every colour channel separately (channel-major order).
            h = F.conv2d(x.reshape(n * c, 1, *x.shape[2:]), self.bank_, padding=pad)
            h = self._pool(self._act(h.reshape(n, -1, *h.shape[2:])), 2, 2)
            outs = [h]
        for w, (pk, ps) in zip(weights, POOLS):
            h = self._pool(h if w is None else self._act(F.conv2d(h, w)), pk, ps)
            outs.append(h)
        return outs

    def _batch_size(self) -> int:
        budget = parse_memory(self.max_memory)
        # Largest activation: layer 2 before pooling, width * (image_size - 6)^2 / 4 floats per image,
        # and layer 1's 108 channels at full resolution; keep a 3x margin for temporaries.
        s = self.image_size
        per_image = 4 * 3 * max(self.widths[0] * ((s // 2 - 6) ** 2), 108 * s * s, self.widths[1] * ((s // 4 - 8) ** 2))
        return int(max(1, min(256, budget // per_image)))

    def _outputs(self, x: torch.Tensor, gray: bool = False) -> list[torch.Tensor]:
        """The returned layers' features of an RGB batch (n, c, y, x) at ``image_size``."""
        outs = self._layers(x, gray)
        last = outs[-1].mean((2, 3)) if self.global_pool else outs[-1].flatten(1)
        if self.layers == "all":
            return [o if o.ndim == 2 else F.adaptive_avg_pool2d(o, 4).flatten(1) for o in outs[:-1]] + [last]
        return [last]

    def torch_features(self, stimuli: torch.Tensor) -> dict:
        """Differentiable ``{layer: (n, features)}`` of a float tensor batch (n, y, x[, channel]) in
        [0, 1], as :meth:`extract` (the network is fixed, so gradients reach the pixels)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "weights_")
        x = stimuli[..., None] if stimuli.ndim == 3 else stimuli
        x = x.expand(*x.shape[:-1], 3) if x.shape[-1] == 1 else x
        if x.shape[1] != self.image_size:
            x = resize_tensor(x, self.image_size)
        return dict(zip(self.layer_list(), self._outputs(x.permute(0, 3, 1, 2).to(self.device))))

    @torch.no_grad()
    def _run(self, stimuli) -> list[np.ndarray]:
        rgb = stimuli if stimuli.ndim == 4 else np.repeat(stimuli[..., None], 3, axis=-1)
        batch = self._batch_size()
        chunks = [[] for _ in self.layer_list()]
        for start in track(range(0, len(rgb), batch), f"expansion features: batches of {batch} of {len(rgb)} images"):
            x = resize(rgb[start : start + batch], self.image_size) if rgb.shape[1] != self.image_size else rgb[start : start + batch]
            x = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).to(self.device)
            for chunk, out in zip(chunks, self._outputs(x, gray=stimuli.ndim == 3)):
                chunk.append(out.cpu().numpy())
        return [np.concatenate(c).astype(np.float32) for c in chunks]

    def extract(self, stimuli):
        """``{layer: (n_stimuli, features)}`` of images (n, y, x[, channel]), in batches within ``max_memory``."""
        from sklearn.utils.validation import check_is_fitted

        from cortexkit.features.base import check_images

        check_is_fitted(self, "weights_")
        return dict(zip(self.layer_list(), self._run(check_images(stimuli))))

    def _transform(self, stimuli):
        return np.concatenate(self._run(stimuli), axis=1)
