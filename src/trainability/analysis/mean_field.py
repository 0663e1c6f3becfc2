"""Signal propagation at initialization: what theory predicts, layer by layer, for any
pointwise activation and initializer.

Two theories, drawn beside the monitor's measurements:

- **The paper's linear regime** (Glorot & Bengio 2010, Sec. 4.2.1; `predict_layers_linear`).
  Units near 0 with f(0) = 0 and f'(0) = 1 (tanh, softsign): the activation variance is the
  input's second moment times a product of n_in Var[W] factors (eq. 5), the back-propagated
  gradient variance of layer l is the top layer's times d - l factors n_out Var[W] (eq. 6:
  as printed, its product has one factor more than the chain rule gives; the paper's own
  eqs. 7 and 13 have d - l, which we use), and the weight gradient is the product of both
  (eq. 14). The inputs are pixels in [0, 1], not centred: the first layer uses E[x^2], not
  Var[x].
- **Mean field** (Poole et al. 2016, "Exponential expressivity in deep neural networks
  through transient chaos"; Schoenholz et al. 2017, "Deep Information Propagation";
  `predict_layers`). Wide layers, h^l = W^l phi(h^{l-1}) + b^l, W^l_ij of variance
  sigma_w^2 / N_{l-1}, b^l_i of variance sigma_b^2. Pre-activations are Gaussian with
  variance q^l, given by the *length map* (Poole et al. eq. 3)

      q^l = sigma_w^2 E_z[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2,   q^1 = sigma_w^2 E[x^2] + sigma_b^2,

  z ~ N(0, 1). Its fixed point q*; the *correlation map* of two inputs at q* (Poole et al.
  eq. 5), c^l = [sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2] / q*, u1 = sqrt(q*) z1,
  u2 = sqrt(q*) (c z1 + sqrt(1 - c^2) z2), and its fixed point c*;
  chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2], its slope at c = 1 (order: chi_1 < 1, chaos:
  chi_1 > 1); the depth scales of Schoenholz et al. (eqs. 5, 9, 15)

      xi_q^-1 = -ln chi_q,  chi_q = sigma_w^2 E[phi'(u)^2 + phi(u) phi''(u)] (slope of the
                                     length map at q*, computed as sigma_w^2 E[phi phi' z]/sqrt(q*)
                                     by Stein's lemma, so that kinks need no phi''),
      xi_c^-1 = -ln chi_c*,  chi_c* = sigma_w^2 E[phi'(u1) phi'(u2)] at c* (= chi_1 if c* = 1),
      xi_grad^-1 = -ln chi_1  (gradients scale as exp(-(L - l)/xi_grad); xi_grad < 0 in the
                               chaotic phase, where they grow over |xi_grad| layers).

  Each is infinite at the order-to-chaos boundary chi_1 = 1 (no warning raised).
  Back-propagated gradients (Schoenholz et al. eq. 13, under their assumption that the
  weights of the backward pass are independent of the forward's):
  Var[delta^l] = E[phi'(h^l)^2] n_{l+1} Var[W^{l+1}] Var[delta^{l+1}], delta^l = dCost/dh^l.
  The mean squared singular value of the layer Jacobian dz^l/dz^{l-1} = D^l W^l (what the
  monitor records as "mean_sq_singular_value") is n_{l-1} Var[W^l] E[phi'(h^l)^2], chi_1
  at the fixed point (Pennington, Schoenholz & Ganguli 2017).

Units: q, variances and sigma_w^2 (= fan_in Var[W]) and sigma_b^2 are those of the
pre-activations, dimensionless like the pixels; depth scales are in layers.

Integrals are sums over the nodes of `trainability.nets.gaussian.normal_rule` (split at 0,
where every registered activation has its kink), in torch float64, with f' from the
Activation (autograd); the correlation integrals use a polar rule split at the four angles
where u1 or u2 vanishes, so kinks do not spoil them either. Maxout, RReLU and PReLU get no
prediction (`supported` says why). numpy, pandas and torch load on first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from trainability.lazy import lazy_import
from trainability.nets.activations import ACTIVATIONS, Activation
from trainability.nets.gaussian import CUTOFF, normal_rule
from trainability.nets.initializers import INITIALIZERS, Initializer

np = lazy_import("numpy")
pd = lazy_import("pandas")
torch = lazy_import("torch")

#: Where the length map is taken to diverge (q* = inf: e.g. ReLU with sigma_w^2 > 2).
Q_DIVERGED = 1e15
#: The pre-activation variance at which chi_1 is evaluated where q* diverges (its limit).
Q_LARGE = 1e10
#: Angular and radial nodes of the polar rule of the correlation integrals (per arc).
POLAR_ANGLE_NODES = 32
POLAR_RADIUS_NODES = 80
#: Columns of the per-layer predictions.
PREDICTION_COLUMNS = ["activation", "initializer", "theory", "layer", "quantity", "stat",
                      "value", "relative"]


# ---- activations ----------------------------------------------------------------------------
def supported(activation: str | Activation) -> str | None:
    """None when the mean field predicts this activation, else why not (one phrase, for the
    figures to print)."""
    act = ACTIVATIONS.build(activation) if isinstance(activation, str) else activation
    if act.pieces > 1:
        return "maxout is the max of several pre-activations, not a function of one"
    if act.random_slopes is not None:
        return "RReLU draws a random slope per unit while training"
    if act.learnable_slope is not None:
        return "PReLU's slope is a trained parameter"
    return None


def _activation(activation: str | Activation) -> Activation:
    act = ACTIVATIONS.build(activation) if isinstance(activation, str) else activation
    reason = supported(act)
    if reason is not None:
        raise ValueError(f"no mean-field prediction for {act.name}: {reason}")
    return act


def _phi(act: Activation, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(phi(s), phi'(s)) in float64, from one forward and one backward pass."""
    with torch.enable_grad():
        s = s.detach().requires_grad_(True)
        value = act(s)
        (slope,) = torch.autograd.grad(value.sum(), s)
    return value.detach(), slope


