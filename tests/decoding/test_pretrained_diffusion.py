"""Second-Sight- and brain-diffuser-style decoders on a tiny random-weight diffusers pipeline saved in
diffusers' own format: agreement with diffusers' own pipeline, recovery of what a linear brain
encodes, the search over a pretrained sampler, the CLI, and one-line errors."""

import numpy as np
import pytest
import torch
import yaml

from cortexkit.decoding import BrainDiffuserDecoder, BrainOptimizedSearch, ImageVariationPrior, SecondSightDecoder
from cortexkit.errors import ConfigError, DataError
from cortexkit.optional import available, require

HAVE = all(available(p) for p in ("diffusers", "transformers"))
pytestmark = [pytest.mark.optional, pytest.mark.skipif(
    not HAVE, reason="needs the [generative] extra (`make extras`, or `make test-all`, installs it)")]
diffusers = require("diffusers") if HAVE else None


def _natural_crops(n, size=32, seed=0):
    import skimage.data
    from skimage.transform import resize

    sources = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = sources[i % len(sources)]
        c = int(rng.integers(96, min(img.shape[:2])))
        y, x = rng.integers(0, img.shape[0] - c + 1), rng.integers(0, img.shape[1] - c + 1)
        out.append(resize(img[y : y + c, x : x + c], (size, size), anti_aliasing=True))
    return np.clip(np.stack(out), 0, 1).astype(np.float32)


def _linear_brain(targets, n_units=60, noise=0.05, seed=0):
    """Responses that encode ``targets`` (n, k) linearly, plus noise."""
    rng = np.random.default_rng(seed)
    t = (targets - targets.mean(0)) / (targets.std(0) + 1e-8)
    w = rng.standard_normal((t.shape[1], n_units)) / np.sqrt(t.shape[1])
    r = t @ w
    return (r + noise * r.std() * rng.standard_normal(r.shape)).astype(np.float32)


def test_embeddings_and_sampling_match_diffusers_pipeline(tiny_sd_variations):
    """CLIP embeddings equal the pipeline's feature extractor + encoder; a guided DDIM sample from the
    same noise equals StableDiffusionImageVariationPipeline's output to 1e-4."""
    pipe = diffusers.StableDiffusionImageVariationPipeline.from_pretrained(str(tiny_sd_variations), safety_checker=None)
    images = _natural_crops(2)
    prior = ImageVariationPrior(tiny_sd_variations)
    ours = prior.embed(images)
    pixel_values = pipe.feature_extractor(images=list(images), return_tensors="pt", do_rescale=False).pixel_values
    with torch.no_grad():
        ref = pipe.image_encoder(pixel_values).image_embeds.numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)

    g = torch.Generator("cpu").manual_seed(7)
    noise = torch.randn((2, 4, 16, 16), generator=g)
    # a tensor `image` is taken as the encoder's pixel values: the processor's output above
    expected = pipe(image=pixel_values, latents=noise.clone(), guidance_scale=3.0,
                    num_inference_steps=5, height=32, width=32, output_type="np").images
    z = prior.sample(ours, size=32, steps=5, guidance=3.0, seed=7)
    got = prior.decode(z).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_second_sight_recovers_the_encoded_clip_embedding(tiny_sd_variations):
    """Responses carrying the images' CLIP embeddings: the ridge predicts held-out embeddings closely,
    reconstructions have the stimuli's shape and are reproducible by seed."""
    images = _natural_crops(120)
    prior = ImageVariationPrior(tiny_sd_variations)
    truth = prior.embed(images)
    responses = _linear_brain(truth)
    dec = SecondSightDecoder(model_dir=str(tiny_sd_variations), generation_size=32, num_inference_steps=3)
    dec.fit(responses[:100], images[:100])
    pred = dec.predicted_embeddings(responses[100:])
    r = [np.corrcoef(p, t)[0, 1] for p, t in zip(pred, truth[100:])]
    assert np.median(r) > 0.9
    rec = dec.reconstruct(responses[100:104])
    assert rec.shape == (4, 32, 32, 3) and rec.min() >= 0 and rec.max() <= 1
    np.testing.assert_array_equal(rec, dec.reconstruct(responses[100:104]))


