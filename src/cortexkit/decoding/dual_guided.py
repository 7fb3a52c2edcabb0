"""Dual (caption + image) guided reconstruction, as brain-diffuser's second stage: responses are
regressed to the CLIP text condition of the stimuli's captions and to their CLIP image condition,
and both guide a pretrained latent diffusion model, starting from a first-stage image (img2img).

Two model folders load, each in the layout its authors publish (no download; every component from
the local folder):

- **Versatile Diffusion** (``shi-labs/versatile-diffusion``): ``image_unet/``, ``text_unet/``,
  ``vae/``, ``scheduler/``, ``text_encoder/`` (CLIPTextModelWithProjection), ``tokenizer/``,
  ``image_encoder/`` (CLIPVisionModelWithProjection), ``image_feature_extractor/``. The conditions
  are VD's: every token of CLIP-text (projected, over the pooled embedding's norm) and of CLIP-vision
  (post-layernorm, projected, over the class token's norm), as brain-diffuser regresses them. Every
  cross-attention block of the image UNet is paired with the text UNet's block at the same place
  (:class:`DualCrossAttention`); the text tokens go to the text block, the image tokens to the image
  block, and their residuals are mixed ``text_weight : 1 - text_weight`` (diffusers' own
  DualTransformer2DModel computes the same; brain-diffuser mixes 0.4 : 0.6).
- **Stable unCLIP** (``stabilityai/stable-diffusion-2-1-unclip``): ``unet/``, ``vae/``,
  ``scheduler/``, ``text_encoder/`` (CLIPTextModel), ``tokenizer/``, ``image_encoder/``,
  ``feature_extractor/``, ``image_normalizer/``, ``image_noising_scheduler/``. The caption's tokens
  guide through cross-attention and the projected CLIP image embedding (noise-augmented to
  ``noise_level``) through the UNet's class embedding, both at once; ``text_weight`` 0 replaces the
  caption with the empty prompt.

Classifier-free guidance is against the layouts' own null conditions (the empty caption; VD: a gray
image's tokens, unCLIP: a zero image embedding). Captions are the stores' ``caption`` stimulus
coordinate (several captions of one stimulus separated by newlines; their conditions are averaged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit._progress import track
from cortexkit.decoding.base import DECODERS, Decoder, check_responses
from cortexkit.decoding.latent import LatentRidge
from cortexkit.decoding.pretrained_diffusion import LatentVAE, denoise, load_scheduler, to_stimuli
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError, DataError
from cortexkit.optional import require

LAYOUTS = {
    "versatile": ("image_unet", "text_unet", "vae", "scheduler", "text_encoder", "tokenizer", "image_encoder",
                  "image_feature_extractor"),
    "unclip": ("unet", "vae", "scheduler", "text_encoder", "tokenizer", "image_encoder", "feature_extractor",
               "image_normalizer", "image_noising_scheduler"),
}
HINT = ("a local Versatile Diffusion folder (`huggingface-cli download shi-labs/versatile-diffusion --local-dir DIR`) "
        "or Stable unCLIP folder (stabilityai/stable-diffusion-2-1-unclip)")


class DualCrossAttention(nn.Module):
    """An image UNet's transformer block paired with the text UNet's: text tokens (the first
    ``text_length`` of the context) through one, image tokens through the other, residuals mixed."""

    def __init__(self, image_block: nn.Module, text_block: nn.Module, text_length: int, text_weight: float = 0.5):
        super().__init__()
        self.image_block, self.text_block = image_block, text_block
        self.text_length, self.text_weight = text_length, text_weight

    def forward(self, hidden_states, encoder_hidden_states=None, timestep=None, cross_attention_kwargs=None,
                return_dict: bool = True, **unused):
        """The UNet's call of a transformer block (masks are not used, as in diffusers' dual block)."""
        text, image = encoder_hidden_states[:, :self.text_length], encoder_hidden_states[:, self.text_length:]
        common = dict(timestep=timestep, cross_attention_kwargs=cross_attention_kwargs, return_dict=False)
        from_text = self.text_block(hidden_states, encoder_hidden_states=text, **common)[0] - hidden_states
        from_image = self.image_block(hidden_states, encoder_hidden_states=image, **common)[0] - hidden_states
        out = hidden_states + self.text_weight * from_text + (1 - self.text_weight) * from_image
        if not return_dict:
            return (out,)
        from diffusers.models.modeling_outputs import Transformer2DModelOutput

        return Transformer2DModelOutput(sample=out)


def pair_transformer_blocks(image_unet: nn.Module, text_unet: nn.Module, text_length: int) -> list[DualCrossAttention]:
    """Replace each transformer block of ``image_unet`` by a :class:`DualCrossAttention` with the text
    UNet's block at the same place (Versatile Diffusion's dual-guided UNet)."""
    diffusers = require("diffusers")
    pairs = []
    for name, module in list(image_unet.named_modules()):
        if isinstance(module, diffusers.models.Transformer2DModel):
            parent, index = name.rsplit(".", 1)
            dual = DualCrossAttention(module, text_unet.get_submodule(parent)[int(index)], text_length)
            image_unet.get_submodule(parent)[int(index)] = dual
            pairs.append(dual)
    if not pairs:
        raise DataError("the image UNet has no transformer blocks to pair with the text UNet's")
    return pairs


def detect_layout(root: Path) -> str:
    """``versatile`` or ``unclip`` from the folder's components, else a DataError naming what is missing."""
    if not root.is_dir():
        raise ConfigError(f"no diffusion model folder at {root}; it must be {HINT}")
    for layout, components in LAYOUTS.items():
        if all((root / c).is_dir() for c in components):
            return layout
    missing = {layout: [c for c in comps if not (root / c).is_dir()] for layout, comps in LAYOUTS.items()}
    raise DataError("is neither a Versatile Diffusion folder (missing " + ", ".join(missing["versatile"])
                    + ") nor a Stable unCLIP folder (missing " + ", ".join(missing["unclip"]) + f"); it must be {HINT}",
                    source=str(root))


