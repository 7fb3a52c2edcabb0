"""A tiny random-weight Stable Diffusion image-variations pipeline, saved in diffusers' own format."""

import pytest
import torch


def write_tiny_image_variation_pipeline(folder) -> None:
    """Build a small UNet/VAE/DDIM/CLIP-vision pipeline and ``save_pretrained`` it to ``folder``."""
    from cortexkit.optional import require

    diffusers = require("diffusers")
    transformers = require("transformers")
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=8, norm_num_groups=16)
    vae = diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(16, 32), latent_channels=4, norm_num_groups=16,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
    scheduler = diffusers.DDIMScheduler(num_train_timesteps=100, beta_schedule="scaled_linear", clip_sample=False)
    image_encoder = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, projection_dim=16, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, patch_size=8))
    processor = transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pipe = diffusers.StableDiffusionImageVariationPipeline(
        vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler, safety_checker=None,
        feature_extractor=processor, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))


@pytest.fixture(scope="session")
def tiny_sd_variations(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sd_variations")
    write_tiny_image_variation_pipeline(folder)
    return folder
