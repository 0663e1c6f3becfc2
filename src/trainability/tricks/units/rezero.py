"""rezero: a learnable scalar gate on every residual branch, starting at 0 (Bachlechner et al.
2020, "ReZero is all you need: fast convergence at large depth").

Each branch F of the member's `residual` (one-layer or m-layer blocks: see
trainability.tricks.units.residual) is added as h = x + alpha F(x), alpha a scalar per branch
and member, learned with the member's optimizer, initialized at 0: at init every block is the
identity, so the net computes its first hidden layer and passes it to the classifier; the
gradients of the branch weights are 0 at the first step, alpha's are not
(dCost/dalpha = <dCost/dh, F(x)>). SkipInit (De & Smith 2020, "Batch normalization biases
residual blocks towards the identity function in deep networks") is the same gate, proposed
for residual nets without batch norm: it is this unit (no second spelling).

Spelled `residual+rezero` or `residual:block=2+rezero`; it needs `residual` and replaces its
fixed `scale`.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, register
from trainability.tricks.units.residual import branches

torch = lazy_import("torch")


@register
@dataclass(frozen=True)
class Rezero(Trick):
    name = "rezero"
    family = "architecture"
    label = "ReZero"
    color = "#9b2226"
    changes_function = True
    plain_jacobian = False  # the layer Jacobian is I + alpha D W^T, not D W^T
    # The weights' gradient is still z^T g (alpha scales g); alpha, a trick parameter, takes
    # the member's optimizer like the biases.
    fused_update = True

    def check(self, tricks, depth=None, activation=None) -> None:
        residual = tricks.get("residual")
        if residual is None:
            raise ValueError("rezero gates residual branches: add residual (or "
                             "residual:block=2 for two-layer branches)")
        if residual.scale is not None:
            raise ValueError("rezero learns each branch's scale; drop residual's scale=")

    @classmethod
    def hooks(cls, net, members) -> RezeroHooks:
        return RezeroHooks(net, members)


class RezeroHooks(TrickHooks):
    """alpha: one (K, 1, 1) tensor per hidden layer that ends some member's branch, 0 at init
    (members whose branch does not end there ignore their entry, which keeps its zero
    gradient).

    Attributes (besides TrickHooks'):
        layers: the hidden layers (0-based) where branches of rezero members end.
        ends: per entry of `layers`, (K, 1, 1) bool, the members whose branch ends there.
    """

    def __init__(self, net, members):
        super().__init__(net, members)
        k, depth, device = net.n_members, net.depth, net.weights[0].device
        flags: dict[int, list[bool]] = {}
        for member, (unit, tricks) in enumerate(zip(members, net.member_tricks, strict=True)):
            if unit is None:
                continue
            for span in branches(depth, tricks.get("residual").layers):
                flags.setdefault(span[-1], [False] * k)[member] = True
        self.layers = sorted(flags)
        self._index = {layer: i for i, layer in enumerate(self.layers)}
        self.ends = [torch.tensor(flags[layer], device=device).view(-1, 1, 1)
                     for layer in self.layers]
        self.params = {"alpha": [torch.zeros(k, 1, 1, device=device, requires_grad=True)
                                 for _ in self.layers]}

    def branch_scale(self, layer):
        i = self._index.get(layer)
        if i is None:
            return None
        return torch.where(self.ends[i], self.params["alpha"][i], 1.0)
