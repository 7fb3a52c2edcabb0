"""ViV1T (Li et al., Sensorium 2023): an architecture-faithful module that loads its checkpoint folders.

ViV1T's released models (``runs/viv1t_00N/ckpt/model_state.pt`` + ``args.yaml``) differ from
cortexkit's factorised transformer core in ways that change every number, so the network is its own
module here, written from the layout's description, with the original's state-dict names:

- **Core input**: the video (B, 1, T, H, W) with behaviour (2) and pupil centre (2) broadcast over
  space as four more channels (``core_behavior_mode`` 2).
- **Tokenizer** (``core_patch_mode`` 0): overlapping 3-D patches (time ``core_temporal_patch_size``
  stride ``core_temporal_patch_stride``, space ``core_spatial_patch_size`` stride
  ``core_spatial_patch_stride``), each flattened as (channel, time, height, width), row by row;
  LayerNorm -> Linear -> LayerNorm, plus learned spatial and temporal position tables (the temporal
  one sized by ``max_frame``). Output step i sees input frames i .. i + patch - 1.
- **Transformers**: ``core_spatial_depth`` blocks over the patches of each step, then
  ``core_temporal_depth`` over the steps of each patch; each a parallel block
  ``x + attn_out(attention) + ff_out(GELU(ff))`` from one shared LayerNorm and one fused bias-free
  projection split into q, k, v (heads outer) and the feed-forward input.
- **Core output**: (B, E, T', H', W'), H' the largest divisor of the patch count not above its
  rounded-up square root.
- **Shifter** per mouse: pupil centre -> 3 tanh layers -> (x, y) shift of every readout position.
- **Gaussian readout** per mouse: positions from the neurons' coordinates (``mu_transform``,
  clamped to [-1, 1] in eval, then shifted), bilinear sampling of each core frame, a behavioural
  state vector added to the sampled features, feature weights and a bias; ``output_mode`` 1 = exp.

:func:`load_viv1t` builds the model from ``args.yaml`` and loads ``ckpt/model_state.pt`` (the
``model`` entry of the saved dict); only the released configuration's options are implemented, and
any other value is refused by name.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cortexkit.errors import ConfigError, DataError

# The options of the released configuration this module implements: (args.yaml key, value).
SUPPORTED = {"core": "vivit", "core_behavior_mode": 2, "core_patch_mode": 0, "core_parallel_attention": True,
             "core_norm_qk": False, "core_ff_activation": "gelu", "readout": "gaussian2d", "readout_grid_mode": 1,
             "shifter_mode": 1, "modulator_mode": 0}
# The released models' mice and the Sensorium 2023 recordings they stand for (the folder names of the
# release start with these): a store converted from one of these folders finds its mouse by itself.
RELEASED_MICE = {"A": "dynamic29156-11-10", "B": "dynamic29228-2-10", "C": "dynamic29234-6-9", "D": "dynamic29513-3-5",
                 "E": "dynamic29514-2-9", "F": "dynamic29515-10-12", "G": "dynamic29623-4-9", "H": "dynamic29647-19-8",
                 "I": "dynamic29712-5-9", "J": "dynamic29755-2-8"}
OUTPUTS = {0: lambda x: F.elu(x) + 1.0, 1: torch.exp}  # output_mode: 0 ELU + 1, 1 exponential


def grid_shape(patches: int) -> tuple[int, int]:
    """(H', W'): H' the largest divisor of ``patches`` <= ceil(sqrt(patches))."""
    h = max(d for d in range(1, math.ceil(math.sqrt(patches)) + 1) if patches % d == 0)
    return h, patches // h


class DropPath(nn.Module):
    """Stochastic depth's keep probability (a stored buffer; identity in eval)."""

    def __init__(self, p: float):
        super().__init__()
        self.register_buffer("keep_prob", torch.tensor(1.0 - p))

    def forward(self, x):
        """``x`` unchanged (eval mode)."""
        return x


