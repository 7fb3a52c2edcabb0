"""Hierarchical VAE first stage: latents coarse to fine, top-down decoding from predicted groups, and
reconstructions of held-out simulated V1 images far above their shuffled null."""

import numpy as np
import pytest
import torch

from cortexkit.decoding import HierarchicalVAE, HierarchicalVAEDecoder
from cortexkit.errors import ConfigError
from cortexkit.metrics import reconstruction as rm


def test_groups_coarse_to_fine_and_given_latents_are_used():
    torch.manual_seed(0)
    vae = HierarchicalVAE(channels=1, size=16, width=8, latent_channels=3, groups=2).eval()
    assert vae.group_shapes() == [(3, 2, 2)] * 2 + [(3, 4, 4)] * 2 + [(3, 8, 8)] * 2
    x = torch.rand(5, 1, 16, 16)
    rec, kl, means = vae.top_down(vae.bottom_up(x), sample=False)
    assert rec.shape == x.shape and kl.shape == (5,) and (kl >= -1e-5).all()
    assert [tuple(m.shape[1:]) for m in means] == vae.group_shapes()
    # Decoding every group from its posterior mean equals the deterministic pass that produced them.
    again = vae.top_down(None, given=means, n=5)[0]
    torch.testing.assert_close(again, rec, atol=1e-5, rtol=1e-5)
    # With only the first group given, the rest take their prior means: the output depends on that group alone.
    one = vae.top_down(None, given=means[:1], n=5)[0]
    other = vae.top_down(None, given=[means[0]] + [torch.randn_like(m) for m in means[1:3]], n=5)[0]
    assert not torch.allclose(one, other)
    with pytest.raises(ConfigError, match="divisible by 8"):
        HierarchicalVAE(1, 20)


@pytest.mark.slow
def test_hvae_decoder_beats_its_null_on_simulated_v1(v1, tmp_path):
    r_tr, s_tr, r_te, s_te = v1
    dec = HierarchicalVAEDecoder(epochs=12, extra_images=500, width=16, checkpoint_dir=str(tmp_path)).fit(r_tr, s_tr)
    rec = dec.reconstruct(r_te)
    assert rec.shape == s_te.shape and rec.min() >= 0 and rec.max() <= 1
    gt, flat = s_te.reshape(40, -1), rec.reshape(40, -1)
    ident = rm.identification(gt, flat).mean()
    assert ident > 0.85 and rm.identification_pvalue(gt, flat, n_permutations=300) < 0.01
    shuffled = rec[np.random.default_rng(0).permutation(40)]
    assert rm.pixcorr(s_te, rec).mean() > rm.pixcorr(s_te, shuffled).mean() + 0.3
    round_trip = dec.decode(dec.encode(s_te))
    assert rm.pixcorr(s_te, round_trip).mean() > 0.6
    assert (tmp_path / "hvae.pt").exists()


def test_hvae_errors(v1):
    r_tr, s_tr, _, _ = v1
    with pytest.raises(ConfigError, match="n_regressed must be within 1..6"):
        HierarchicalVAEDecoder(n_regressed=7, epochs=1, extra_images=0).fit(r_tr[:20], s_tr[:20])
    # clips: the VAE learns frames, a clip's latents are its frames' side by side
    clips = np.stack([s_tr[:40], s_tr[40:80], s_tr[80:120]], axis=1)  # (40, 3 frames, 16, 16)
    video = HierarchicalVAEDecoder(n_regressed=2, epochs=1, extra_images=0, width=8).fit(r_tr[:40], clips)
    assert video.encode(clips[:3]).shape == (3, 3 * 32)
    assert video.reconstruct(r_tr[:3]).shape == (3, 3, 16, 16)
    still = np.repeat(clips[:2, :1], 3, axis=1)  # frames are coded independently: a still clip stays still
    out = video.decode(video.encode(still))
    np.testing.assert_allclose(out[:, 0], out[:, 2], atol=1e-6)
    dec = HierarchicalVAEDecoder(n_regressed=2, epochs=1, extra_images=0, width=8).fit(r_tr[:40], s_tr[:40])
    assert dec.encode(s_tr[:3]).shape == (3, 2 * 4 * 2 * 2)  # two coarse groups of 4 maps of 2 x 2
    assert dec.reconstruct(r_tr[:3]).shape == (3, 16, 16)
