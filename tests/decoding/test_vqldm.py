"""The VQ-VAE + latent-UNet decoder: the quantiser's EMA codebook is the mean of its vectors, gradients
pass straight through, the UNet's temporal layers (and only they) mix frames, training resumes after a
kill to the same result, bad settings are refused in one line, and it reconstructs what the responses carry."""

import numpy as np
import pytest
import torch

from cortexkit.decoding import VQLDMDecoder
from cortexkit.decoding.latent_unet import LatentUNet
from cortexkit.decoding.vqvae import VectorQuantizer, decode_grids, encode_images, train_vqvae
from cortexkit.errors import ConfigError
from cortexkit.metrics import reconstruction as rm

TINY = dict(vq_width=8, vq_epochs=2, unet_width=8, unet_epochs=2, extra_images=0, sample_steps=4, steps=50,
            codebook_size=16, perceptual=0)


def test_the_ema_codebook_is_the_mean_of_the_vectors_assigned_to_each_code():
    torch.manual_seed(0)
    vq = VectorQuantizer(4, 3, decay=0.0)
    first = torch.randn(64, 3, 2, 2)
    vq.train()(first)  # codes start at vectors of the first batch, then follow it
    before = vq.codebook.clone()
    batch = torch.randn(32, 3, 2, 2)
    flat = batch.permute(0, 2, 3, 1).reshape(-1, 3)
    d = ((flat[:, None] - before[None]) ** 2).sum(-1)
    assigned = d.argmin(1)
    vq(batch)
    for k in range(4):
        if (assigned == k).any():  # decay 0: the code is the mean of this batch's vectors nearest to it
            np.testing.assert_allclose(vq.codebook[k].numpy(), flat[assigned == k].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_gradients_pass_straight_through_the_quantiser():
    vq = VectorQuantizer(8, 2).eval()
    vq.codebook.copy_(torch.randn(8, 2))
    z = torch.randn(3, 2, 4, 4, requires_grad=True)
    q, commit, idx = vq(z)
    np.testing.assert_allclose(q.detach().numpy(), vq.codebook[idx].permute(0, 3, 1, 2).numpy(), atol=1e-6)  # the codes
    (q * torch.arange(q.numel()).reshape(q.shape)).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), torch.arange(q.numel()).reshape(q.shape).float().numpy())


@pytest.mark.parametrize("temporal", [False, True])
def test_only_the_temporal_layers_mix_the_frames_of_a_clip(temporal):
    torch.manual_seed(0)
    unet = LatentUNet(4, 10, 4, width=8, mults=(1, 2), temporal=temporal)
    with torch.no_grad():  # zero-initialised output layers would hide every path: give them weights
        for p in unet.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.1)
    z, t, r = torch.randn(2, 4, 6, 4, 4), torch.tensor([10, 500]), torch.randn(2, 10)
    out = unet(z, t, r)
    assert out.shape == z.shape
    moved = z.clone()
    moved[:, :, 5] += 1.0  # change the last frame only
    change = (unet(moved, t, r) - out).abs().amax(dim=(0, 1, 3, 4))
    assert change[5] > 1e-3
    if temporal:
        assert change[0] > 1e-4  # reaches the first frame
    else:
        assert change[:5].max() == 0  # frames are denoised one by one
    assert (unet(z, t, r) - unet(z, t, None)).abs().max() > 1e-4  # the response conditions the prediction


def test_the_vqvae_learns_images_it_did_not_see(v1):
    _, s_tr, _, s_te = v1
    vae = train_vqvae(s_tr[:256], latent_size=4, width=8, codebook_size=32, epochs=3, batch_size=32, perceptual=0, seed=0)
    rec = decode_grids(vae, encode_images(vae, s_te, "cpu"), "cpu", gray=True)
    assert rec.shape == s_te.shape
    assert rm.pixcorr(s_te, rec).mean() > 0.2  # a collapsed or untrained codebook gives ~0