@lru_cache(maxsize=1)
def _nodes() -> tuple[torch.Tensor, torch.Tensor]:
    z, w = normal_rule()
    return torch.tensor(z, dtype=torch.float64), torch.tensor(w, dtype=torch.float64)


def gaussian_moments(activation: str | Activation, q) -> dict[str, np.ndarray]:
    """Gaussian integrals of phi at pre-activation variance q (any shape), by quadrature.

    Returns arrays of q's shape: "mean" E[phi(u)], "second" E[phi(u)^2], "slope2"
    E[phi'(u)^2], "slope4" E[phi'(u)^4] and "stein" E[phi(u) phi'(u) z] / sqrt(q)
    (= E[phi'^2 + phi phi''], the length map's slope over sigma_w^2), u = sqrt(q) z.
    Below q = 1e-30 "stein" is its limit at q = 0, phi'(0)^2 + phi(0) phi''(0) (evaluated at
    q = 1e-30).
    """
    act = _activation(activation)
    q = np.asarray(q, dtype=float)
    z, w = _nodes()
    root = torch.tensor(np.sqrt(q), dtype=torch.float64).reshape(-1, 1)
    value, slope = _phi(act, root * z)
    slope2 = slope * slope
    out = {"mean": value @ w, "second": (value * value) @ w, "slope2": slope2 @ w,
           "slope4": (slope2 * slope2) @ w}
    tiny = root[:, 0] < 1e-15  # the limit q -> 0 of E[phi phi' z] / sqrt(q)
    floor = torch.where(tiny, torch.full_like(root[:, 0], 1e-15), root[:, 0]).reshape(-1, 1)
    if bool(tiny.any()):
        value, slope = _phi(act, floor * z)
    out["stein"] = (value * slope * z) @ w / floor[:, 0]
    return {k: v.numpy().reshape(q.shape) for k, v in out.items()}


