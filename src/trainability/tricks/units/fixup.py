"""fixup: Fixup initialization of residual blocks without normalization (Zhang, Dauphin & Ma
2019, "Fixup initialization: residual learning without normalization", Sec. 3).

On the member's `residual:block=<m>` branches (m >= 2 layers, the last applying no
activation; L branches: trainability.tricks.units.residual), at init:

1. the last layer of each branch and the classifier start at 0 (weights and biases);
2. the other layers of each branch keep the member's initializer scaled by L^(-1/(2m-2))
   (L^(-1/2) for m = 2); the paper's rule is He init scaled so: use `he_normal` or
   `he_uniform` (any other initializer is scaled alike). The first hidden layer and the
   plain layers above the last branch are left as drawn;
3. scalar parameters, learned with the member's optimizer (as in the paper's code,
   github.com/hongyi-zhang/Fixup, FixupBasicBlock):
   - a multiplier, 1 at init, per branch, on its last linear map: F(x) = mult (z W_m) + b_m;
   - a scalar bias, 0 at init, before every linear layer but the first (whose input is the
     data), the classifier included: z = h + c (before each branch's first layer it is
     added to the branch's input, not to the skip);
   - a scalar bias, 0 at init, before every activation, added to the pre-activation.
   The paper's convolutions have no biases; here every linear layer keeps its own vector
   bias too (b_m, outside the multiplier, plays the part of the paper's bias after it).

So a block of two layers is h = x + mult ((f((x + c_1) W_1 + b_1 + c_2) + c_3) W_2) + b_2,
and at init h = x: the net computes its first hidden layer (and any plain layers on top) and
the classifier outputs 0. The weights' gradient stays z^T g, z what each layer reads
(TrickHooks.layer_input), so members keep the fused plain-SGD update; the scalars take the
bias path. Spelled `residual:block=2+fixup`; no batch norm (Fixup replaces it), no fixed
`scale` (the multipliers are Fixup's), not with `rezero`.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, register
from trainability.tricks.units.residual import branches

torch = lazy_import("torch")


def fixup_factor(n_branches: int, layers: int) -> float:
    """L^(-1/(2m-2)): Fixup's scale of the layers of a branch but its last (m >= 2)."""
    return float(n_branches) ** (-1.0 / (2 * layers - 2))


@register
@dataclass(frozen=True)
class Fixup(Trick):
    name = "fixup"
    family = "architecture"
    label = "Fixup"
    color = "#029e73"
    changes_function = True
    plain_jacobian = False
    fused_update = True  # see the module docstring

    def check(self, tricks, depth=None, activation=None) -> None:
        residual = tricks.get("residual")
        if residual is None or residual.layers < 2:
            raise ValueError("fixup needs residual branches of m >= 2 layers (a zero "
                             "one-layer branch could stop learning): add residual:block=2")
        if residual.scale is not None:
            raise ValueError("fixup scales its branches itself; drop residual's scale=")
        if "rezero" in tricks:
            raise ValueError("fixup and rezero are two ways to start branches at 0; keep one")
        if "batchnorm" in tricks:
            raise ValueError("fixup trains residual nets without normalization; drop "
                             "batchnorm")

    @classmethod
    def hooks(cls, net, members) -> FixupHooks:
        return FixupHooks(net, members)


class FixupHooks(TrickHooks):
    """Fixup's initialization (applied to the bundle's weights when built) and scalars.

    Parameters, each (K, 1, 1) (entries of members without Fixup, or for which a layer has
    no such scalar, stay unused with a zero gradient):
        bias_in: per hidden layer 1..depth-1, added to what its linear map reads;
        bias_out: one, added to the last hidden layer's output, which the classifier reads;
        bias_act: per entry of `act_layers`, added before that layer's activation;
        multiplier: per entry of `last_layers`, on the last linear map of a branch.

    Attributes (besides TrickHooks'):
        act_layers, last_layers: hidden layers (0-based) with an activation, and ending a
            branch, for some Fixup member; act_masks, last_masks: per entry, (K, 1, 1) bool,
            the members for which that holds.
    """

    def __init__(self, net, members):
        super().__init__(net, members)
        k, depth, device = net.n_members, net.depth, net.weights[0].device
        last: dict[int, list[bool]] = {}
        active: dict[int, list[bool]] = {}
        for member, (unit, tricks) in enumerate(zip(members, net.member_tricks, strict=True)):
            if unit is None:
                continue
            spans = branches(depth, tricks.get("residual").layers)
            self._initialize(member, spans)
            ends = {span[-1] for span in spans}
            for layer in range(depth):
                flags = last if layer in ends else active
                flags.setdefault(layer, [False] * k)[member] = True

        def masks(flags):
            return [torch.tensor(flags[layer], device=device).view(-1, 1, 1)
                    for layer in sorted(flags)]

        self.act_layers, self.last_layers = sorted(active), sorted(last)
        self.act_masks, self.last_masks = masks(active), masks(last)
        self._act = {layer: i for i, layer in enumerate(self.act_layers)}
        self._last = {layer: i for i, layer in enumerate(self.last_layers)}

        def scalars(n, value):
            return [torch.full((k, 1, 1), value, device=device, requires_grad=True)
                    for _ in range(n)]

        self.params = {"bias_in": scalars(depth - 1, 0.0), "bias_out": scalars(1, 0.0),
                       "bias_act": scalars(len(self.act_layers), 0.0),
                       "multiplier": scalars(len(self.last_layers), 1.0)}

    def _initialize(self, member: int, spans: list[range]) -> None:
        """Rescale and zero `member`'s drawn weights in place (before they are flattened)."""
        net = self.net
        factor = fixup_factor(len(spans), len(spans[0]))
        with torch.no_grad():
            for span in spans:
                for layer in span[:-1]:
                    net.weights[layer][member].mul_(factor)
                net.weights[span[-1]][member].zero_()
                net.biases[span[-1]][member].zero_()
            net.weights[-1][member].zero_()
            net.biases[-1][member].zero_()

    def layer_input(self, layer, h):
        if layer == 0:
            return h
        z = h + torch.where(self.mask, self.params["bias_in"][layer - 1], 0.0)
        i = self._last.get(layer)
        if i is None:
            return z
        return torch.where(self.last_masks[i], self.params["multiplier"][i], 1.0) * z

    def pre_activation(self, layer, s, mode):
        i = self._act.get(layer)
        if i is None:
            return s
        return s + torch.where(self.act_masks[i], self.params["bias_act"][i], 0.0)

    def post_activation(self, layer, u, h, mode):
        if layer != self.net.depth - 1:
            return u
        return u + torch.where(self.mask, self.params["bias_out"][0], 0.0)
