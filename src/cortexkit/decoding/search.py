"""Brain-optimised search (after Second Sight): let an encoding model pick among generated images.

For each measured response, candidates are sampled from the response-conditioned diffusion model;
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
        (features,) = extract_features(self.extractor, images).values()
        return self.ridge.predict(features / self.feature_scale)

    @classmethod
    def fit(cls, extractor, stimuli, responses, **ridge_kwargs) -> "EncodingCritic":
        """Fit the encoding model (Gabor features -> ridge) on images and their responses."""
        from cortexkit.encoding import RidgeCV

        (features,) = extract_features(extractor, stimuli).values()
        scale = float(np.sqrt(np.mean(features.var(0)))) or 1.0
        return cls(extractor, RidgeCV(**ridge_kwargs).fit(features / scale, responses), scale)


def _corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
        """Chosen images and the critic's score of the best candidate per round: (n, rounds)."""
        r = check_responses(responses)
        gen = self.generator_
        chosen, history = [], np.zeros((len(r), self.rounds))
        for i, resp in enumerate(r):
            latents = gen.sample_latents(resp[None], self.n_candidates, seed=self.seed + i)[0]
            kept = kept_images = kept_scores = best = None
            for k in range(self.rounds):
                if k > 0:
                    parents = np.repeat(kept, int(np.ceil(self.n_candidates / len(kept))), axis=0)[: self.n_candidates]
                    strength = self.strength * 0.5 ** (k - 1)
                    latents = gen.refine(parents, np.repeat(resp[None], len(parents), 0), strength, seed=self.seed + 1000 * k + i)
                images = gen.decode(latents)
                scores = _corr_rows(self.critic_.predict(images), resp)
                if k > 0:  # kept candidates keep their images and scores (not re-decoded: no float drift)
                    latents, images = np.concatenate([kept, latents]), np.concatenate([kept_images, images])
                    scores = np.concatenate([kept_scores, scores])
                order = np.argsort(-scores, kind="stable")
                kept, kept_images, kept_scores = latents[order[: self.n_keep]], images[order[: self.n_keep]], scores[order[: self.n_keep]]
                best = images[order[0]]
                history[i, k] = scores[order[0]]
            chosen.append(best)
        self.history_ = history
        return np.stack(chosen), history

    def _reconstruct(self, responses):
        return self.search(responses)[0]
