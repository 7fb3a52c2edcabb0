"""Brain-optimised search (after Second Sight): let an encoding model pick among generated images.

For each measured response, candidates are sampled from the response-conditioned diffusion model
(with the diffusion decoder's ridge estimate of the latent among the first round's);
a fitted encoding model (features -> responses) predicts the response to every candidate, and the
candidates whose predicted response correlates best with the measured one are kept; new
candidates are drawn around the kept ones (re-noised part of the way and denoised again, with a
strength that shrinks every round). The score of the chosen image is recorded per round, so one can
see the search improve it.
"""

from __future__ import annotations

import numpy as np

from cortexkit.decoding.base import DECODERS, Decoder, check_responses
from cortexkit.decoding.diffusion import LatentDiffusionDecoder
from cortexkit.errors import ConfigError
from cortexkit.features.base import extract_features


class EncodingCritic:
    """Predict responses to images with a feature extractor and a fitted :class:`RidgeCV`."""

    def __init__(self, extractor, ridge, feature_scale: float = 1.0):
        self.extractor = extractor
        self.ridge = ridge
        self.feature_scale = feature_scale

    def predict(self, images) -> np.ndarray:
        """Predicted responses (n, n_units) to images (n, y, x[, channel])."""
        return self.ridge.predict(critic_features(self.extractor, images) / self.feature_scale)

    @classmethod
    def fit(cls, extractor, stimuli, responses, **ridge_kwargs) -> "EncodingCritic":
        """Fit the encoding model (Gabor features -> ridge) on images and their responses."""
        return cls.from_features(extractor, critic_features(extractor, stimuli), responses, **ridge_kwargs)

    @classmethod
    def from_features(cls, extractor, features, responses, **ridge_kwargs) -> "EncodingCritic":
        """Fit it on the extractor's features of the images, already computed (:func:`critic_features`)."""
        from cortexkit.encoding import RidgeCV

        scale = float(np.sqrt(np.mean(features.var(0)))) or 1.0
        return cls(extractor, RidgeCV(**ridge_kwargs).fit(features / scale, responses), scale)


def critic_features(extractor, images) -> np.ndarray:
    """The extractor's features of images, every layer side by side: (n, features) float32."""
    return np.concatenate(list(extract_features(extractor, images).values()), axis=1).astype(np.float32)


def row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching rows of a (k, units) and b (units,) or (k, units)."""
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)


@DECODERS.register("search")
class BrainOptimizedSearch(Decoder):
    """Search generated candidates with an encoding model as the critic.

    Parameters
    ----------
    generator : decoder with ``sample_latents`` / ``refine`` / ``decode``
        The sampler: :class:`LatentDiffusionDecoder` (trained here, the default), or a pretrained
        prior (``second_sight``, ``brain_diffuser``). Fitted with the training pairs in :meth:`fit`
        unless already fitted.
    critic_features : feature extractor, or a registry name (``gabor``, ``alexnet``, ``timm:resnet50``)
        Features of the encoding model that scores candidates (ridge fitted on the training pairs);
        Gabor energy by default.
    n_candidates : int
        Candidates per round.
    n_keep : int
        Candidates kept after each round.
    rounds : int
    strength : float
        Re-noising strength of the second round (halved every round after).
    """

    name = "search"

    def __init__(self, generator=None, critic_features=None, n_candidates=16, n_keep=4, rounds=3, strength=0.6, seed=0):
        self.generator = generator
        self.critic_features = critic_features
        self.n_candidates = n_candidates
        self.n_keep = n_keep
        self.rounds = rounds
        self.strength = strength
        self.seed = seed

    def _fit(self, responses, stimuli):
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        from cortexkit.features import GaborPyramid, get_extractor

        self.generator_ = self.generator if self.generator is not None else LatentDiffusionDecoder()
        missing = [m for m in ("sample_latents", "refine", "decode") if not callable(getattr(self.generator_, m, None))]
        if missing:
            raise ConfigError(f"the search's generator {type(self.generator_).__name__} has no {missing} "
                              "(use diffusion, second_sight or brain_diffuser)")
        try:
            check_is_fitted(self.generator_, "stimulus_shape_")
        except NotFittedError:
            self.generator_.fit(responses, stimuli)
        extractor = self.critic_features if self.critic_features is not None else GaborPyramid(outputs=("energy",))
        if isinstance(extractor, str):
            extractor = get_extractor(extractor)
        self.critic_ = EncodingCritic.fit(extractor, stimuli, responses)

    def search(self, responses) -> tuple[np.ndarray, np.ndarray]:
        """Chosen images and the critic's score of the best candidate per round: (n, rounds).

        Responses are searched in groups (one batch of candidates per round and group, as large as
        the generator's ``search_batch`` allows: many for the small latent diffusion model, one
        response's for a pretrained prior). The first round's candidates are samples of the generator plus, where the generator has a
        linear map from responses to latents (the diffusion decoder's ridge), that estimate: the
        search starts no worse than the ridge decoder by the critic's measure."""
        r = check_responses(responses)
        step = max(1, getattr(self.generator_, "search_batch", self.n_candidates) // self.n_candidates)
        parts = [self._search(r[a : a + step], seed=self.seed + a) for a in range(0, len(r), step)]
        self.history_ = np.concatenate([h for _, h in parts])
        return np.concatenate([im for im, _ in parts]), self.history_

    def _search(self, r: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        gen = self.generator_
        n, c = len(r), self.n_candidates
        latents = np.asarray(gen.sample_latents(r, c, seed=seed))  # (n, c, *latent shape)
        shape = latents.shape[2:]
        ridge = getattr(gen, "map_", None)
        if ridge is not None and c > 1:
            estimate = np.asarray(ridge.predict(r))
            if estimate.shape[1:] == shape:
                latents[:, -1] = estimate
        history = np.zeros((n, self.rounds))
        kept = kept_images = kept_scores = None
        for k in range(self.rounds):
            if k > 0:
                parents = np.repeat(kept, int(np.ceil(c / self.n_keep)), axis=1)[:, :c]
                strength = self.strength * 0.5 ** (k - 1)
                latents = np.asarray(gen.refine(parents.reshape(n * c, *shape), np.repeat(r, c, axis=0), strength,
                                                seed=seed + 1000 * k)).reshape(n, c, *shape)
            images = gen.decode(latents.reshape(n * c, *shape))
            images = images.reshape(n, c, *images.shape[1:])
            predicted = self.critic_.predict(images.reshape(n * c, *images.shape[2:])).reshape(n, c, -1)
            scores = row_correlations(predicted, r[:, None, :])
            if k > 0:  # kept candidates keep their images and scores (not re-decoded: no float drift)
                latents = np.concatenate([kept, latents], axis=1)
                images = np.concatenate([kept_images, images], axis=1)
                scores = np.concatenate([kept_scores, scores], axis=1)
            order = np.argsort(-scores, axis=1, kind="stable")[:, : self.n_keep]
            take = np.arange(n)[:, None]
            kept, kept_images, kept_scores = latents[take, order], images[take, order], scores[take, order]
            history[:, k] = kept_scores[:, 0]
        return kept_images[:, 0], history

    def _reconstruct(self, responses):
        return self.search(responses)[0]