def test_a_killed_training_resumes_to_the_same_reconstructions(v1, tmp_path, monkeypatch):
    r_tr, s_tr, r_te, s_te = v1
    r_tr, s_tr = r_tr[:100], s_tr[:100]
    straight = VQLDMDecoder(**{**TINY, "unet_epochs": 3}, seed=2).fit(r_tr, s_tr).reconstruct(r_te[:6])
    assert straight.shape == s_te[:6].shape and straight.min() >= 0 and straight.max() <= 1
    import cortexkit.decoding.vqldm as module

    original = module.train
    monkeypatch.setattr(module, "train", lambda *a, **k: original(*a, **{**k, "stop_after": 1}))
    VQLDMDecoder(**{**TINY, "unet_epochs": 3}, seed=2, checkpoint_dir=str(tmp_path)).fit(r_tr, s_tr)  # killed after epoch 1
    monkeypatch.setattr(module, "train", original)
    messages = []
    resumed = VQLDMDecoder(**{**TINY, "unet_epochs": 3}, seed=2, checkpoint_dir=str(tmp_path), log=messages.append)
    np.testing.assert_allclose(resumed.fit(r_tr, s_tr).reconstruct(r_te[:6]), straight, atol=1e-5)
    assert any("latent UNet: resumed" in m for m in messages)


def test_videos_are_denoised_as_clips(v1_video):
    r_tr, s_tr, r_te, s_te = v1_video
    dec = VQLDMDecoder(**TINY).fit(r_tr[:120], s_tr[:120])
    assert dec.unet_.down[0][0].time is not None  # temporal layers: a video decoder
    rec = dec.reconstruct(r_te[:3])
    assert rec.shape == s_te[:3].shape


@pytest.mark.parametrize("params, message", [
    (dict(codebook_size=0), "codebook_size must be at least 1, got 0"),
    (dict(latent_size=32), r"latent_size must be within 1..16 \(the image is 16 px\), got 32"),
    (dict(latent_size=3), r"latent_size must be the image size \(16 px\) halved a whole number of times \(16, 8, 4, 2, 1\)"),
    (dict(temporal=True), "temporal=True makes a video decoder, and this store holds images"),
    (dict(init_strength=0), r"init_strength must be within \(0, 1\]"),
])
def test_bad_settings_are_refused_before_training(v1, params, message):
    r_tr, s_tr, _, _ = v1
    with pytest.raises(ConfigError, match=message):
        VQLDMDecoder(**{**TINY, **params}).fit(r_tr[:20], s_tr[:20])


@pytest.mark.slow
def test_vqldm_identifies_held_out_images(v1):
    r_tr, s_tr, r_te, s_te = v1
    rec = VQLDMDecoder(unet_epochs=60, seed=0).fit(r_tr, s_tr).reconstruct(r_te)
    ident = rm.identification(s_te.reshape(len(s_te), -1), rec.reshape(len(rec), -1))
    assert ident.mean() > 0.8  # 0.89 with 150 epochs; PCA 0.97


def test_the_training_lpips_equals_the_metric_and_has_gradients():
    from cortexkit.features.perceptual import LPIPS
    from cortexkit.decoding.vqvae import perceptual_loss

    rng = np.random.default_rng(0)
    a, b = rng.random((3, 64, 64, 3), dtype=np.float32), rng.random((3, 64, 64, 3), dtype=np.float32)
    ta = torch.from_numpy(a).permute(0, 3, 1, 2).requires_grad_(True)
    tb = torch.from_numpy(b).permute(0, 3, 1, 2)
    metric = LPIPS("alex")
    np.testing.assert_allclose(metric.distance(ta, tb).detach().numpy(), metric(a, b), rtol=1e-5)
    loss = perceptual_loss(1.0)
    loss(ta, tb).backward()
    assert torch.isfinite(ta.grad).all() and ta.grad.abs().sum() > 0
    assert perceptual_loss(0.0) is None