class DualGuidedPrior(LatentVAE):
    """The components of a local Versatile Diffusion or Stable unCLIP folder, on one device."""

    def __init__(self, model_dir, device: str = "cpu", dtype: str = "float32"):
        require("diffusers", "pretrained-diffusion decoders")  # a missing library is named before a bad folder
        require("transformers", "pretrained-diffusion decoders")
        root = Path(model_dir)
        self.layout = detect_layout(root)
        self._open(root, device, dtype, lambda diffusers, transformers: self._load(root, diffusers, transformers))
        self.text_length = int(self.tokenizer.model_max_length)

    def _load(self, root: Path, diffusers, transformers) -> None:
        def sub(cls, name, **kw):
            return cls.from_pretrained(root, subfolder=name, **kw)

        self.scheduler = load_scheduler(root, diffusers)
        self.vae = sub(diffusers.AutoencoderKL, "vae").to(self.device, self.dtype).eval()
        self.tokenizer = sub(transformers.CLIPTokenizer, "tokenizer")
        self.image_encoder = sub(transformers.CLIPVisionModelWithProjection, "image_encoder").to(self.device).eval()
        if self.layout == "versatile":
            from diffusers.pipelines.deprecated.versatile_diffusion.modeling_text_unet import UNetFlatConditionModel

            self.unet = sub(diffusers.UNet2DConditionModel, "image_unet").to(self.device, self.dtype).eval()
            text_unet = sub(UNetFlatConditionModel, "text_unet").to(self.device, self.dtype).eval()
            self.pairs = pair_transformer_blocks(self.unet, text_unet, int(self.tokenizer.model_max_length))
            self.text_encoder = sub(transformers.CLIPTextModelWithProjection, "text_encoder").to(self.device).eval()
            self.processor = sub(transformers.CLIPImageProcessor, "image_feature_extractor")
        else:
            from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer

            self.unet = sub(diffusers.UNet2DConditionModel, "unet").to(self.device, self.dtype).eval()
            self.text_encoder = sub(transformers.CLIPTextModel, "text_encoder").to(self.device).eval()
            self.processor = sub(transformers.CLIPImageProcessor, "feature_extractor")
            self.normalizer = sub(StableUnCLIPImageNormalizer, "image_normalizer").to(self.device).eval()
            self.noising = sub(diffusers.DDPMScheduler, "image_noising_scheduler")

    # --- conditions ---------------------------------------------------------------------------------
    @torch.no_grad()
    def text_condition(self, captions: list[str], batch_size: int = 32) -> np.ndarray:
        """The text condition of each caption (n, tokens, dim)."""
        out = []
        for s in range(0, len(captions), batch_size):
            ids = self.tokenizer(list(captions[s:s + batch_size]), padding="max_length", truncation=True,
                                 max_length=self.text_length, return_tensors="pt").input_ids.to(self.device)
            enc = self.text_encoder(ids)
            if self.layout == "versatile":
                tokens = self.text_encoder.text_projection(enc.last_hidden_state)
                tokens = tokens / torch.norm(enc.text_embeds[:, None], dim=-1, keepdim=True)
            else:
                tokens = enc.last_hidden_state
            out.append(tokens.float().cpu())
        return torch.cat(out).numpy()

    def stimulus_text_condition(self, captions) -> np.ndarray:
        """Per stimulus, the mean text condition of its captions (newline-separated in one string)."""
        parts = [[c.strip() for c in str(text).split("\n") if c.strip()] or [""] for text in captions]
        flat = self.text_condition([c for p in parts for c in p])
        bounds = np.cumsum([0] + [len(p) for p in parts])
        return np.stack([flat[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:])])

    @torch.no_grad()
    def image_condition(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """The image condition of images (n, y, x[, c]) in [0, 1]: VD's tokens (n, tokens, dim) or
        unCLIP's projected embedding (n, dim)."""
        out = []
        for s in range(0, len(images), batch_size):
            rgb = self.to_rgb(images[s:s + batch_size]).permute(0, 2, 3, 1).cpu().numpy()
            pixels = self.processor(images=list(rgb), do_rescale=False, return_tensors="pt").pixel_values
            out.append(self._image_condition(pixels.to(self.device)).float().cpu())
        return torch.cat(out).numpy()

    def _image_condition(self, pixel_values: torch.Tensor) -> torch.Tensor:
        enc = self.image_encoder(pixel_values)
        if self.layout == "unclip":
            return enc.image_embeds
        tokens = self.image_encoder.visual_projection(self.image_encoder.vision_model.post_layernorm(enc.last_hidden_state))
        return tokens / torch.norm(tokens[:, :1], dim=-1, keepdim=True)

    @torch.no_grad()
    def null_conditions(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The unconditional (text, image) conditions of classifier-free guidance, n of each."""
        text = torch.from_numpy(self.text_condition([""])).to(self.device).expand(n, -1, -1)
        if self.layout == "unclip":
            return text, None
        # VD's null image: a gray 512 px image through the feature extractor as the VD pipeline passes it
        gray = self.processor(images=[np.zeros((512, 512, 3)) + 0.5], return_tensors="pt").pixel_values
        return text, self._image_condition(gray.to(self.device)).expand(n, -1, -1)

    # --- sampling ----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, text: np.ndarray | None, image: np.ndarray, *, size: int, steps: int, guidance: float,
               text_weight: float, seed: int, init_latents: torch.Tensor | None = None, strength: float = 1.0,
               noise_level: int = 0) -> torch.Tensor:
        """Latents denoised under both conditions (``text`` None: the empty caption)."""
        n = len(image)
        null_text, null_image = self.null_conditions(n)
        text = null_text if text is None else torch.from_numpy(np.asarray(text, np.float32)).to(self.device)
        image = torch.from_numpy(np.asarray(image, np.float32)).to(self.device)
        cfg = guidance != 1
        if self.layout == "versatile":
            for pair in self.pairs:
                pair.text_weight = float(text_weight)
            context = torch.cat([text, image], 1)
            if cfg:
                context = torch.cat([torch.cat([null_text, null_image], 1), context])
            labels = None
        else:
            context = torch.cat([null_text, text]) if cfg else text
            labels = self._noised_image_embeds(image, noise_level, seed)
            if cfg:
                labels = torch.cat([torch.zeros_like(labels), labels])
        context = context.to(self.dtype)

        def eps(inp, t):
            kw = {} if labels is None else {"class_labels": labels.to(self.dtype)}
            return self.unet(inp, t, encoder_hidden_states=context, **kw).sample.float()

        return denoise(eps, self.scheduler, n=n, channels=self.latent_channels, side=size // self.vae_factor, steps=steps,
                       guidance=guidance, seed=seed, device=self.device, dtype=self.dtype, init_latents=init_latents,
                       strength=strength)

    def _noised_image_embeds(self, embeds: torch.Tensor, noise_level: int, seed: int) -> torch.Tensor:
        """unCLIP's noise augmentation of the image embedding, with the noise level's embedding appended."""
        from diffusers.models.embeddings import get_timestep_embedding

        levels = torch.full((len(embeds),), int(noise_level), device=embeds.device)
        g = torch.Generator("cpu").manual_seed(int(seed) + 1)
        noise = torch.randn(embeds.shape, generator=g).to(embeds.device)
        x = self.normalizer.unscale(self.noising.add_noise(self.normalizer.scale(embeds), timesteps=levels, noise=noise))
        return torch.cat([x, get_timestep_embedding(levels, x.shape[-1], flip_sin_to_cos=True,
                                                    downscale_freq_shift=0).to(x.dtype)], 1)


@DECODERS.register("dual_guided")
class DualGuidedDecoder(Decoder):
    """Responses -> CLIP text and image conditions (ridge) -> dual-guided diffusion from a first-stage image.

    Parameters
    ----------
    model_dir : path
        A local Versatile Diffusion or Stable unCLIP folder (see the module).
    generation_size : int
        Side the prior generates at (512 for VD and SD 2.1 unCLIP 768); images are resized to the stimuli.
    num_inference_steps, guidance_scale : sampling (brain-diffuser: 50 steps, guidance 7.5)
    text_weight : float
        Share of the caption in the mix (VD: residual mixing; unCLIP: 0 drops the caption). brain-diffuser: 0.4.
    strength : float
        How far the first-stage image is noised before denoising (brain-diffuser: 0.75); 1 starts from noise.
    first_stage : {"hvae", "none"}
        The initial image: a hierarchical VAE decoder (VDVAE's role; ``first_stage_params`` go to it), or none.
    noise_level : int
        unCLIP's noise augmentation of the image embedding.
    alphas : ridge penalties searched per output dimension
    batch_size, device, dtype, seed
    """

    name = "dual_guided"

    def __init__(self, model_dir=None, generation_size=512, num_inference_steps=50, guidance_scale=7.5, text_weight=0.4,
                 strength=0.75, first_stage="hvae", first_stage_params=None, noise_level=0, alphas=DEFAULT_ALPHAS,
                 batch_size=4, device="cpu", dtype="float32", seed=0):
        self.model_dir = model_dir
        self.generation_size = generation_size
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.text_weight = text_weight
        self.strength = strength
        self.first_stage = first_stage
        self.first_stage_params = first_stage_params
        self.noise_level = noise_level
        self.alphas = alphas
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.seed = seed

    def fit(self, responses, stimuli, captions=None):
        """Learn the maps from responses to the stimuli's image condition and (when ``text_weight`` > 0)
        their captions' text condition; ``captions``: one string per stimulus."""
        self.captions_ = None if captions is None else [str(c) for c in np.asarray(captions).ravel()]
        return super().fit(responses, stimuli)

    def _fit(self, responses, stimuli):
        from cortexkit.features.base import is_video
        from cortexkit.memory import require_memory

        if is_video(stimuli):
            raise DataError(f"decoder {self.name!r} reconstructs images, not videos", variable="stimuli")
        if not 0 <= self.text_weight <= 1 or not 0 <= self.strength <= 1:
            raise ConfigError(f"text_weight and strength must be within [0, 1], got {self.text_weight} and {self.strength}")
        if self.first_stage not in ("hvae", "none"):
            raise ConfigError(f"first_stage must be 'hvae' or 'none', got {self.first_stage!r}")
        if not self.model_dir:
            raise ConfigError(f"decoder {self.name!r} needs model_dir: {HINT}")
        if self.text_weight > 0:
            if self.captions_ is None:
                raise ConfigError("the dual-guided decoder needs captions (a `caption` stimulus coordinate); "
                                  "set text_weight: 0 to guide by the image alone")
            if len(self.captions_) != len(responses):
                raise DataError(f"{len(self.captions_)} captions for {len(responses)} stimuli", variable="caption")
            if not all(c.strip() for c in self.captions_):
                raise DataError("some stimuli have an empty caption", variable="caption")
        self.prior_ = DualGuidedPrior(self.model_dir, self.device, self.dtype)
        size = int(self.generation_size)
        if size % self.prior_.vae_factor:
            raise ConfigError(f"generation_size {size} must be a multiple of {self.prior_.vae_factor}")
        image = self.prior_.image_condition(stimuli)
        require_memory(8 * responses.shape[1] * image[0].size, "the ridge to the image condition")
        self.image_shape_ = image.shape[1:]
        self.image_ridge_ = LatentRidge(self.alphas, seed=self.seed).fit(responses, image.reshape(len(image), -1))
        self.text_ridge_ = None
        if self.text_weight > 0:
            text = self.prior_.stimulus_text_condition(self.captions_)
            self.text_shape_ = text.shape[1:]
            self.text_ridge_ = LatentRidge(self.alphas, seed=self.seed).fit(responses, text.reshape(len(text), -1))
        self.first_ = None
        if self.first_stage == "hvae" and self.strength < 1:
            from cortexkit.decoding.hierarchical_vae import HierarchicalVAEDecoder

            params = {"seed": self.seed, "device": self.device, **(self.first_stage_params or {})}
            self.first_ = HierarchicalVAEDecoder(**params).fit(responses, stimuli)

    def predicted_text(self, responses) -> np.ndarray | None:
        """The text condition (n, tokens, dim) predicted from responses (None when not fitted)."""
        if self.text_ridge_ is None:
            return None
        return self.text_ridge_.predict(check_responses(responses)).reshape((-1,) + tuple(self.text_shape_))

    def predicted_image(self, responses) -> np.ndarray:
        """The image condition predicted from responses."""
        return self.image_ridge_.predict(check_responses(responses)).reshape((-1,) + tuple(self.image_shape_))

    def _reconstruct(self, responses):
        out = []
        for s in track(range(0, len(responses), self.batch_size),
                       f"{self.name}: {self.num_inference_steps} denoising steps, batches of {self.batch_size}"):
            r = responses[s:s + self.batch_size]
            init = None
            if self.first_ is not None:
                init = self.prior_.encode(self.first_.reconstruct(r), int(self.generation_size))
            z = self.prior_.sample(self.predicted_text(r), self.predicted_image(r), size=int(self.generation_size),
                                   steps=self.num_inference_steps, guidance=self.guidance_scale,
                                   text_weight=self.text_weight, seed=self.seed + s, init_latents=init,
                                   strength=self.strength if init is not None else 1.0, noise_level=self.noise_level)
            out.append(to_stimuli(self.prior_.decode(z), self.stimulus_shape_))
        return np.concatenate(out)