def expectation(fn, q) -> np.ndarray:
    """E_z[fn(sqrt(q) z)], z ~ N(0, 1), for a torch elementwise function (float64 tensors)
    and pre-activation variances q of any shape."""
    q = np.asarray(q, dtype=float)
    z, w = _nodes()
    root = torch.tensor(np.sqrt(q), dtype=torch.float64).reshape(-1, 1)
    with torch.no_grad():
        return (fn(root * z) @ w).numpy().reshape(q.shape)


# ---- the length map and its fixed point ----------------------------------------------------
def length_map(activation: str | Activation, q, sw2, sb2=0.0) -> np.ndarray:
    """q' = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 (Poole et al. 2016, eq. 3), broadcast
    over q, sw2, sb2."""
    q, sw2, sb2 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (q, sw2, sb2)))
    return sw2 * gaussian_moments(activation, q)["second"] + sb2


def fixed_point(activation: str | Activation, sw2, sb2=0.0, q0=1.0, tol: float = 1e-13,
                max_steps: int = 500) -> np.ndarray:
    """q*, where the length map iterated from q0 goes (broadcast over sw2, sb2, q0).

    Newton's method on q' - q where the map contracts (its slope chi_q < 1), plain iteration
    elsewhere. Where the map has a single attracting fixed point (tanh, sigmoid, softsign,
    ReLU with sigma_w^2 < 2, ...) that is q*, whatever q0 > 0; where every q is fixed (ReLU,
    sigma_w^2 = 2, sigma_b = 0; the identity at sigma_w^2 = 1) it is q0; where the map grows
    without bound (ReLU, sigma_w^2 > 2 or = 2 with sigma_b > 0) it is inf. tanh with
    sigma_b = 0, sigma_w^2 <= 1 gives q* = 0 (to ~1e-13).
    """
    act = _activation(activation)
    sw2, sb2, q = (np.array(a, dtype=float) for a in np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (sw2, sb2, q0))))
    done = np.zeros(q.shape, dtype=bool)
    for _ in range(max_steps):
        todo = ~done
        if not todo.any():
            break
        qa = q[todo]
        moments = gaussian_moments(act, qa)
        image = sw2[todo] * moments["second"] + sb2[todo]
        slope = sw2[todo] * moments["stein"]
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = qa - (image - qa) / (slope - 1.0)
        use = (slope < 1.0 - 1e-14) & np.isfinite(newton) & (newton >= 0)
        new = np.where(use, newton, image)
        finished = np.abs(image - qa) <= tol * qa  # the residual, relative: q* may be ~0
        new = np.where(finished, qa, new)
        diverged = new > Q_DIVERGED
        new[diverged] = np.inf
        q[todo] = new
        done[todo] = finished | diverged
    still_growing = ~done & (length_map(act, np.where(done, 1.0, q), sw2, sb2) > q)
    q[still_growing] = np.inf
    # 0 is a fixed point when phi(0) = 0 and sigma_b = 0; Newton only halves q on its way
    # there at the boundary (tanh, sigma_w^2 = 1), so what is left below 1e-12 is 0.
    if float(gaussian_moments(act, 0.0)["second"]) == 0.0:
        q[(q < 1e-12) & (sb2 == 0)] = 0.0
    return q


#: q* = 0 (the ordered phase at sigma_b = 0) is evaluated as its limit from above, at this q:
#: E[phi'(sqrt(q) z)^2] at q = 0 exactly would read phi'(0) alone, which for ReLU is a
#: convention (0), not the limit (1/2).
Q_SMALL = 1e-16


def _finite_q(q: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(q), np.where(q > 0, q, Q_SMALL), Q_LARGE)


