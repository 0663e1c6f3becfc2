"""The input-output Jacobian of random networks at init, measured and predicted.

J = prod_{l=L..1} D^l W^l, D^l = diag(phi'(h^l)), for L square layers of width N; lambda
are the eigenvalues of J J^T (the squared singular values of J). Dynamical isometry is the
whole distribution of lambda concentrated at 1 (Saxe et al. 2014; Pennington, Schoenholz &
Ganguli 2017, "Resurrecting the sigmoid in deep learning through dynamical isometry").

- `sample_squared_singular_values`: lambda of `nets` random networks (torch float64, CPU),
  weights from any initializer spec (its `fill`, in float64), biases from its sigma_b^2,
  the input chosen so that every layer sits at the fixed point: x^0 = phi(sqrt(q*) z), so
  q^1 = sigma_w^2 E[phi^2] + sigma_b^2 = q*.
- Free probability (Pennington et al. 2017, Sec. 3): the S-transform of J J^T is the
  product of those of the D^2 and of the W W^T, S_{JJ^T} = S_{D^2}^L S_{WW^T}^L, with
  S_{WW^T}(u) = sigma_w^-2 (1 + s_1 u + ...): s_1 = 0 for orthogonal W (S = sigma_w^-2) and
  s_1 = -1 for i.i.d. entries (Marchenko-Pastur at ratio 1, S = sigma_w^-2 / (1 + u);
  uniform entries alike, by universality). With mu_k = E[phi'(sqrt(q*) z)^(2k)]:

      E[lambda]   = (sigma_w^2 mu_1)^L                                   (1 at chi_1 = 1)
      Var[lambda] = E[lambda]^2 L (mu_2 / mu_1^2 - 1 - s_1)

  (from S(u) = m_1^-1 (1 - (m_2 - m_1^2) / m_1^2 u + ...), whose relative variances add
  over free factors; at criticality this is the paper's sigma^2_JJ^T = L (mu_2/mu_1^2 - 1
  - s_1)). Linear Gaussian nets: Var = L; linear orthogonal: 0 (all lambda = 1); ReLU:
  mu_2 / mu_1^2 = 2, so Var >= L whatever the weights.
- Densities: the linear Gaussian network's lambda follow the Fuss-Catalan law of order L
  (squared singular values of a product of L Ginibre matrices; parametric form of
  Haagerup & Moller 2013, `fuss_catalan_density`); in general `free_density` solves the
  S-transform equation numerically along the spectrum's curve in the complex plane
  (as Pennington et al. do), for any activation at its fixed point, orthogonal or i.i.d.
  weights.

numpy, pandas and torch load on first use.
"""

from __future__ import annotations

import math
from functools import lru_cache

from trainability.analysis.mean_field import (
    _activation,
    _phi,
    fixed_point,
    gaussian_moments,
    sigmas,
)
from trainability.lazy import lazy_import
from trainability.nets.activations import Activation
from trainability.nets.initializers import INITIALIZERS, Initializer
from trainability.registry import parse_spec

np = lazy_import("numpy")
torch = lazy_import("torch")

#: Initializers whose weights are (scaled) orthogonal matrices: s_1 = 0.
ORTHOGONAL_INITIALIZERS = ("orthogonal", "critical_orthogonal")


def _initializer(initializer: str | Initializer) -> Initializer:
    return INITIALIZERS.build(initializer) if isinstance(initializer, str) else initializer


def weight_s1(initializer: str | Initializer) -> float:
    """s_1 of the initializer's W W^T: 0 for orthogonal weights, -1 for i.i.d. entries."""
    name = parse_spec(_initializer(initializer).name).name
    return 0.0 if name in ORTHOGONAL_INITIALIZERS else -1.0


def layer_parameters(activation: str | Activation, initializer: str | Initializer,
                     width: int, q: float | None = None) -> dict[str, float]:
    """sigma_w^2 = N Var[W], sigma_b^2, s_1 and the pre-activation variance q the spectrum is
    taken at (q*, the length map's fixed point from q = 1, unless given)."""
    act, init = _activation(activation), _initializer(initializer)
    sw2, sb2 = sigmas(init, width)
    if q is None:
        q = float(fixed_point(act, sw2, sb2))
        if not math.isfinite(q):
            raise ValueError(f"{act.name} with {init.name}: the length map has no finite "
                             "fixed point; pass q")
    return {"sw2": sw2, "sb2": sb2, "s1": weight_s1(init), "q": float(q)}


