"""The trick path's step as torch would run it with stored gradients, to test the fused one.

`Reference` differentiates every parameter of a network with autograd (its weights and biases
as leaves, transformed weights through their transform), applies each member's penalty and
clipping with torch.nn.utils, and steps each member with its own torch.optim optimizer on
views of the network's flat buffers. `train_side_by_side` trains a TrickStepper's network
and a twin (same initialization and noise seed) under the reference, comparing them after
every step. Used by tests/test_trick_fused.py and tests/test_trick_units.py.
"""

from __future__ import annotations

import torch

from trainability.nets.mlp import nll_per_member
from trainability.tricks.net import TrickMLP
from trainability.tricks.step import TrickStepper


class Reference:
    """Member by member, torch's own tools on the twin network's flat buffers."""

    def __init__(self, net: TrickMLP, lr: float):
        self.net = net
        # Row views of the flat buffers: leaves that torch.optim updates in place.
        self.views = [(net.flat_weights[k], net.flat_others[k]) for k in range(net.n_members)]
        self.optimizers = [self._optimizer(t, w, o, lr)
                           for t, (w, o) in zip(net.member_tricks, self.views, strict=True)]

    @staticmethod
    def _optimizer(tricks, w, o, lr):
        choice = tricks.optimizer_choice
        hyper = dict(choice.hyper)
        groups = [{"params": [w], "weight_decay": choice.weight_decay},
                  {"params": [o], "weight_decay": 0.0}]
        if choice.kind == "adam":
            return torch.optim.Adam(groups, lr=lr)
        if choice.kind == "momentum":
            return torch.optim.SGD(groups, lr=lr, momentum=hyper["momentum"])
        if choice.kind == "rmsprop":
            return torch.optim.RMSprop(groups, lr=lr)
        if choice.kind == "adagrad":
            return torch.optim.Adagrad(groups, lr=lr)
        return torch.optim.SGD(groups, lr=lr)

    def step(self, x, y, active):
        net = self.net
        losses = nll_per_member(net.forward(x, mode="train").logits, y)
        grads = net.flat_gradients(torch.autograd.grad(losses.sum(), net.parameters()))
        updated = active & torch.isfinite(losses.detach())
        for k, (tricks, (w, o)) in enumerate(zip(net.member_tricks, self.views, strict=True)):
            if not updated[k]:
                continue
            w.grad, o.grad = grads[0][k].clone(), grads[1][k].clone()
            if "l1" in tricks:
                w.grad += tricks.get("l1").weight * torch.sign(w)
            if "clip_norm" in tricks:
                torch.nn.utils.clip_grad_norm_([w, o], tricks.get("clip_norm").max_norm)
            if "clip_value" in tricks:
                torch.nn.utils.clip_grad_value_([w, o], tricks.get("clip_value").clip)
            self.optimizers[k].step()
        net.tricks.after_step(updated)


def train_side_by_side(net: TrickMLP, twin: TrickMLP, lr: float, batches, active=None,
                       rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """Train `net` with TrickStepper and its twin with `Reference` on the same minibatches,
    asserting after every step that parameters and buffers agree."""
    k = net.n_members
    stepper = TrickStepper(net, torch.full((k,), lr))
    reference = Reference(twin, lr)
    active = torch.ones(k, dtype=torch.bool) if active is None else active
    for x, y in batches:
        stepper.step(x, y, active)
        reference.step(x, y, active)
        for ours, theirs in ((net.flat_weights, twin.flat_weights),
                             (net.flat_others, twin.flat_others),
                             *zip(net.buffers(), twin.buffers(), strict=True)):
            torch.testing.assert_close(ours, theirs, rtol=rtol, atol=atol)
