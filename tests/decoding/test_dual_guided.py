"""Dual (caption + image) guided decoding on tiny random-weight Versatile Diffusion and Stable unCLIP folders
in the Hub's layouts: the dual block equals diffusers' own, the conditions equal the pipelines' encoders,
unCLIP sampling equals diffusers' pipeline, a linear brain's text and image conditions are recovered,
captions flow from a store through `decode reconstruct`, and bad folders or missing captions are one line."""

import numpy as np
import pytest
import torch

from cortexkit.errors import ConfigError, DataError
from cortexkit.optional import available, require

HAVE = all(available(p) for p in ("diffusers", "transformers"))
pytestmark = [pytest.mark.optional, pytest.mark.skipif(
    not HAVE, reason="needs the [generative] extra (`make extras`, or `make test-all`, installs it)")]

CAPTIONS = ["an astronaut in a white suit", "a cup of coffee on a saucer", "a cat with stripes", "a red rocket"]


def _crops(n, size=32, seed=0):
    from tests.decoding.test_pretrained_diffusion import _natural_crops

    return _natural_crops(n, size=size, seed=seed)


def test_dual_block_equals_diffusers_dual_transformer(tiny_versatile):
    from diffusers.models.transformers.dual_transformer_2d import DualTransformer2DModel

    from cortexkit.decoding import DualGuidedPrior

    prior = DualGuidedPrior(tiny_versatile)
    pair = prior.pairs[0]
    cfg = pair.image_block.config
    ref = DualTransformer2DModel(num_attention_heads=cfg.num_attention_heads, attention_head_dim=cfg.attention_head_dim,
                                 in_channels=cfg.in_channels, num_layers=cfg.num_layers, norm_num_groups=cfg.norm_num_groups,
                                 cross_attention_dim=cfg.cross_attention_dim)
    ref.transformers[0], ref.transformers[1] = pair.image_block, pair.text_block
    ref.mix_ratio, ref.condition_lengths, ref.transformer_index_for_condition = 0.3, [16, 257], [1, 0]
    pair.text_weight = 0.3
    torch.manual_seed(0)
    hidden = torch.randn(2, cfg.in_channels, 8, 8)
    context = torch.randn(2, 16 + 257, 16)
    with torch.no_grad():
        ours = pair(hidden, encoder_hidden_states=context, return_dict=False)[0]
        theirs = ref(hidden, encoder_hidden_states=context, return_dict=False)[0]
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


def test_versatile_conditions_equal_the_pipeline_encoders(tiny_versatile):
    import PIL.Image

    diffusers = require("diffusers")
    from cortexkit.decoding import DualGuidedPrior

    transformers = require("transformers")
    root = str(tiny_versatile)
    # The Hub's model_index names the text UNet's module as `versatile_diffusion`, which diffusers no longer
    # resolves: the encoders' pipeline is assembled from the folder's components (no text UNet needed).
    pipe = diffusers.VersatileDiffusionDualGuidedPipeline(
        tokenizer=transformers.CLIPTokenizer.from_pretrained(root, subfolder="tokenizer"),
        image_feature_extractor=transformers.CLIPImageProcessor.from_pretrained(root, subfolder="image_feature_extractor"),
        text_encoder=transformers.CLIPTextModelWithProjection.from_pretrained(root, subfolder="text_encoder"),
        image_encoder=transformers.CLIPVisionModelWithProjection.from_pretrained(root, subfolder="image_encoder"),
        image_unet=diffusers.UNet2DConditionModel.from_pretrained(root, subfolder="image_unet"), text_unet=None,
        vae=diffusers.AutoencoderKL.from_pretrained(root, subfolder="vae"),
        scheduler=diffusers.DDIMScheduler.from_pretrained(root, subfolder="scheduler"))
    prior = DualGuidedPrior(tiny_versatile)
    with torch.no_grad():
        # short captions: the pipeline tokenizes once without truncation, and this tokenizer has 16 positions
        text = pipe._encode_text_prompt(["a cat", "a red rocket"], "cpu", 1, True)
    np.testing.assert_allclose(prior.text_condition(["a cat", "a red rocket"]), text[2:].numpy(), atol=1e-5)
    np.testing.assert_allclose(prior.null_conditions(2)[0].numpy(), text[:2].numpy(), atol=1e-5)
    pixels = (_crops(2, size=64) * 255).round().astype(np.uint8)
    with torch.no_grad():
        image = pipe._encode_image_prompt([PIL.Image.fromarray(p) for p in pixels], "cpu", 1, True)
    np.testing.assert_allclose(prior.image_condition(pixels / 255.0), image[2:].numpy(), atol=1e-4)
    np.testing.assert_allclose(prior.null_conditions(2)[1].numpy(), image[:2].numpy(), atol=1e-5)


