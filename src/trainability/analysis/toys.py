"""Computations without tables, each defined once: the figures draw them, the claims judge them.

- Products of random Gaussian matrices (claim S9, the `matrix_product` figure): the norm of
  the running product and the top Lyapunov exponent that predicts its growth.
- The logistic sigmoid's derivative (claim S10, the `sigmoid_derivative` figure), at most
  1/4, so back-propagation through L sigmoid layers multiplies at most 0.25^L.

numpy and scipy load on first use: the figures import this module, and the workflow imports
the figures when it plans (trainability.lazy).
"""

from __future__ import annotations

import math

from trainability.lazy import lazy_import

np = lazy_import("numpy")
special = lazy_import("scipy.special")

#: The largest value of the sigmoid's derivative, sigma'(0) = 1/4.
SIGMOID_DERIVATIVE_BOUND = 0.25


def random_matrix_product_norms(n_matrices: int = 100, size: int = 4, draws: int = 200,
                                seed: int = 0, *, scale: float = 1.0, ord: int | str = 2,
                                running: bool = False, log10: bool = False) -> np.ndarray:
    """Norms of products of `n_matrices` random `size` x `size` matrices with i.i.d.
    N(0, scale^2) entries, over `draws` independent products (numpy Generator `seed`).

    Args:
        ord: 2 = spectral norm, "fro" = Frobenius norm.
        running: return (draws, n_matrices): the norm after each factor; else (draws,).
        log10: return log10 of the norms (computed without overflow: the product is
            renormalized after each factor and the log scale accumulated).
    """
    rng = np.random.default_rng(seed)
    product = np.broadcast_to(np.eye(size), (draws, size, size)).copy()
    log_scale = np.zeros(draws)
    history = np.empty((draws, n_matrices))
    for k in range(n_matrices):
        factors = rng.standard_normal((draws, size, size)) * scale
        product = factors @ product
        norm = np.linalg.norm(product, ord=ord, axis=(-2, -1))
        log_scale += np.log10(norm)
        product /= norm[:, None, None]
        history[:, k] = log_scale
    out = history if running else history[:, -1]
    if log10:
        return out.copy()
    with np.errstate(over="ignore"):
        return np.power(10.0, out)


def top_lyapunov_exponent(size: int = 4, scale: float = 1.0) -> float:
    """Top Lyapunov exponent (natural log, per factor) of products of size x size matrices
    with i.i.d. N(0, scale^2) entries: (ln 2 + digamma(size / 2)) / 2 + ln(scale)
    (Newman 1986); 0.558 for 4 x 4 standard Gaussian matrices."""
    return 0.5 * (math.log(2.0) + float(special.digamma(size / 2))) + math.log(scale)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic sigmoid 1 / (1 + exp(-x)) (scipy.special.expit: no overflow)."""
    return special.expit(x)


def sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    """sigma'(x) = sigma(x) (1 - sigma(x))."""
    s = sigmoid(x)
    return s * (1.0 - s)


def sigmoid_derivative_max(low: float = -10.0, high: float = 10.0, points: int = 200_001
                           ) -> float:
    """max of sigma'(x) on a grid of `points` over [low, high] (0.25, at x = 0)."""
    return float(np.max(sigmoid_derivative(np.linspace(low, high, points))))
