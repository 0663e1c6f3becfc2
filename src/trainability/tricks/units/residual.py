"""residual: identity skips between the equal-width hidden layers (He et al. 2016).

Hidden layer l >= 2 of a member with skips outputs h^l = u^l + h^{l-1}, u^l its activation
(after batch norm, before dropout); the first hidden layer, whose input is x, has no skip.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.tricks.base import Trick, TrickHooks, register


@register
@dataclass(frozen=True)
class Residual(Trick):
    name = "residual"
    family = "architecture"
    label = "Residual"
    color = "#de8f05"
    changes_function = True
    plain_jacobian = False
    fused_update = True  # the skip changes the forward pass, not the weights' gradient form

    def check(self, tricks, depth=None, activation=None) -> None:
        if depth is not None and depth < 2:
            raise ValueError("residual needs depth >= 2 (skips join equal-width hidden layers)")

    @classmethod
    def hooks(cls, net, members) -> ResidualHooks:
        return ResidualHooks(net, members)


class ResidualHooks(TrickHooks):
    def __init__(self, net, members):
        super().__init__(net, members)
        self.gate = self.column(lambda _: 1.0)  # (K, 1, 1): 1 with skips, 0 without

    def post_activation(self, layer, u, h, mode):
        return u if layer == 0 else u + self.gate * h
