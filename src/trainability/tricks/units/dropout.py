"""dropout[:<p>]: inverted dropout on hidden units while training (Srivastava et al. 2014);
alpha dropout for self-normalizing activations (SELU, Klambauer et al. 2017).

Each hidden unit's output (after batch norm and the skip) is dropped with probability p,
drawn from the network's seeded noise generator. Kept units become x * scale + shift, dropped
ones `dropped`, per member:

    inverted dropout   scale 1/(1-p), shift 0, dropped 0 (the expectation is unchanged)
    alpha dropout      exactly torch's formula: a = ((1 - p)(1 + p alpha'^2))^-1/2 with
                       alpha' = -lambda alpha the activation's saturation value; kept
                       a x + a alpha' p, dropped a alpha' (p - 1): zero mean and unit variance
                       are kept, as self-normalization needs.

Which activations get alpha dropout is the activation's fact (`Activation.alpha_dropout`).
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, positive, register

torch = lazy_import("torch")

@register
@dataclass(frozen=True)
class Dropout(Trick):
    """Attributes: p: the drop probability, in (0, 1)."""

    name = "dropout"
    family = "regularization"
    label = "Dropout"
    color = "#4878d0"
    fused_update = True  # noise in the forward pass only
    p: float = 0.5

    def __post_init__(self) -> None:
        self._set(p=positive("dropout", self.p, 1.0))

    @classmethod
    def hooks(cls, net, members) -> DropoutHooks:
        return DropoutHooks(net, members)


def coefficients(p: float, alpha: float | None) -> tuple[float, float, float]:
    """(scale, shift, dropped) of dropout with probability p; alpha dropout when `alpha`
    (the saturation value) is given. p = 0 gives (1, 0, 0): the identity."""
    if alpha is None or p == 0:
        return 1.0 / (1.0 - p), 0.0, 0.0
    a = ((alpha * alpha * p + 1) * (1 - p)) ** -0.5
    return a, alpha * a * p, alpha * a * (p - 1)


class DropoutHooks(TrickHooks):
    """Attributes: p, scale, shift, dropped: (K, 1, 1) per member (p = 0: never dropped)."""

    def __init__(self, net, members):
        super().__init__(net, members)
        self.p = self.column(lambda d: d.p)
        per_member = [coefficients(0.0 if m is None else m.p, a.alpha_dropout)
                      for m, a in zip(members, net.member_activations, strict=True)]
        device = self.p.device
        self.scale, self.shift, self.dropped = (
            torch.tensor(values, dtype=self.p.dtype, device=device).view(-1, 1, 1)
            for values in zip(*per_member, strict=True))

    def post_activation(self, layer, u, h, mode):
        if mode != "train":
            return u
        return self.drop(u)

    def drop(self, u: torch.Tensor) -> torch.Tensor:
        """Dropout of u (K, B, n), with a fresh mask from the network's noise generator."""
        keep = torch.rand(u.shape, generator=self.net.generator, device=u.device) >= self.p
        return torch.where(keep, u * self.scale + self.shift, self.dropped)
