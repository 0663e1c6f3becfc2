"""batchnorm[:before|after]: batch normalization (Ioffe & Szegedy 2015) of every hidden layer.

Member k's units are normalized over the minibatch, then scaled and shifted by its own
learnable gain and bias, either before the activation (the default, as the paper proposes:
s^l = BN(a^l)) or after it (u^l = BN(f(s^l))). As torch.nn.BatchNorm1d: biased batch
variance in the forward pass, the unbiased one in the running estimates (momentum 0.1,
eps 1e-5), which evaluation uses. The monitor ("monitor" mode) normalizes with the monitor
set's own statistics and commits nothing: at initialization the running estimates are not yet
meaningful. Running estimates change only for members whose update was applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, register

torch = lazy_import("torch")

BN_EPS = 1e-5  # torch.nn.BatchNorm1d defaults
BN_MOMENTUM = 0.1
SIDES = ("before", "after")


@register
@dataclass(frozen=True)
class BatchNorm(Trick):
    """Attributes: where: "before" or "after" the activation."""

    name = "batchnorm"
    family = "architecture"
    label = "Batch norm"
    color = "#0173b2"
    changes_function = True
    plain_jacobian = False
    # The weights still get h^T dCost/da (batch norm acts after the linear output a); only
    # the gains and shifts, small, take their gradients from autograd.
    fused_update = True
    where: str = "before"

    def __post_init__(self) -> None:
        if self.where not in SIDES:
            raise ValueError(f"batchnorm takes 'before' or 'after' (the activation), "
                             f"got {self.where!r}")
        if self.where == "after":
            self._set(label="Batch norm after", color="#56b4e9")

    @classmethod
    def check_bundle(cls, members, activations, depth) -> None:
        sides = {m.where for m in members if m is not None}
        if len(sides) > 1 and any(a.pieces > 1 for a in activations):
            raise ValueError("maxout members of one bundle must all put batchnorm on the same "
                             "side of the activation")

    @classmethod
    def hooks(cls, net, members) -> BatchNormHooks:
        return BatchNormHooks(net, members)


class BatchNormHooks(TrickHooks):
    """Gains, biases and running estimates: per hidden layer (K, 1, n), n the normalized
    width (width * pieces before a maxout activation, width after it). Members on either
    side share the tensors (one side per member); members without batch norm ignore them.

    Attributes (besides TrickHooks'):
        before, after: (K, 1, 1) bool, members normalizing on each side.
        running_means, running_vars: per hidden layer, (K, 1, n).
    """

    def __init__(self, net, members):
        super().__init__(net, members)
        self.before = self.column(lambda bn: bn.where == "before").bool()
        self.after = self.column(lambda bn: bn.where == "after").bool()
        self.uses_before = any(m is not None and m.where == "before" for m in members)
        self.uses_after = any(m is not None and m.where == "after" for m in members)
        k, device = net.n_members, net.weights[0].device
        linear = [w.shape[2] for w in net.weights[:-1]]  # width * pieces
        units = [w.shape[1] for w in net.weights[1:]]  # width
        widths = linear if self.uses_before else units
        self.params = {
            "gamma": [torch.ones(k, 1, n, device=device, requires_grad=True) for n in widths],
            "beta": [torch.zeros(k, 1, n, device=device, requires_grad=True) for n in widths]}
        self.running_means = [torch.zeros(k, 1, n, device=device) for n in widths]
        self.running_vars = [torch.ones(k, 1, n, device=device) for n in widths]
        self.buffers = [*self.running_means, *self.running_vars]
        #: (layer, side) -> (members, batch mean, unbiased batch variance) of the last
        #: training forward pass, folded into the running estimates by `after_step`.
        self._pending: dict[tuple[int, str], tuple] = {}

    def pre_activation(self, layer, s, mode):
        return self._normalize(layer, s, mode, "before") if self.uses_before else s

    def post_activation(self, layer, u, h, mode):
        return self._normalize(layer, u, mode, "after") if self.uses_after else u

    def _normalize(self, layer: int, t: torch.Tensor, mode: str, side: str) -> torch.Tensor:
        """Normalize t (K, B, n) over the batch for the members normalizing on `side`."""
        members = self.before if side == "before" else self.after  # (K, 1, 1) bool
        if mode == "eval":
            mean, var = self.running_means[layer], self.running_vars[layer]
        else:
            # Not torch.var_mean: over the middle dim of (K, B, n) it is ~30x slower on CPU.
            mean = t.mean(dim=1, keepdim=True)  # (K, 1, n)
            centred = t - mean
            var = (centred * centred).mean(dim=1, keepdim=True)
            if mode == "train":
                n = t.shape[1]
                self._pending[layer, side] = (members, mean.detach(),
                                              var.detach() * n / max(n - 1, 1))
        normalized = (t - mean) * torch.rsqrt(var + BN_EPS) * self.params["gamma"][layer] \
            + self.params["beta"][layer]
        return torch.where(members, normalized, t)

    def after_step(self, updated):
        """Fold the last training forward's batch statistics into the running estimates of
        members that normalize and were updated (updated: (K,) bool)."""
        with torch.no_grad():
            for (layer, _), (members, mean, var) in self._pending.items():
                mask = members & updated.view(-1, 1, 1)
                for buffer, batch in ((self.running_means[layer], mean),
                                      (self.running_vars[layer], var)):
                    buffer.copy_(torch.where(mask, (1 - BN_MOMENTUM) * buffer
                                             + BN_MOMENTUM * batch, buffer))
        self._pending = {}
