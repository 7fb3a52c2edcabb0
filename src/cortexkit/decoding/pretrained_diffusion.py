"""Reconstruction with pretrained generative priors (diffusers), loaded from a local model folder.

Two decoders, both ``fit(responses, stimuli)`` / ``reconstruct(responses)`` like every decoder:

- ``second_sight`` (after Second Sight, Kneeland et al. 2023): ridge from responses to the CLIP
  image embeddings of the training images; each predicted embedding conditions a Stable Diffusion
  *image-variations* model (the CLIP-image-conditioned UNet), sampled with classifier-free guidance.
  Wrapped in ``search`` (the brain-optimised search with an encoding model as critic) it is the full
  Second-Sight loop: candidates drawn from the prior are scored by the encoding model and refined.
- ``brain_diffuser`` (after brain-diffuser, Ozcelik & VanRullen 2023, and SpikeVAEDiff): a first
  stage maps responses to the low-level latents of the prior's VAE at a small resolution and decodes
  them into an initial guess (or, with ``first_stage: hvae``, through a hierarchical VAE trained on
  the stimuli, VDVAE's role in brain-diffuser); the second stage noises that guess to ``strength``
  of the schedule and denoises it conditioned on the predicted CLIP image embedding (img2img).

The model folder is a diffusers image-variations pipeline as ``save_pretrained`` writes it
(``lambdalabs/sd-image-variations-diffusers`` on the Hub): ``unet/``, ``vae/``, ``scheduler/``,
``image_encoder/`` (a transformers ``CLIPVisionModelWithProjection``) and ``feature_extractor/``.
Latent ridges re-standardise their predictions to the training spread (:class:`LatentRidge`).
Nothing downloads: a missing folder or component is one error line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cortexkit._progress import track
from cortexkit.decoding.base import DECODERS, Decoder, check_responses
from cortexkit.decoding.latent import LatentRidge
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError, DataError
from cortexkit.image import grayscale_tensor, resize_tensor
from cortexkit.optional import offline, require

COMPONENTS = ("unet", "vae", "scheduler", "image_encoder", "feature_extractor")
DOWNLOAD_HINT = ("download it on a machine with internet (e.g. `huggingface-cli download "
                 "lambdalabs/sd-image-variations-diffusers --local-dir DIR`) and pass model_dir: DIR")


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load_scheduler(root: Path, diffusers):
    """The folder's ``scheduler/`` as the class its config names (DDIM when it names none)."""
    config = json.loads((root / "scheduler" / "scheduler_config.json").read_text())
    return getattr(diffusers, config.get("_class_name", "DDIMScheduler"), diffusers.DDIMScheduler).from_pretrained(
        root, subfolder="scheduler")