def sample_squared_singular_values(activation: str | Activation,
                                   initializer: str | Initializer, width: int = 200,
                                   depth: int = 100, nets: int = 4, q: float | None = None,
                                   seed: int = 0) -> np.ndarray:
    """(nets, width): the eigenvalues lambda of J J^T, ascending, for `nets` random networks
    of `depth` layers of `width` units (float64; weights drawn by the initializer's fill in
    float64 with a torch.Generator seeded `seed`; biases by `draw_bias`).

    The input of each net is phi(sqrt(q) z), z ~ N(0, I), q = q* by default, so the first
    pre-activations have variance q* like every other layer. Runs on one torch thread
    (restored after): four depth-100, width-200 nets take about 1 s (orthogonal weights:
    one QR per layer). Squared singular values below ~1e-16 of the largest are round-off.
    """
    act, init = _activation(activation), _initializer(initializer)
    q = layer_parameters(act, init, width, q)["q"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 200 x 200 QRs and products: one thread is as fast, and much
    try:                      # faster when other work shares the cores
        return _sample(act, init, width, depth, nets, q, seed)
    finally:
        torch.set_num_threads(threads)


def _sample(act: Activation, init: Initializer, width: int, depth: int, nets: int, q: float,
            seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    dtype = torch.float64
    x = _phi(act, math.sqrt(q) * torch.randn(nets, 1, width, generator=generator,
                                                dtype=dtype))[0]
    product = torch.eye(width, dtype=dtype).expand(nets, width, width)
    for _ in range(depth):
        weights = torch.empty(nets, width, width, dtype=dtype)  # (fan_out, fan_in) layout
        biases = torch.empty(nets, 1, width, dtype=dtype)
        for k in range(nets):
            init.fill(weights[k], generator)
            biases[k, 0] = init.draw_bias(width, generator).to(dtype)
        weights = weights.transpose(1, 2)  # (fan_in, fan_out): h = x W + b
        value, slope = _phi(act, x @ weights + biases)
        product = (product @ weights) * slope  # row form: dx^L = dx^0 P, P = J^T
        x = value
    return (torch.linalg.svdvals(product) ** 2).flip(-1).numpy()


# ---- predictions ----------------------------------------------------------------------------
def spectrum_moments(activation: str | Activation, sw2: float, q: float, depth: int,
                     s1: float) -> tuple[float, float]:
    """(E[lambda], Var[lambda]) of J J^T in the free-probability limit (module docstring)."""
    moments = gaussian_moments(activation, q)
    mu1, mu2 = float(moments["slope2"]), float(moments["slope4"])
    mean = (sw2 * mu1) ** depth
    return mean, mean * mean * depth * (mu2 / (mu1 * mu1) - 1.0 - s1)


def predicted_moments(activation: str | Activation, initializer: str | Initializer,
                      width: int, depth: int, q: float | None = None) -> dict[str, float]:
    """`layer_parameters` plus the predicted "mean" and "variance" of lambda."""
    params = layer_parameters(activation, initializer, width, q)
    mean, variance = spectrum_moments(activation, params["sw2"], params["q"], depth,
                                      params["s1"])
    return params | {"mean": mean, "variance": variance}


def fuss_catalan_moment(depth: int, k: int) -> float:
    """E[lambda^k] of the Fuss-Catalan law of order L: binom((L+1) k, k) / (L k + 1)."""
    return math.comb((depth + 1) * k, k) / (depth * k + 1)


def fuss_catalan_density(depth: int, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, density), lambda ascending over (0, (L+1)^(L+1) / L^L]: the squared singular
    values of a product of L N x N matrices of i.i.d. N(0, 1/N) entries (N -> inf), i.e.
    of a linear network with Gaussian weights at sigma_w^2 = 1 (scale lambda by
    sigma_w^(2L) otherwise). Parametric (Haagerup & Moller 2013), 0 < phi < pi/(L+1):

        lambda = sin((L+1) phi)^(L+1) / (sin(phi) sin(L phi)^L)
        density = sin(phi)^2 sin(L phi)^(L-1) / (pi sin((L+1) phi)^L)
    """
    phi = np.linspace(0.0, math.pi / (depth + 1), points + 2)[1:-1]
    lam, weighted = _fuss_catalan(depth, phi)
    with np.errstate(over="ignore", divide="ignore"):
        density = weighted / lam
    return lam[::-1], density[::-1]


def _fuss_catalan(depth: int, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, lambda * density) at phi: the second is sin(phi) sin((L+1) phi) /
    (pi sin(L phi)) = |Im M(lambda)| / pi, bounded where the density is not."""
    s1, sl, sl1 = np.sin(phi), np.sin(depth * phi), np.sin((depth + 1) * phi)
    with np.errstate(over="ignore", divide="ignore"):
        lam = np.exp((depth + 1) * np.log(sl1) - np.log(s1) - depth * np.log(sl))
    return lam, s1 * sl1 / (math.pi * sl)


def fuss_catalan_cdf(depth: int, lam) -> np.ndarray:
    """P(lambda' <= lam) under the Fuss-Catalan law of order L (Gauss-Legendre over phi of
    density |d lambda / d phi|; accurate to ~1e-10)."""
    edges, cumulative = _fuss_catalan_table(depth)
    return np.interp(np.asarray(lam, dtype=float), edges, cumulative, left=0.0, right=1.0)


@lru_cache(maxsize=16)
def _fuss_catalan_table(depth: int, panels: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    # d lambda / d phi = lambda [(L+1)^2 cot((L+1) phi) - cot(phi) - L^2 cot(L phi)]; the
    # CDF at lambda(phi) is the integral of density |d lambda/d phi| from phi to pi/(L+1).
    x, w = np.polynomial.legendre.leggauss(8)
    top = math.pi / (depth + 1)
    bounds = top * (1 - np.cos(np.linspace(0, math.pi / 2, panels + 1)))  # fine near 0
    low, high = bounds[:-1, None], bounds[1:, None]
    phi = (low + high) / 2 + (high - low) / 2 * x
    _, weighted = _fuss_catalan(depth, phi)  # lambda * density
    log_slope = np.abs((depth + 1) ** 2 / np.tan((depth + 1) * phi) - 1 / np.tan(phi)
                       - depth ** 2 / np.tan(depth * phi))  # |d ln(lambda) / d phi|
    mass = ((high - low)[:, 0] / 2) * (weighted * log_slope * w).sum(-1)
    beyond = np.concatenate([np.cumsum(mass[::-1])[::-1], [0.0]])  # phi' in [bounds[i], top]
    edges, _ = _fuss_catalan(depth, np.clip(bounds, 1e-300, top * (1 - 1e-15)))
    return edges[::-1].copy(), (beyond / beyond[0])[::-1].copy()


# ---- the free multiplicative convolution, numerically --------------------------------------
#: The trapezoid grid over z of the D^2 measure in `free_density`: the integrand of
#: M_{D^2}(w) has poles near the real z axis when w nears the support, where a uniform grid
#: converges far faster than Gauss rules, whose nodes are sparse in the middle.
FREE_GRID_STEP = 0.004
FREE_GRID_CUTOFF = 10.0


def free_density(activation: str | Activation, sw2: float, q: float, depth: int, s1: float,
                 max_step: float = 0.01, low: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, density) of J J^T in the large-width limit, lambda ascending, by solving the
    S-transform equation of Pennington et al. (2017) numerically.

    With u = M_{JJ^T}(lambda) (M(z) = sum_k m_k / z^k) and w = M_{D^2}^{-1}(u) (D^2 the law of
    phi'(sqrt(q) z)^2), S_{JJ^T} = S_{D^2}^L S_{WW^T}^L and S(u) = (1 + u) / (u M^{-1}(u))
    give

        lambda = sigma_w^(2L) w^L u^(L-1) (1 + u)^(1 - L - s_1 L),   u = E[x / (w - x)].

    The spectrum is the curve of complex w on which lambda is real: it leaves the real axis
    at the upper edge (the minimum of lambda(w) for real w above the support of D^2) and is
    followed by Newton continuation in ln(lambda) (steps <= max_step) down to the lower edge
    or to `low` times the upper edge; density = |Im u| / (pi lambda). Checked against the
    Fuss-Catalan law (linear, i.i.d.) and against sampled spectra (tests). Returns empty
    arrays where the spectrum is a point mass (linear network, orthogonal weights: every
    lambda = sigma_w^(2L)).
    """
    act = _activation(activation)
    h = FREE_GRID_STEP
    z = np.arange(-FREE_GRID_CUTOFF, FREE_GRID_CUTOFF + h / 2, h)
    slope = _phi(act, torch.tensor(math.sqrt(q) * z, dtype=torch.float64))[1].numpy()
    x = slope * slope
    a = h * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    a = a / a.sum()
    keep = a * x > 1e-300
    x, a = x[keep], a[keep]
    if np.ptp(x) <= 1e-12 * x.max() and s1 == 0:
        return np.empty(0), np.empty(0)
    power = 1.0 - depth - s1 * depth
    log_scale = depth * math.log(sw2)

    def f_and_slope(w):
        d = w - x
        u = np.sum(a * x / d)
        du = -np.sum(a * x / (d * d))
        value = log_scale + depth * np.log(w) + (depth - 1) * np.log(u) + power * np.log1p(u)
        return value, depth / w + ((depth - 1) / u + power / (1 + u)) * du, u, du, d

    def second(w):
        _, _, u, du, d = f_and_slope(w)
        ddu = 2 * np.sum(a * x / (d * d * d))
        coef = (depth - 1) / u + power / (1 + u)
        return (-depth / w ** 2 + coef * ddu
                - ((depth - 1) / u ** 2 + power / (1 + u) ** 2) * du * du)

    # The upper edge: the largest critical point of lambda(w) for real w > max x.
    top = x.max()
    grid = top + np.logspace(-12, 6, 1500) * max(top, 1e-300)
    d = grid[:, None] - x
    u, du = (a * x / d).sum(-1), -(a * x / (d * d)).sum(-1)
    slopes = depth / grid + ((depth - 1) / u + power / (1 + u)) * du
    sign_change = np.nonzero((slopes[:-1] < 0) & (slopes[1:] >= 0))[0]
    if len(sign_change) == 0:
        return np.empty(0), np.empty(0)
    lo, hi = grid[sign_change[-1]], grid[sign_change[-1] + 1]
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f_and_slope(mid)[1] < 0 else (lo, mid)
    edge = (lo + hi) / 2
    t_edge = f_and_slope(edge)[0]
    curvature = second(edge)
    start = 1e-8
    w = complex(edge, math.sqrt(2 * start / curvature))
    t, step = t_edge - start, 1e-6
    t_low = t_edge + math.log(low)
    lams, densities = [], []
    while t > t_low:
        target = max(t - step, t_low)
        value, dvalue, *_ = f_and_slope(w)
        guess = w + (target - t) / dvalue
        converged = False
        for _ in range(30):
            value, dvalue, *_ = f_and_slope(guess)
            residual = complex(value.real - target,
                               (value.imag + math.pi) % (2 * math.pi) - math.pi)
            guess = guess - residual / dvalue
            if abs(residual) < 1e-11:
                converged = True
                break
        if not converged or not np.isfinite(guess):
            step /= 2
            if step < 1e-12:
                break
            continue
        w, t = guess, target
        u = f_and_slope(w)[2]
        lam = math.exp(t)
        lams.append(lam)
        densities.append(abs(u.imag) / (math.pi * lam))
        if abs(w.imag) < 1e-13 * abs(w) and len(lams) > 10:
            break  # back on the real axis: the lower edge
        step = min(step * 1.5, max_step)
    lam, first = np.unique(np.array(lams), return_index=True)  # ascending, once each
    return lam, np.array(densities)[first]
