"""Decoding: reconstruct stimuli, or their parameters, from neural responses."""

from cortexkit.decoding.autoencoder import AutoencoderDecoder, ConvVAE, train_vae
from cortexkit.decoding.base import DECODERS, Decoder
from cortexkit.decoding.cnn import CNNDecoder, DeconvNet
from cortexkit.decoding.diffusion import LatentDiffusionDecoder
from cortexkit.decoding.dual_guided import DualGuidedDecoder, DualGuidedPrior
from cortexkit.decoding.hierarchical_vae import HierarchicalVAE, HierarchicalVAEDecoder
from cortexkit.decoding.latent import LatentRidge, PixelPCADecoder
from cortexkit.decoding.mindeye import MindEyeDecoder
from cortexkit.decoding.stimulus_parameters import ParameterDecoding, PoissonDecoder, decode_parameter, neurometric
from cortexkit.decoding.pretrained_diffusion import BrainDiffuserDecoder, ImageVariationPrior, SecondSightDecoder
from cortexkit.decoding.retrieval import RetrievalDecoder
from cortexkit.decoding.vqldm import VQLDMDecoder
from cortexkit.decoding.vqvae import VQVAE, train_vqvae
from cortexkit.decoding.search import BrainOptimizedSearch, EncodingCritic

__all__ = [
    "DECODERS",
    "Decoder",
    "PixelPCADecoder",
    "CNNDecoder",
    "DeconvNet",
    "AutoencoderDecoder",
    "LatentDiffusionDecoder",
    "VQLDMDecoder",
    "VQVAE",
    "train_vqvae",
    "DualGuidedDecoder",
    "DualGuidedPrior",
    "HierarchicalVAE",
    "HierarchicalVAEDecoder",
    "RetrievalDecoder",
    "MindEyeDecoder",
    "SecondSightDecoder",
    "BrainDiffuserDecoder",
    "ImageVariationPrior",
    "BrainOptimizedSearch",
    "EncodingCritic",
    "LatentRidge",
    "ConvVAE",
    "train_vae",
    "PoissonDecoder",
    "decode_parameter",
    "neurometric",
    "ParameterDecoding",
]