def chi1(activation: str | Activation, sw2, q) -> np.ndarray:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q) z)^2] at pre-activation variance q (use q*); where q
    is inf or 0, its limit (evaluated at q = Q_LARGE or Q_SMALL)."""
    sw2, q = np.broadcast_arrays(np.asarray(sw2, dtype=float), np.asarray(q, dtype=float))
    return sw2 * gaussian_moments(activation, _finite_q(q))["slope2"]


#: |ln chi| below this counts as chi = 1 (the quadrature is accurate to ~1e-13).
CRITICAL_TOLERANCE = 1e-12


def depth_scale(chi) -> np.ndarray:
    """-1 / ln(chi): a depth scale in layers from a per-layer factor chi (inf at chi = 1,
    i.e. |ln chi| < CRITICAL_TOLERANCE; 0 at chi = 0; negative where chi > 1: growth over
    |xi| layers); no warnings."""
    chi = np.asarray(chi, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log(chi)
        out = np.full(chi.shape, np.inf)
        np.divide(-1.0, log, out=out, where=np.abs(log) >= CRITICAL_TOLERANCE)
    return out


# ---- correlations ---------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _polar_rule(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes of E over (z1, z2) ~ N(0, I) in polar form, split where u1 or u2 vanishes, for
    each correlation c: (cos theta, cos(theta - theta_c), angle weights, ...) and the radial
    nodes and weights. Shapes (C, A), (C, A), (C, A), (R,), (R,)."""
    x, w = _legendre(POLAR_ANGLE_NODES)
    theta_c = np.arccos(np.clip(c, -1.0, 1.0))  # (C,)
    cuts = np.sort(np.stack([np.full_like(theta_c, -math.pi / 2),
                             np.full_like(theta_c, math.pi / 2),
                             np.mod(theta_c + math.pi / 2 + math.pi, 2 * math.pi) - math.pi,
                             np.mod(theta_c - math.pi / 2 + math.pi, 2 * math.pi) - math.pi],
                            axis=-1), axis=-1)  # (C, 4), in [-pi, pi)
    ends = np.concatenate([cuts, cuts[:, :1] + 2 * math.pi], axis=-1)
    low, high = ends[:, :-1, None], ends[:, 1:, None]  # (C, 4, 1)
    theta = (low + high) / 2 + (high - low) / 2 * x  # (C, 4, A)
    angle_w = (high - low) / 2 * w / (2 * math.pi)
    theta = theta.reshape(len(c), -1)
    angle_w = np.broadcast_to(angle_w, (len(c), 4, len(x))).reshape(len(c), -1)
    r, rw = _legendre(POLAR_RADIUS_NODES)
    r = CUTOFF / 2 * (r + 1.0)
    rw = CUTOFF / 2 * rw * r * np.exp(-0.5 * r * r)
    return np.cos(theta), np.cos(theta - theta_c[:, None]), angle_w, r, rw


def correlation_integrals(activation: str | Activation, c, q) -> dict[str, np.ndarray]:
    """E[phi(u1) phi(u2)] ("product") and E[phi'(u1) phi'(u2)] ("slope_product") for
    u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2), broadcast over c and q."""
    act = _activation(activation)
    c, q = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(q, dtype=float))
    shape = c.shape
    c, q = c.reshape(-1), q.reshape(-1)
    cos1, cos2, angle_w, r, rw = _polar_rule(c)
    t = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    radius = t(np.sqrt(q)[:, None, None] * r[None, None, :])  # (C, 1, R)
    phi1, slope1 = _phi(act, radius * t(cos1)[..., None])  # (C, A, R)
    phi2, slope2 = _phi(act, radius * t(cos2)[..., None])
    weights = t(angle_w)[..., None] * t(rw)  # (C, A, R)
    product = (phi1 * phi2 * weights).sum((-1, -2)).numpy()
    slope_product = (slope1 * slope2 * weights).sum((-1, -2)).numpy()
    return {"product": product.reshape(shape), "slope_product": slope_product.reshape(shape)}


def correlation_map(activation: str | Activation, c, q, sw2, sb2=0.0) -> np.ndarray:
    """c' = [sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2] / q at equal lengths q (use q*;
    Poole et al. 2016, eq. 5), broadcast."""
    c, q, sw2, sb2 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (c, q, sw2, sb2)))
    return (sw2 * correlation_integrals(activation, c, q)["product"] + sb2) / q


