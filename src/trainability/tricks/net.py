"""A bundle of MLPs with tricks, and with activations that need more than a function (maxout,
PReLU, RReLU).

Same stacking as `BundledMLP` (weights (K, n_in, n_out), one baddbmm per layer for all K
members); every parameter is a leaf that requires grad, and members may differ in any trick
that keeps shapes equal. Training (trainability.tricks.step) back-propagates only to each
layer's linear output, as the plain path does (`forward(linear_grad=True)`), and forms the
weights' updates from those gradients itself (trainability.tricks.fused). The network knows
no trick by name: each trick's hooks (trainability.tricks.base.TrickHooks, gathered by
trainability.tricks.hooks.BundleTricks) transform the weights, the activation's input and the
layer's output at fixed points, for their own members through (K, 1, 1) masks, so one pass
serves every member.

Why hand-written rather than K torch.nn modules: the point of a bundle is one batched matmul
per layer for all members; nn.BatchNorm1d, nn.Dropout and friends hold one parameter set and
draw from the global RNG, whereas here each member has its own statistics, its own
probability and a seeded generator that a checkpoint can save.

Layer l (1..depth) of member k, with the hooks of the tricks in the bundle:
    z^l = layer_input(h^{l-1})                      (K, B, n_{l-1})   e.g. Fixup's scalars
    a^l = z^l weight(W^{l-1}) + b^{l-1}             (K, B, width * pieces)   linear output
    s^l = pre_activation(a^l)                                       e.g. batch norm before
    u^l = f(s^l), or s^l where no_activation        (K, B, width)   (a branch's last layer)
    h^l = post_activation(u^l, h^{l-1})             e.g. batch norm after, skip, dropout
The classifier reads h^depth. `layer_input` and `no_activation` are dispatched here (the
other hooks by trainability.tricks.hooks.BundleTricks): the hooks that implement them, and
the per-layer masks of layers without activation, are found once when the bundle is built.
Modes: "train" (batch statistics, running statistics pending commit, dropout and RReLU noise
on), "eval" (running statistics, no noise), "monitor" (batch statistics of the monitor set,
not committed, no noise: at initialization the running statistics are not yet meaningful).
"""

from __future__ import annotations

import torch

from trainability.nets.mlp import BundledMLP, ForwardPass, bundled_linear
from trainability.tricks.base import TrickHooks, member_runs
from trainability.tricks.hooks import BundleTricks
from trainability.tricks.spec import TrickSet, check_bundle

MODES = ("train", "eval", "monitor")


def _overriding(hooks: list[TrickHooks], method: str) -> list[TrickHooks]:
    """The hooks whose class implements `method` (TrickHooks' default does nothing)."""
    return [h for h in hooks if getattr(type(h), method) is not getattr(TrickHooks, method)]


def _any_mask(masks: list[torch.Tensor | None]) -> torch.Tensor | None:
    """The union of (K, 1, 1) bool masks, None where none is given."""
    given = [m for m in masks if m is not None]
    if not given:
        return None
    union = given[0]
    for mask in given[1:]:
        union = union | mask
    return union


