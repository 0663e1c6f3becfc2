"""A bundle of MLPs with tricks: batch norm, residual skips, dropout, maxout, PReLU, RReLU.

Same stacking as `BundledMLP` (weights (K, n_in, n_out), one baddbmm per layer for all K
members) but trained by autograd: every parameter is a leaf that requires grad, and members
may differ in any trick that keeps shapes equal. Per-member switches are (K, 1, 1) tensors
applied with torch.where, so one pass serves every member; a member without batch norm simply
ignores the normalized branch.

Why hand-written rather than K torch.nn modules: the point of a bundle is one batched matmul
per layer for all members; nn.BatchNorm1d, nn.Dropout and friends hold one parameter set and
draw from the global RNG, whereas here each member has its own statistics, its own
probability and a seeded generator that a checkpoint can save.

Layer l (1..depth) of member k:
    a^l = h^{l-1} W^{l-1} + b^{l-1}                (K, B, width * pieces)   linear output
    s^l = BN(a^l) if batchnorm "before" else a^l                            activation input
    u^l = f(s^l), BN(f(s^l)) if batchnorm "after"   (K, B, width)
    h^l = u^l + h^{l-1} if residual and l >= 2 else u^l
    h^l = dropout(h^l) while training
Modes: "train" (batch statistics, running statistics pending commit, dropout and RReLU noise
on), "eval" (running statistics, no noise), "monitor" (batch statistics of the monitor set,
not committed, no noise: at initialization the running statistics are not yet meaningful).
"""

from __future__ import annotations

import torch

from trainability.nets.activations import SELU_ALPHA, SELU_LAMBDA
from trainability.nets.mlp import BundledMLP, ForwardPass
from trainability.tricks.spec import TrickSet

BN_EPS = 1e-5  # torch.nn.BatchNorm1d defaults
BN_MOMENTUM = 0.1
#: -lambda * alpha of SELU: the value alpha dropout sets dropped units to (torch's constant).
ALPHA_DROPOUT_VALUE = SELU_LAMBDA * SELU_ALPHA
MODES = ("train", "eval", "monitor")


def _member_column(values: list[float], device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device).view(-1, 1, 1)


