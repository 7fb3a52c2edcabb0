"""Decoding through a latent space: responses -> latents (ridge) -> images.

The latent space is learned from the training stimuli only: principal components of the pixels
(:class:`PixelPCADecoder`) or the bottleneck of a convolutional autoencoder trained from scratch
(:class:`AutoencoderDecoder`, in :mod:`.autoencoder`). A cross-validated ridge maps responses to
latents; the predicted latents are re-standardised to the training latents' mean and SD per
dimension (ridge shrinks them towards the mean, which gives washed-out images), as brain-diffuser
does, then decoded.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.encoding import RidgeCV
from cortexkit.encoding.ridge import DEFAULT_ALPHAS


class LatentRidge:
    """Ridge from responses to latents with brain-diffuser's re-standardisation."""

    def __init__(self, alphas=DEFAULT_ALPHAS, restandardize: bool = True, seed: int = 0):
        self.alphas = alphas
        self.restandardize = restandardize
        self.seed = seed

    def fit(self, responses: np.ndarray, latents: np.ndarray) -> "LatentRidge":
        """Ridge from responses (n, n_units) to latents (n, k); remembers the latents' spread."""
        self.ridge_ = RidgeCV(alphas=self.alphas, standardize=True, random_state=self.seed).fit(responses, latents)
        self.mean_, self.std_ = latents.mean(0), latents.std(0)
        fitted = self.ridge_.predict(responses)
        self.pred_mean_, self.pred_std_ = fitted.mean(0), fitted.std(0) + 1e-8
        return self

    def predict(self, responses: np.ndarray) -> np.ndarray:
        """Latents (n, k) from responses (n, n_units), re-standardised to the training spread."""
        z = self.ridge_.predict(responses)
        if self.restandardize:
            z = (z - self.pred_mean_) / self.pred_std_ * self.std_ + self.mean_
        return z.astype(np.float32)


@DECODERS.register("pca")
class PixelPCADecoder(Decoder):
    """Responses -> principal components of the training stimuli -> pixels.

    Parameters
    ----------
    n_components : int
        Latent dimensions (capped at the number of training stimuli).
    alphas : ridge penalties searched per component
    restandardize : bool
        Match the predicted latents' spread to the training latents'.
    """

    name = "pca"

    def __init__(self, n_components: int = 100, alphas=DEFAULT_ALPHAS, restandardize: bool = True, seed: int = 0):
        self.n_components = n_components
        self.alphas = alphas
        self.restandardize = restandardize
        self.seed = seed

    def _fit(self, responses, stimuli):
        flat = stimuli.reshape(len(stimuli), -1)
        k = int(min(self.n_components, len(flat) - 1, flat.shape[1]))
        self.pca_ = PCA(k, random_state=self.seed).fit(flat)
        self.map_ = LatentRidge(self.alphas, self.restandardize, self.seed).fit(responses, self.pca_.transform(flat))

    def encode(self, stimuli) -> np.ndarray:
        """Latents of stimuli (for retrieval and identification in latent space)."""
        return self.pca_.transform(np.asarray(stimuli, np.float32).reshape(len(stimuli), -1))

    def _reconstruct(self, responses):
        return self.pca_.inverse_transform(self.map_.predict(responses))
