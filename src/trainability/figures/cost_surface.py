"""Cost surfaces of a one-hidden-layer tanh network (Glorot & Bengio 2010, Fig. 5).

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

Gradients are exact (autograd, per grid point), so `plateau_fraction` measures how much of
the lattice is flat: the share of points whose gradient norm is below a fraction of a scale
(by default the largest gradient norm on that surface).

How robust the paper's claim (P9) is under this measure (rel_threshold 0.05, measured when
this module was written): with the defaults, seed 0 gives 0.44 (quadratic) vs 0.35
(cross-entropy), and the quadratic cost is the flatter one for 16 of 20 seeds
(`compare_plateaus`). Over a grid of other settings (1-10 inputs, 1-10 hidden units, 2 or 10
classes, 1 or 10 examples, other weights 0 or N(0, 1), 10 seeds each) it holds in about 79%
of problems; it holds least with 10 examples and 2 classes (about 58%). Report it as a
tendency over random problems, not as a property of every surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainability.lazy import lazy_import

torch = lazy_import("torch")  # loaded when a surface is computed, not when planning

COSTS = ("cross_entropy", "quadratic")


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
    """Costs and exact gradient norms on the lattice; arrays are (grid, grid), [i, j] at
    (w1[i], w2[j])."""

    w1: np.ndarray  #: (grid,)
    w2: np.ndarray  #: (grid,)
    cost: dict[str, np.ndarray]  #: cost name -> (grid, grid)
    grad_norm: dict[str, np.ndarray]  #: cost name -> (grid, grid) |d cost / d(W1, W2)|
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
    """Cross-entropy and quadratic cost, and their gradient norms, over the (W1, W2) lattice."""
    setup = setup or SurfaceSetup()
    if setup.grid < 2 or setup.weight_range <= 0:
        raise ValueError("need grid >= 2 and weight_range > 0")
    x, y, w_in, w_out = _problem(setup)  # (N, I), (N,), (I, H), (H, C)
    axis = torch.linspace(-setup.weight_range, setup.weight_range, setup.grid,
                          dtype=torch.float64)
    g = setup.grid
    costs, norms = {}, {}
    for name in COSTS:
        w1 = axis[:, None].expand(g, g).clone().requires_grad_(True)  # (G, G)
        w2 = axis[None, :].expand(g, g).clone().requires_grad_(True)
        i, h = setup.w1_index
        h2, k = setup.w2_index
        # Swept weights enter as additive replacements of one entry of each matrix.
        first = w_in.expand(g, g, *w_in.shape).clone()  # (G, G, I, H)
        first[:, :, i, h] = w1
        second = w_out.expand(g, g, *w_out.shape).clone()  # (G, G, H, C)
        second[:, :, h2, k] = w2
        hidden = torch.tanh(x @ first)  # (G, G, N, H)
        log_p = torch.log_softmax(hidden @ second, dim=-1)  # (G, G, N, C)
        target = torch.nn.functional.one_hot(y, setup.n_classes).to(log_p)  # (N, C)
        if name == "cross_entropy":
            cost = -(log_p * target).sum(-1).mean(-1)  # (G, G)
        else:
            cost = ((log_p.exp() - target) ** 2).sum(-1).mean(-1)
        d1, d2 = torch.autograd.grad(cost.sum(), (w1, w2))  # points are independent
        costs[name] = cost.detach().numpy()
        norms[name] = torch.sqrt(d1**2 + d2**2).numpy()
    return Surface(w1=axis.numpy(), w2=axis.numpy(), cost=costs, grad_norm=norms, setup=setup)


def plateau_fraction(grad_norm: np.ndarray, rel_threshold: float = 0.05,
                     scale: float | None = None) -> float:
    """Share of lattice points where |grad| < rel_threshold * scale.

    `scale` defaults to the largest gradient norm of this surface, so the measure does not
    depend on the cost's units; pass a common scale to compare surfaces on one yardstick.
    """
    grad_norm = np.asarray(grad_norm, dtype=float)
    scale = float(np.nanmax(grad_norm)) if scale is None else float(scale)
    if not scale > 0:
        return 1.0
    return float(np.mean(grad_norm < rel_threshold * scale))


def plateau_fractions(surface: Surface, rel_threshold: float = 0.05) -> dict[str, float]:
    """`plateau_fraction` of each cost of `surface`, each relative to its own largest slope."""
    return {name: plateau_fraction(surface.grad_norm[name], rel_threshold) for name in COSTS}


def compare_plateaus(setup: SurfaceSetup | None = None, seeds: range | list[int] = range(20),
                     rel_threshold: float = 0.05) -> dict[str, float]:
    """Plateau fractions over several random problems (inputs, targets, fixed weights).

    Returns the mean plateau fraction of each cost and `quadratic_flatter`, the share of seeds
    where the quadratic cost has the larger plateau fraction (the paper's claim P9 says it
    should). One seed is one "random input and target signal" of the paper.
    """
    setup = setup or SurfaceSetup()
    rows = []
    for seed in seeds:
        surface = cost_surface(SurfaceSetup(**{**setup.__dict__, "seed": int(seed)}))
        rows.append(plateau_fractions(surface, rel_threshold))
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