class TrickMLP(BundledMLP):
    """K stacked MLPs whose members may each use batch norm, residual skips and dropout.

    Attributes (besides BundledMLP's):
        gammas, betas: per hidden layer, (K, 1, n) batch-norm scale and shift (n = the
            normalized width), or empty lists when no member uses batch norm.
        running_means, running_vars: per hidden layer, (K, 1, n) buffers.
        slopes: per hidden layer, (K, 1, 1) learnable PReLU slopes (unused for others).
        generator: the seeded RNG of dropout and RReLU noise.
    """

    def __init__(self, weights, biases, activations, tricks: list[TrickSet] | None = None,
                 noise_seed: int = 0):
        super().__init__(weights, biases, activations)
        tricks = tricks or [TrickSet()] * self.n_members
        if len(tricks) != self.n_members:
            raise ValueError("one TrickSet per member is needed")
        device = weights[0].device
        self.tricks = tricks
        column = lambda values: _member_column(values, device)  # noqa: E731
        self.bn_before = column([t.batchnorm == "before" for t in tricks]).bool()
        self.bn_after = column([t.batchnorm == "after" for t in tricks]).bool()
        self.residual = column([t.residual for t in tricks])
        self.drop_p = column([t.dropout for t in tricks])
        selu = [a.name == "selu" for a in activations]
        self._set_dropout_coefficients(tricks, selu, column)
        #: activation name -> (the activation, (k_a,) indices of its members)
        self._members_of = {a.name: (a, torch.tensor([i for i, b in enumerate(activations)
                                                      if b.name == a.name], device=device))
                            for a in activations}
        self.uses_bn = any(t.batchnorm for t in tricks)
        self.uses_bn_before = any(t.batchnorm == "before" for t in tricks)
        self.uses_bn_after = any(t.batchnorm == "after" for t in tricks)
        self.uses_residual = any(t.residual for t in tricks)
        self.uses_dropout = any(t.dropout > 0 for t in tricks)
        for p in [*self.weights, *self.biases]:
            p.requires_grad_(True)
        k, depth = self.n_members, self.depth
        widths = [w.shape[2] for w in self.weights[:-1]]  # width * pieces
        unit_widths = [w.shape[1] for w in self.weights[1:]]  # width
        if self.uses_bn:
            bn_widths = [a if self.uses_bn_before else u
                         for a, u in zip(widths, unit_widths, strict=True)]
            if self.uses_bn_before and self.uses_bn_after and widths != unit_widths:
                raise ValueError("maxout members of one bundle must all put batchnorm on the "
                                 "same side of the activation")
            self.gammas = [torch.ones(k, 1, n, device=device, requires_grad=True)
                           for n in bn_widths]
            self.betas = [torch.zeros(k, 1, n, device=device, requires_grad=True)
                          for n in bn_widths]
            self.running_means = [torch.zeros(k, 1, n, device=device) for n in bn_widths]
            self.running_vars = [torch.ones(k, 1, n, device=device) for n in bn_widths]
        else:
            self.gammas, self.betas, self.running_means, self.running_vars = [], [], [], []
        slope0 = [a.learnable_slope if a.learnable_slope is not None else 0.0
                  for a in activations]
        self.uses_prelu = any(a.learnable_slope is not None for a in activations)
        self.slopes = ([column(slope0).clone().requires_grad_(True) for _ in range(depth)]
                       if self.uses_prelu else [])
        self._flatten()
        self.generator = torch.Generator(device=device).manual_seed(noise_seed)
        self._pending: list[tuple] = []
        if self.uses_residual and depth < 2:
            raise ValueError("residual needs depth >= 2: skips join equal-width hidden layers")

    def _set_dropout_coefficients(self, tricks, selu, column) -> None:
        """Kept units become x * scale + shift, dropped ones drop_value (per member).

        Inverted dropout: scale 1/(1-p), shift 0, dropped 0. Alpha dropout (SELU members),
        exactly torch's formula: a = ((1 - p)(1 + p alpha'^2))^-1/2 with alpha' the SELU
        saturation value; kept a x + a alpha' p, dropped a alpha' (p - 1), which keeps zero
        mean and unit variance.
        """
        scale, shift, dropped = [], [], []
        for trick, is_selu in zip(tricks, selu, strict=True):
            p = trick.dropout
            if is_selu and p > 0:
                alpha = ALPHA_DROPOUT_VALUE
                a = ((alpha * alpha * p + 1) * (1 - p)) ** -0.5
                scale.append(a)
                shift.append(alpha * a * p)
                dropped.append(alpha * a * (p - 1))
            else:
                scale.append(1.0 / (1.0 - p))
                shift.append(0.0)
                dropped.append(0.0)
        self.drop_scale, self.drop_shift, self.drop_value = (column(v) for v in
                                                             (scale, shift, dropped))

    # ---- parameters ---------------------------------------------------------------------
    def _flatten(self) -> None:
        """Move every parameter into two flat (K, P) buffers and make the parameters views.

        `flat_weights` holds the weight matrices (the penalized tensors), `flat_others` the
        rest (biases, batch-norm scales and shifts, PReLU slopes). The optimizer, clipping and
        penalties then act on two tensors instead of one per layer, whatever the depth: at
        depth 50 that is ~15 kernel launches per step instead of thousands. The views are
        leaves that require grad, so autograd still returns one gradient per layer.
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
        others = [*self.biases, *self.gammas, *self.betas, *self.slopes]
        self.flat_others, views = pack(others)
        counts = [len(self.biases), len(self.gammas), len(self.betas), len(self.slopes)]
        bounds = [sum(counts[:i]) for i in range(5)]
        self.biases, self.gammas, self.betas, self.slopes = (
            views[bounds[i]:bounds[i + 1]] for i in range(4))

    def flat_gradients(self, grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-parameter gradients (as from autograd over parameters()) packed like the flat
        buffers: ((K, P_weights), (K, P_others))."""
        k, n = self.n_members, len(self.weights)

        def pack(parts: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
            if not parts:
                return torch.zeros_like(like)
            return torch.cat([g.reshape(k, -1) for g in parts], dim=1)

        return pack(list(grads[:n]), self.flat_weights), pack(list(grads[n:]), self.flat_others)

    def parameters(self) -> list[torch.Tensor]:
        """Every trainable tensor, weights first: [W^0..W^depth, b^0.., gammas, betas, slopes]."""
        return [*self.weights, *self.biases, *self.gammas, *self.betas, *self.slopes]

    def weight_indices(self) -> set[int]:
        """Indices into parameters() of the weight matrices (the only penalized tensors)."""
        return set(range(len(self.weights)))

    def buffers(self) -> list[torch.Tensor]:
        return [*self.running_means, *self.running_vars]

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
                mode: str = "eval") -> ForwardPass:
        """Run x (B, n_inputs) through every member (see the module docstring for `mode`).

        `track_input_grad` is accepted for the monitor's sake; parameters require grad, so
        the graph exists whenever autograd is enabled.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self._pending = []
        h = x.unsqueeze(0).expand(self.n_members, *x.shape)
        inputs, linear, pre, post = [], [], [], []
        for layer in range(self.depth):
            inputs.append(h)
            a = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            linear.append(a)
            s = self._batchnorm(layer, a, mode, self.bn_before) if self.uses_bn_before else a
            if mode == "monitor" and not s.requires_grad:
                s.requires_grad_(True)
            pre.append(s)
            u = self._activate(layer, s, mode)
            if self.uses_bn_after:
                u = self._batchnorm(layer, u, mode, self.bn_after)
            if self.uses_residual and layer > 0:
                u = u + self.residual * h
            if self.uses_dropout and mode == "train":
                u = self._dropout(u)
            post.append(u)
            h = u
        logits = torch.baddbmm(self.biases[-1], h, self.weights[-1])
        return ForwardPass(pre, post, logits, linear_outputs=linear, layer_inputs=inputs)

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
            out = out.index_copy(0, index, result)
        return out

    def _apply(self, act, layer: int, block: torch.Tensor, members, mode: str) -> torch.Tensor:
        if act.learnable_slope is not None:
            return torch.where(block >= 0, block, self.slopes[layer][members] * block)
        if act.random_slopes is not None and mode == "train":
            low, high = act.random_slopes
            slope = torch.rand(block.shape, generator=self.generator, device=block.device)
            return torch.where(block >= 0, block, (low + (high - low) * slope) * block)
        return act(block)

    def _batchnorm(self, layer: int, t: torch.Tensor, mode: str,
                   members: torch.Tensor) -> torch.Tensor:
        """Normalize t (K, B, n) over the batch for the members in `members` (K, 1, 1) bool.

        As torch.nn.BatchNorm1d: biased batch variance in the forward pass, the unbiased one
        in the running estimate; evaluation uses the running estimates.
        """
        if t.shape[-1] != self.gammas[layer].shape[-1]:
            return t  # the other side of the activation (maxout changes the width)
        if mode == "eval":
            mean, var = self.running_means[layer], self.running_vars[layer]
        else:
            # Not torch.var_mean: over the middle dim of (K, B, n) it is ~30x slower on CPU.
            mean = t.mean(dim=1, keepdim=True)
            centred = t - mean
            var = (centred * centred).mean(dim=1, keepdim=True)
            if mode == "train":
                n = t.shape[1]
                self._pending.append((layer, members, mean.detach(),
                                      var.detach() * n / max(n - 1, 1)))
        normalized = (t - mean) * torch.rsqrt(var + BN_EPS) * self.gammas[layer] \
            + self.betas[layer]
        return torch.where(members, normalized, t)

    def _dropout(self, u: torch.Tensor) -> torch.Tensor:
        keep = torch.rand(u.shape, generator=self.generator, device=u.device) >= self.drop_p
        return torch.where(keep, u * self.drop_scale + self.drop_shift, self.drop_value)

    @torch.no_grad()
    def commit_running_stats(self, updated: torch.Tensor) -> None:
        """Fold the last training forward's batch statistics into the running estimates of
        members that normalize and were updated (updated: (K,) bool)."""
        for layer, members, mean, var in self._pending:
            mask = members & updated.view(-1, 1, 1)
            for buffer, batch in ((self.running_means[layer], mean),
                                  (self.running_vars[layer], var)):
                buffer.copy_(torch.where(mask, (1 - BN_MOMENTUM) * buffer + BN_MOMENTUM * batch,
                                         buffer))
        self._pending = []

    def jacobian_supported(self) -> torch.Tensor:
        """(K,) bool: members whose layer Jacobian is diag(f'(s)) W^T (no batch norm, skip,
        maxout or learned slope), for which the monitor's singular values are meaningful."""
        return torch.tensor([not (t.batchnorm or t.residual) and a.elementwise
                             for t, a in zip(self.tricks, self.member_activations, strict=True)])
