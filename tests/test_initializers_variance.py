"""Initializers state their exact weight variance and their bias variance; the bias-variance
spellings, the `gaussian` alias and the critical orthogonal initializer."""

import math
import os
import subprocess
import sys

import pytest
import torch

from trainability.nets.gaussian import tanh_critical_point
from trainability.nets.initializers import CRITICAL_Q, INITIALIZERS, Initializer
from trainability.train.config import MemberConfig, canonical_member

FANS = [(1000, 1000), (784, 300), (50, 2000)]
SPECS = ["standard", "normalized", "xavier_normal", "he_uniform", "he_normal", "lecun_normal",
         "variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal",
         "variance_scaling:scale=1,mode=fan_out,distribution=normal",
         "variance_scaling:scale=3,mode=fan_avg,distribution=uniform",
         "gaussian:sw2=1.7,sb2=0.05"]
#: Spellings that existed before bias variances: each must stay exactly as it was.
EXISTING = ["standard", "normalized", "xavier_normal", "he_uniform", "he_normal", "lecun_normal",
            "orthogonal", "orthogonal:2", "orthogonal:0.5",
            "variance_scaling:scale=1,mode=fan_in,distribution=truncated_normal",
            "variance_scaling:scale=2,mode=fan_avg,distribution=uniform"]


