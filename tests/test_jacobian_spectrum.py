"""The input-output Jacobian's spectrum at init: sampled networks against free probability.

trainability.analysis.jacobian_spectrum samples lambda, the eigenvalues of J J^T, of random
networks at the length map's fixed point, and predicts their law (Pennington, Schoenholz &
Ganguli 2017). Sampled moments are compared with the predicted ones within sampling error:
each network's spectrum gives one estimate, and the spread of those estimates over networks
is the error of their mean (4 standard errors allowed). Draws are seeded on the CPU's torch
generator, so every machine draws the same networks; only round-off differs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainability.analysis import jacobian_spectrum as js
from trainability.nets.gaussian import tanh_critical_point

#: Standard errors allowed between a sampled mean over networks and its prediction.
SIGMAS = 4.0


def within_sampling_error(per_net: np.ndarray, predicted: float) -> tuple[float, float]:
    """(|mean - predicted|, SIGMAS standard errors of the mean) of per-network estimates."""
    error = per_net.std(ddof=1) / math.sqrt(len(per_net))
    return abs(per_net.mean() - predicted), SIGMAS * error


def test_a_product_of_orthogonal_matrices_has_every_singular_value_exactly_one():
    lam = js.sample_squared_singular_values("identity", "orthogonal", width=64, depth=30,
                                            nets=2)
    assert lam.shape == (2, 64)
    np.testing.assert_allclose(lam, 1.0, rtol=0, atol=1e-10)
    predicted = js.predicted_moments("identity", "orthogonal", 64, 30)
    assert predicted["s1"] == 0.0 and predicted["mean"] == pytest.approx(1.0, abs=1e-12)
    assert predicted["variance"] == pytest.approx(0.0, abs=1e-12)
    # The free density of a point mass is no curve.
    assert len(js.free_density("identity", 1.0, 1.0, 30, 0.0)[0]) == 0


def test_a_linear_gaussian_network_follows_the_fuss_catalan_law():
    depth, width, nets = 5, 400, 16
    lam = js.sample_squared_singular_values("identity", "gaussian", width=width, depth=depth,
                                            nets=nets, seed=2)
    for k in (1, 2, 3):
        gap, allowed = within_sampling_error((lam ** k).mean(axis=1),
                                             js.fuss_catalan_moment(depth, k))
        assert gap < allowed, (k, gap, allowed)
    # Var = m_2 - m_1^2 = (L + 1) - 1: the free-probability prediction says the same.
    assert js.fuss_catalan_moment(depth, 2) - 1 == depth
    assert js.predicted_moments("identity", "gaussian", width, depth)["variance"] == (
        pytest.approx(depth, rel=1e-12))
    # The whole law, not only its moments: the pooled eigenvalues' CDF is Fuss-Catalan's.
    pooled = np.sort(lam.ravel())
    empirical = np.arange(1, len(pooled) + 1) / len(pooled)
    assert np.abs(js.fuss_catalan_cdf(depth, pooled) - empirical).max() < 0.02


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_the_fuss_catalan_density_integrates_to_one_with_mean_one(depth):
    lam, density = js.fuss_catalan_density(depth)
    assert np.all(np.diff(lam) > 0) and np.all(density > 0)
    assert lam[-1] == pytest.approx((depth + 1) ** (depth + 1) / depth ** depth, rel=1e-5)
    # Integrated over ln(lambda) (lambda * density is bounded); below the grid the density
    # goes as c lambda^(-L/(L+1)), whose mass up to lambda_0 is (L + 1) lambda_0 rho(lambda_0).
    log_lam = np.log(lam)
    tail = (depth + 1) * lam[0] * density[0]
    assert np.trapezoid(lam * density, log_lam) + tail == pytest.approx(1.0, abs=1e-3)
    assert np.trapezoid(lam ** 2 * density, log_lam) == pytest.approx(1.0, abs=1e-4)
    assert np.trapezoid(lam ** 3 * density, log_lam) == pytest.approx(
        js.fuss_catalan_moment(depth, 2), rel=1e-4)
    assert js.fuss_catalan_cdf(depth, lam[-1]) == pytest.approx(1.0, abs=1e-9)
    if depth == 1:  # Marchenko-Pastur at ratio 1: sqrt(4 / lambda - 1) / (2 pi)
        np.testing.assert_allclose(density, np.sqrt(4 / lam - 1) / (2 * math.pi), rtol=1e-6)


def test_the_free_density_of_one_gaussian_layer_is_marchenko_pastur():
    lam, density = js.free_density("identity", 1.0, 1.0, 1, -1.0)
    assert len(lam) > 100 and lam.max() == pytest.approx(4.0, rel=1e-4)
    np.testing.assert_allclose(density, np.sqrt(4 / lam - 1) / (2 * math.pi), rtol=1e-6)


def test_predicted_moments_of_orthogonal_tanh_at_criticality_match_sampled_ones():
    depth, width, nets = 20, 400, 8
    predicted = js.predicted_moments("tanh", "critical_orthogonal", width, depth)
    assert predicted["s1"] == 0.0 and predicted["mean"] == pytest.approx(1.0, abs=1e-9)
    lam = js.sample_squared_singular_values("tanh", "critical_orthogonal", width=width,
                                            depth=depth, nets=nets, seed=1)
    for per_net, key in ((lam.mean(axis=1), "mean"), (lam.var(axis=1), "variance")):
        gap, allowed = within_sampling_error(per_net, predicted[key])
        assert gap < allowed, (key, gap, allowed)
    # Concentrated: 98% of the eigenvalues within a factor 2 of 1. (Each net has one small
    # outlier, ~chi_q^L: along the signal's own direction the length map contracts, by its
    # slope chi_q < chi_1 = 1 at q*.)
    low, high = np.quantile(lam, [0.01, 0.99])
    assert 0.5 < low and high < 2.0
    # The free density solved numerically has the same mean and variance.
    grid, density = js.free_density("tanh", predicted["sw2"], predicted["q"], depth, 0.0)
    log_grid = np.log(grid)
    mass = np.trapezoid(grid * density, log_grid)
    mean = np.trapezoid(grid ** 2 * density, log_grid)
    second = np.trapezoid(grid ** 3 * density, log_grid)
    assert mass == pytest.approx(1.0, abs=2e-3) and mean == pytest.approx(1.0, abs=2e-3)
    assert second - mean ** 2 == pytest.approx(predicted["variance"], rel=0.03)


def test_predicted_moments_of_gaussian_tanh_at_criticality_match_sampled_ones():
    sw2, sb2 = tanh_critical_point(1 / 64)
    spec = f"gaussian:sw2={sw2!r},sb2={sb2!r}"
    depth, width, nets = 10, 200, 8
    predicted = js.predicted_moments("tanh", spec, width, depth)
    assert predicted["s1"] == -1.0 and predicted["q"] == pytest.approx(1 / 64, rel=1e-9)
    assert predicted["mean"] == pytest.approx(1.0, abs=1e-9)
    assert predicted["variance"] > depth  # L (mu_2/mu_1^2 - 1 + 1) > L
    lam = js.sample_squared_singular_values("tanh", spec, width=width, depth=depth,
                                            nets=nets, seed=4)
    for per_net, key in ((lam.mean(axis=1), "mean"), (lam.var(axis=1), "variance")):
        gap, allowed = within_sampling_error(per_net, predicted[key])
        assert gap < allowed, (key, gap, allowed)


@pytest.mark.parametrize("initializer, s1", [("orthogonal:1.4142135623730951", 0.0),
                                             ("he_normal", -1.0)])
def test_relu_never_concentrates_its_spectrum(initializer, s1):
    """phi' is 0 or 1, so mu_2 / mu_1^2 = 2: Var[lambda] = L (1 - s_1) >= L at sigma_w^2 = 2
    whatever the weights; the sampled variance agrees."""
    depth, width, nets = 5, 200, 16
    predicted = js.predicted_moments("relu", initializer, width, depth)
    assert predicted["s1"] == s1 and predicted["sw2"] == pytest.approx(2.0)
    assert predicted["mean"] == pytest.approx(1.0, abs=1e-9)
    assert predicted["variance"] == pytest.approx(depth * (1 - s1), rel=1e-9)
    assert predicted["variance"] >= depth
    lam = js.sample_squared_singular_values("relu", initializer, width=width, depth=depth,
                                            nets=nets, seed=3)
    gap, allowed = within_sampling_error(lam.var(axis=1), predicted["variance"])
    assert gap < allowed
    assert lam.var(axis=1).mean() + allowed >= depth
