"""The one interface of in-silico experiments: a model from stimuli to unit responses.

Three kinds, one interface (:class:`ResponseModel`): ridge on a feature space
(:class:`RidgeResponseModel`), a stacked model over several of those (:class:`StackedResponseModel`)
and a core trained end to end with its readout (:class:`PredictorResponseModel`). Each takes stimuli
exactly as the dataset stores them (images (n, y, x[, channel]) or videos (n, frame, y, x[, channel])
in [0, 1]) and returns (n, unit); ``differentiable`` says whether gradients reach the pixels (needed by
most exciting inputs and gradient RF maps; tuning, sparse noise, top images and experiment design only
need predictions).
"""

from __future__ import annotations

import numpy as np
import torch

from cortexkit.errors import ConfigError, listed


class ResponseModel(torch.nn.Module):
    """Predicted responses (n, unit) of a batch of stimuli in [0, 1].

    Attributes
    ----------
    units : array of str
        Unit names, in output order.
    image_shape : tuple
        The shape of one stimulus the model takes.
    differentiable : bool
        Whether :meth:`forward` runs in torch with gradients to the pixels.
    video : bool
        Whether a stimulus is a movie (frame axis first).
    """

    differentiable = True

    def __init__(self, units, image_shape, video: bool = False):
        super().__init__()
        self.units = np.asarray(units).astype(str)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.video = bool(video)

    @property
    def frame_shape(self) -> tuple:
        """The shape of one image (of one frame, for video models): (y, x[, channel])."""
        return self.image_shape[1:] if self.video else self.image_shape

    def static(self, images: np.ndarray) -> np.ndarray:
        """Images (n, *frame_shape) as stimuli the model takes: each held still over every frame of a
        video model."""
        images = np.asarray(images, dtype=np.float32)
        if images.shape[1:] != self.frame_shape:
            raise ConfigError(f"images have shape {images.shape[1:]}; the model's frames are {self.frame_shape}")
        return np.repeat(images[:, None], self.image_shape[0], axis=1) if self.video else images

    def require_gradients(self, experiment: str) -> None:
        """A clear error when an experiment that needs gradients meets a model without them."""
        if not self.differentiable:
            raise ConfigError(f"{experiment} needs gradients with respect to the pixels, and {self.describe()} "
                              "is not differentiable in cortexkit; predictions-only experiments (tuning, sparse "
                              "noise, top images, experiment design) work with it")

    def describe(self) -> str:
        """The model in words, for messages."""
        return type(self).__name__

    def unit_index(self, units) -> np.ndarray:
        """Output indices of unit names (or pass integer indices through)."""
        units = list(units)
        if all(isinstance(u, (int, np.integer)) for u in units):
            bad = [u for u in units if not 0 <= u < len(self.units)]
            if bad:
                raise ConfigError(f"unit indices {listed(bad)} out of range 0..{len(self.units) - 1}")
            return np.asarray(units, dtype=int)
        lookup = {u: i for i, u in enumerate(self.units)}
        missing = [u for u in units if str(u) not in lookup]
        if missing:
            raise ConfigError(f"no unit(s) {missing[:5]} in the model; it has {len(self.units)} units")
        return np.asarray([lookup[str(u)] for u in units], dtype=int)

    def check_stimuli(self, stimuli: np.ndarray) -> np.ndarray:
        """Stimuli as float32, with a clear error when their shape is not the model's."""
        stimuli = np.asarray(stimuli, dtype=np.float32)
        if stimuli.shape[1:] != self.image_shape:
            raise ConfigError(f"stimuli have shape {stimuli.shape[1:]}; the model takes {self.image_shape}")
        return stimuli

    @torch.no_grad()
    def predict(self, stimuli: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Responses (n, unit) of a numpy batch, in batches."""
        stimuli = self.check_stimuli(stimuli)
        out = [self(torch.as_tensor(stimuli[a:a + batch_size])).float().cpu().numpy()
               for a in range(0, len(stimuli), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.units)), np.float32)


class RidgeResponseModel(ResponseModel):
    """Ridge on one layer of a fitted feature space: the feature space's forward pass
    (:meth:`~cortexkit.features.base.FeatureExtractor.torch_features` when it has one, else
    :meth:`~cortexkit.features.base.FeatureExtractor.extract`) followed by the ridge weights, so its
    predictions equal the run's (to float rounding)."""

    def __init__(self, extractor, layer: str, coef: np.ndarray, intercept: np.ndarray, units, image_shape,
                 name: str | None = None, video: bool = False):
        super().__init__(units, image_shape, video=video)
        try:  # differentiable feature spaces say so on one blank stimulus
            extractor.torch_features(torch.zeros((1,) + tuple(image_shape)))
        except ConfigError:
            self.differentiable = False
        self.extractor = extractor
        self.layer = layer
        self.name = name or layer
        self.register_buffer("coef", torch.as_tensor(np.asarray(coef, np.float32)))
        self.register_buffer("intercept", torch.as_tensor(np.asarray(intercept, np.float32)))

    def describe(self) -> str:
        """The model in words, for messages."""
        return f"ridge on {self.name!r}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Responses (n, unit) of images (n, y, x[, channel])."""
        self.require_gradients("a torch forward pass")
        return self.readout(self.extractor.torch_features(images))

    def readout(self, features: dict) -> torch.Tensor:
        """Responses from the extractor's ``{layer: features}`` (shared by stacked members of one
        feature space, so a network runs once per batch for all its layers)."""
        # the network may run on a GPU; the readout and the pixels stay where the weights are
        return features[self.layer].to(self.coef.device, torch.float32) @ self.coef.T + self.intercept

    @torch.no_grad()
    def features(self, stimuli: np.ndarray) -> dict:
        """The feature space's ``{layer: (n, features)}`` of a numpy batch, as numpy (torch forward
        pass when there is one, else :meth:`extract`); shareable by models of one feature space."""
        if self.differentiable:
            return {k: v.float().cpu().numpy() for k, v in self.extractor.torch_features(torch.as_tensor(stimuli)).items()}
        return self.extractor.extract(stimuli)

    def predict_features(self, features: dict) -> np.ndarray:
        """Responses (n, unit) from :meth:`features`."""
        return features[self.layer] @ self.coef.numpy().T + self.intercept.numpy()

    @torch.no_grad()
    def predict(self, stimuli: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Responses (n, unit); through :meth:`extract` for feature spaces without gradients."""
        if self.differentiable:
            return super().predict(stimuli, batch_size)
        return self.predict_features(self.features(self.check_stimuli(stimuli)))


class StackedResponseModel(ResponseModel):
    """Per unit, the convex combination of ridge models that the run's stacked model fitted
    (:mod:`cortexkit.encoding.stacking`): ``sum_m weights[unit, m] * member_m(stimuli)[unit]``."""

    def __init__(self, members: list[RidgeResponseModel], weights: np.ndarray):
        first = members[0]
        super().__init__(first.units, first.image_shape, video=first.video)
        if any(not np.array_equal(m.units, first.units) for m in members):
            raise ConfigError("the stacked model's members have different units")
        weights = np.asarray(weights, np.float32)
        if weights.shape != (len(first.units), len(members)):
            raise ConfigError(f"stacking weights have shape {weights.shape}; expected {(len(first.units), len(members))}")
        self.members = torch.nn.ModuleList(members)
        self.differentiable = all(m.differentiable for m in members)
        self.register_buffer("weights", torch.as_tensor(weights))

    def describe(self) -> str:
        """The model in words, for messages."""
        return "the stacked model over " + ", ".join(m.name for m in self.members)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Responses (n, unit): the members' responses weighted per unit."""
        self.require_gradients("a torch forward pass")
        features: dict[int, dict] = {}  # one forward pass per feature space
        total = 0.0
        for i, m in enumerate(self.members):
            if id(m.extractor) not in features:
                features[id(m.extractor)] = m.extractor.torch_features(images)
            total = total + self.weights[:, i] * m.readout(features[id(m.extractor)])
        return total

    @torch.no_grad()
    def predict(self, stimuli: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Responses (n, unit), each member predicting its own way."""
        if self.differentiable:
            return super().predict(stimuli, batch_size)
        stimuli = self.check_stimuli(stimuli)
        w = self.weights.numpy()
        return sum(w[:, i] * m.predict(stimuli, batch_size) for i, m in enumerate(self.members))


class PredictorResponseModel(ResponseModel):
    """A trained core with one session's readout (:class:`~cortexkit.encoding.predictor.NeuralPredictor`),
    at the session's average behavioural state: the standardised behaviour and pupil position the
    modulator and shifter see are 0, their means. Time-resolved models answer with the mean over the
    bins after ``skip_frames`` (the response a trial average would give)."""

    def __init__(self, predictor, key: str, config, units, image_shape, video: bool, time_resolved: bool,
                 n_behaviors: int = 0):
        super().__init__(units, image_shape, video=video)
        self.predictor = predictor.eval()
        for p in self.predictor.parameters():  # experiments move pixels, never weights
            p.requires_grad_(False)
        self.key = key
        self.config = config
        self.time_resolved = bool(time_resolved)
        self.n_behaviors = int(n_behaviors)

    def describe(self) -> str:
        """The model in words, for messages."""
        kind = self.config.core.get("kind", "conv2d")
        published = {"cowley_compact": "the published compact models", "viv1t": "the released ViV1T"}
        return f"{published[kind]} (session {self.key!r})" if kind in published else \
            f"the trained {kind} core (session {self.key!r})"

    def forward(self, stimuli: torch.Tensor) -> torch.Tensor:
        """Responses (n, unit) of stimuli as the dataset stores them."""
        from cortexkit.encoding.predictor import core_input

        device = next(self.predictor.parameters()).device
        x = core_input(stimuli.to(device), self.config, self.video)
        n = len(x)
        time = x.shape[2] if self.time_resolved and x.ndim == 5 else None
        lead = (n, time) if time is not None else (n,)
        extras = {}
        if self.key in self.predictor.shifters:
            extras["pupil_center"] = torch.zeros(lead + (2,), device=device)
        if self.key in self.predictor.modulators:
            extras["behavior"] = torch.zeros(lead + (self.n_behaviors,), device=device)
        out = self.predictor(x, self.key, time_resolved=time is not None, **extras)
        if out.ndim == 3:  # (n, unit, time): the mean over the scored bins
            out = out[..., self.config.skip_frames:].mean(-1)
        return out.to(stimuli.device)  # the core may run on a GPU; experiments keep pixels on the CPU