class TrickMLP(BundledMLP):
    """K stacked MLPs whose members may each use their own tricks.

    Attributes (besides BundledMLP's):
        member_tricks: one TrickSet per member.
        tricks: the hooks of the tricks the members use (BundleTricks).
        flat_weights, flat_others: (K, P) buffers holding every parameter (see `_flatten`).
        slopes: per hidden layer, (K, 1, 1) learnable PReLU slopes (unused for others).
        generator: the seeded RNG of training noise (dropout, RReLU slopes).
        transforms_weights: some trick transforms the weights (a `weight` hook): the
            gradient of the weights as used goes back through the transform.
        transformed: the weights as the last `linear_grad` forward pass used them, with
            their autograd graph (only when `transforms_weights`).
        fused: per member, True when its weights are updated in place by rank-B products
            without storing their gradient (every trick of it allows it, Trick.fused_update);
            the others' gradients are stored.
        no_activation: per hidden layer, (K, 1, 1) bool, the members whose layer applies no
            activation (u = s: the last layer of a residual branch), or None for none.
    """

    def __init__(self, weights, biases, activations, tricks: list[TrickSet] | None = None,
                 noise_seed: int = 0):
        super().__init__(weights, biases, activations)
        tricks = tricks or [TrickSet()] * self.n_members
        if len(tricks) != self.n_members:
            raise ValueError("one TrickSet per member is needed")
        for member, activation in zip(tricks, activations, strict=True):
            member.check(self.depth, activation)
        check_bundle(tricks, activations, self.depth)
        device = weights[0].device
        self.member_tricks = tricks
        self.generator = torch.Generator(device=device).manual_seed(noise_seed)
        #: activation name -> (the activation, (k_a,) indices of its members)
        self._members_of = {a.name: (a, torch.tensor([i for i, b in enumerate(activations)
                                                      if b.name == a.name], device=device))
                            for a in activations}
        for p in [*self.weights, *self.biases]:
            p.requires_grad_(True)
        slope0 = [a.learnable_slope if a.learnable_slope is not None else 0.0
                  for a in activations]
        self.uses_prelu = any(a.learnable_slope is not None for a in activations)
        column = torch.tensor(slope0, dtype=torch.float32, device=device).view(-1, 1, 1)
        self.slopes = ([column.clone().requires_grad_(True) for _ in range(self.depth)]
                       if self.uses_prelu else [])
        self.tricks = BundleTricks.build(self, tricks)
        self.transforms_weights = self.tricks.transforms_weights
        self._input_hooks = _overriding(self.tricks.hooks, "layer_input")
        #: per hidden layer, (K, 1, 1) bool members that apply no activation there, or None
        self.no_activation = [_any_mask([h.no_activation(layer) for h in self.tricks.hooks])
                              for layer in range(self.depth)]
        self.transformed: list[torch.Tensor] = []
        self.fused = [t.fused_update for t in tricks]
        self._flatten()
        self.tricks.attach()

    # ---- parameters ---------------------------------------------------------------------
    def _flatten(self) -> None:
        """Move every parameter into two flat (K, P) buffers and make the parameters views.

        `flat_weights` holds the weight matrices (the penalized tensors), `flat_others` the
        rest: biases, the tricks' parameters (batch-norm gains and shifts, ...), PReLU slopes.
        The optimizer, clipping and penalties then act on two tensors instead of one per
        layer, whatever the depth: at depth 50 that is ~15 kernel launches per step instead
        of thousands. The views are leaves that require grad, so autograd still returns one
        gradient per layer.
        """
        k = self.n_members
        device = self.weights[0].device

        def pack(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
            sizes = [t[0].numel() for t in tensors]
            flat = torch.empty(k, max(sum(sizes), 1), device=device)
            views, offset = [], 0
            for t, size in zip(tensors, sizes, strict=True):
                view = flat[:, offset:offset + size].view(k, *t.shape[1:])
                view.copy_(t.detach())
                views.append(view.requires_grad_(t.requires_grad))
                offset += size
            return flat, views

        self.flat_weights, self.weights = pack(self.weights)
        tricks = self.tricks.parameters()
        self.flat_others, views = pack([*self.biases, *tricks, *self.slopes])
        n_biases, n_tricks = len(self.biases), len(tricks)
        self.biases = views[:n_biases]
        self.tricks.replace_parameters(views[n_biases:n_biases + n_tricks])
        self.slopes = views[n_biases + n_tricks:]

    def flat_gradients(self, grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-parameter gradients (as from autograd over parameters()) packed like the flat
        buffers: ((K, P_weights), (K, P_others))."""
        k, n = self.n_members, len(self.weights)

        def pack(parts: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
            if not parts:
                return torch.zeros_like(like)
            return torch.cat([g.reshape(k, -1) for g in parts], dim=1)

        return pack(list(grads[:n]), self.flat_weights), pack(list(grads[n:]), self.flat_others)

    @property
    def fused_runs(self) -> list[slice]:
        """Contiguous runs of members on the fused update."""
        return member_runs(self.fused)

    @property
    def stored_runs(self) -> list[slice]:
        """Contiguous runs of members whose weights' gradients are stored."""
        return member_runs([not fused for fused in self.fused])

    def graph_parameters(self) -> list[torch.Tensor]:
        """The parameters that a `linear_grad` forward pass differentiates: the tricks' and
        the PReLU slopes (weights and biases get theirs from the linear outputs')."""
        return [*self.tricks.parameters(), *self.slopes]

    def others_gradient(self, linear_grads: list[torch.Tensor],
                        graph_grads: list[torch.Tensor]) -> torch.Tensor:
        """(K, P_others), packed like `flat_others`, from dCost/da of each layer's linear
        output, linear_grads[l] (K, B, n_out) (a bias's gradient is its sum over the batch),
        and the gradients of `graph_parameters()`."""
        k = self.n_members
        parts = [g.sum(dim=1).reshape(k, -1) for g in linear_grads]
        parts += [g.reshape(k, -1) for g in graph_grads]
        return torch.cat(parts, dim=1)

    def parameters(self) -> list[torch.Tensor]:
        """Every trainable tensor, in the flat buffers' order: the weights W^0..W^depth, then
        the biases, the tricks' parameters and the PReLU slopes."""
        return [*self.weights, *self.biases, *self.tricks.parameters(), *self.slopes]

    def buffers(self) -> list[torch.Tensor]:
        return self.tricks.buffers()

    def state(self) -> dict:
        return {"parameters": [self.flat_weights.cpu().clone(), self.flat_others.cpu().clone()],
                "buffers": [b.cpu().clone() for b in self.buffers()],
                "generator": self.generator.get_state()}

    @torch.no_grad()
    def load_state(self, state: dict) -> None:
        for target, saved in zip([self.flat_weights, self.flat_others], state["parameters"],
                                 strict=True):
            target.copy_(saved)
        for target, saved in zip(self.buffers(), state["buffers"], strict=True):
            target.copy_(saved)
        self.generator.set_state(state["generator"])

    # ---- forward ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, track_input_grad: bool = False,
                mode: str = "eval", linear_grad: bool = False) -> ForwardPass:
        """Run x (B, n_inputs) through every member (see the module docstring for `mode`).

        `track_input_grad` is accepted for the monitor's sake; parameters require grad, so
        the graph exists whenever autograd is enabled. With `linear_grad` the weights and
        biases enter as constants, through the plain path's linear (trainability.nets.mlp.
        bundled_linear: differentiable in its input only, back-propagated in the machine's
        formulation), and the first linear output is a leaf that requires grad: autograd
        then gives dCost/da for every layer's linear output a (`linear_outputs`, `logits`)
        and never forms a weight gradient. Transformed weights are kept in `transformed`.
        """
        if linear_grad:
            self.transformed = []
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        tricks = self.tricks
        h = x.unsqueeze(0).expand(self.n_members, *x.shape)  # (K, B, n_0), no copy
        inputs, linear, pre, post = [], [], [], []
        for layer in range(self.depth):
            z = h
            for hooks in self._input_hooks:
                z = hooks.layer_input(layer, z)
            inputs.append(z)
            a = self._linear(layer, z, linear_grad)  # (K, B, n * pieces)
            linear.append(a)
            s = tricks.pre_activation(layer, a, mode)
            if mode == "monitor" and not s.requires_grad:
                s.requires_grad_(True)
            pre.append(s)
            u = self._activate(layer, s, mode)  # (K, B, n)
            if self.no_activation[layer] is not None:
                u = torch.where(self.no_activation[layer], s, u)
            h = tricks.post_activation(layer, u, h, mode)
            post.append(h)
        logits = self._linear(self.depth, h, linear_grad)  # (K, B, classes)
        return ForwardPass(pre, post, logits, linear_outputs=linear, layer_inputs=inputs)

    def _linear(self, layer: int, h: torch.Tensor, linear_grad: bool) -> torch.Tensor:
        """h W^layer + b^layer: (K, B, n_in) -> (K, B, n_out) (see `forward`)."""
        if not linear_grad:
            return torch.baddbmm(self.biases[layer], h, self._weight(layer))
        w = self.weights[layer]
        if self.transforms_weights:
            w = self._weight(layer)
            self.transformed.append(w)
        a = bundled_linear(h, w.detach(), self.biases[layer].detach(), self.formulation)
        return a if a.requires_grad else a.requires_grad_(True)  # the first layer's

    def _weight(self, layer: int) -> torch.Tensor:
        """W^layer as the forward pass uses it: (K, n_in, n_out)."""
        w = self.weights[layer]
        return self.tricks.weight(layer, w) if self.tricks.transforms_weights else w

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x, mode="eval").logits

    def _activate(self, layer: int, s: torch.Tensor, mode: str) -> torch.Tensor:
        """Each member's activation of s (K, B, n * pieces) -> (K, B, n).

        With one contiguous run per activation, each run is activated on its slice. When an
        activation's members are scattered in several runs (members ordered by trick), each
        distinct activation gathers its members, activates them and scatters the result back:
        three kernels per activation however scattered its members are.
        """
        groups = self.activation_groups
        if len(groups) == 1:
            return self._apply(groups[0][0], layer, s, slice(None), mode)
        if len(groups) == len(self._members_of):
            return torch.cat([self._apply(act, layer, s[members], members, mode)
                              for act, members in groups])
        out = None
        for act, index in self._members_of.values():
            result = self._apply(act, layer, s.index_select(0, index), index, mode)
            if out is None:
                out = result.new_empty((self.n_members, *result.shape[1:]))
            # In place: the out-of-place index_copy copied all K members' (B, n) block once
            # per activation, 80% of an evaluation's time in a bundle of 9 activations.
            out.index_copy_(0, index, result)
        return out

    def _apply(self, act, layer: int, block: torch.Tensor, members, mode: str) -> torch.Tensor:
        """Activation `act` of its members' block: the learned slope of PReLU, the random
        slope of RReLU while training, else the activation's own function."""
        if act.learnable_slope is not None:
            return torch.where(block >= 0, block, self.slopes[layer][members] * block)
        if act.random_slopes is not None and mode == "train":
            low, high = act.random_slopes
            slope = torch.rand(block.shape, generator=self.generator, device=block.device)
            return torch.where(block >= 0, block, (low + (high - low) * slope) * block)
        return act(block)

    def jacobian_supported(self) -> torch.Tensor:
        """(K,) bool: members whose layer Jacobian is diag(f'(s)) W^T (no trick that changes
        it, no maxout or learned slope), for which the monitor's singular values are
        meaningful."""
        return torch.tensor([t.plain_jacobian and a.elementwise
                             for t, a in zip(self.member_tricks, self.member_activations,
                                             strict=True)])
