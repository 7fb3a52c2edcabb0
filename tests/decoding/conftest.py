"""Shared fixtures of the decoder tests: simulated V1, and tiny random-weight diffusion model folders (Stable
Diffusion image variations, Versatile Diffusion, Stable unCLIP) saved as the Hub holds them."""

import pytest
import torch


@pytest.fixture(scope="session")
def v1():
    """Simulated V1 (100 simple + 100 complex cells, 16 px): repeat-averaged train and test
    responses with their images, (r_train, s_train, r_test, s_test)."""
    from cortexkit import data
    from cortexkit.simulate import simulate_v1

    ds = simulate_v1(n_train=800, n_test=40, n_repeats=4, n_simple=100, n_complex=100, size=16, seed=5)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    return (data.repeat_average(train).values, train["stimuli"].values,
            data.repeat_average(test).values, test["stimuli"].values)


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


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (CLIP's byte-level BPE alphabet)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


def write_tiny_clip_tokenizer(folder, max_length: int):
    """A character-level CLIP tokenizer (byte alphabet, no merges) saved in transformers' format."""
    import json
    from pathlib import Path

    from cortexkit.optional import require

    transformers = require("transformers")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)
    tok.save_pretrained(str(folder))
    return tok


def _tiny_parts(text_with_projection: bool, image_size: int, patch: int):
    from cortexkit.optional import require

    diffusers = require("diffusers")
    transformers = require("transformers")
    tok_len = 16
    n_vocab = 2 * 256 + 2
    text_cfg = transformers.CLIPTextConfig(vocab_size=n_vocab, hidden_size=16 if not text_with_projection else 32,
                                           intermediate_size=37, projection_dim=16, num_hidden_layers=2,
                                           num_attention_heads=4, max_position_embeddings=tok_len,
                                           bos_token_id=n_vocab - 2, eos_token_id=n_vocab - 1, pad_token_id=n_vocab - 1)
    text = (transformers.CLIPTextModelWithProjection if text_with_projection else transformers.CLIPTextModel)(text_cfg)
    image = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, projection_dim=16, num_hidden_layers=2, num_attention_heads=4,
        image_size=image_size, patch_size=patch))
    processor = transformers.CLIPImageProcessor(size={"shortest_edge": image_size},
                                                crop_size={"height": image_size, "width": image_size})
    vae = diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(16, 32), latent_channels=4, norm_num_groups=16,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
    scheduler = diffusers.DDIMScheduler(num_train_timesteps=100, beta_schedule="scaled_linear", clip_sample=False)
    return text, image, processor, vae, scheduler, tok_len


def _save_components(folder, class_name: str, components: dict) -> None:
    """Each component's ``save_pretrained`` in its subfolder and a model_index.json, as the Hub holds them."""
    import json
    from pathlib import Path

    folder = Path(folder)
    index = {"_class_name": class_name, "_diffusers_version": "0.30.0"}
    for name, (library, obj) in components.items():
        obj.save_pretrained(str(folder / name))
        index[name] = [library, type(obj).__name__]
    (folder / "model_index.json").write_text(json.dumps(index, indent=1))


def write_tiny_versatile_diffusion(folder) -> None:
    """A random-weight Versatile Diffusion folder in the Hub's layout (image and text UNets side by side);
    the image encoder gives 257 tokens (256 patches and the class token), as VD's dual blocks expect."""
    from cortexkit.optional import require

    diffusers = require("diffusers")
    from diffusers.pipelines.deprecated.versatile_diffusion.modeling_text_unet import UNetFlatConditionModel

    torch.manual_seed(0)
    text, image, processor, vae, scheduler, tok_len = _tiny_parts(True, 64, 4)
    blocks = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                  cross_attention_dim=16, attention_head_dim=8, norm_num_groups=16)
    image_unet = diffusers.UNet2DConditionModel(down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), **blocks)
    text_unet = UNetFlatConditionModel(down_block_types=("CrossAttnDownBlockFlat", "DownBlockFlat"),
                                       up_block_types=("UpBlockFlat", "CrossAttnUpBlockFlat"), **blocks)
    tok = write_tiny_clip_tokenizer(folder / "tokenizer", tok_len)
    _save_components(folder, "VersatileDiffusionPipeline", {"tokenizer": ("transformers", tok),
        "image_unet": ("diffusers", image_unet), "text_unet": ("versatile_diffusion", text_unet), "vae": ("diffusers", vae),
        "scheduler": ("diffusers", scheduler), "text_encoder": ("transformers", text),
        "image_encoder": ("transformers", image), "image_feature_extractor": ("transformers", processor)})


def write_tiny_stable_unclip(folder) -> None:
    """A random-weight Stable unCLIP (image variations) folder in the Hub's layout."""
    from cortexkit.optional import require

    diffusers = require("diffusers")
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer

    torch.manual_seed(1)
    text, image, processor, vae, scheduler, tok_len = _tiny_parts(False, 32, 8)
    unet = diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=8, norm_num_groups=16, class_embed_type="projection",
        projection_class_embeddings_input_dim=32)
    normalizer = StableUnCLIPImageNormalizer(embedding_dim=16)
    with torch.no_grad():
        normalizer.mean.normal_(0, 0.1)
        normalizer.std.uniform_(0.5, 1.5)
    noising = diffusers.DDPMScheduler(num_train_timesteps=100, beta_schedule="squaredcos_cap_v2")
    tok = write_tiny_clip_tokenizer(folder / "tokenizer", tok_len)
    _save_components(folder, "StableUnCLIPImg2ImgPipeline", {"tokenizer": ("transformers", tok),
        "unet": ("diffusers", unet), "vae": ("diffusers", vae), "scheduler": ("diffusers", scheduler),
        "text_encoder": ("transformers", text), "image_encoder": ("transformers", image),
        "feature_extractor": ("transformers", processor), "image_normalizer": ("stable_diffusion", normalizer),
        "image_noising_scheduler": ("diffusers", noising)})


@pytest.fixture(scope="session")
def tiny_versatile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("versatile")
    write_tiny_versatile_diffusion(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_unclip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unclip")
    write_tiny_stable_unclip(folder)
    return folder


@pytest.fixture(scope="session")
def v1_video():
    """Simulated V1 watching natural clips (16 px, 6 frames): (r_train, s_train, r_test, s_test)."""
    from cortexkit import data
    from cortexkit.simulate import simulate_v1_video

    ds = simulate_v1_video(n_train=300, n_test=20, n_repeats=3, n_simple=60, n_complex=20, size=16, n_frames=6, seed=4)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    return (data.repeat_average(train).values, train["stimuli"].values,
            data.repeat_average(test).values, test["stimuli"].values)