def test_brain_diffuser_first_stage_recovers_low_level_latents(tiny_sd_variations):
    """With responses encoding the VAE latents, the first stage's images equal the VAE's own round trip
    of the held-out images (r > 0.9); strength 0 returns them; strength 0.75 changes them."""
    images = _natural_crops(120, seed=1).mean(-1)  # grayscale stimuli
    prior = ImageVariationPrior(tiny_sd_variations)
    latents = prior.encode(images, 8).flatten(1).numpy()  # 64 latent dims, fewer than the training images
    responses = _linear_brain(latents, n_units=200)
    common = dict(model_dir=str(tiny_sd_variations), generation_size=32, num_inference_steps=4, low_level_size=8)
    dec = BrainDiffuserDecoder(strength=0.0, **common).fit(responses[:100], images[:100])
    first = dec.low_level_images(responses[100:])
    round_trip = dec._to_stimuli(prior.decode(prior.encode(images[100:], 8)))
    r = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(first, round_trip)]
    assert np.median(r) > 0.9
    assert first.shape == (20, 32, 32)
    np.testing.assert_allclose(dec.reconstruct(responses[100:105]), np.clip(first[:5], 0, 1), atol=2e-2)
    noisy = BrainDiffuserDecoder(strength=0.75, **common).fit(responses[:100], images[:100]).reconstruct(responses[100:105])
    assert np.abs(noisy - first[:5]).mean() > 1e-3


def test_search_over_a_pretrained_sampler(tiny_sd_variations):
    images = _natural_crops(60, seed=2)
    responses = _linear_brain(images.reshape(60, -1)[:, ::7], n_units=40)
    gen = SecondSightDecoder(model_dir=str(tiny_sd_variations), generation_size=32, num_inference_steps=3)
    search = BrainOptimizedSearch(generator=gen, critic_features="pixels", n_candidates=4, n_keep=2, rounds=2)
    search.fit(responses[:50], images[:50])
    chosen, history = search.search(responses[50:53])
    assert chosen.shape == (3, 32, 32, 3)
    assert (np.diff(history, axis=1) >= -1e-9).all()  # the kept best never gets worse
    with pytest.raises(ConfigError, match="has no \\['sample_latents', 'refine', 'decode'\\]"):
        BrainOptimizedSearch(generator=object()).fit(responses[:50], images[:50])


def test_errors_name_the_folder(tmp_path, tiny_sd_variations):
    images, responses = _natural_crops(10), np.random.default_rng(0).standard_normal((10, 5)).astype(np.float32)
    with pytest.raises(ConfigError, match="needs model_dir"):
        SecondSightDecoder().fit(responses, images)
    with pytest.raises(ConfigError, match=f"no diffusion model folder at {tmp_path / 'absent'}; download it"):
        SecondSightDecoder(model_dir=str(tmp_path / "absent")).fit(responses, images)
    partial = tmp_path / "partial"
    (partial / "unet").mkdir(parents=True)
    with pytest.raises(DataError, match="partial: is not a diffusers image-variations folder: no vae, scheduler, image_encoder"):
        SecondSightDecoder(model_dir=str(partial)).fit(responses, images)
    with pytest.raises(DataError, match="reconstructs images, not videos"):
        SecondSightDecoder(model_dir=str(tiny_sd_variations)).fit(responses, np.zeros((10, 4, 32, 32), np.float32))
    with pytest.raises(ConfigError, match="strength must be within"):
        BrainDiffuserDecoder(model_dir=str(tiny_sd_variations), strength=2.0).fit(responses, images)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="torch sees no CUDA device"):
            SecondSightDecoder(model_dir=str(tiny_sd_variations), device="cuda").fit(responses, images)


