"""Initializers match their formulas; activations have the right values and derivatives."""

import math

import pytest
import torch
import torch.nn.functional as F

from trainability.nets import ACTIVATIONS, INITIALIZERS
from trainability.nets.activations import SELU_ALPHA, SELU_LAMBDA
from trainability.nets.initializers import TRUNCATED_NORMAL_STD
from trainability.registry import Spec, parse_spec

FANS = [(1024, 1000), (1000, 1000), (1000, 9), (784, 300), (50, 2000)]


def draw(spec: str, fan_in: int, fan_out: int, seed: int = 0) -> torch.Tensor:
    return INITIALIZERS.build(spec)(fan_in, fan_out, torch.Generator().manual_seed(seed))


def uniform_bound(spec, fan_in, fan_out):
    return {
        "standard": 1 / math.sqrt(fan_in),
        "normalized": math.sqrt(6 / (fan_in + fan_out)),
        "he_uniform": math.sqrt(6 / fan_in),
    }[spec]


@pytest.mark.parametrize("fan_in,fan_out", FANS)
@pytest.mark.parametrize("spec", ["standard", "normalized", "he_uniform"])
def test_uniform_initializers_bounds_and_variance(spec, fan_in, fan_out):
    w = draw(spec, fan_in, fan_out)
    bound = uniform_bound(spec, fan_in, fan_out)
    assert w.shape == (fan_in, fan_out) and w.dtype == torch.float32
    assert w.abs().max() <= bound
    assert w.abs().max() > 0.99 * bound  # the whole interval is used
    n = w.numel()
    expected = bound**2 / 3
    # The sample variance of n uniforms has relative std sqrt(0.8/n).
    assert abs(w.var().item() / expected - 1) < 5 * math.sqrt(0.8 / n)
    assert abs(w.mean().item()) < 5 * math.sqrt(expected / n)


def test_paper_numeric_bounds():
    """The reference's table of bounds (Sec. 1.5)."""
    assert draw("standard", 1024, 1000).abs().max() <= 0.031250
    assert draw("normalized", 1024, 1000).abs().max() <= 0.054447 + 1e-6
    assert draw("normalized", 1000, 9).abs().max() > 0.0770  # output layer: 0.077113
    assert math.isclose(uniform_bound("normalized", 3072, 1000), 0.038386, abs_tol=1e-6)


@pytest.mark.parametrize("fan_in,fan_out", FANS)
@pytest.mark.parametrize("spec,variance", [
    ("xavier_normal", lambda i, o: 2 / (i + o)),
    ("he_normal", lambda i, o: 2 / i),
    ("lecun_normal", lambda i, o: 1 / i),
    ("variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal", lambda i, o: 2 / i),
    ("variance_scaling:scale=1,mode=fan_out,distribution=normal", lambda i, o: 1 / o),
    ("variance_scaling:scale=3,mode=fan_avg,distribution=uniform", lambda i, o: 6 / (i + o)),
    ("variance_scaling:1,fan_in,untruncated_normal", lambda i, o: 1 / i),
])
def test_variance_of_initializers(spec, variance, fan_in, fan_out):
    w = draw(spec, fan_in, fan_out).double()
    expected = variance(fan_in, fan_out)
    n = w.numel()
    assert abs(w.var().item() / expected - 1) < 6 * math.sqrt(2 / n)


def test_truncated_normal_is_truncated_at_two_pre_truncation_stds():
    w = draw("variance_scaling:scale=1,mode=fan_in,distribution=truncated_normal", 400, 3000)
    limit = 2 * math.sqrt(1 / 400) / TRUNCATED_NORMAL_STD
    assert w.abs().max() <= limit
    assert w.abs().max() > 0.98 * limit


def test_orthogonal_is_orthogonal_with_gain():
    w = draw("orthogonal:2.0", 300, 200).double()  # (fan_in, fan_out): columns orthogonal
    assert torch.allclose(w.T @ w, 4 * torch.eye(200, dtype=torch.float64), atol=1e-4)


def test_initializers_are_deterministic_per_seed():
    assert torch.equal(draw("normalized", 30, 20, seed=5), draw("normalized", 30, 20, seed=5))
    assert not torch.equal(draw("normalized", 30, 20, seed=5), draw("normalized", 30, 20, seed=6))


