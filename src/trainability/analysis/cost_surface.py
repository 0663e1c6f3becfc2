"""Cost surfaces of a one-hidden-layer tanh network and their plateaus (Fig. 5, claim P9).

The paper plots the cross-entropy (black, top surface) and quadratic (red, bottom surface)
training criteria "as a function of two weights for a two-layer network (one hidden layer)
with hyperbolic tangent units, and a random input and target signal", one weight W1 in the
first layer and one weight W2 in the output layer. Its sizes, weight ranges, input and target
distributions are not given (UNCONFIRMED, reference sec. 8 item 8); the choices here are
parameters of `SurfaceSetup`:

- network: x (n_inputs) -> tanh hidden layer (n_hidden) -> softmax output (n_classes), biases 0;
- every weight except the two swept ones is fixed, drawn once from N(0, other_weight_std^2);
- W1 = first-layer weight from input `w1_index[0]` to hidden unit `w1_index[1]`,
  W2 = output-layer weight from hidden unit `w2_index[0]` to class `w2_index[1]`
  (by default the same hidden unit, so the two weights interact), both swept over
  [-weight_range, weight_range] on a `grid` x `grid` lattice;
- inputs x ~ N(0, 1), targets uniform over the classes, `n_examples` of them; the cost is the
  mean over examples of
    cross-entropy  -log p_y            (p = softmax of the output layer)
    quadratic      sum_k (p_k - 1[k = y])^2   (same softmax outputs; no factor 1/2).

Known values: with `other_weight_std = 0`, every point with W1 = 0 or W2 = 0 has all outputs
equal, so the cross-entropy is ln(n_classes) and the quadratic cost (n_classes - 1)/n_classes.

The plateau measure (`plateau_fraction`, the one that Fig. 5's legend and claim P9 both use):
the share of lattice points where the slope |grad C| (finite differences on the lattice),
times the lattice's diagonal, is below `FLAT_SLOPE` times the surface's robust range (5th to
95th percentile of its costs). Slopes are thus measured in units of the surface's own range,
so surfaces of different scales compare.

How robust the paper's claim (P9) is under this measure (measured when the measure became
the one shared by Fig. 5 and P9): with the defaults, seed 0 gives 0.17 (quadratic) vs 0.074
(cross-entropy), and the quadratic cost is the flatter one for 16 of 20 seeds
(`compare_plateaus`). Over a grid of other settings (1, 2 or 10 inputs and hidden units, 2 or
10 classes, 1 or 10 examples, other weights 0 or N(0, 1), 10 seeds each: 720 problems) it
holds in 59% of them: in 84% with one example and 2 classes, 78% with one example and 10
classes, 60% with 10 examples and 10 classes, and only 14% with 10 examples and 2 classes.
Report it as a tendency of the paper's setting (one random example), not as a property of
every surface.

torch (for the surfaces) loads when a surface is computed, numpy on first use: the figures
import this module, and the workflow imports the figures when it plans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainability.lazy import lazy_import

np = lazy_import("numpy")
torch = lazy_import("torch")

COSTS = ("cross_entropy", "quadratic")
#: A lattice point is on a plateau where |grad C| x the lattice's diagonal is below this
#: fraction of the surface's 5-95% range of costs.
FLAT_SLOPE = 0.1


@dataclass(frozen=True)
class SurfaceSetup:
    """Parameters of the Fig. 5 surfaces (all UNCONFIRMED in the paper; see module doc)."""

    n_inputs: int = 2
    n_hidden: int = 2
    n_classes: int = 2
    n_examples: int = 1  #: "a random input and target signal"
    weight_range: float = 4.0  #: W1 and W2 swept over [-weight_range, weight_range]
    grid: int = 101  #: lattice points per axis
    other_weight_std: float = 1.0  #: std of the fixed (non-swept) weights; 0 -> all zero
    w1_index: tuple[int, int] = (0, 0)  #: (input, hidden unit) of the swept first-layer weight
    w2_index: tuple[int, int] = (0, 0)  #: (hidden unit, class) of the swept output weight
    seed: int = 0


@dataclass(frozen=True)
class Surface:
    """Costs on the lattice; arrays are (grid, grid), [i, j] at (w1[i], w2[j])."""

    w1: np.ndarray  #: (grid,)
    w2: np.ndarray  #: (grid,)
    cost: dict[str, np.ndarray]  #: cost name -> (grid, grid)
    setup: SurfaceSetup


def _problem(setup: SurfaceSetup) -> tuple[torch.Tensor, ...]:
    """Fixed random inputs, targets and weights (float64), from `setup.seed`."""
    g = torch.Generator().manual_seed(setup.seed)
    x = torch.randn(setup.n_examples, setup.n_inputs, generator=g, dtype=torch.float64)
    y = torch.randint(setup.n_classes, (setup.n_examples,), generator=g)
    w_in = torch.randn(setup.n_inputs, setup.n_hidden, generator=g, dtype=torch.float64)
    w_out = torch.randn(setup.n_hidden, setup.n_classes, generator=g, dtype=torch.float64)
    return x, y, w_in * setup.other_weight_std, w_out * setup.other_weight_std


def cost_surface(setup: SurfaceSetup | None = None) -> Surface:
    """Cross-entropy and quadratic cost over the (W1, W2) lattice."""
    setup = setup or SurfaceSetup()
    if setup.grid < 2 or setup.weight_range <= 0:
        raise ValueError("need grid >= 2 and weight_range > 0")
    x, y, w_in, w_out = _problem(setup)  # (N, I), (N,), (I, H), (H, C)
    axis = torch.linspace(-setup.weight_range, setup.weight_range, setup.grid,
                          dtype=torch.float64)
    g = setup.grid
    i, h = setup.w1_index
    h2, k = setup.w2_index
    # Swept weights enter as replacements of one entry of each matrix.
    first = w_in.expand(g, g, *w_in.shape).clone()  # (G, G, I, H)
    first[:, :, i, h] = axis[:, None].expand(g, g)
    second = w_out.expand(g, g, *w_out.shape).clone()  # (G, G, H, C)
    second[:, :, h2, k] = axis[None, :].expand(g, g)
    hidden = torch.tanh(x @ first)  # (G, G, N, H)
    log_p = torch.log_softmax(hidden @ second, dim=-1)  # (G, G, N, C)
    target = torch.nn.functional.one_hot(y, setup.n_classes).to(log_p)  # (N, C)
    costs = {"cross_entropy": -(log_p * target).sum(-1).mean(-1),  # (G, G)
             "quadratic": ((log_p.exp() - target) ** 2).sum(-1).mean(-1)}
    return Surface(w1=axis.numpy(), w2=axis.numpy(),
                   cost={name: costs[name].numpy() for name in COSTS}, setup=setup)


def plateau_fraction(cost: np.ndarray, w1: np.ndarray, w2: np.ndarray,
                     flat_slope: float = FLAT_SLOPE) -> float:
    """Fraction of lattice points where |grad C| * extent < flat_slope * (C95 - C5).

    `cost[i, j]` is the cost at (w1[i], w2[j]); the gradient is taken by finite differences
    (numpy.gradient), `extent` is the lattice's diagonal and C5, C95 the 5th and 95th
    percentiles of the costs, so surfaces of different scales compare. A surface without a
    range (constant) is all plateau: 1.0.
    """
    cost = np.asarray(cost, dtype=float)
    w1, w2 = np.asarray(w1, dtype=float), np.asarray(w2, dtype=float)
    g1, g2 = np.gradient(cost, w1, w2)  # cost[i, j] at (w1[i], w2[j])
    extent = math.hypot(np.ptp(w1), np.ptp(w2))
    low, high = np.nanpercentile(cost, [5, 95])
    scale = high - low
    if not scale > 0:
        return 1.0
    slope = np.hypot(g1, g2) * extent / scale
    return float(np.mean(slope < flat_slope))


def plateau_fractions(surface: Surface, flat_slope: float = FLAT_SLOPE) -> dict[str, float]:
    """`plateau_fraction` of each cost of `surface`."""
    return {name: plateau_fraction(surface.cost[name], surface.w1, surface.w2, flat_slope)
            for name in COSTS}


def compare_plateaus(setup: SurfaceSetup | None = None, seeds: range | list[int] = range(20),
                     flat_slope: float = FLAT_SLOPE) -> dict[str, float]:
    """Plateau fractions over several random problems (inputs, targets, fixed weights).

    Returns the mean plateau fraction of each cost and `quadratic_flatter`, the share of seeds
    where the quadratic cost has the larger plateau fraction (the paper's claim P9 says it
    should). One seed is one "random input and target signal" of the paper.
    """
    setup = setup or SurfaceSetup()
    rows = []
    for seed in seeds:
        surface = cost_surface(SurfaceSetup(**{**setup.__dict__, "seed": int(seed)}))
        rows.append(plateau_fractions(surface, flat_slope))
    if not rows:
        raise ValueError("need at least one seed")
    result = {name: float(np.mean([r[name] for r in rows])) for name in COSTS}
    result["quadratic_flatter"] = float(np.mean(
        [r["quadratic"] > r["cross_entropy"] for r in rows]))
    result["seeds"] = float(len(rows))
    return result


def cost_surfaces(setup: SurfaceSetup | None = None) -> dict[str, np.ndarray]:
    """The default surfaces as plain arrays, for the claims ledger (claim P9):
    {"w1": (n1,), "w2": (n2,), "cross_entropy": (n1, n2), "quadratic": (n1, n2)}."""
    surface = cost_surface(setup)
    return {"w1": surface.w1, "w2": surface.w2, **{name: surface.cost[name] for name in COSTS}}
