"""Retrieval: decode by picking, from a set of candidate images, the one whose latent is closest.

Responses are mapped to a latent space by a fitted latent decoder (PCA or VAE latents); each
candidate image is encoded into the same space; the reconstruction is the candidate whose latent
correlates best (Pearson) with the predicted one. With the test images themselves as candidates,
``rank`` gives the identification rank and top-1 retrieval accuracy among N.
"""

from __future__ import annotations

import numpy as np

from cortexkit.decoding.base import DECODERS, Decoder, check_responses
from cortexkit.decoding.latent import PixelPCADecoder
from cortexkit.errors import ConfigError


def _zcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    return a @ b.T


@DECODERS.register("retrieval")
class RetrievalDecoder(Decoder):
    """Nearest candidate in the latent space of ``latent`` (a latent decoder, PCA by default).

    Parameters
    ----------
    latent : Decoder with ``encode`` and a fitted response-to-latent map
    candidates : array of images, optional
        The pool to choose from; the training stimuli when not given (set it to the test images to
        measure identification among them).
    """

    name = "retrieval"

    def __init__(self, latent=None, candidates=None):
        self.latent = latent
        self.candidates = candidates

    def _fit(self, responses, stimuli):
        self.latent_ = self.latent if self.latent is not None else PixelPCADecoder()
        if not hasattr(self.latent_, "encode"):
            raise ConfigError("the retrieval latent must be a decoder with an encode() method")
        self.latent_.fit(responses, stimuli)
        self.set_candidates(stimuli if self.candidates is None else self.candidates)

    def set_candidates(self, images) -> "RetrievalDecoder":
        """The images (m, y, x[, channel]) to retrieve from (e.g. the test set)."""
        self.pool_ = np.asarray(images, np.float32)
        self.pool_latents_ = self.latent_.encode(self.pool_)
        return self

    def similarity(self, responses) -> np.ndarray:
        """Correlation of each response's predicted latent with each candidate: (n_responses, n_candidates)."""
        return _zcorr(self.latent_.map_.predict(check_responses(responses)), self.pool_latents_)

    def _reconstruct(self, responses):
        return self.pool_[np.argmax(self.similarity(responses), axis=1)]
