"""A trained neural predictor: a shared core, one readout per session, optional shifter/modulator.

``rate = nonlinearity(readout[key](core(stimulus), shift)) * gain`` where ``shift`` comes from the
pupil centre (shifter) and ``gain`` from behaviour (modulator). Video cores give a map per frame:
with time-resolved responses the readout is applied frame by frame (one prediction per response
bin); with one response per trial the map is averaged over frames first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cortexkit.encoding.cores import CORES
from cortexkit.encoding.modulation import Modulator, RecurrentModulator, Shifter
from cortexkit.encoding.readouts import READOUTS
from cortexkit.errors import ConfigError, listed

# Output nonlinearities and their inverses (the inverse sets the readout biases to the mean rates).
NONLINEARITIES = {
    "elu1": (lambda x: F.elu(x) + 1.0, lambda r: torch.where(r > 1, r - 1, torch.log(r.clamp_min(1e-6)))),
    "softplus": (F.softplus, lambda r: torch.log(torch.expm1(r.clamp_min(1e-6)))),
    "exp": (torch.exp, lambda r: torch.log(r.clamp_min(1e-6))),  # ViV1T's exponential output mode
    "identity": (lambda x: x, lambda r: r),  # a linear output (STSBench's encoding models)
}


class NeuralPredictor(nn.Module):
    """One shared core, one readout per session (``data_key``), optional shifter and modulator."""
    def __init__(self, core: nn.Module, readouts: dict[str, nn.Module], *, nonlinearity: str = "elu1",
                 shifters: dict[str, nn.Module] | None = None, modulators: dict[str, nn.Module] | None = None):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"nonlinearity must be one of {listed(NONLINEARITIES)}, got {nonlinearity!r}")
        self.core = core
        self.readouts = nn.ModuleDict(readouts)
        self.shifters = nn.ModuleDict(shifters or {})
        self.modulators = nn.ModuleDict(modulators or {})
        self.nonlinearity = nonlinearity

    def forward(self, x: torch.Tensor, key: str, *, pupil_center=None, behavior=None, time_resolved: bool = False):
        """Predicted responses: (B, units), or (B, units, frames') when ``time_resolved``.

        ``pupil_center`` / ``behavior`` are (B, 2) / (B, k), or (B, frames', ...) when time-resolved.
        """
        f = self.core(x)
        readout = self.readouts[key]
        act = NONLINEARITIES[self.nonlinearity][0]
        if f.ndim == 5 and time_resolved:
            b, c, t, h, w = f.shape
            frames = f.transpose(1, 2).reshape(b * t, c, h, w)
            shift = self.shifters[key](pupil_center.reshape(b * t, -1)) if key in self.shifters and pupil_center is not None else None
            out = act(readout(frames, shift)).reshape(b, t, -1)
            if key in self.modulators and behavior is not None:
                mod = self.modulators[key]
                if getattr(mod, "recurrent", False):  # the GRU reads the whole trial's behaviour in order
                    out = out * mod(behavior.reshape(b, t, -1))
                else:
                    out = out * mod(behavior.reshape(b * t, -1)).reshape(b, t, -1)
            return out.transpose(1, 2)
        if f.ndim == 5:
            f = f.mean(2)
        shift = self.shifters[key](pupil_center) if key in self.shifters and pupil_center is not None else None
        out = act(readout(f, shift))
        if key in self.modulators and behavior is not None:
            out = out * self.modulators[key](behavior)
        return out

    def regularizer(self, key: str | None = None):
        """The core's penalty plus the readouts' (of session ``key``, or all)."""
        reg = self.core.regularizer() if hasattr(self.core, "regularizer") else 0.0
        keys = [key] if key is not None else list(self.readouts)
        return reg + sum(self.readouts[k].regularizer() for k in keys)

    @torch.no_grad()
    def initialize_biases(self, means: dict[str, torch.Tensor]) -> None:
        """Set every readout's bias so that the first predictions are the units' mean responses."""
        inverse = NONLINEARITIES[self.nonlinearity][1]
        for key, mean in means.items():
            self.readouts[key].initialize_bias(mean.to(next(self.parameters()).device), inverse)


class EnsemblePredictor(nn.Module):
    """Several predictors of the same sessions (cores trained from different seeds); the prediction
    is the mean of theirs, in response space."""

    def __init__(self, members: list[NeuralPredictor]):
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    @property
    def readouts(self):
        """The first member's readouts (for reading learned positions)."""
        return self.members[0].readouts

    def forward(self, *args, **kwargs):
        """The mean of the members' predictions (same arguments as :meth:`NeuralPredictor.forward`)."""
        return torch.stack([m(*args, **kwargs) for m in self.members]).mean(0)


def make_core(core: dict) -> nn.Module:
    """A core from settings {"kind": conv2d | conv3d | transformer | transfer | dorsalnet_mineault, **params},
    or your own: ``kind: path/to/core.py:MyCore`` (or ``package.module:MyCore``), a torch module class
    built with the other settings, mapping the stimuli (batch, channel, [frame,] y, x, centred on
    mid-gray) to a feature map (batch, out_channels, [frame,] y', x'), with an ``out_channels`` attribute."""
    from cortexkit.registry import is_user_reference, load_user_object

    kind = core.get("kind", "conv2d")
    params = {k: v for k, v in core.items() if k != "kind"}
    if is_user_reference(kind):  # your own core: a torch module class with `out_channels`
        cls = load_user_object(kind)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ConfigError(f"core {kind!r} is a {type(cls).__name__}; a core is a torch.nn.Module class")
        accepted = __import__("inspect").signature(cls).parameters
        if "in_channels" in params and "in_channels" not in accepted and not any(
                p.kind == p.VAR_KEYWORD for p in accepted.values()):
            params.pop("in_channels")  # the trainer offers it; a core that does not take it reads its input as it likes
        try:
            made = cls(**params)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"core {kind!r}: cannot build it with {params} ({exc})") from None
        if not isinstance(getattr(made, "out_channels", None), int):
            raise ConfigError(f"core {kind!r} has no integer attribute 'out_channels' (the channels of its feature map, "
                              "which the readouts need)")
        if not hasattr(made, "regularizer"):
            made.regularizer = lambda: 0.0
        return made
    cls = CORES.lookup(kind)
    try:
        return cls(**params)
    except (TypeError, ValueError, RuntimeError) as exc:  # a module built from bad sizes fails in torch
        raise ConfigError(f"bad core parameters {params}: {exc}") from None


def build_predictor(core: nn.Module, readout: dict, sessions: dict[str, dict], *, nonlinearity: str = "elu1",
                    shifter: bool = False, modulator: bool | str = False, map_size: tuple[int, int] | None = None,
                    n_behaviors: int = 0) -> NeuralPredictor:
    """Put one readout per session on a core.

    Parameters
    ----------
    core : torch.nn.Module
        A core (``out_channels`` feature maps).
    readout : dict
        ``{"kind": gaussian2d | factorized | linear, **params}``.
    sessions : dict
        ``{key: {"n_units": int}}``.
    nonlinearity : {"elu1", "softplus", "exp"}
    shifter : bool
        Add a shifter (pupil centre -> shift) per session.
    modulator : bool or {"mlp", "gru"}
        Add a modulator (behaviour -> gain) per session: True or "mlp" per frame, "gru" recurrent over frames.
    map_size : (int, int), optional
        The core's output (H, W); factorised and linear readouts need it.
    n_behaviors : int
        Behaviour variables the modulator takes.

    Returns
    -------
    NeuralPredictor
    """
    kind = readout.get("kind", "gaussian2d")
    cls = READOUTS.lookup(kind)
    readouts = {}
    for key, info in sessions.items():
        params = {k: v for k, v in readout.items() if k != "kind"}
        if kind in ("factorized", "linear"):
            params["map_size"] = tuple(map_size)
        try:
            readouts[key] = cls(core.out_channels, info["n_units"], **params)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"bad readout parameters {params}: {exc}") from None
    shifters = {k: Shifter() for k in sessions} if shifter else None
    kinds = {True: Modulator, "mlp": Modulator, "gru": RecurrentModulator}
    if modulator and modulator not in kinds:
        raise ConfigError(f"modulator must be true, false, 'mlp' or 'gru', got {modulator!r}")
    modulators = ({k: kinds[modulator](n_behaviors, info["n_units"]) for k, info in sessions.items()}
                  if modulator else None)
    return NeuralPredictor(core, readouts, nonlinearity=nonlinearity, shifters=shifters, modulators=modulators)