class ParallelBlock(nn.Module):
    """``x + attn_out(softmax(q k^T / sqrt(d)) v) + ff_out(ff)`` with q, k, v, ff from one projection of LayerNorm(x)."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp: int, drop_path: float):
        super().__init__()
        self.heads, self.head_dim, self.mlp = heads, head_dim, mlp
        self.register_buffer("scale", torch.tensor(head_dim**-0.5))
        self.norm = nn.LayerNorm(dim)
        self.fused_linear = nn.Linear(dim, 3 * heads * head_dim + mlp, bias=False)
        self.attn_out = nn.Linear(heads * head_dim, dim, bias=False)
        self.ff_out = nn.Sequential(nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, dim, bias=False))
        self.drop_path1, self.drop_path2 = DropPath(drop_path), DropPath(drop_path)

    def forward(self, x):
        """(batch, length, dim) -> the same."""
        inner = self.heads * self.head_dim
        q, k, v, ff = self.fused_linear(self.norm(x)).split([inner, inner, inner, self.mlp], dim=-1)
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))  # heads outer: "(h d)"
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, inner)
        return x + self.drop_path1(self.attn_out(attn)) + self.drop_path2(self.ff_out(ff))


class Transformer(nn.Module):
    """A stack of parallel blocks (no final norm)."""

    def __init__(self, depth: int, **block):
        super().__init__()
        self.blocks = nn.ModuleList([ParallelBlock(**block) for _ in range(depth)])

    def forward(self, x):
        """(batch, length, dim) -> the same."""
        for block in self.blocks:
            x = block(x)
        return x


class Tokenizer(nn.Module):
    """Overlapping 3-D patches -> LayerNorm -> Linear -> LayerNorm, plus spatial and temporal positions."""

    def __init__(self, channels: int, frames: tuple[int, int], space: tuple[int, int], size: tuple[int, int],
                 dim: int, max_frame: int):
        super().__init__()
        (self.t_size, self.t_stride), (self.s_size, self.s_stride) = frames, space
        h = (size[0] - self.s_size) // self.s_stride + 1
        w = (size[1] - self.s_size) // self.s_stride + 1
        patch = channels * self.t_size * self.s_size * self.s_size
        self.tokenizer = nn.Sequential(nn.Identity(), nn.LayerNorm(patch), nn.Linear(patch, dim), nn.LayerNorm(dim),
                                       nn.Dropout(0.0))
        self.spatial_pos_embedding = nn.Parameter(torch.zeros(1, 1, h * w, dim))
        steps = (max_frame - self.t_size) // self.t_stride + 1
        self.temporal_pos_embedding = nn.Parameter(torch.zeros(1, steps, 1, dim))

    def forward(self, x):
        """(B, C, T, H, W) -> tokens (B, T', patches, dim)."""
        p = x.unfold(2, self.t_size, self.t_stride).unfold(3, self.s_size, self.s_stride).unfold(4, self.s_size, self.s_stride)
        b, c, t, h, w = p.shape[:5]  # p: (B, C, T', H', W', t, y, x)
        p = p.permute(0, 2, 3, 4, 1, 5, 6, 7).reshape(b, t, h * w, -1)  # each patch as (channel, time, height, width)
        if t > self.temporal_pos_embedding.shape[1]:
            raise DataError(f"clips give {t} time steps; the model's temporal positions cover "
                            f"{self.temporal_pos_embedding.shape[1]} (max_frame)", variable="stimuli")
        tokens = self.tokenizer(p)
        return tokens + self.spatial_pos_embedding + self.temporal_pos_embedding[:, :t]


class ViViT(nn.Module):
    """Tokenizer, spatial then temporal transformer; output (B, E, T', H', W')."""

    def __init__(self, args: dict):
        super().__init__()
        dim = int(args["core_emb_dim"])
        video = args["input_shapes"]["video"]
        self.register_buffer("reg_scale", torch.tensor(0.0))
        self.tokenizer = Tokenizer(int(video[0]) + 4, (int(args["core_temporal_patch_size"]), int(args["core_temporal_patch_stride"])),
                                   (int(args["core_spatial_patch_size"]), int(args["core_spatial_patch_stride"])),
                                   (int(video[2]), int(video[3])), dim, int(args["max_frame"]))
        block = dict(dim=dim, heads=int(args["core_num_heads"]), head_dim=int(args["core_head_dim"]),
                     mlp=int(args["core_mlp_dim"]), drop_path=float(args.get("core_drop_path", 0.0)))
        self.spatial_transformer = Transformer(int(args["core_spatial_depth"]), **block)
        self.temporal_transformer = Transformer(int(args["core_temporal_depth"]), **block)

    def forward(self, x):
        """(B, C, T, H, W) -> (B, E, T', H', W')."""
        tokens = self.tokenizer(x)
        b, t, p, e = tokens.shape
        tokens = self.spatial_transformer(tokens.reshape(b * t, p, e)).reshape(b, t, p, e)
        tokens = tokens.transpose(1, 2).reshape(b * p, t, e)
        tokens = self.temporal_transformer(tokens).reshape(b, p, t, e).transpose(1, 2)
        h, w = grid_shape(p)
        return tokens.permute(0, 3, 1, 2).reshape(b, e, t, h, w).float()


class Core(nn.Module):
    """Behaviour and pupil centre as channels beside the video, then the ViViT."""

    def __init__(self, args: dict):
        super().__init__()
        self.vivit = ViViT(args)

    def forward(self, video, behavior, pupil_center):
        """video (B, 1, T, H, W), behavior and pupil_center (B, 2, T) -> (B, E, T', H', W')."""
        b, _, t, h, w = video.shape
        extra = torch.cat([behavior, pupil_center], dim=1)[..., None, None].expand(b, 4, t, h, w)
        return self.vivit(torch.cat([video, extra], dim=1))


class Shifter(nn.Module):
    """Pupil centre (x, y) -> readout shift (x, y), each time step alone, through tanh layers."""

    def __init__(self, layers: int, hidden: int):
        super().__init__()
        self.register_buffer("reg_scale", torch.tensor(0.0))
        sizes = [2] + [hidden] * (layers - 1) + [2]
        modules = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            modules += [nn.Linear(a, b), nn.Tanh()]
        self.mlp = nn.Sequential(*modules)

    def forward(self, pupil_center):
        """(B, 2, T') -> shifts (B, 2, T')."""
        return self.mlp(pupil_center.transpose(1, 2)).transpose(1, 2)


class GaussianReadout(nn.Module):
    """Positions from neuron coordinates, bilinear sampling of each core frame, a behavioural state
    added to the sampled features, feature weights and a bias (eval: the mean position)."""

    def __init__(self, n_neurons: int, dim: int):
        super().__init__()
        self.sigma = nn.Parameter(torch.zeros(1, n_neurons, 2, 2))
        self.features = nn.Parameter(torch.zeros(1, dim, n_neurons))
        self.bias = nn.Parameter(torch.zeros(n_neurons))
        self.register_buffer("reg_scale", torch.tensor(0.0))
        self.register_buffer("source_grid", torch.zeros(n_neurons, 2))
        self.mu_transform = nn.Sequential(nn.Linear(2, 30), nn.ELU(), nn.Linear(30, 2), nn.Tanh())
        self.state_encoder = nn.Sequential(nn.Linear(4, dim), nn.LayerNorm(dim), nn.GELU(), nn.Dropout(0.0),
                                           nn.Linear(dim, dim), nn.Tanh())

    def positions(self):
        """Each neuron's (x, y) position in [-1, 1] before the shift, (N, 2)."""
        return self.mu_transform(self.source_grid).clamp(-1.0, 1.0)

    def forward(self, core, shifts, state_input):
        """core (B, E, T', H', W'), shifts (B, 2, T'), state_input (B, 4, T') -> (B, N, T') before the output activation."""
        b, e, t, h, w = core.shape
        frames = core.transpose(1, 2).reshape(b * t, e, h, w)
        grid = self.positions()[None] + shifts.transpose(1, 2).reshape(b * t, 1, 2)  # (B*T', N, 2), not clamped again
        sampled = F.grid_sample(frames, grid[:, :, None, :], mode="bilinear", padding_mode="zeros", align_corners=True)
        state = self.state_encoder(state_input.transpose(1, 2).reshape(b * t, 4))  # (B*T', E)
        sampled = sampled[..., 0] + state[:, :, None]  # (B*T', E, N)
        out = (sampled * self.features).sum(1) + self.bias
        return out.reshape(b, t, -1).transpose(1, 2)


class ViV1T(nn.Module):
    """The released ViV1T: one core, a shifter and a Gaussian readout per mouse, exp (or ELU + 1) output."""

    def __init__(self, args: dict, neurons: dict[str, int]):
        super().__init__()
        self.args = args
        self.core = Core(args)
        self.shifters = nn.ModuleDict({m: Shifter(int(args["shifter_layers"]), int(args["shifter_size"])) for m in neurons})
        self.readouts = nn.ModuleDict({m: GaussianReadout(n, int(args["core_emb_dim"])) for m, n in neurons.items()})
        self.output = OUTPUTS[int(args["output_mode"])]

    def forward(self, video, mouse: str, behavior, pupil_center):
        """Responses (B, N, T') aligned with the last T' = T - patch + 1 input frames; also the core output."""
        core = self.core(video, behavior, pupil_center)
        t = core.shape[2]
        shifts = self.shifters[mouse](pupil_center[..., -t:])
        state = torch.cat([behavior, pupil_center], dim=1)[..., -t:]
        return self.output(self.readouts[mouse](core, shifts, state)), core


def load_viv1t(folder: str | os.PathLike) -> ViV1T:
    """A ViV1T checkpoint folder (``args.yaml`` and ``ckpt/model_state.pt``, as the original training
    writes them) as a :class:`ViV1T` in eval mode. Errors name the file and the key."""
    args, state, neurons = read_viv1t(folder)
    return load_weights(ViV1T(args, neurons), state, folder)


def load_weights(model: ViV1T, state: dict, folder: str | os.PathLike) -> ViV1T:
    """``state`` (a checkpoint's ``model`` entry) into ``model``, every key and shape checked, in eval mode."""
    from cortexkit.features.networks.weights import load_state_strictly

    return load_state_strictly(model, state, Path(folder) / "ckpt" / "model_state.pt", "does not match args.yaml",
                               "args.yaml gives")


def read_viv1t(folder: str | os.PathLike) -> tuple[dict, dict, dict[str, int]]:
    """``(args, state, {mouse: neurons})`` of a ViV1T checkpoint folder: the arguments of
    ``args.yaml`` (options outside the released configuration refused by name), the ``model`` state
    dict of ``ckpt/model_state.pt`` and each mouse's neuron count (its readout's bias)."""
    import yaml

    folder = Path(folder)
    args_file, ckpt_file = folder / "args.yaml", folder / "ckpt" / "model_state.pt"
    for path, what in ((args_file, "the run's arguments"), (ckpt_file, "the weights")):
        if not path.is_file():
            raise DataError(f"missing ({what}; a ViV1T run folder holds args.yaml and ckpt/model_state.pt)", source=str(path))
    try:
        args = yaml.safe_load(args_file.read_text())
    except yaml.YAMLError as exc:
        raise DataError(f"is not YAML ({exc})", source=str(args_file)) from None
    if not isinstance(args, dict):
        raise DataError("is not a mapping of arguments", source=str(args_file))
    for key, value in SUPPORTED.items():
        if key not in args:
            raise DataError(f"has no {key!r}", source=str(args_file))
        if args[key] != value:
            raise ConfigError(f"{args_file}: {key}: {args[key]!r} is not implemented (cortexkit reproduces the released "
                              f"configuration, {key}: {value!r})")
    if int(args.get("output_mode", -1)) not in OUTPUTS:
        raise ConfigError(f"{args_file}: output_mode {args.get('output_mode')!r} is not implemented (0 or 1)")
    try:
        saved = torch.load(ckpt_file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error
        raise DataError(f"cannot read the checkpoint ({type(exc).__name__}: {str(exc)[:200]})", source=str(ckpt_file)) from None
    state = saved.get("model") if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        raise DataError("has no 'model' state dict (the original Scheduler.save_checkpoint writes one)", source=str(ckpt_file))
    mice = [str(m) for m in args.get("mouse_ids") or []]
    if not mice:
        raise DataError("lists no mouse_ids", source=str(args_file))
    neurons = {}
    for m in mice:
        key = f"readouts.{m}.bias"
        if key not in state:
            raise DataError(f"lacks key {key!r} (args.yaml lists mouse {m})", source=str(ckpt_file))
        neurons[m] = int(state[key].shape[0])
    return args, state, neurons
