"""Weight initializers, by name, with the exact formulas.

Every initializer fills a weight matrix of shape (fan_in, fan_out): the suite multiplies row
vectors, s = z @ W + b, as the paper writes its equations. (torch.nn.Linear stores the
transpose, (fan_out, fan_in); the torch.nn.init functions are applied to that layout and the
result transposed, so fans mean the same thing as in torch.)

Every initializer states the exact per-entry variance of what it draws, `variance(fan_in,
fan_out)` (the table's last column; sigma_w^2 = fan_in * Var[W] in the mean-field theory,
trainability.analysis.mean_field), and a bias variance sigma_b^2 (`bias_variance`, 0 unless
the spec says `sb2=<sigma_b^2>`); `draw_bias` draws biases from it (exactly torch.zeros when
it is 0, so networks that do not ask for biases are drawn as before).

| name                | distribution                              | Var[W]                 |
|---------------------|-------------------------------------------|------------------------|
| standard            | U(-1/sqrt(fan_in), +1/sqrt(fan_in)) (Eq. 1) | 1/(3 fan_in)         |
| normalized          | U(+-sqrt(6/(fan_in+fan_out))) (Eq. 16)    | 2/(fan_in+fan_out)     |
| xavier_normal       | N(0, 2/(fan_in+fan_out))                  | 2/(fan_in+fan_out)     |
| he_uniform          | U(+-sqrt(6/fan_in))                       | 2/fan_in               |
| he_normal           | N(0, 2/fan_in), untruncated (torch)       | 2/fan_in               |
| lecun_normal        | N(0, 1/fan_in), untruncated (torch's advice for SELU) | 1/fan_in   |
| orthogonal:gain     | gain * Q, Q from the QR of a Gaussian matrix | gain^2/max(fan_in, fan_out) |
| variance_scaling    | Keras semantics, see `variance_scaling`   | scale/n                |
| gaussian:sw2,sb2    | N(0, sw2/fan_in), see `_gaussian`         | sw2/fan_in             |
| critical_orthogonal | sigma_w Q, tanh at chi_1 = 1, q* = q      | sigma_w^2/max(fans)    |

`variance_scaling` and `orthogonal` take `sb2=<sigma_b^2>` (spelled only when it is not 0, so
every spelling without it is unchanged). `gaussian:sw2=<sigma_w^2>,sb2=<sigma_b^2>` is a
short alias for the phase-diagram grid: it builds, and is spelled as, the variance_scaling
spec, so both spellings are one network.

Keras's HeNormal and LecunNormal truncate; ask for them as
`variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal` and
`variance_scaling:scale=1,mode=fan_in,distribution=truncated_normal`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from trainability.lazy import lazy_import
from trainability.nets.gaussian import tanh_critical_point
from trainability.registry import Registry, format_value

torch = lazy_import("torch")  # loaded when weights are first drawn, not when planning

#: Keras: std of a unit normal truncated to [-2, 2]; dividing by it restores the asked-for std.
TRUNCATED_NORMAL_STD = 0.87962566103423978

FillFn = Callable[["torch.Tensor", "torch.Generator"], None]


@dataclass(frozen=True, eq=False)
class Initializer:
    """Draws a (fan_in, fan_out) float32 weight matrix, and biases.

    Attributes:
        name: the spec that built it, in its one spelling.
        fill: fills, in place, a tensor in torch.nn.Linear's (fan_out, fan_in) layout.
        variance_of: (fan_in, fan_out) -> the exact variance of one entry of what `fill`
            draws; None when the initializer does not state it (a plugin's), and then
            `variance` raises.
        sb2: the bias variance sigma_b^2, or a function of no arguments that computes it on
            first use (critical_orthogonal: quadrature, which planning must not pay for).
    """

    name: str
    fill: FillFn
    variance_of: Callable[[int, int], float] | None = None
    sb2: float | Callable[[], float] = 0.0

    def __call__(self, fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
        """Return a new (fan_in, fan_out) float32 CPU tensor drawn with `generator`."""
        weight = torch.empty(fan_out, fan_in, dtype=torch.float32)
        self.fill(weight, generator)
        return weight.t().contiguous()

    def variance(self, fan_in: int, fan_out: int) -> float:
        """Var[W_ij] of a (fan_in, fan_out) weight drawn by this initializer (exact, not
        estimated; orthogonal: gain^2 / max(fan_in, fan_out), every entry alike)."""
        if self.variance_of is None:
            raise ValueError(f"initializer {self.name!r} does not state its weight variance")
        return float(self.variance_of(fan_in, fan_out))

    @cached_property
    def bias_variance(self) -> float:
        """sigma_b^2: the variance of each bias at init (0: biases start at zero)."""
        return float(self.sb2() if callable(self.sb2) else self.sb2)

    def draw_bias(self, n_out: int, generator: torch.Generator) -> torch.Tensor:
        """(n_out,) float32 CPU biases: exactly torch.zeros(n_out) when sigma_b^2 = 0 (the
        generator is not advanced), else N(0, sigma_b^2) drawn with `generator`."""
        variance = self.bias_variance
        if variance == 0:
            return torch.zeros(n_out, dtype=torch.float32)
        return torch.randn(n_out, generator=generator, dtype=torch.float32) * math.sqrt(variance)


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight in (fan_out, fan_in) layout."""
    fan_out, fan_in = weight.shape
    return fan_in, fan_out


def _uniform(bound_of: Callable[[int, int], float]) -> FillFn:
    def fill(weight: torch.Tensor, generator: torch.Generator) -> None:
        bound = bound_of(*fans(weight))
        torch.nn.init.uniform_(weight, -bound, bound, generator=generator)

    return fill


def _normal(std_of: Callable[[int, int], float]) -> FillFn:
    def fill(weight: torch.Tensor, generator: torch.Generator) -> None:
        torch.nn.init.normal_(weight, 0.0, std_of(*fans(weight)), generator=generator)

    return fill


INITIALIZERS: Registry[Initializer] = Registry("initializer")


def _check_sb2(sb2: float) -> float:
    sb2 = float(sb2)
    if not (math.isfinite(sb2) and sb2 >= 0):
        raise ValueError(f"sb2 (the bias variance) must be a finite number >= 0, got {sb2}")
    return sb2


def _spell(name: str, *parts: str) -> str:
    """`name:part,...` over the parts that are not empty; `name` alone when none is left."""
    kept = [p for p in parts if p]
    return name + (":" + ",".join(kept) if kept else "")


@INITIALIZERS.register("standard")
def _standard() -> Initializer:
    return Initializer("standard", _uniform(lambda fan_in, fan_out: 1.0 / math.sqrt(fan_in)),
                       lambda fan_in, fan_out: 1.0 / (3.0 * fan_in))


@INITIALIZERS.register("normalized")
def _normalized() -> Initializer:
    return Initializer(
        "normalized", _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out))),
        lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
    )