def draw(spec, fan_in, fan_out, seed=0):
    return INITIALIZERS.build(spec)(fan_in, fan_out, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("fan_in,fan_out", FANS)
@pytest.mark.parametrize("spec", SPECS)
def test_stated_variance_matches_samples(spec, fan_in, fan_out):
    w = draw(spec, fan_in, fan_out).double()
    stated = INITIALIZERS.build(spec).variance(fan_in, fan_out)
    # The sample variance of n i.i.d. entries has relative std sqrt((kurtosis - 1) / n) <=
    # sqrt(2 / n) for these laws (normal 3, uniform 1.8, truncated normal < 3): 6 stds.
    assert abs(w.var().item() / stated - 1) < 6 * math.sqrt(2 / w.numel())


@pytest.mark.parametrize("fan_in,fan_out", FANS)
@pytest.mark.parametrize("spec", ["orthogonal", "orthogonal:2", "critical_orthogonal:q=0.5"])
def test_orthogonal_variance_is_exact(spec, fan_in, fan_out):
    # gain Q with Q (semi-)orthogonal: sum of squares gain^2 min(fan_in, fan_out), so the mean
    # square is gain^2 / max(fan_in, fan_out) exactly (float32 round-off only).
    w = draw(spec, fan_in, fan_out).double()
    stated = INITIALIZERS.build(spec).variance(fan_in, fan_out)
    assert w.square().mean().item() == pytest.approx(stated, rel=1e-5)


def test_an_initializer_that_states_no_variance_says_so():
    bare = Initializer("plugin", lambda weight, generator: None)
    assert bare.bias_variance == 0
    with pytest.raises(ValueError, match="does not state its weight variance"):
        bare.variance(3, 4)


def test_zero_bias_variance_draws_exact_zeros_and_leaves_the_generator_alone():
    for spec in EXISTING:
        init = INITIALIZERS.build(spec)
        generator = torch.Generator().manual_seed(3)
        state = generator.get_state()
        bias = init.draw_bias(17, generator)
        assert init.bias_variance == 0
        assert torch.equal(bias, torch.zeros(17)) and bias.dtype == torch.float32
        assert torch.equal(generator.get_state(), state)


@pytest.mark.parametrize("spec,sb2", [("orthogonal:sb2=0.05", 0.05),
                                      ("gaussian:sw2=2,sb2=0.3", 0.3),
                                      ("variance_scaling:scale=1,sb2=1e-3", 1e-3)])
def test_bias_variance_is_drawn(spec, sb2):
    init = INITIALIZERS.build(spec)
    assert init.bias_variance == sb2
    bias = init.draw_bias(100_000, torch.Generator().manual_seed(0)).double()
    n = bias.numel()
    assert abs(bias.var().item() / sb2 - 1) < 6 * math.sqrt(2 / n)
    assert abs(bias.mean().item()) < 6 * math.sqrt(sb2 / n)


def test_spellings_without_bias_variance_are_unchanged():
    for spec in EXISTING:
        assert INITIALIZERS.build(spec).name == spec
    assert INITIALIZERS.build("orthogonal:1.0").name == "orthogonal"
    assert INITIALIZERS.build("orthogonal:gain=1,sb2=0").name == "orthogonal"
    assert INITIALIZERS.build("orthogonal:gain=2,sb2=0.1").name == "orthogonal:2,sb2=0.1"
    assert INITIALIZERS.build("orthogonal:sb2=0.1").name == "orthogonal:sb2=0.1"
    assert (INITIALIZERS.build("variance_scaling:2,fan_in,normal,sb2=5e-2").name
            == "variance_scaling:scale=2,mode=fan_in,distribution=normal,sb2=0.05")
    for bad in ("orthogonal:sb2=-1", "gaussian:sb2=-0.1", "gaussian:sw2=0",
                "critical_orthogonal:q=0", "critical_orthogonal:q=-1"):
        with pytest.raises(ValueError) as error:
            INITIALIZERS.build(bad)
        assert "\n" not in str(error.value)


def test_gaussian_alias_is_one_network_with_its_variance_scaling_spelling():
    long = "variance_scaling:scale=1.5,mode=fan_in,distribution=normal,sb2=0.05"
    for spec in ("gaussian:sw2=1.5,sb2=0.05", "gaussian:1.5,0.05", long):
        assert INITIALIZERS.build(spec).name == long
        member = canonical_member(MemberConfig("tanh", spec, 0.1, 0))
        assert member.initializer == long
    assert (INITIALIZERS.build("gaussian").name
            == "variance_scaling:scale=1,mode=fan_in,distribution=normal")
    assert torch.equal(draw("gaussian:sw2=1.5,sb2=0.05", 30, 20), draw(long, 30, 20))


def test_critical_orthogonal_puts_tanh_at_the_order_to_chaos_boundary():
    from trainability.analysis import mean_field as mf

    for q in (CRITICAL_Q, 0.1, 1.0):
        init = INITIALIZERS.build(f"critical_orthogonal:q={q}")
        sw2, sb2 = 300 * init.variance(300, 300), init.bias_variance
        assert (sw2, sb2) == pytest.approx(tanh_critical_point(q), rel=1e-12)
        assert sb2 >= 0
        assert mf.chi1("tanh", sw2, q) == pytest.approx(1.0, abs=1e-10)
        assert mf.fixed_point("tanh", sw2, sb2, q0=2.0) == pytest.approx(q, rel=1e-9)
        w = draw(init.name, 300, 300).double()  # gain sigma_w times an orthogonal matrix
        assert torch.allclose(w.T @ w, sw2 * torch.eye(300, dtype=torch.float64), atol=1e-5)
    assert INITIALIZERS.build(f"critical_orthogonal:{CRITICAL_Q}").name == "critical_orthogonal"
    assert INITIALIZERS.build("critical_orthogonal:0.1").name == "critical_orthogonal:q=0.1"
    # Near q* = 0 the boundary approaches (sigma_w^2, sigma_b^2) = (1 + 2 q, O(q^3)).
    sw2, sb2 = tanh_critical_point(1e-4)
    assert sw2 == pytest.approx(1 + 2e-4, rel=1e-6) and 0 <= sb2 < 1e-11


def test_building_the_new_specs_loads_neither_torch_nor_numpy():
    code = ("import sys\n"
            "from trainability.nets.initializers import INITIALIZERS\n"
            "for spec in ('critical_orthogonal:q=0.1', 'gaussian:sw2=2,sb2=0.1',"
            " 'orthogonal:sb2=0.1'):\n"
            "    INITIALIZERS.build(spec).name\n"
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'loaded'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr


def test_networks_draw_biases_from_their_own_stream():
    """A bias variance changes the biases, not the weights: a spec with sb2 and its spelling
    without draw the same weights (the weights' stream is untouched), and the biases of every
    layer have variance sb2; without sb2 they are exactly zero."""
    from trainability.nets.mlp import BundledMLP

    plain = "variance_scaling:scale=1.5,mode=fan_in,distribution=normal"
    net = BundledMLP.initialize(64, 5, 3, 400, ["tanh"] * 2, [plain, f"{plain},sb2=0.05"],
                                [7, 7])
    for w, b in zip(net.weights, net.biases, strict=True):
        torch.testing.assert_close(w[0], w[1], rtol=0, atol=0)
        assert torch.equal(b[0], torch.zeros_like(b[0]))
    # 400 biases per hidden layer: the sample variance is within ~4 standard errors of 0.05
    for b in net.biases[:-1]:
        assert b[1].var().item() == pytest.approx(0.05, rel=4 * math.sqrt(2 / 400))
    other = BundledMLP.initialize(64, 5, 3, 400, ["tanh"], [f"{plain},sb2=0.05"], [8])
    assert not torch.equal(other.biases[0][0], net.biases[0][1])  # seeded per member
