"""Mean-field signal propagation (trainability.analysis.mean_field) against closed forms,
known critical points, and wide random networks sampled at init."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from trainability.analysis import mean_field as mf
from trainability.nets.activations import ACTIVATIONS, Activation
from trainability.nets.gaussian import expectation, hermite_rule, normal_rule
from trainability.nets.initializers import INITIALIZERS

ERF = Activation("erf", torch.erf, "erf", "smooth")
Q = np.array([1e-3, 0.1, 0.5, 1.0, 3.0, 10.0])
C = np.array([-0.95, -0.5, 0.0, 0.3, 0.8, 0.99, 1.0])


# ---- quadrature against closed forms ------------------------------------------------------
def test_normal_rule_integrates_moments_and_kinks_exactly():
    z, w = normal_rule()
    assert math.isclose(w.sum(), 1.0, abs_tol=1e-13)
    assert math.isclose(w @ z**2, 1.0, rel_tol=1e-12) and math.isclose(w @ z**4, 3.0, rel_tol=1e-12)
    # E[max(z, 0)] = 1/sqrt(2 pi): a kink at 0, exact with the split rule...
    assert math.isclose(w @ np.maximum(z, 0), 1 / math.sqrt(2 * math.pi), rel_tol=1e-12)
    # ...which Gauss-Hermite only approaches algebraically (why the split rule is the default).
    zh, wh = hermite_rule(101)
    assert abs(wh @ np.maximum(zh, 0) - 1 / math.sqrt(2 * math.pi)) > 1e-4
    # Both agree on a smooth integrand.
    assert math.isclose(expectation(lambda s: np.tanh(s) ** 2, 0.5),
                        wh @ np.tanh(math.sqrt(0.5) * zh) ** 2, rel_tol=1e-9)


@pytest.mark.parametrize("sw2,sb2", [(0.7, 0.0), (1.7, 0.1), (2.0, 0.05)])
def test_length_map_of_linear_and_relu(sw2, sb2):
    np.testing.assert_allclose(mf.length_map("identity", Q, sw2, sb2), sw2 * Q + sb2,
                               rtol=1e-12)
    np.testing.assert_allclose(mf.length_map("relu", Q, sw2, sb2), sw2 * Q / 2 + sb2,
                               rtol=1e-12)
    # Leaky ReLU: (1 + a^2) / 2 of the linear map.
    np.testing.assert_allclose(mf.length_map("leaky_relu:0.2", Q, sw2, 0.0),
                               sw2 * Q * (1 + 0.04) / 2, rtol=1e-12)


def test_erf_length_map_slope_and_arcsine_kernel():
    # Williams (1997): E[erf(u1) erf(u2)] = (2/pi) arcsin(2 S12 / sqrt((1 + 2 S11)(1 + 2 S22))).
    np.testing.assert_allclose(mf.length_map(ERF, Q, 1.3, 0.2),
                               1.3 * 2 / math.pi * np.arcsin(2 * Q / (1 + 2 * Q)) + 0.2,
                               rtol=1e-10)
    # erf'(u) = 2/sqrt(pi) exp(-u^2): E[erf'(u)^2] = (4/pi) / sqrt(1 + 4q).
    np.testing.assert_allclose(mf.chi1(ERF, 1.3, Q), 1.3 * 4 / math.pi / np.sqrt(1 + 4 * Q),
                               rtol=1e-10)
    for q in (0.3, 3.0):
        product = mf.correlation_integrals(ERF, C, q)["product"]
        np.testing.assert_allclose(product, 2 / math.pi * np.arcsin(2 * q * C / (1 + 2 * q)),
                                   rtol=1e-9, atol=1e-12)


def test_relu_arc_cosine_kernel():
    # Cho & Saul (2009): E[relu(u1) relu(u2)] = q (sin t + (pi - t) cos t) / (2 pi), t =
    # arccos c, and E[step(u1) step(u2)] = (pi - t) / (2 pi): kinks on both axes.
    theta = np.arccos(C)
    for q in (0.5, 2.0):
        integrals = mf.correlation_integrals("relu", C, q)
        np.testing.assert_allclose(
            integrals["product"], q * (np.sin(theta) + (math.pi - theta) * np.cos(theta))
            / (2 * math.pi), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(integrals["slope_product"], (math.pi - theta) / (2 * math.pi),
                                   rtol=1e-10)


# ---- critical points ------------------------------------------------------------------------
def test_tanh_at_zero_bias_is_critical_at_unit_weight_variance():
    sw2 = np.array([0.3, 0.7, 1.0])
    q = mf.fixed_point("tanh", sw2, 0.0)
    assert np.all(q == 0.0)
    np.testing.assert_allclose(mf.chi1("tanh", sw2, q), sw2, rtol=1e-12)  # chi_1 = sigma_w^2
    frame = mf.signal_propagation("tanh", [1.0, 1.5], 0.0)
    assert frame.chi1[0] == pytest.approx(1.0, abs=1e-12)
    assert math.isinf(frame.xi_c[0]) and math.isinf(frame.xi_grad[0])
    assert frame.q_star[1] > 0 and frame.chi1[1] > 1  # chaotic beyond
    assert mf.critical_sw2("tanh", [0.0])[0] == pytest.approx(1.0, abs=1e-9)


def test_relu_is_critical_at_two_for_every_bias():
    frame = mf.signal_propagation("relu", [1.0, 2.0, 2.5], [0.1, 0.0, 0.0])
    np.testing.assert_allclose(frame.chi1, [0.5, 1.0, 1.25], rtol=1e-12)
    assert frame.q_star[0] == pytest.approx(0.1 / (1 - 0.5), rel=1e-12)
    assert frame.q_star[1] == 1.0  # scale-invariant: every q is fixed, q0 stays
    assert math.isinf(frame.q_star[2])  # the length map diverges
    np.testing.assert_allclose(mf.critical_sw2("relu", [0.0, 0.05]), 2.0, rtol=1e-9)


def test_critical_line_has_chi1_one_and_its_own_fixed_point():
    line = mf.critical_line("tanh", [0.01, 0.1, 1.0])
    assert (line.sb2 > 0).all()
    q = mf.fixed_point("tanh", line.sw2, line.sb2, q0=3.0)
    np.testing.assert_allclose(q, line.q_star, rtol=1e-9)
    np.testing.assert_allclose(mf.chi1("tanh", line.sw2, q), 1.0, rtol=1e-9)
    sw2 = mf.critical_sw2("tanh", line.sb2)
    np.testing.assert_allclose(sw2, line.sw2, rtol=1e-8)


def test_depth_scales_are_infinite_at_one_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scales = mf.depth_scale([0.0, 0.5, 1.0, 2.0])
    assert scales[0] == 0 and scales[1] == pytest.approx(1 / math.log(2))
    assert math.isinf(scales[2]) and scales[3] == pytest.approx(-1 / math.log(2))


def test_phase_diagram_correlations():
    frame = mf.phase_diagram("tanh", [0.8, 2.0, 4.0], [0.0, 0.05])
    assert len(frame) == 6
    ordered, chaotic = frame[frame.chi1 < 1], frame[frame.chi1 > 1]
    assert (ordered.c_star == 1).all() and (ordered.xi_c > 0).all()
    assert (chaotic.c_star < 1).all() and (chaotic.xi_c > 0).all() and (chaotic.xi_grad < 0).all()
    # c* is a stable fixed point of the correlation map.
    for row in chaotic.itertuples():
        image = mf.correlation_map("tanh", row.c_star, row.q_star, row.sw2, row.sb2)
        assert image == pytest.approx(row.c_star, abs=1e-9)
        assert 0 < row.chi_c < 1
    # Odd activation, no bias: two inputs decorrelate completely in the chaotic phase.
    assert chaotic[chaotic.sb2 == 0].c_star.max() < 1e-9


# ---- per-layer predictions ------------------------------------------------------------------
def values(frame, quantity, stat):
    rows = frame[(frame.quantity == quantity) & (frame.stat == stat)].sort_values("layer")
    return rows.value.to_numpy()


def test_linear_regime_is_the_papers_product_of_factors():
    # Standard init: n Var[W] = 1/3, so every layer divides the variance by 3 (Sec. 4.2.1),
    # and the back-propagated gradient variance by 3 per layer below the top (d - l factors).
    frame = mf.predict_layers_linear("standard", 0.25, 784, 1000, 5)
    np.testing.assert_allclose(values(frame, "activation", "variance"),
                               0.25 / 3 ** np.arange(1, 6), rtol=1e-12)
    np.testing.assert_allclose(values(frame, "backprop_grad", "variance"),
                               3.0 ** -np.arange(4, -1, -1), rtol=1e-12)
    np.testing.assert_allclose(values(frame, "weight_grad", "variance"), 1.0, rtol=1e-12)
    np.testing.assert_allclose(values(frame, "jacobian", "mean_sq_singular_value"), 1 / 3)
    assert set(frame.theory) == {"linear"}


def test_unsupported_activations_say_why():
    for spec in ("maxout", "rrelu", "prelu"):
        reason = mf.supported(spec)
        assert reason and "\n" not in reason
        with pytest.raises(ValueError, match="no mean-field prediction"):
            mf.predict_layers(spec, "normalized", 0.2, 784, 100, 2)
        assert set(mf.predictions(spec, "normalized", 0.2, 784, 100, 2).theory) == {"linear"}
    for spec in ACTIVATIONS.registered():
        if ACTIVATIONS.build(spec).elementwise:
            assert mf.supported(spec) is None


def sample_wide_nets(activation, initializer, width, depth, n_inputs, examples, nets, seed):
    """Per net and hidden layer: pooled pre-activation variance, activation mean and variance,
    the back-propagated gradient variance relative to the top hidden layer (delta^depth =
    f'(s) * N(0, 1) noise), and the mean squared singular value of dz^l/dz^{l-1}."""
    act, init = ACTIVATIONS.build(activation), INITIALIZERS.build(initializer)
    generator = torch.Generator().manual_seed(seed)
    measured, moments = [], []
    for _ in range(nets):
        x = torch.rand(examples, n_inputs, generator=generator, dtype=torch.float64)
        moments.append((x * x).mean(1).numpy())  # pixels in [0, 1], not centred
        h, fan, slopes, weights = x, n_inputs, [], []
        rows = {"pre": [], "mean": [], "var": [], "jac": []}
        for layer in range(depth):
            w = init(fan, width, generator).double()
            s = h @ w + init.draw_bias(width, generator).double()
            h, slope = act(s), act.derivative(s)
            rows["pre"].append((s * s).mean().item())
            rows["mean"].append(h.mean().item())
            rows["var"].append(h.var().item())
            rows["jac"].append(((slope * slope) * (w * w).sum(0)).mean().item() if layer
                               else math.nan)
            slopes.append(slope)
            weights.append(w)
            fan = width
        delta = slopes[-1] * torch.randn(examples, width, generator=generator, dtype=torch.float64)
        grads = [delta.square().mean().item()]
        for layer in range(depth - 2, -1, -1):
            delta = slopes[layer] * (delta @ weights[layer + 1].T)
            grads.insert(0, delta.square().mean().item())
        rows["grad"] = [g / grads[-1] for g in grads]
        measured.append({k: np.array(v) for k, v in rows.items()})
    return measured, np.concatenate(moments)


@pytest.mark.parametrize("activation,initializer", [
    ("tanh", "standard"), ("tanh", "gaussian:sw2=1.5,sb2=0.05"), ("relu", "he_normal"),
])
def test_prediction_matches_wide_networks_within_sampling_error(activation, initializer):
    """Width 1000, depth 6, 8 independent nets (fresh weights and pixel-like inputs): each
    statistic's mean over the nets lies within t_{0.9995, 7} = 5.41 standard errors (the
    spread of the 8 replications; two-sided 0.1% per comparison) plus 2/N for the mean
    field's own O(1/width) finite-width corrections."""
    width, depth, nets = 1000, 6, 8
    measured, moments = sample_wide_nets(activation, initializer, width, depth, 784, 32,
                                         nets, seed=7)
    frame = mf.predict_layers(activation, initializer, moments, 784, width, depth)
    linear = mf.predict_layers_linear(initializer, moments, 784, width, depth)
    t = stats.t.ppf(1 - 0.0005, nets - 1)
    checks = {"pre": ("preactivation", "variance"), "var": ("activation", "variance"),
              "grad": ("backprop_grad", "variance"), "jac": ("jacobian", "mean_sq_singular_value")}
    for key, (quantity, stat) in checks.items():
        predicted = values(frame, quantity, stat)
        data = np.array([m[key] for m in measured])
        if key == "jac":
            data = data[:, 1:]
        if key == "grad":  # the top layer is 1 by construction
            data, predicted = data[:, :-1], predicted[:-1]
        ratio = data / predicted
        error = np.abs(ratio.mean(0) - 1)
        tolerance = t * ratio.std(0, ddof=1) / math.sqrt(nets) + 2 / width
        assert (error <= tolerance).all(), (key, error, tolerance)
        if key == "pre" and activation == "tanh":  # the test can tell the theories apart
            other = values(linear, quantity, stat)[-1] / predicted[-1]
            assert abs(other - 1) > tolerance[-1]
    means = np.array([m["mean"] for m in measured])
    spread = t * means.std(0, ddof=1) / math.sqrt(nets) + 2 / width
    assert (np.abs(means.mean(0) - values(frame, "activation", "mean")) <= spread).all()