@pytest.mark.parametrize("bad", [
    "nonsense", "variance_scaling:mode=fan_sideways", "variance_scaling:distribution=cauchy",
    "variance_scaling:scale=-1", "standard:3",
])
def test_bad_initializer_specs_fail_clearly(bad):
    with pytest.raises(ValueError) as error:
        INITIALIZERS.build(bad)
    assert "\n" not in str(error.value)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: .*normalized.*standard"):
        INITIALIZERS.build("glorot_magic")
    with pytest.raises(ValueError, match="valid names: .*sigmoid.*softsign.*tanh"):
        ACTIVATIONS.build("swishy")


S = torch.linspace(-6, 6, 1201, dtype=torch.float64)


@pytest.mark.parametrize("spec,value,derivative", [
    ("sigmoid", lambda s: 1 / (1 + torch.exp(-s)),
     lambda s: torch.exp(-s) / (1 + torch.exp(-s)) ** 2),
    ("tanh", torch.tanh, lambda s: 1 - torch.tanh(s) ** 2),
    ("softsign", lambda s: s / (1 + s.abs()), lambda s: 1 / (1 + s.abs()) ** 2),
    ("relu", lambda s: s.clamp_min(0), lambda s: (s > 0).double()),
    ("leaky_relu:0.2", lambda s: torch.where(s > 0, s, 0.2 * s),
     lambda s: torch.where(s > 0, 1.0, 0.2).double()),
    ("elu", lambda s: torch.where(s > 0, s, torch.exp(s) - 1),
     lambda s: torch.where(s > 0, 1.0, torch.exp(s))),
    ("selu", lambda s: SELU_LAMBDA * torch.where(s > 0, s, SELU_ALPHA * (torch.exp(s) - 1)),
     lambda s: SELU_LAMBDA * torch.where(s > 0, 1.0, SELU_ALPHA * torch.exp(s))),
    ("identity", lambda s: s, lambda s: torch.ones_like(s)),
])
def test_activation_values_and_derivatives(spec, value, derivative):
    activation = ACTIVATIONS.build(spec)
    s = S[S.abs() > 1e-9]  # avoid the kink of the ReLU family at 0
    assert torch.allclose(activation(s), value(s), atol=1e-12)
    assert torch.allclose(activation.derivative(s), derivative(s), atol=1e-12)


def test_selu_constants_match_torch():
    assert math.isclose(SELU_LAMBDA, 1.0507009873554805, rel_tol=1e-15)
    assert math.isclose(SELU_ALPHA, 1.6732632423543772, rel_tol=1e-15)
    s = torch.linspace(-3, 3, 101)
    assert torch.allclose(ACTIVATIONS.build("selu")(s), F.selu(s))


def test_maximum_slopes_and_saturation_rule():
    assert math.isclose(ACTIVATIONS.build("sigmoid").max_derivative, 0.25, rel_tol=1e-6)
    tanh = ACTIVATIONS.build("tanh")
    assert math.isclose(tanh.max_derivative, 1.0, rel_tol=1e-6)
    # tanh saturates where 1 - z^2 < 0.05, i.e. |z| > 0.975 (|s| > 2.18).
    s = torch.tensor([0.0, 2.1, 2.3, -2.3])
    assert tanh.saturated(s).tolist() == [False, False, True, True]
    relu = ACTIVATIONS.build("relu")
    assert relu.relu_family and relu.saturated(torch.tensor([-1.0, 1.0])).tolist() == [True, False]
    assert not ACTIVATIONS.build("tanh").relu_family


def test_leaky_relu_slope_validation():
    with pytest.raises(ValueError, match="slope"):
        ACTIVATIONS.build("leaky_relu:1.5")


def test_parse_spec():
    assert parse_spec("tanh") == Spec("tanh")
    assert parse_spec("leaky_relu:0.2") == Spec("leaky_relu", (0.2,))
    spec = parse_spec("variance_scaling:2,mode=fan_in")
    assert spec == Spec("variance_scaling", (2,), (("mode", "fan_in"),))
    assert str(spec) == "variance_scaling:2,mode=fan_in"
    with pytest.raises(ValueError):
        parse_spec("variance_scaling:mode=fan_in,2")
    with pytest.raises(ValueError):
        parse_spec("  ")
