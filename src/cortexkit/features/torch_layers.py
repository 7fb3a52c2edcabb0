"""Features from any layers of any torch network, read with forward hooks.

:class:`TorchExtractor` wraps a module the user brings; :class:`PretrainedCNN` builds one of
cortexkit's architectures (AlexNet, VGG16, EfficientNet-lite0) with offline ImageNet weights,
seeded random weights (the untrained control) or a checkpoint file. Each requested layer's output
is pooled to ``pool`` x ``pool`` positions (adaptive average pooling; ``"global"`` for 1 x 1,
``None`` to keep every position) and flattened; an optional seeded Gaussian random projection
bounds the feature count. The forward pass stops after the deepest requested layer.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torch import nn

from sklearn.utils._param_validation import Interval, StrOptions

from cortexkit._progress import track
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.features.base import FeatureExtractor, check_images
from cortexkit.features.registry import EXTRACTORS
from cortexkit.image import resize_planes, resize_tensor


# scikit-learn parameter checks shared by the network extractors (built-in and library models)
NETWORK_CONSTRAINTS: dict = {
    "weights": [str],
    "layers": [str, list, tuple],
    "pool": [Interval(Integral, 1, None, closed="left"), StrOptions({"global"}), None],
    "projection": [Interval(Integral, 1, None, closed="left"), None],
    "image_size": [Interval(Integral, 8, None, closed="left"), None],
    "seed": [Integral],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str],
}


class _Stop(Exception):
    """Raised by the hook of the deepest requested layer to end the forward pass early."""


class TorchExtractor(FeatureExtractor):
    """Features of named layers of a torch module.

    Parameters
    ----------
    module : torch.nn.Module
        The network; it is put in eval mode. Its input is (batch, 3, size, size) float.
    layers : sequence of str
        Module paths as in ``module.named_modules()`` (e.g. ``"features.4"``), in depth order.
    pool : int, "global" or None
        Adaptive average pooling of each layer's spatial map to pool x pool (default 6).
    projection : int, optional
        Project each layer with more features than this to this many dims (seeded Gaussian
        random projection, variance preserving).
    image_size : int, optional
        Resize stimuli to this size first.
    mean, std : sequence of 3 floats, optional
        Channel normalisation after scaling to [0, 1] (e.g. ImageNet's).
    batch_size : int
    device : str
    seed : int
        Seed of the random projections.
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "torch"

    def __init__(self, module=None, layers=(), pool=6, projection=None, image_size=None, mean=None, std=None,
                 batch_size=32, device="cpu", seed=0):
        self.module = module
        self.layers = layers
        self.pool = pool
        self.projection = projection
        self.image_size = image_size
        self.mean = mean
        self.std = std
        self.batch_size = batch_size
        self.device = device
        self.seed = seed

    def _setup(self) -> tuple[nn.Module, list[str], list[str], tuple | None]:
        """(network, module paths, output names, (mean, std) or None) -- overridden by subclasses."""
        if not isinstance(self.module, nn.Module):
            raise ConfigError("TorchExtractor needs a torch.nn.Module as `module`")
        paths = list(self.layers)
        norm = (self.mean, self.std) if self.mean is not None else None
        return self.module, paths, paths, norm

    def _fit(self, stimuli):
        net, paths, names, norm = self._setup()
        net = net.eval().to(self.device)
        modules = dict(net.named_modules())
        if not paths:
            raise ConfigError("no layers requested")
        missing = [p for p in paths if p not in modules]
        if missing:
            some = [n for n in modules if n][:12]
            raise ConfigError(f"no layer(s) {listed(missing)} in {type(net).__name__}; it has e.g. {listed(some)}")
        self.net_ = net
        self.layer_paths_ = paths
        self.layer_names_ = names
        self.modules_ = [modules[p] for p in paths]
        self.norm_ = norm
        self.projections_ = {}

    def _prepare(self, batch: np.ndarray) -> torch.Tensor:
        return self._to_network(batch, self.image_size)

    def _to_network(self, batch: np.ndarray, size) -> torch.Tensor:
        """A numpy batch (n, y, x[, channel]) as the network's normalised (n, 3, size, size) input.

        The network gets channels-last memory, on which oneDNN's CPU convolutions run about 25% faster
        (AlexNet, measured); resizing is done on contiguous (n, 3, y, x) planes
        (:func:`cortexkit.image.resize_planes`, the arithmetic of :func:`cortexkit.image.resize`),
        where it is fastest, and the normalisation in place.
        """
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        x = x[..., None] if x.ndim == 3 else x
        if x.shape[-1] == 1:  # grayscale: the same image in the three channels
            x = x.expand(-1, -1, -1, 3)
        x = x.to(self.device).permute(0, 3, 1, 2)
        if size and tuple(x.shape[2:]) != (size, size):  # resizing is faster on contiguous planes
            x = resize_planes(x.contiguous(), size).contiguous(memory_format=torch.channels_last)
        else:  # a copy: the caller's array is never normalised in place
            x = x.clone(memory_format=torch.channels_last)
        if self.norm_ is not None:
            mean = torch.tensor(self.norm_[0], dtype=x.dtype, device=x.device)[:, None, None]
            std = torch.tensor(self.norm_[1], dtype=x.dtype, device=x.device)[:, None, None]
            x.sub_(mean).div_(std)
        return x

    def _prepare_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`_prepare` for a float tensor batch (n, y, x[, channel]), differentiable."""
        if x.ndim == 3:
            x = x[..., None]
        x = x.expand(*x.shape[:-1], 3) if x.shape[-1] == 1 else x
        if self.image_size and tuple(x.shape[1:3]) != (self.image_size, self.image_size):
            x = resize_tensor(x, self.image_size)
        x = x.permute(0, 3, 1, 2)
        return self._normalize(x.to(self.device))

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm_ is not None:
            mean = torch.tensor(self.norm_[0], dtype=x.dtype, device=x.device)[:, None, None]
            std = torch.tensor(self.norm_[1], dtype=x.dtype, device=x.device)[:, None, None]
            x = (x - mean) / std
        return x

    def _reduce(self, i: int, out: torch.Tensor) -> torch.Tensor:
        if out.ndim == 4 and self.pool is not None:
            out = F.adaptive_avg_pool2d(out, 1 if self.pool == "global" else int(self.pool))
        flat = out.flatten(1)
        if self.projection and flat.shape[1] > self.projection:
            if i not in self.projections_:
                g = torch.Generator().manual_seed(int(self.seed) * 1000 + i)
                self.projections_[i] = (torch.randn(flat.shape[1], self.projection, generator=g)
                                        / np.sqrt(self.projection)).to(flat.device)
            flat = flat @ self.projections_[i]
        return flat

    def _layer_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every requested layer's reduced output for a prepared batch (the network stops after the
        last requested layer)."""
        outputs: dict[int, torch.Tensor] = {}
        last = len(self.modules_) - 1

        def hook(i):
            def fn(_module, _inp, out):
                outputs[i] = out
                if i == last:
                    raise _Stop
            return fn

        handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(self.modules_)]
        try:
            self.net_(x)
        except _Stop:
            pass
        finally:
            for h in handles:
                h.remove()
        missing = [path for i, path in enumerate(self.layer_paths_) if i not in outputs]
        if missing:
            raise DataError(f"layer {missing[0]!r} produced no output (is it used in forward?)", variable="layers")
        return [self._reduce(i, outputs[i]) for i in range(len(self.modules_))]

    @torch.no_grad()
    def _run(self, stimuli: np.ndarray) -> list[np.ndarray]:
        from concurrent.futures import ThreadPoolExecutor

        outs: list[np.ndarray] = []  # allocated at the first batch, filled in place (no final concatenation)
        starts = range(0, len(stimuli), self.batch_size)

        def prepare(start):
            with torch.no_grad():
                return self._prepare(stimuli[start : start + self.batch_size])

        # The next batch is resized and normalised in a second thread while the network runs on this
        # one (torch releases the GIL): input preparation stops adding to the extraction time.
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(prepare, starts[0])
            for k, start in enumerate(track(starts, f"{getattr(self, 'arch', self.name)} features: batches of "
                                                    f"{self.batch_size} of {len(stimuli)} images")):
                x = pending.result()
                if k + 1 < len(starts):
                    pending = pool.submit(prepare, starts[k + 1])
                layers = self._layer_outputs(x)
                if not outs:
                    outs = [np.empty((len(stimuli), out.shape[1]), np.float32) for out in layers]
                for dest, out in zip(outs, layers):
                    dest[start : start + len(out)] = out.float().cpu().numpy()
        return outs

    def torch_features(self, stimuli: torch.Tensor) -> dict:
        """Differentiable ``{layer name: (n, n_features)}`` of a float tensor batch in [0, 1]."""
        check_is_fitted(self, "input_shape_")
        return dict(zip(self.layer_names_, self._layer_outputs(self._prepare_tensor(stimuli))))

    def layer_list(self) -> list[str]:
        """Names of the layers :meth:`extract` returns."""
        return list(self.layers)

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{layer name: (n_stimuli, n_features)}`` for every requested layer."""
        check_is_fitted(self, "input_shape_")
        return dict(zip(self.layer_names_, self._run(check_images(stimuli))))

    def _transform(self, stimuli):
        """All requested layers' features side by side."""
        return np.concatenate(self._run(stimuli), axis=1)


