"""batchnorm[:before|after]: batch normalization (Ioffe & Szegedy 2015) of every hidden layer.

Member k's units are normalized over the minibatch, then scaled and shifted by its own
learnable gain and bias, either before the activation (the default, as the paper proposes:
s^l = BN(a^l)) or after it (u^l = BN(f(s^l))). As torch.nn.BatchNorm1d: biased batch
variance in the forward pass, the unbiased one in the running estimates (momentum 0.1,
eps 1e-5), which evaluation uses. The monitor ("monitor" mode) normalizes with the monitor
set's own statistics and commits nothing: at initialization the running estimates are not yet
meaningful. Running estimates change only for members whose update was applied.

Every member's units are normalized by one torch.nn.functional.batch_norm call per layer
(one fused kernel forward, one backward, instead of a dozen elementwise operations each way):
the bundle's (K, B, n) tensor is laid out as (B, K * n), each of the K * n columns a channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, register

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")

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
        k, b, n = t.shape
        gamma = self.params["gamma"][layer].reshape(k * n)
        beta = self.params["beta"][layer].reshape(k * n)
        if mode == "eval":
            normalized = self._batch_norm(t, self.running_means[layer].view(k * n),
                                          self.running_vars[layer].view(k * n), gamma, beta,
                                          training=False)
        elif b == 1:  # one example: the batch variance is 0 (batch_norm refuses to train)
            normalized = (t - t) * torch.rsqrt(t.new_tensor(BN_EPS)) * gamma.view(k, 1, n) \
                + beta.view(k, 1, n)
            if mode == "train":
                self._pending[layer, side] = (members, t.detach(), torch.zeros_like(t.detach()))
        elif mode == "train":
            # Momentum 1 makes batch_norm's running-estimate update write this batch's mean
            # and unbiased variance, which `after_step` folds into the members' estimates.
            mean, var = t.new_zeros(k * n), t.new_ones(k * n)
            normalized = self._batch_norm(t, mean, var, gamma, beta, training=True, momentum=1.0)
            self._pending[layer, side] = (members, mean.view(k, 1, n), var.view(k, 1, n))
        else:  # "monitor": the batch's statistics, nothing committed
            normalized = self._batch_norm(t, None, None, gamma, beta, training=True)
        return torch.where(members, normalized, t)

    @staticmethod
    def _batch_norm(t: torch.Tensor, mean, var, gamma, beta, training: bool,
                    momentum: float = BN_MOMENTUM) -> torch.Tensor:
        """torch's batch norm of t (K, B, n) per member and unit, over the batch: (K, B, n)."""
        k, b, n = t.shape
        flat = t.transpose(0, 1).reshape(b, k * n)  # (B, K * n): a channel per member unit
        out = F.batch_norm(flat, mean, var, gamma, beta, training=training, momentum=momentum,
                           eps=BN_EPS)
        return out.view(b, k, n).transpose(0, 1)

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
