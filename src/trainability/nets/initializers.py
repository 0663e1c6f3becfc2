"""Weight initializers, by name, with the exact formulas.

Every initializer fills a weight matrix of shape (fan_in, fan_out): the suite multiplies row
vectors, s = z @ W + b, as the paper writes its equations. (torch.nn.Linear stores the
transpose, (fan_out, fan_in); the torch.nn.init functions are applied to that layout and the
result transposed, so fans mean the same thing as in torch.) Biases always start at zero.

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

Keras's HeNormal and LecunNormal truncate; ask for them as
`variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal` and
`variance_scaling:scale=1,mode=fan_in,distribution=truncated_normal`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.registry import Registry, format_value

torch = lazy_import("torch")  # loaded when weights are first drawn, not when planning

#: Keras: std of a unit normal truncated to [-2, 2]; dividing by it restores the asked-for std.
TRUNCATED_NORMAL_STD = 0.87962566103423978

FillFn = Callable[["torch.Tensor", "torch.Generator"], None]


@dataclass(frozen=True, eq=False)
class Initializer:
    """Draws a (fan_in, fan_out) float32 weight matrix.

    Attributes:
        name: the spec that built it.
        fill: fills, in place, a tensor in torch.nn.Linear's (fan_out, fan_in) layout.
    """

    name: str
    fill: FillFn

    def __call__(self, fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
        """Return a new (fan_in, fan_out) float32 CPU tensor drawn with `generator`."""
        weight = torch.empty(fan_out, fan_in, dtype=torch.float32)
        self.fill(weight, generator)
        return weight.t().contiguous()


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


@INITIALIZERS.register("standard")
def _standard() -> Initializer:
    return Initializer("standard", _uniform(lambda fan_in, fan_out: 1.0 / math.sqrt(fan_in)))


@INITIALIZERS.register("normalized")
def _normalized() -> Initializer:
    return Initializer(
        "normalized", _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out)))
    )


@INITIALIZERS.register("xavier_normal")
def _xavier_normal() -> Initializer:
    return Initializer(
        "xavier_normal", _normal(lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)))
    )


@INITIALIZERS.register("he_uniform")
def _he_uniform() -> Initializer:
    return Initializer("he_uniform", _uniform(lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)))


@INITIALIZERS.register("he_normal")
def _he_normal() -> Initializer:
    return Initializer("he_normal", _normal(lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)))


@INITIALIZERS.register("lecun_normal")
def _lecun_normal() -> Initializer:
    return Initializer("lecun_normal", _normal(lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)))


@INITIALIZERS.register("orthogonal")
def _orthogonal(gain: float = 1.0) -> Initializer:
    gain = float(gain)

    def fill(weight: torch.Tensor, generator: torch.Generator) -> None:
        torch.nn.init.orthogonal_(weight, gain=gain, generator=generator)

    return Initializer("orthogonal" if gain == 1.0 else f"orthogonal:{format_value(gain)}", fill)


VARIANCE_SCALING_MODES = ("fan_in", "fan_out", "fan_avg")
VARIANCE_SCALING_DISTRIBUTIONS = ("uniform", "normal", "untruncated_normal", "truncated_normal")


@INITIALIZERS.register("variance_scaling")
def variance_scaling(
    scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"
) -> Initializer:
    """Keras `VarianceScaling(scale, mode, distribution)`.

    n = fan_in, fan_out or (fan_in + fan_out)/2 for mode "fan_avg"; then
    "uniform": U(+-sqrt(3 scale/n)); "normal"/"untruncated_normal": N(0, scale/n);
    "truncated_normal": a normal truncated at +-2 pre-truncation stds whose std *after*
    truncation is sqrt(scale/n) (pre-truncation std sqrt(scale/n)/0.8796...).
    """
    scale = float(scale)
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
        f"variance_scaling:scale={format_value(scale)},mode={mode},distribution={distribution}",
        fill
    )