def test_cli_reconstruct_with_pretrained_priors(tmp_path, small_store, tiny_sd_variations):
    """`cortexkit reconstruct` from the saved folder: both decoders and the search over the prior,
    scored with the same metrics and nulls as every decoder."""
    import pandas as pd
    from typer.testing import CliRunner

    from cortexkit.cli import app

    fast = {"model_dir": str(tiny_sd_variations), "generation_size": 32, "num_inference_steps": 2}
    config = {"image_size": 32, "n_permutations": 20, "decoders": [
        {"name": "second_sight", "params": fast},
        {"name": "brain_diffuser", "params": {**fast, "low_level_size": 16}},
        {"name": "search", "label": "second_sight_search",
         "params": {"generator": "second_sight", "n_candidates": 2, "n_keep": 1, "rounds": 2,
                    **{f"generator_{k}": v for k, v in fast.items()}}}]}
    path = tmp_path / "recon.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["decode", "reconstruct", str(small_store), "--out", str(out), "--config", str(path)],
                                terminal_width=250)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "metrics.csv")
    for name in ("second_sight", "brain_diffuser", "second_sight_search"):
        row = table[table["method"] == name]
        assert len(row) == 1 and np.isfinite(row["ssim"]).all()
    assert (out / "report.html").is_file()
    quick = CliRunner().invoke(app, ["decode", "reconstruct", str(small_store), "--out", str(tmp_path / "r2"), "--decoder", "second_sight",
                                     "--image-size", "32"], terminal_width=250)
    assert quick.exit_code == 2 and "needs model_dir" in quick.output
    both = CliRunner().invoke(app, ["decode", "reconstruct", str(small_store), "--out", str(tmp_path / "r3"), "--config", str(path),
                                    "--device", "cuda"], terminal_width=250)
    assert both.exit_code == 2 and "with --config, set them in each decoder's params" in both.output


@pytest.mark.slow
def test_pretrained_priors_at_their_default_schedule(tmp_path, tiny_sd_variations):
    """Both decoders and the search (4 candidates, 2 rounds) at the default 50 DDIM steps, generating
    at 32 px, on 8 test images (slow: every image is denoised 50 times per candidate)."""

    from cortexkit import data
    from cortexkit.pipelines import ReconstructionConfig, run_reconstruction
    from cortexkit.simulate import simulate_v1

    small_store = data.save(simulate_v1(n_train=200, n_test=8, n_repeats=4, n_simple=6, n_complex=6, size=16, seed=3),
                            tmp_path / "v1.zarr")

    common = {"model_dir": str(tiny_sd_variations), "generation_size": 32}
    cfg = ReconstructionConfig(image_size=32, n_permutations=100, decoders=[
        {"name": "second_sight", "params": common},
        {"name": "brain_diffuser", "params": {**common, "low_level_size": 16}},
        {"name": "search", "params": {"generator": "second_sight", "critic_features": "gabor", "n_candidates": 4,
                                      "n_keep": 2, "rounds": 2,
                                      **{f"generator_{k}": v for k, v in common.items()}}}])
    table = run_reconstruction(small_store, tmp_path / "run", cfg, log=lambda *a: None).set_index("method")
    assert {"second_sight", "brain_diffuser", "search"} <= set(table.index)
    history = np.load(tmp_path / "run" / "reconstructions" / "search.npz")["history"]
    assert (np.diff(history, axis=1) >= -1e-9).all()


def test_brain_diffuser_with_a_hierarchical_vae_first_stage(tiny_sd_variations):
    """first_stage: hvae trains the hierarchical VAE on the stimuli; strength 0 returns its reconstructions,
    strength 0.75 refines them with the prior."""
    images = _natural_crops(80, seed=3).mean(-1)
    responses = _linear_brain(images.reshape(80, -1)[:, ::5], n_units=80)
    common = dict(model_dir=str(tiny_sd_variations), generation_size=32, num_inference_steps=3, first_stage="hvae",
                  first_stage_params={"epochs": 2, "width": 8, "extra_images": 0})
    dec = BrainDiffuserDecoder(strength=0.0, **common).fit(responses[:70], images[:70])
    first = dec.reconstruct(responses[70:])
    np.testing.assert_allclose(first, dec.hvae_.reconstruct(responses[70:]), atol=1e-5)
    refined = BrainDiffuserDecoder(strength=0.75, **common).fit(responses[:70], images[:70]).reconstruct(responses[70:73])
    assert refined.shape == (3, 32, 32) and np.abs(refined - first[:3]).mean() > 1e-3
    with pytest.raises(ConfigError, match="first_stage must be 'vae' or 'hvae'"):
        BrainDiffuserDecoder(model_dir=str(tiny_sd_variations), first_stage="vdvae").fit(responses[:70], images[:70])
