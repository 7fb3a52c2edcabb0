"""ViV1T's training options: parallel attention (still causal, a different network), gradient
checkpointing (the same outputs and gradients, dropout included), the exponential output mode (its
inverse initialises the biases to the mean rates) and the recurrent behaviour modulator (causal,
starts at a gain of 1, trains end to end)."""

import numpy as np
import pytest
import torch

from cortexkit.encoding.cores import Conv3dCore, FactorisedTransformerCore
from cortexkit.encoding.modulation import RecurrentModulator
from cortexkit.encoding.predictor import PredictorConfig, SessionSpec, build_predictor
from cortexkit.errors import ConfigError

SMALL = dict(image_size=16, frames=6, patch=4, dim=16, depth=2, heads=2)


def test_parallel_attention_is_causal_and_not_the_sequential_block():
    torch.manual_seed(0)
    par = FactorisedTransformerCore(1, **SMALL, attention="parallel").eval()
    torch.manual_seed(0)
    seq = FactorisedTransformerCore(1, **SMALL).eval()  # the same weights
    z = torch.randn(2, 1, 6, 16, 16)
    later = z.clone()
    later[:, :, 4:] = torch.randn_like(later[:, :, 4:])
    torch.testing.assert_close(par(later)[:, :, :4], par(z)[:, :, :4], atol=1e-5, rtol=1e-5)
    assert (par(z) - seq(z)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="attention must be"):
        FactorisedTransformerCore(1, **SMALL, attention="mixed")


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_gradient_checkpointing_changes_neither_outputs_nor_gradients(dropout):
    torch.manual_seed(1)
    plain = FactorisedTransformerCore(1, **SMALL, dropout=dropout).train()
    ckpt = FactorisedTransformerCore(1, **SMALL, dropout=dropout, grad_checkpointing=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 6, 16, 16)
    outs, grads = [], []
    for core in (plain, ckpt):
        torch.manual_seed(7)  # the same dropout masks
        out = core(x)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append(torch.cat([p.grad.flatten() for p in core.parameters()]))
    torch.testing.assert_close(outs[0], outs[1], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-4)


def test_exponential_output_starts_at_the_mean_rates():
    from cortexkit.encoding.predictor.model import NONLINEARITIES

    model = build_predictor(Conv3dCore(1, 4, 1), {"kind": "gaussian2d"}, {"a": {"n_units": 5}}, nonlinearity="exp")
    means = torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0])
    model.initialize_biases({"a": means})
    torch.testing.assert_close(model.readouts["a"].bias, torch.log(means))
    act, inverse = NONLINEARITIES["exp"]
    torch.testing.assert_close(act(inverse(means)), means)  # a zero readout drive predicts the mean rates
    out = model(torch.randn(2, 1, 4, 12, 12), "a")
    assert (out > 0).all() and torch.isfinite(out).all()
    with pytest.raises(ConfigError, match="nonlinearity must be one of"):
        build_predictor(Conv3dCore(1, 4, 1), {"kind": "gaussian2d"}, {"a": {"n_units": 5}}, nonlinearity="relu")


def test_recurrent_modulator_is_causal_and_starts_at_one():
    mod = RecurrentModulator(2, 3)
    b = torch.randn(4, 9, 2)
    torch.testing.assert_close(mod(b), torch.ones(4, 9, 3))  # the last layer starts at zero
    with torch.no_grad():
        mod.out.weight.normal_()
    later = b.clone()
    later[:, 5:] = torch.randn_like(later[:, 5:])
    torch.testing.assert_close(mod(later)[:, :5], mod(b)[:, :5])  # no peeking at later behaviour
    earlier = b.clone()
    earlier[:, 0] += 3.0
    assert (mod(earlier)[:, 8] - mod(b)[:, 8]).abs().max() > 1e-4  # but it remembers the past
    assert mod(b[:, 0]).shape == (4, 3)  # one frame


def test_gru_modulator_trains_in_a_time_resolved_run(tmp_path):
    from cortexkit import data
    from cortexkit.pipelines.predictor import evaluate_predictor, train_predictor
    from tests.data.readers.test_sensorium2023 import make_mouse

    make_mouse(tmp_path / "mouse", ["train"] * 6 + ["oracle"] * 4, [20] * 10, repeat_of={7: 6, 9: 8})
    store = data.convert(tmp_path / "mouse", tmp_path / "m.zarr", "sensorium2023")
    cfg = PredictorConfig(data=[SessionSpec(path=str(store), key="mouseA")],
                          core={"kind": "transformer", "image_size": [6, 10], "frames": 20, "patch": 2, "dim": 8, "depth": 1,
                                "heads": 2, "attention": "parallel", "grad_checkpointing": True},
                          modulator="gru", shifter=True, nonlinearity="exp", epochs=2, batch_size=4, skip_frames=5,
                          val_fraction=0.2)
    run = train_predictor(cfg, tmp_path / "run", log=lambda m: None)
    assert isinstance(run.model.modulators["mouseA"], RecurrentModulator)
    summary = evaluate_predictor(run, tmp_path / "run")
    assert np.isfinite(summary["median_single_trial_correlation"]).all()
    with pytest.raises(Exception, match="modulator"):
        PredictorConfig(data=cfg.data, modulator="lstm")