class LatentVAE:
    """A pretrained prior read from a local diffusers folder, and its image <-> latent helpers (a
    diffusers ``AutoencoderKL`` as ``vae``, the denoiser as ``unet``)."""

    def _open(self, root: Path, device: str, dtype: str, load) -> None:
        """Set the device and dtype and run ``load(diffusers, transformers)``, which sets the components,
        offline (a failure is one DataError naming the folder); then the VAE's scale and downsampling
        factor and the denoiser's latent channels."""
        diffusers = require("diffusers", "pretrained-diffusion decoders")
        transformers = require("transformers", "pretrained-diffusion decoders")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but torch sees no CUDA device")
        self.device, self.dtype = device, DTYPES[dtype]
        for library in (diffusers, transformers):  # their per-file loading bars would drown the run's own
            library.utils.logging.disable_progress_bar()
        try:
            with offline():
                load(diffusers, transformers)
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot load the diffusion model ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                            source=str(root)) from None
        self.scale = float(getattr(self.vae.config, "scaling_factor", 0.18215))
        self.vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.latent_channels = int(self.unet.config.in_channels)

    # --- images <-> tensors ------------------------------------------------------------------------
    def to_rgb(self, images: np.ndarray) -> torch.Tensor:
        """(n, 3, y, x) float tensor in [0, 1] of images (n, y, x[, 1|3]) in [0, 1]."""
        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        if x.ndim == 3:
            x = x[..., None]
        return x.expand(*x.shape[:-1], 3).permute(0, 3, 1, 2).to(self.device)

    @torch.no_grad()
    def encode(self, images: np.ndarray, size: int, batch_size: int = 16) -> torch.Tensor:
        """VAE latents (n, c, size/f, size/f), scaled, of images resized to ``size``."""
        out = []
        for s in range(0, len(images), batch_size):
            x = resize_tensor(self.to_rgb(images[s : s + batch_size]).permute(0, 2, 3, 1), size).permute(0, 3, 1, 2)
            dist = self.vae.encode((x * 2 - 1).to(self.dtype)).latent_dist
            out.append(dist.mean.float() * self.scale)
        return torch.cat(out)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
        """Images (n, 3, y, x) in [0, 1] from scaled VAE latents."""
        out = []
        for s in range(0, len(latents), batch_size):
            z = latents[s : s + batch_size].to(self.device, self.dtype) / self.scale
            out.append(((self.vae.decode(z).sample.float() + 1) / 2).clamp(0, 1))
        return torch.cat(out)