def test_unclip_sampling_equals_the_pipeline(tiny_unclip):
    diffusers = require("diffusers")
    from cortexkit.decoding import DualGuidedPrior

    pipe = diffusers.StableUnCLIPImg2ImgPipeline.from_pretrained(str(tiny_unclip))
    prior = DualGuidedPrior(tiny_unclip)
    text = prior.text_condition(CAPTIONS[:2])
    embeds = prior.image_condition(_crops(2))
    seed = 5
    z = prior.sample(text, embeds, size=32, steps=4, guidance=3.0, text_weight=1.0, seed=seed, noise_level=20)
    got = prior.decode(z).permute(0, 2, 3, 1).numpy()
    latents = torch.randn((2, 4, 16, 16), generator=torch.Generator().manual_seed(seed))
    expected = pipe(prompt=CAPTIONS[:2], image_embeds=torch.from_numpy(embeds), latents=latents, noise_level=20,
                    generator=torch.Generator().manual_seed(seed + 1), guidance_scale=3.0, num_inference_steps=4,
                    height=32, width=32, output_type="np").images
    np.testing.assert_allclose(got, expected, atol=1e-4)


def _linear_brain(targets, n_units=120, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = (targets - targets.mean(0)) / (targets.std(0) + 1e-8)
    r = t @ (rng.standard_normal((t.shape[1], n_units)) / np.sqrt(t.shape[1]))
    return (r + noise * r.std() * rng.standard_normal(r.shape)).astype(np.float32)


@pytest.mark.parametrize("layout", ["versatile", "unclip"])
def test_decoder_recovers_text_and_image_conditions(layout, tiny_versatile, tiny_unclip):
    from cortexkit.decoding import DualGuidedDecoder, DualGuidedPrior

    folder = tiny_versatile if layout == "versatile" else tiny_unclip
    images = _crops(120, seed=4)
    captions = [CAPTIONS[i % 4] for i in range(120)]  # the crops cycle through the four photographs
    prior = DualGuidedPrior(folder)
    image_truth = prior.image_condition(images).reshape(120, -1)
    # A brain that sees the photograph's identity (the caption's content) and the crop's image condition.
    onehot = np.eye(4)[np.arange(120) % 4]
    responses = _linear_brain(image_truth[:, ::8]) + _linear_brain(onehot, seed=1)
    dec = DualGuidedDecoder(model_dir=str(folder), generation_size=32, num_inference_steps=3, strength=0.6,
                            first_stage_params={"epochs": 2, "width": 8, "extra_images": 0})
    dec.fit(responses[:100], images[:100], captions=captions[:100])
    text_truth = prior.stimulus_text_condition(captions[100:]).reshape(20, -1)
    text = dec.predicted_text(responses[100:]).reshape(20, -1)
    assert np.median([np.corrcoef(a, b)[0, 1] for a, b in zip(text, text_truth)]) > 0.95
    # the right caption is the nearest of the four for every held-out stimulus (random encoders give the four
    # captions similar conditions, so distance, not correlation)
    four = prior.stimulus_text_condition(CAPTIONS).reshape(4, -1)
    nearest = np.argmin(((text[:, None] - four[None]) ** 2).sum(-1), axis=1)
    assert (nearest == np.arange(100, 120) % 4).all()
    image = dec.predicted_image(responses[100:]).reshape(20, -1)
    assert np.median([np.corrcoef(a, b)[0, 1] for a, b in zip(image, image_truth[100:])]) > 0.8
    rec = dec.reconstruct(responses[100:103])
    assert rec.shape == (3, 32, 32, 3) and rec.min() >= 0 and rec.max() <= 1
    np.testing.assert_array_equal(rec, dec.reconstruct(responses[100:103]))


def test_dual_guided_errors(tmp_path, tiny_versatile, tiny_sd_variations):
    from cortexkit.decoding import DualGuidedDecoder

    images, responses = _crops(10), np.random.default_rng(0).standard_normal((10, 5)).astype(np.float32)
    with pytest.raises(ConfigError, match="needs captions"):
        DualGuidedDecoder(model_dir=str(tiny_versatile)).fit(responses, images)
    with pytest.raises(DataError, match="empty caption"):
        DualGuidedDecoder(model_dir=str(tiny_versatile)).fit(responses, images, captions=[""] * 10)
    with pytest.raises(DataError, match="9 captions for 10 stimuli"):
        DualGuidedDecoder(model_dir=str(tiny_versatile)).fit(responses, images, captions=["a"] * 9)
    with pytest.raises(DataError, match="is neither a Versatile Diffusion folder .*missing image_unet, text_unet"):
        DualGuidedDecoder(model_dir=str(tiny_sd_variations), text_weight=0).fit(responses, images)
    with pytest.raises(ConfigError, match=f"no diffusion model folder at {tmp_path / 'x'}"):
        DualGuidedDecoder(model_dir=str(tmp_path / "x"), text_weight=0).fit(responses, images)
    with pytest.raises(ConfigError, match="first_stage must be 'hvae' or 'none'"):
        DualGuidedDecoder(model_dir=str(tiny_versatile), first_stage="vdvae", text_weight=0).fit(responses, images)
    # image guidance alone needs no captions
    dec = DualGuidedDecoder(model_dir=str(tiny_versatile), text_weight=0, first_stage="none", generation_size=32,
                            num_inference_steps=2).fit(responses, images)
    assert dec.predicted_text(responses) is None and dec.reconstruct(responses[:2]).shape == (2, 32, 32, 3)


def test_cli_reconstruct_reads_captions_from_the_store(tmp_path, tiny_unclip):
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from cortexkit import data
    from cortexkit.cli import app
    from cortexkit.simulate import simulate_v1

    ds = simulate_v1(n_train=60, n_test=6, n_repeats=2, n_simple=10, n_complex=10, size=16, seed=3)
    ds = ds.assign_coords(caption=("stimulus", [CAPTIONS[i % 4] + "\n" + CAPTIONS[(i + 1) % 4] for i in range(66)]))
    store = data.save(ds, tmp_path / "v1.zarr")
    assert list(data.load(store)["caption"].values[:1]) == [CAPTIONS[0] + "\n" + CAPTIONS[1]]
    config = {"image_size": 16, "n_permutations": 10, "decoders": [{"name": "dual_guided", "params": {
        "model_dir": str(tiny_unclip), "generation_size": 32, "num_inference_steps": 2,
        "first_stage_params": {"epochs": 1, "width": 8, "extra_images": 0}}}]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    res = CliRunner().invoke(app, ["decode", "reconstruct", str(store), "--out", str(tmp_path / "run"), "--config",
                                   str(tmp_path / "c.yaml")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "run" / "metrics.csv").set_index("method")
    assert np.isfinite(table.loc["dual_guided", "ssim"])
