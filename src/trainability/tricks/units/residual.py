"""residual[:block=<m>,scale=<s>]: identity skips around residual branches (He et al. 2016).

Hidden layers are numbered 1..depth (0..depth-1 in the code). The first maps the input to the
hidden width and has no skip; the branches follow it back to back, each of m consecutive
hidden layers, L = floor((depth - 1) / m) of them; the (depth - 1) mod m layers left at the
top are plain layers (h = f(s)), the last before the classifier.

- m = 1 (`residual`, as ever): each hidden layer l >= 2 outputs h^l = h^{l-1} + u^l, u^l its
  activation (after batch norm, before dropout): one-layer branches that end with the
  activation.
- m >= 2 (`residual:block=2`): a branch is m layers whose last applies no activation
  (trainability.tricks.base.TrickHooks.no_activation), so a block is
  h = x + F(x), F(x) = W_m f(... f(W_1 x + b_1) ...) + b_m   (m = 2: x + W_2 f(W_1 x + b_1) + b_2,
  in the row form the suite writes as x W + b). This is the branch Fixup is defined for
  (trainability.tricks.units.fixup: zeroing a branch that ends with a ReLU would stop it from
  learning). Needs an elementwise activation (not maxout) and, with batch norm, batch norm
  before the activation (after it the last layer of a branch has none to follow).
- scale (a number s > 0, or `invsqrt` for 1/sqrt(L)): a fixed factor on every branch,
  h = x + s F(x). Unscaled, each block adds the variance of its branch, v times its input's
  (v = 2 for a two-layer ReLU branch with He init: each block triples it), so the signal
  grows geometrically with the number of blocks at init; with s = 1/sqrt(L) the L blocks
  together multiply it by (1 + v/L)^L < e^v. Learned factors are the `rezero` and `fixup`
  units', read through their `branch_scale` hooks.

Spelled `residual`, `residual:block=2`, `residual:scale=invsqrt`, `residual:block=2,scale=0.5`
(block=1 and scale=1 are plain `residual`: one network, one spelling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.registry import format_value
from trainability.tricks.base import Trick, TrickHooks, positive, register, whole

torch = lazy_import("torch")

#: The spelling of scale = 1/sqrt(L), L the number of branches.
INVSQRT = "invsqrt"


def branches(depth: int, block: int) -> list[range]:
    """The hidden layers (0-based, as TrickMLP numbers them) of each residual branch of
    `block` layers in a net of `depth` hidden layers: after the first hidden layer, back to
    back; the (depth - 1) % block layers left at the top belong to none."""
    return [range(1 + j * block, 1 + (j + 1) * block) for j in range((depth - 1) // block)]


@register
@dataclass(frozen=True)
class Residual(Trick):
    """Attributes: block: layers per branch m (None: 1); scale: the fixed factor of every
    branch, a number, INVSQRT, or None (1)."""

    name = "residual"
    family = "architecture"
    label = "Residual"
    color = "#de8f05"
    changes_function = True
    plain_jacobian = False
    fused_update = True  # the skip changes the forward pass, not the weights' gradient form
    block: int | None = None
    scale: float | str | None = None

    def __post_init__(self) -> None:
        block = 1 if self.block is None else whole("residual block", self.block)
        scale = self.scale
        if isinstance(scale, str):
            if scale != INVSQRT:
                raise ValueError(f"residual scale is a number > 0 or {INVSQRT!r} (1/sqrt of "
                                 f"the number of branches), got {scale!r}")
        elif scale is not None:
            scale = positive("residual scale", scale)
            scale = None if scale == 1.0 else scale
        self._set(block=None if block == 1 else block, scale=scale)
        if block > 1 or scale is not None:
            parts = [f"{block}-layer blocks"] if block > 1 else []
            if scale is not None:
                parts.append("scale 1/\u221aL" if scale == INVSQRT
                             else f"scale {format_value(scale)}")
            self._set(label=f"Residual ({', '.join(parts)})",
                      color="#e6a157" if scale is not None else "#8c613c")

    @property
    def layers(self) -> int:
        """m, the hidden layers of one branch."""
        return self.block or 1

    def branch_factor(self, depth: int) -> float:
        """The fixed factor of each branch in a net of `depth` hidden layers."""
        if self.scale == INVSQRT:
            return 1.0 / math.sqrt(len(branches(depth, self.layers)))
        return 1.0 if self.scale is None else float(self.scale)

    def check(self, tricks, depth=None, activation=None) -> None:
        m = self.layers
        if depth is not None and depth < m + 1:
            if m == 1:
                raise ValueError("residual needs depth >= 2 (skips join equal-width hidden "
                                 "layers)")
            raise ValueError(f"residual:block={m} needs depth >= {m + 1} (the first hidden "
                             f"layer, then branches of {m} layers)")
        if m > 1:
            if activation is not None and not activation.elementwise:
                raise ValueError(f"residual:block={m} needs an elementwise activation (its "
                                 f"branches end with a linear layer), not {activation.name!r}")
            batchnorm = tricks.get("batchnorm")
            if batchnorm is not None and batchnorm.where == "after":
                raise ValueError(f"residual:block={m} ends each branch with a linear layer, "
                                 "which batchnorm:after cannot follow; use batchnorm (before)")

    @classmethod
    def hooks(cls, net, members) -> ResidualHooks:
        return ResidualHooks(net, members)


class ResidualHooks(TrickHooks):
    """Skips for every member with `residual`, whatever its block size and scale.

    Attributes (besides TrickHooks'):
        gate: (K, 1, 1), 1 for members with one-layer branches, else 0.
        blocks: m -> (first layers, last layers, (K, 1, 1) bool members) for each block size
            m >= 2 that some member uses.
        scales: per hidden layer, (K, 1, 1) the fixed factor of the branch ending there (1
            for other members), or None where every factor is 1.
    """

    def __init__(self, net, members):
        super().__init__(net, members)
        depth = net.depth
        self.gate = self.column(lambda r: r.layers == 1)
        self.one_layer = any(m is not None and m.layers == 1 for m in members)
        self.blocks: dict[int, tuple[set[int], set[int], torch.Tensor]] = {}
        for m in sorted({r.layers for r in members if r is not None and r.layers > 1}):
            spans = branches(depth, m)
            self.blocks[m] = ({r[0] for r in spans}, {r[-1] for r in spans},
                              self.column(lambda r, m=m: r.layers == m).bool())
        ends = [set() if r is None else {b[-1] for b in branches(depth, r.layers)}
                for r in members]
        self.scales = [None] * depth
        for layer in range(depth):
            factors = [r.branch_factor(depth) if r is not None and layer in end else 1.0
                       for r, end in zip(members, ends, strict=True)]
            if any(f != 1.0 for f in factors):
                self.scales[layer] = torch.tensor(factors, device=self.mask.device).view(-1, 1, 1)
        self._linear = [None] * depth
        for layer in range(depth):
            flags = [r is not None and r.layers > 1 and layer in end
                     for r, end in zip(members, ends, strict=True)]
            if any(flags):
                self._linear[layer] = torch.tensor(flags, device=self.mask.device).view(-1, 1, 1)
        self._scalers: list[TrickHooks] = []
        #: m -> the input x of the branches of m layers being computed (K, B, n)
        self._inputs: dict[int, torch.Tensor] = {}

    def attach(self):
        """Find the tricks that scale branches (their `branch_scale` hooks)."""
        self._scalers = [h for h in self.net.tricks.hooks
                         if type(h).branch_scale is not TrickHooks.branch_scale]

    def no_activation(self, layer):
        return self._linear[layer]

    def _factor(self, layer: int) -> torch.Tensor | None:
        """(K, 1, 1) the factor of the branches ending at `layer`, or None (all 1)."""
        factor = self.scales[layer]
        for hooks in self._scalers:
            scale = hooks.branch_scale(layer)
            if scale is not None:
                factor = scale if factor is None else factor * scale
        return factor

    def post_activation(self, layer, u, h, mode):
        if layer == 0:
            return u
        factor = self._factor(layer)
        out = u
        if self.one_layer:
            out = u + self.gate * h if factor is None else factor * u + self.gate * h
        for m, (firsts, lasts, members) in self.blocks.items():
            if layer in firsts:
                self._inputs[m] = h
            if layer in lasts:
                branch = u if factor is None else factor * u
                out = torch.where(members, self._inputs.pop(m) + branch, out)
        return out