class ImageVariationPrior(LatentVAE):
    """The components of a local diffusers image-variations folder, on one device.

    Parameters
    ----------
    model_dir : path
    device : str
    dtype : {"float32", "bfloat16", "float16"}
        Of the UNet and VAE (bfloat16 on a GPU halves memory; CLIP stays float32).
    """

    def __init__(self, model_dir, device: str = "cpu", dtype: str = "float32"):
        require("diffusers", "pretrained-diffusion decoders")  # a missing library is named before a missing folder
        require("transformers", "pretrained-diffusion decoders")
        root = Path(model_dir)
        if not root.is_dir():
            raise ConfigError(f"no diffusion model folder at {root}; {DOWNLOAD_HINT}")
        missing = [c for c in COMPONENTS if not (root / c).is_dir()]
        if missing:
            raise DataError(f"is not a diffusers image-variations folder: no {', '.join(missing)} "
                            f"(it needs {', '.join(COMPONENTS)}); {DOWNLOAD_HINT}", source=str(root))
        parts = {}

        def load(diffusers, transformers):
            self.scheduler = load_scheduler(root, diffusers)
            self.unet = diffusers.UNet2DConditionModel.from_pretrained(root, subfolder="unet").to(device, self.dtype).eval()
            self.vae = diffusers.AutoencoderKL.from_pretrained(root, subfolder="vae").to(device, self.dtype).eval()
            self.image_encoder = transformers.CLIPVisionModelWithProjection.from_pretrained(
                root, subfolder="image_encoder").to(device).eval()
            parts["processor"] = transformers.CLIPImageProcessor.from_pretrained(root, subfolder="feature_extractor")

        self._open(root, device, dtype, load)
        processor = parts["processor"]
        crop = processor.crop_size
        crop = crop.get("height") if hasattr(crop, "get") else getattr(crop, "height", crop)
        self.clip_size = int(crop)
        self.clip_mean = torch.tensor(processor.image_mean, device=device)[:, None, None]
        self.clip_std = torch.tensor(processor.image_std, device=device)[:, None, None]

    @torch.no_grad()
    def embed(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Projected CLIP image embeddings (n, dim) of images in [0, 1] (the image-variations condition)."""
        out = []
        for s in range(0, len(images), batch_size):
            x = self.to_rgb(images[s : s + batch_size])
            x = resize_tensor(x.permute(0, 2, 3, 1), self.clip_size).permute(0, 3, 1, 2)
            x = (x - self.clip_mean) / self.clip_std
            out.append(self.image_encoder(pixel_values=x).image_embeds.float().cpu())
        return torch.cat(out).numpy()

    # --- sampling ----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, embeds: np.ndarray, *, size: int, steps: int, guidance: float, seed: int,
               init_latents: torch.Tensor | None = None, strength: float = 1.0) -> torch.Tensor:
        """Latents denoised under CLIP-embedding conditions (n, dim), from noise or from ``init_latents``
        noised to ``strength`` of the schedule (img2img); classifier-free guidance against a zero
        embedding (how image-variation models are trained to drop the condition)."""
        cond = torch.from_numpy(np.asarray(embeds, np.float32)).to(self.device, self.dtype)[:, None, :]
        context = torch.cat([torch.zeros_like(cond), cond]) if guidance != 1 else cond

        def eps(inp, t):
            return self.unet(inp, t, encoder_hidden_states=context).sample.float()

        return denoise(eps, self.scheduler, n=len(cond), channels=self.latent_channels, side=size // self.vae_factor,
                       steps=steps, guidance=guidance, seed=seed, device=self.device, dtype=self.dtype,
                       init_latents=init_latents, strength=strength)


@torch.no_grad()
def denoise(eps_fn, scheduler, *, n: int, channels: int, side: int, steps: int, guidance: float, seed: int, device,
            dtype, init_latents: torch.Tensor | None = None, strength: float = 1.0) -> torch.Tensor:
    """The diffusers sampling loop with classifier-free guidance: ``eps_fn(latents_in, t)`` predicts the
    noise of the batch (unconditional half first when ``guidance != 1``); starts from seeded noise or
    from ``init_latents`` noised to ``strength`` of the schedule (img2img)."""
    scheduler.set_timesteps(steps, device=device)
    timesteps = scheduler.timesteps
    g = torch.Generator("cpu").manual_seed(int(seed))
    noise = torch.randn((n, channels, side, side), generator=g).to(device)
    if init_latents is None or strength >= 1:
        latents = noise * float(getattr(scheduler, "init_noise_sigma", 1.0))
    else:
        keep = min(int(round(steps * strength)), steps)
        timesteps = timesteps[steps - keep:]
        if not len(timesteps):
            return init_latents.to(device).float()
        latents = scheduler.add_noise(init_latents.to(device).float(), noise, timesteps[:1].repeat(n))
    for t in timesteps:
        inp = torch.cat([latents, latents]) if guidance != 1 else latents
        e = eps_fn(scheduler.scale_model_input(inp, t).to(dtype), t)
        if guidance != 1:
            uncond, cond = e.chunk(2)
            e = uncond + guidance * (cond - uncond)
        latents = scheduler.step(e, t, latents).prev_sample
    return latents


def to_stimuli(rgb: torch.Tensor, stimulus_shape) -> np.ndarray:
    """Generated RGB images (n, 3, y, x) at the stimuli's shape (resized; luminance for gray stimuli)."""
    x = rgb.permute(0, 2, 3, 1).float().cpu()
    x = resize_tensor(x, tuple(stimulus_shape[:2]))
    if len(stimulus_shape) == 2:
        x = grayscale_tensor(x)
    elif stimulus_shape[-1] == 1:
        x = grayscale_tensor(x)[..., None]
    return x.numpy()


class _PretrainedDiffusionDecoder(Decoder):
    """Shared parts: loading the prior, the CLIP-embedding ridge, sampling and the search interface."""

    def _load_prior(self) -> ImageVariationPrior:
        if not self.model_dir:
            raise ConfigError(f"decoder {self.name!r} needs model_dir: a local diffusers image-variations folder; "
                              f"{DOWNLOAD_HINT}")
        size = int(self.generation_size)
        prior = ImageVariationPrior(self.model_dir, self.device, self.dtype)
        if size % prior.vae_factor:
            raise ConfigError(f"generation_size {size} must be a multiple of {prior.vae_factor}")
        return prior

    def _fit_embeddings(self, responses, stimuli):
        self.prior_ = self._load_prior()
        self.embedding_ridge_ = LatentRidge(self.alphas, seed=self.seed).fit(responses, self.prior_.embed(self._frames(stimuli)))

    def _frames(self, stimuli):
        return np.asarray(stimuli, np.float32)

    def predicted_embeddings(self, responses) -> np.ndarray:
        """CLIP image embeddings (n, dim) predicted from responses."""
        return self.embedding_ridge_.predict(check_responses(responses))

    def _to_stimuli(self, rgb: torch.Tensor) -> np.ndarray:
        return to_stimuli(rgb, self.stimulus_shape_)

    def _init_latents(self, responses) -> torch.Tensor | None:
        return None

    # --- the sampler interface of the brain-optimised search ------------------------------------------
    def sample_latents(self, responses, n_samples: int = 1, seed: int = 0) -> np.ndarray:
        """``n_samples`` prior latents per response: (n_responses, n_samples, c, y, x)."""
        r = check_responses(responses)
        embeds = np.repeat(self.predicted_embeddings(r), n_samples, axis=0)
        init = self._init_latents(r)
        if init is not None:
            init = init.repeat_interleave(n_samples, 0)
        z = self.prior_.sample(embeds, size=self.generation_size, steps=self.num_inference_steps,
                               guidance=self.guidance_scale, seed=seed, init_latents=init, strength=self.strength)
        return z.cpu().numpy().reshape((len(r), n_samples) + tuple(z.shape[1:]))

    def refine(self, latents, responses, strength: float = 0.5, seed: int = 0) -> np.ndarray:
        """Re-noise latents (n, c, y, x) to ``strength`` of the schedule and denoise them again."""
        init = torch.from_numpy(np.asarray(latents, np.float32))
        z = self.prior_.sample(self.predicted_embeddings(responses), size=self.generation_size,
                               steps=self.num_inference_steps, guidance=self.guidance_scale, seed=seed,
                               init_latents=init, strength=strength)
        return z.cpu().numpy()

    def decode(self, latents) -> np.ndarray:
        """Images at the stimuli's shape from prior latents (n, c, y, x)."""
        return self._to_stimuli(self.prior_.decode(torch.from_numpy(np.asarray(latents, np.float32))))

    def _reconstruct(self, responses):
        out = []
        for s in track(range(0, len(responses), self.batch_size),
                       f"{self.name}: {self.num_inference_steps} denoising steps, batches of {self.batch_size}"):
            z = self.sample_latents(responses[s : s + self.batch_size], 1, seed=self.seed + s)[:, 0]
            out.append(self.decode(z))
        return np.concatenate(out)

    def _check_images(self, stimuli):
        if stimuli.ndim == 5 or (stimuli.ndim == 4 and stimuli.shape[-1] not in (1, 3)):
            raise DataError(f"decoder {self.name!r} reconstructs images, not videos", variable="stimuli")


@DECODERS.register("second_sight")
class SecondSightDecoder(_PretrainedDiffusionDecoder):
    """Responses -> CLIP image embedding (ridge) -> Stable Diffusion image variations.

    Parameters
    ----------
    model_dir : path
        A local diffusers image-variations folder (``lambdalabs/sd-image-variations-diffusers``).
    generation_size : int
        Side the prior generates at (512 for Stable Diffusion 1.x); images are resized to the stimuli.
    num_inference_steps : int
    guidance_scale : float
        Classifier-free guidance against the zero embedding (1 = none).
    alphas : ridge penalties searched per output dimension
    batch_size : int
        Reconstructions generated together.
    device : str
    dtype : {"float32", "bfloat16", "float16"}
    seed : int
    """

    name = "second_sight"

    def __init__(self, model_dir=None, generation_size=512, num_inference_steps=50, guidance_scale=3.0,
                 alphas=DEFAULT_ALPHAS, batch_size=4, device="cpu", dtype="float32", seed=0):
        self.model_dir = model_dir
        self.generation_size = generation_size
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.alphas = alphas
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.seed = seed

    strength = 1.0  # always from noise

    def _fit(self, responses, stimuli):
        self._check_images(stimuli)
        self._fit_embeddings(responses, stimuli)


@DECODERS.register("brain_diffuser")
class BrainDiffuserDecoder(_PretrainedDiffusionDecoder):
    """Responses -> low-level VAE latents (ridge) -> initial image, then img2img under the
    predicted CLIP image embedding.

    Parameters: those of :class:`SecondSightDecoder`, and

    low_level_size : int
        Side of the images whose VAE latents the first stage predicts (brain-diffuser: 64).
    strength : float
        Fraction of the schedule the initial image is noised to (brain-diffuser: 0.75); 0 returns
        the first stage's image.
    first_stage : {"vae", "hvae"}
        The first stage: ridge to the prior's own VAE latents at ``low_level_size``, or a hierarchical
        VAE trained from scratch on the stimuli (:class:`~cortexkit.decoding.HierarchicalVAEDecoder`,
        VDVAE's role in brain-diffuser), with ``first_stage_params``.
    """

    name = "brain_diffuser"

    def __init__(self, model_dir=None, generation_size=512, num_inference_steps=50, guidance_scale=3.0,
                 low_level_size=64, strength=0.75, first_stage="vae", first_stage_params=None, alphas=DEFAULT_ALPHAS,
                 batch_size=4, device="cpu", dtype="float32", seed=0):
        self.first_stage = first_stage
        self.first_stage_params = first_stage_params
        self.model_dir = model_dir
        self.generation_size = generation_size
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.low_level_size = low_level_size
        self.strength = strength
        self.alphas = alphas
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.seed = seed

    def _fit(self, responses, stimuli):
        self._check_images(stimuli)
        if not 0 <= self.strength <= 1:
            raise ConfigError(f"strength must be within [0, 1], got {self.strength}")
        if self.first_stage not in ("vae", "hvae"):
            raise ConfigError(f"first_stage must be 'vae' or 'hvae', got {self.first_stage!r}")
        self._fit_embeddings(responses, stimuli)
        if self.first_stage == "hvae":
            from cortexkit.decoding.hierarchical_vae import HierarchicalVAEDecoder

            params = {"seed": self.seed, "device": self.device, **(self.first_stage_params or {})}
            self.hvae_ = HierarchicalVAEDecoder(**params).fit(responses, stimuli)
            return
        z = self.prior_.encode(stimuli, int(self.low_level_size))
        self.low_shape_ = tuple(z.shape[1:])
        self.low_level_ridge_ = LatentRidge(self.alphas, seed=self.seed).fit(responses, z.flatten(1).numpy())

    def _first_stage(self, responses) -> torch.Tensor:
        """The first stage's RGB images (n, 3, y, x): predicted latents, decoded (by the prior's VAE at
        ``low_level_size``, or by the hierarchical VAE at the stimuli's size)."""
        if self.first_stage == "hvae":
            return self.prior_.to_rgb(self.hvae_.reconstruct(check_responses(responses)))
        z = torch.from_numpy(self.low_level_ridge_.predict(check_responses(responses)))
        return self.prior_.decode(z.reshape((-1,) + self.low_shape_))

    def low_level_images(self, responses) -> np.ndarray:
        """The first stage's images (n, y, x[, channel]) at the stimuli's shape."""
        return self._to_stimuli(self._first_stage(responses))

    def _reconstruct(self, responses):
        if self.strength == 0:  # no second stage: the first stage's images, without a VAE round trip
            return self.low_level_images(responses)
        return super()._reconstruct(responses)

    def _init_latents(self, responses):
        first = self._first_stage(responses).permute(0, 2, 3, 1).cpu().numpy()
        return self.prior_.encode(first, int(self.generation_size))