def correlation_fixed_point(activation: str | Activation, sw2, sb2, q, steps: int = 42
                            ) -> np.ndarray:
    """c*, the stable fixed point of the correlation map at q (use q*): 1 in the ordered
    phase (chi_1 <= 1) and where q is 0 or inf; else the root of c' - c in [0, 1), by
    bisection (c' >= 0 at c = 0 and c' < c just below 1 when chi_1 > 1)."""
    act = _activation(activation)
    sw2, sb2, q = (np.array(a, dtype=float) for a in np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (sw2, sb2, q))))
    out = np.ones(q.shape)
    chaotic = (chi1(act, sw2, q) > 1.0) & np.isfinite(q) & (q > 1e-12)
    below = 1.0 - 1e-6
    if chaotic.any():
        w2, b2, length = sw2[chaotic], sb2[chaotic], q[chaotic]
        bracketed = correlation_map(act, below, length, w2, b2) < below
        low, high = np.zeros(len(w2)), np.full(len(w2), below)
        for _ in range(steps):
            mid = (low + high) / 2
            above = correlation_map(act, mid, length, w2, b2) >= mid
            low, high = np.where(above, mid, low), np.where(above, high, mid)
        out[chaotic] = np.where(bracketed, (low + high) / 2, 1.0)
    return out


def chi_c(activation: str | Activation, sw2, c, q) -> np.ndarray:
    """chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at correlation c and length q (Schoenholz et
    al. 2017, eq. 9); chi_1 at c = 1."""
    sw2, c, q = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (sw2, c, q)))
    return sw2 * correlation_integrals(activation, c, _finite_q(q))["slope_product"]


# ---- the phase diagram ----------------------------------------------------------------------
def signal_propagation(activation: str | Activation, sw2, sb2=0.0, q0=1.0) -> pd.DataFrame:
    """Everything the mean field says about (sigma_w^2, sigma_b^2) points (broadcast):
    columns sw2, sb2, q_star, chi1, chi_q, c_star, chi_c, xi_q, xi_c, xi_grad (see the module
    docstring; depth scales in layers)."""
    act = _activation(activation)
    sw2, sb2 = (np.asarray(a, dtype=float).reshape(-1)
                for a in np.broadcast_arrays(np.asarray(sw2, dtype=float),
                                             np.asarray(sb2, dtype=float)))
    q = fixed_point(act, sw2, sb2, q0)
    finite = _finite_q(q)
    slope_1 = chi1(act, sw2, finite)
    slope_q = sw2 * gaussian_moments(act, finite)["stein"]
    c_star = correlation_fixed_point(act, sw2, sb2, q)
    slope_c = np.where(c_star < 1.0, chi_c(act, sw2, c_star, finite), slope_1)
    return pd.DataFrame({"sw2": sw2, "sb2": sb2, "q_star": q, "chi1": slope_1,
                         "chi_q": slope_q, "c_star": c_star, "chi_c": slope_c,
                         "xi_q": depth_scale(slope_q), "xi_c": depth_scale(slope_c),
                         "xi_grad": depth_scale(slope_1)})


def phase_diagram(activation: str | Activation, sw2_values: Sequence[float],
                  sb2_values: Sequence[float], q0: float = 1.0) -> pd.DataFrame:
    """`signal_propagation` on the grid sw2_values x sb2_values (one row per point): chi_1,
    whose level 1 is the order-to-chaos boundary, and xi_c, whose multiples c xi_c
    Schoenholz et al. draw over trainability (their c is about 6)."""
    sw2, sb2 = np.meshgrid(np.asarray(sw2_values, float), np.asarray(sb2_values, float),
                           indexing="ij")
    return signal_propagation(activation, sw2, sb2, q0)