@INITIALIZERS.register("xavier_normal")
def _xavier_normal() -> Initializer:
    return Initializer(
        "xavier_normal", _normal(lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
        lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
    )


@INITIALIZERS.register("he_uniform")
def _he_uniform() -> Initializer:
    return Initializer("he_uniform", _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
                       lambda fan_in, fan_out: 2.0 / fan_in)


@INITIALIZERS.register("he_normal")
def _he_normal() -> Initializer:
    return Initializer("he_normal", _normal(lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
                       lambda fan_in, fan_out: 2.0 / fan_in)


@INITIALIZERS.register("lecun_normal")
def _lecun_normal() -> Initializer:
    return Initializer("lecun_normal", _normal(lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
                       lambda fan_in, fan_out: 1.0 / fan_in)


def _orthogonal_fill(gain_of: Callable[[], float]) -> FillFn:
    def fill(weight: torch.Tensor, generator: torch.Generator) -> None:
        torch.nn.init.orthogonal_(weight, gain=gain_of(), generator=generator)

    return fill


@INITIALIZERS.register("orthogonal")
def _orthogonal(gain: float = 1.0, sb2: float = 0.0) -> Initializer:
    """gain * Q, Q a (semi-)orthogonal matrix from the QR of a Gaussian one (Saxe et al.
    2014; torch.nn.init.orthogonal_); every entry has variance gain^2 / max(fan_in, fan_out).
    Spelled `orthogonal`, `orthogonal:<gain>`, `orthogonal:sb2=<sb2>` or
    `orthogonal:<gain>,sb2=<sb2>`."""
    gain, sb2 = float(gain), _check_sb2(sb2)
    return Initializer(
        _spell("orthogonal", "" if gain == 1.0 else format_value(gain),
               f"sb2={format_value(sb2)}" if sb2 else ""),
        _orthogonal_fill(lambda: gain),
        lambda fan_in, fan_out: gain * gain / max(fan_in, fan_out), sb2,
    )


VARIANCE_SCALING_MODES = ("fan_in", "fan_out", "fan_avg")
VARIANCE_SCALING_DISTRIBUTIONS = ("uniform", "normal", "untruncated_normal", "truncated_normal")


@INITIALIZERS.register("variance_scaling")
def variance_scaling(
    scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
    sb2: float = 0.0,
) -> Initializer:
    """Keras `VarianceScaling(scale, mode, distribution)`, and biases N(0, sb2).

    n = fan_in, fan_out or (fan_in + fan_out)/2 for mode "fan_avg"; then
    "uniform": U(+-sqrt(3 scale/n)); "normal"/"untruncated_normal": N(0, scale/n);
    "truncated_normal": a normal truncated at +-2 pre-truncation stds whose std *after*
    truncation is sqrt(scale/n) (pre-truncation std sqrt(scale/n)/0.8796...). Var[W] = scale/n
    in every case.
    """
    scale, sb2 = float(scale), _check_sb2(sb2)
    if scale <= 0:
        raise ValueError(f"variance_scaling scale must be > 0, got {scale}")
    if mode not in VARIANCE_SCALING_MODES:
        raise ValueError(
            f"variance_scaling mode must be one of {VARIANCE_SCALING_MODES}, got {mode!r}"
        )
    if distribution not in VARIANCE_SCALING_DISTRIBUTIONS:
        raise ValueError(
            f"variance_scaling distribution must be one of {VARIANCE_SCALING_DISTRIBUTIONS}, "
            f"got {distribution!r}"
        )

    def fan(fan_in: int, fan_out: int) -> float:
        return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]

    def fill(weight: torch.Tensor, generator: torch.Generator) -> None:
        variance = scale / fan(*fans(weight))
        if distribution == "uniform":
            bound = math.sqrt(3.0 * variance)
            torch.nn.init.uniform_(weight, -bound, bound, generator=generator)
        elif distribution == "truncated_normal":
            std = math.sqrt(variance) / TRUNCATED_NORMAL_STD
            torch.nn.init.trunc_normal_(weight, 0.0, std, -2.0 * std, 2.0 * std,
                                        generator=generator)
        else:
            torch.nn.init.normal_(weight, 0.0, math.sqrt(variance), generator=generator)

    return Initializer(
        _spell("variance_scaling", f"scale={format_value(scale)}", f"mode={mode}",
               f"distribution={distribution}", f"sb2={format_value(sb2)}" if sb2 else ""),
        fill, lambda fan_in, fan_out: scale / fan(fan_in, fan_out), sb2,
    )


@INITIALIZERS.register("gaussian")
def _gaussian(sw2: float = 1.0, sb2: float = 0.0) -> Initializer:
    """The mean-field parametrization (Poole et al. 2016; Schoenholz et al. 2017): weights
    N(0, sw2/fan_in), biases N(0, sb2). An alias: it is the spec
    `variance_scaling:scale=<sw2>,mode=fan_in,distribution=normal[,sb2=<sb2>]` and is spelled
    so (one network, one spelling)."""
    return variance_scaling(scale=sw2, mode="fan_in", distribution="normal", sb2=sb2)


#: The default q* of `critical_orthogonal`: the smallest fixed point of Pennington,
#: Schoenholz & Ganguli's (2017) learning-speed experiments with orthogonal tanh nets, where
#: the Jacobian spectrum is the most concentrated of those they trained.
CRITICAL_Q = 1.0 / 64


@INITIALIZERS.register("critical_orthogonal")
def _critical_orthogonal(q: float = CRITICAL_Q) -> Initializer:
    """Orthogonal weights for tanh at the order-to-chaos boundary with fixed point q* = q
    (Pennington, Schoenholz & Ganguli 2017): sigma_w^2 = 1 / E[tanh'(sqrt(q) z)^2] (so that
    chi_1 = 1), sigma_b^2 = q - sigma_w^2 E[tanh(sqrt(q) z)^2] (so that q is the fixed point
    of the length map), weights sigma_w Q with Q orthogonal, biases N(0, sigma_b^2).

    As q -> 0 the Jacobian's singular values concentrate at 1 (dynamical isometry): sigma_w^2
    = 1.0306, sigma_b^2 = 4.7e-6 at the default q = 1/64. sigma_w^2 here is gain^2, i.e.
    fan_in Var[W] for square layers (the mean field's). The quadrature runs on first use (not
    when planning). The fixed point holds only where biases are drawn with `draw_bias`.
    """
    q = float(q)
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"critical_orthogonal needs a fixed point q > 0, got {q}")

    def sw2() -> float:
        return tanh_critical_point(q)[0]

    return Initializer(
        "critical_orthogonal" if q == CRITICAL_Q else f"critical_orthogonal:q={format_value(q)}",
        _orthogonal_fill(lambda: math.sqrt(sw2())),
        lambda fan_in, fan_out: sw2() / max(fan_in, fan_out),
        lambda: tanh_critical_point(q)[1],
    )
