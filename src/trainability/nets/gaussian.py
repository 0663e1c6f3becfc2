"""Expectations over a standard normal variable, by quadrature.

The one primitive that the critical initializer (`trainability.nets.initializers`) and the
mean-field theory (`trainability.analysis.mean_field`) share: E_z[f(z)], z ~ N(0, 1), as a
weighted sum over fixed nodes, sum_i w_i f(z_i).

Two rules:

- `normal_rule` (the default): Gauss-Legendre on each half-line [-Z, 0] and [0, Z], with the
  normal density folded into the weights. Every activation of the registry is smooth except
  at s = 0 (ReLU and its leaky kin: a kink; SELU: a jump of f'; ELU: a jump of f''), so
  splitting at 0 makes every integrand of the theory smooth on each piece, and the rule
  converges geometrically for all of them: closed forms hold to ~1e-14 (tests). Z = 12
  leaves out a tail mass of 2e-33.
- `hermite_rule`: Gauss-Hermite (numpy.polynomial.hermite_e.hermegauss, weight
  exp(-z^2/2)), normalized to the standard normal. Exact for polynomials of degree < 2n,
  but it converges only algebraically across a kink (and an odd n puts a node on it), so
  it is kept for smooth integrands and as a cross-check.

numpy is loaded on first use (planning builds initializers without it; trainability.lazy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

from trainability.lazy import lazy_import

np = lazy_import("numpy")

#: Nodes per half-line of `normal_rule`.
NODES_PER_HALF = 160
#: Where `normal_rule` cuts the half-lines: the normal mass beyond +-12 is 2e-33.
CUTOFF = 12.0


@lru_cache(maxsize=8)
def normal_rule(nodes_per_half: int = NODES_PER_HALF, cutoff: float = CUTOFF
                ) -> tuple[np.ndarray, np.ndarray]:
    """(z, w): nodes and weights with sum_i w_i f(z_i) ~= E[f(z)], z ~ N(0, 1).

    Gauss-Legendre with `nodes_per_half` nodes on [-cutoff, 0] and on [0, cutoff], each
    weight multiplied by the normal density at its node, then normalized to sum to 1;
    2 * nodes_per_half nodes, sorted, none at 0. The arrays are read-only (cached).
    """
    x, w = np.polynomial.legendre.leggauss(nodes_per_half)
    half = cutoff / 2
    z = half * (x + 1.0)  # [0, cutoff]
    weights = half * w * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    nodes = np.concatenate([-z[::-1], z])
    weights = np.concatenate([weights[::-1], weights])
    weights /= weights.sum()  # the cut tail and round-off: E[1] = 1 exactly
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


@lru_cache(maxsize=8)
def hermite_rule(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """(z, w): Gauss-Hermite nodes and weights normalized to the standard normal (the
    weights of hermegauss sum to sqrt(2 pi)); exact for polynomials of degree < 2n."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2.0 * math.pi)
    z.flags.writeable = False
    w.flags.writeable = False
    return z, w


def expectation(fn: Callable[[np.ndarray], np.ndarray], variance: float = 1.0) -> float:
    """E[fn(sqrt(variance) z)], z ~ N(0, 1), by `normal_rule` (fn: numpy, elementwise)."""
    if not variance >= 0:
        raise ValueError(f"a variance must be >= 0, got {variance}")
    z, w = normal_rule()
    return float(np.dot(w, fn(math.sqrt(variance) * z)))


def tanh_critical_point(q: float) -> tuple[float, float]:
    """(sigma_w^2, sigma_b^2) that put a tanh network at the order-to-chaos boundary with the
    length-map fixed point q* = q (Pennington, Schoenholz & Ganguli 2017, Sec. 2):

        chi_1 = sigma_w^2 E[tanh'(sqrt(q) z)^2] = 1   ->  sigma_w^2 = 1 / E[tanh'(sqrt(q) z)^2]
        q = sigma_w^2 E[tanh(sqrt(q) z)^2] + sigma_b^2 ->  sigma_b^2 = q - sigma_w^2 E[tanh^2]

    q is a pre-activation variance (dimensionless); sigma_b^2 >= 0 for every q > 0 (it is
    O(q^3) as q -> 0, where sigma_w^2 -> 1 + 2q).
    """
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"the fixed point q* must be a finite number > 0, got {q}")
    return _tanh_critical_point(float(q))


@lru_cache(maxsize=64)
def _tanh_critical_point(q: float) -> tuple[float, float]:
    slope_sq = expectation(lambda s: (1.0 - np.tanh(s) ** 2) ** 2, q)
    second = expectation(lambda s: np.tanh(s) ** 2, q)
    sw2 = 1.0 / slope_sq
    return sw2, max(q - sw2 * second, 0.0)