@EXTRACTORS.register("alexnet", arch="alexnet")
@EXTRACTORS.register("vgg16", arch="vgg16")
@EXTRACTORS.register("efficientnet_lite0", arch="efficientnet_lite0")
class PretrainedCNN(TorchExtractor):  # each registration's own line in `cortexkit list features`: see below
    """An ImageNet CNN (or its untrained twin) as a multi-layer feature extractor.

    Parameters
    ----------
    arch : {"alexnet", "vgg16", "efficientnet_lite0"}
    weights : "imagenet", "random" or a checkpoint path
        "imagenet" reads the offline weights (``make weights``); "random" is the seeded untrained
        network (a control); a path loads a user's checkpoint of the same architecture.
    layers : "all" or sequence of str
        Short layer names (``conv1`` ... ``conv5`` for AlexNet, ``conv1_1`` ... ``conv5_3`` for
        VGG16, ``stage1`` ... ``stage7``, ``head``, ``logits`` for EfficientNet-lite0).
    image_size : int
        Input resolution (224, the ImageNet size, by default).
    pool, projection, batch_size, device, seed : as :class:`TorchExtractor`
    """

    name = "cnn"

    _parameter_constraints: dict = {"arch": [str], **NETWORK_CONSTRAINTS}

    def __init__(self, arch="alexnet", weights="imagenet", layers="all", pool=6, projection=None, image_size=224,
                 batch_size=32, device="cpu", seed=0):
        self.arch = arch
        self.weights = weights
        self.layers = layers
        self.pool = pool
        self.projection = projection
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.seed = seed

    def layer_list(self) -> list[str]:
        """The short names of the requested layers, in depth order (no fitting needed)."""
        from cortexkit.features.networks.registry import get_architecture

        known = get_architecture(self.arch).layers
        names = list(known) if self.layers in ("all", None) else list(self.layers)
        bad = [n for n in names if n not in known]
        if bad:
            raise ConfigError(f"{self.arch} has no layer(s) {listed(bad)}; its layers: {listed(known)}")
        return names

    def _setup(self):
        from cortexkit.features.networks.registry import build, get_architecture

        arch = get_architecture(self.arch)
        names = self.layer_list()
        net = build(self.arch, self.weights, seed=self.seed)
        return net, [arch.layers[n] for n in names], names, (arch.mean, arch.std)


# One line each in `cortexkit list features` (the class docstring describes all three).
for _name, _line in (("alexnet", "ImageNet AlexNet (offline weights; weights: random for its untrained twin): layers conv1-conv5."),
                     ("vgg16", "ImageNet VGG16 (offline weights; weights: random for its untrained twin): layers conv1_1-conv5_3."),
                     ("efficientnet_lite0", "ImageNet EfficientNet-lite0 (offline weights; weights: random for its untrained twin): stage1-stage7, head, logits.")):
    EXTRACTORS[_name].summary = _line