def critical_line(activation: str | Activation, q_values) -> pd.DataFrame:
    """The order-to-chaos boundary parametrized by its fixed point (Pennington et al. 2017):
    for each q*, sigma_w^2 = 1 / E[phi'(sqrt(q*) z)^2] (chi_1 = 1) and sigma_b^2 =
    q* - sigma_w^2 E[phi(sqrt(q*) z)^2] (q* fixed). Columns q_star, sw2, sb2; rows with
    sb2 < 0 are not reachable (kept, for the caller to drop)."""
    q = np.asarray(q_values, dtype=float).reshape(-1)
    moments = gaussian_moments(activation, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        sw2 = 1.0 / moments["slope2"]
        return pd.DataFrame({"q_star": q, "sw2": sw2, "sb2": q - sw2 * moments["second"]})


def critical_sw2(activation: str | Activation, sb2_values: Sequence[float],
                 bracket: tuple[float, float] = (0.05, 20.0), q0: float = 1.0,
                 steps: int = 50) -> np.ndarray:
    """sigma_w^2 on the order-to-chaos boundary chi_1 = 1, for each sigma_b^2: 1 for tanh at
    sigma_b = 0, 2 for ReLU at every sigma_b.

    Solved on `critical_line` (bisection in log q* for its sigma_b^2; at sigma_b^2 = 0 its
    limit q* -> 0, where it reaches 0); where that line does not reach sigma_b^2 (ReLU:
    sigma_b^2 = 0 all along it, q* being infinite for sigma_b > 0), by bisection in
    sigma_w^2 within `bracket` over chi_1 at the fixed point reached from q0. NaN where
    neither finds a crossing.
    """
    act = _activation(activation)
    target = np.asarray(sb2_values, dtype=float).reshape(-1)
    grid = np.logspace(-9, 6, 301)
    line = critical_line(act, grid)
    gap = line["sb2"].to_numpy()[None, :] - target[:, None]  # (T, G)
    crossing = (gap[:, :-1] <= 0) & (gap[:, 1:] >= 0)
    found = crossing.any(axis=1)
    first = crossing.argmax(axis=1)
    low, high = np.log(grid[first]), np.log(grid[first + 1])
    for _ in range(steps):
        mid = (low + high) / 2
        up = critical_line(act, np.exp(mid))["sb2"].to_numpy() >= target
        low, high = np.where(up, low, mid), np.where(up, mid, high)
    out = np.where(found, critical_line(act, np.exp((low + high) / 2))["sw2"].to_numpy(),
                   np.nan)
    if abs(line["sb2"].iloc[0]) < 1e-20:  # the line reaches sigma_b = 0 as q* -> 0
        out[target == 0] = critical_line(act, [1e-300])["sw2"].iloc[0]  # off a kink at 0
    rest = np.isnan(out)
    if rest.any():
        out[rest] = _critical_sw2_by_bisection(act, target[rest], bracket, q0, steps)
    return out


def _critical_sw2_by_bisection(act: Activation, sb2: np.ndarray, bracket: tuple[float, float],
                               q0: float, steps: int) -> np.ndarray:
    low, high = np.full(sb2.shape, bracket[0]), np.full(sb2.shape, bracket[1])

    def excess(sw2):  # a length map still growing after 100 steps is taken to diverge
        return chi1(act, sw2, fixed_point(act, sw2, sb2, q0, max_steps=100)) - 1.0

    valid = (excess(low) <= 0) & (excess(high) >= 0)
    for _ in range(steps):
        mid = (low + high) / 2
        up = excess(mid) >= 0
        low, high = np.where(up, low, mid), np.where(up, mid, high)
    return np.where(valid, (low + high) / 2, np.nan)


# ---- per-layer predictions ------------------------------------------------------------------
def _initializer(initializer: str | Initializer) -> Initializer:
    return INITIALIZERS.build(initializer) if isinstance(initializer, str) else initializer


def sigmas(initializer: str | Initializer, width: int) -> tuple[float, float]:
    """(sigma_w^2, sigma_b^2) of an initializer for a width x width layer: sigma_w^2 =
    fan_in Var[W] (`Initializer.variance`), sigma_b^2 its bias variance."""
    init = _initializer(initializer)
    return width * init.variance(width, width), init.bias_variance


def _layer_variances(init: Initializer, n_inputs: int, width: int, depth: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward factors of hidden layers 1..depth: n_{l-1} Var[W^{l-1}]
    (sigma_w^2 of the weights feeding layer l) and n_{l+1} Var[W^l] (the weights leaving it;
    for the top hidden layer, the output layer's, unused)."""
    fans = [n_inputs] + [width] * depth
    forward = np.array([fans[i] * init.variance(fans[i], width) for i in range(depth)])
    backward = np.full(depth, sigmas(init, width)[0])
    return forward, backward


def _rows(activation: str, initializer: str, theory: str, table: dict) -> pd.DataFrame:
    rows = [(activation, initializer, theory, layer, quantity, stat, float(value), relative)
            for (quantity, stat, relative), values in table.items()
            for layer, value in values]
    return pd.DataFrame(rows, columns=PREDICTION_COLUMNS)


def predict_layers(activation: str | Activation, initializer: str | Initializer,
                   input_second_moment, n_inputs: int, width: int, depth: int
                   ) -> pd.DataFrame:
    """The mean-field predictions at init for hidden layers 1..depth of the suite's MLP.

    Args:
        input_second_moment: E[x^2], the mean of x^2 over inputs and input units (pixels in
            [0, 1] are not centred: not Var[x]); or a 1-D array of each example's mean of
            x^2 over its units, and the predictions are pooled over the examples as the
            monitor pools its statistics (a mixture of Gaussians of variances q_e).
        n_inputs, width, depth: n_0, the hidden width and the number of hidden layers.

    Returns one row per (layer, quantity, stat), columns PREDICTION_COLUMNS, theory
    "mean_field":
        preactivation variance, std (q^l), mean (0);
        activation mean E[phi(h^l)], variance E[phi^2] - E[phi]^2, std;
        backprop_grad variance, std: Var[dCost/dh^l] relative to the top hidden layer's
            (relative = True: the top's is the measurement's scale);
        weight_grad variance, std: per-example Var[dCost/dW^{l-1}] = E[(z^{l-1})^2]
            Var[dCost/dh^l], the weights feeding layer l (z^0 = x), relative to layer
            depth's (the monitor averages over its examples, which scales every layer
            alike only if their gradients are equally correlated);
        jacobian mean_sq_singular_value (layers 2..depth): n_{l-1} Var[W^{l-1}]
            E[phi'(h^l)^2], the monitor's "mean_sq_singular_value".
    sigma_w^2 of each layer is fan_in Var[W] from `Initializer.variance`, sigma_b^2 its
    `bias_variance` (a network whose biases start at zero has sigma_b^2 = 0: the
    prediction uses the initializer's, so call it for networks that draw biases with
    `draw_bias`).
    """
    act, init = _activation(activation), _initializer(initializer)
    moments_x = np.atleast_1d(np.asarray(input_second_moment, dtype=float))
    forward, backward = _layer_variances(init, n_inputs, width, depth)
    sb2 = init.bias_variance
    q = forward[0] * moments_x + sb2  # (E,): per example
    qs, means, seconds, slopes = [], [], [], []
    for layer in range(depth):
        if layer:
            q = forward[layer] * seconds[-1] + sb2
        moments = gaussian_moments(act, q)
        qs.append(q)
        means.append(moments["mean"])
        seconds.append(moments["second"])
        slopes.append(moments["slope2"])
    grads = [np.ones_like(moments_x)]
    for layer in range(depth - 2, -1, -1):  # Var[delta^l] from Var[delta^{l+1}]
        grads.insert(0, slopes[layer] * backward[layer] * grads[0])
    inputs = [moments_x] + seconds[:-1]  # E[(z^{l-1})^2]
    weight = [inputs[i] * grads[i] for i in range(depth)]
    top_weight = weight[-1].mean()
    table = {}
    pooled_mean = [m.mean() for m in means]
    activation_var = [(s.mean() - m ** 2) for s, m in zip(seconds, pooled_mean, strict=True)]
    per_layer = {
        ("preactivation", "variance", False): [q.mean() for q in qs],
        ("preactivation", "mean", False): [0.0] * depth,
        ("activation", "mean", False): pooled_mean,
        ("activation", "variance", False): activation_var,
        ("backprop_grad", "variance", True): [g.mean() for g in grads],
        ("weight_grad", "variance", True): [w.mean() / top_weight for w in weight],
    }
    for key, values in per_layer.items():
        table[key] = list(enumerate(values, start=1))
        if key[1] == "variance":
            table[(key[0], "std", key[2])] = [(layer, math.sqrt(max(v, 0.0)))
                                              for layer, v in table[key]]
    table[("jacobian", "mean_sq_singular_value", False)] = [
        (layer + 1, forward[layer] * slopes[layer].mean()) for layer in range(1, depth)]
    return _rows(act.name, init.name, "mean_field", table)


def predict_layers_linear(initializer: str | Initializer, input_second_moment,
                          n_inputs: int, width: int, depth: int,
                          activation: str | Activation = "tanh") -> pd.DataFrame:
    """The paper's linear-regime predictions (Glorot & Bengio 2010, eqs. 5, 6 and 14; units
    near 0 with f(0) = 0, f'(0) = 1), same rows and columns as `predict_layers`, theory
    "linear":

        Var[s^l] = Var[z^l] = E[x^2] prod_{i=0}^{l-1} n_i Var[W^i]            (eq. 5)
        Var[dCost/ds^l] / Var[dCost/ds^d] = prod_{i=l}^{d-1} n_{i+1} Var[W^i]  (eq. 6, d - l
                                                                               factors)
        Var[dCost/dW^{l-1}] = Var[z^{l-1}] Var[dCost/ds^l], relative to layer d's (eq. 14)
        mean squared singular value of dz^l/dz^{l-1} = n_{l-1} Var[W^{l-1}]

    E[x^2] (mean over examples if an array) replaces Var[x]: the pixels are not centred.
    Activation means are 0. `activation` only names the rows (the theory ignores it)."""
    init = _initializer(initializer)
    moment = float(np.mean(np.asarray(input_second_moment, dtype=float)))
    forward, backward = _layer_variances(init, n_inputs, width, depth)
    variance = moment * np.cumprod(forward)  # layers 1..depth
    grads = np.ones(depth)
    for layer in range(depth - 2, -1, -1):
        grads[layer] = backward[layer] * grads[layer + 1]
    inputs = np.concatenate([[moment], variance[:-1]])
    weight = inputs * grads / (inputs[-1] * grads[-1])
    table = {}
    for key, values in {("preactivation", "variance", False): variance,
                        ("activation", "variance", False): variance,
                        ("backprop_grad", "variance", True): grads,
                        ("weight_grad", "variance", True): weight}.items():
        table[key] = list(enumerate(values, start=1))
        table[(key[0], "std", key[2])] = list(enumerate(np.sqrt(values), start=1))
    zeros = [(layer, 0.0) for layer in range(1, depth + 1)]
    table[("preactivation", "mean", False)] = zeros
    table[("activation", "mean", False)] = zeros
    table[("jacobian", "mean_sq_singular_value", False)] = [
        (layer + 1, forward[layer]) for layer in range(1, depth)]
    name = (ACTIVATIONS.build(activation).name if isinstance(activation, str)
            else activation.name)
    return _rows(name, init.name, "linear", table)


def predictions(activation: str | Activation, initializer: str | Initializer,
                input_second_moment, n_inputs: int, width: int, depth: int) -> pd.DataFrame:
    """Both theories, one frame (the linear regime's rows for every activation; mean-field
    rows only where `supported`)."""
    frames = [predict_layers_linear(initializer, input_second_moment, n_inputs, width, depth,
                                    activation=activation)]
    if supported(activation) is None:
        frames.insert(0, predict_layers(activation, initializer, input_second_moment,
                                        n_inputs, width, depth))
    return pd.concat(frames, ignore_index=True)
