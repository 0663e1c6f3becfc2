"""The weights' part of a trick-path update, without weight gradients where the tricks allow it.

The network back-propagates only to each layer's linear output (TrickMLP.forward with
`linear_grad`), as the plain path does: per layer l the step has the layer's input
z (K, B, n_in) and g = dCost/da (K, B, n_out), and member k's weight gradient is the rank-B
product z_k^T g_k. What happens to it depends on the member (TrickMLP.fused):

- fused members (tricks that leave the update a plain SGD step: none, batch norm, skips,
  dropout, clipping by norm, early stopping): W <- W - lr c z^T g, in place, by one
  torch.Tensor.baddbmm_ per run of consecutive fused members and layer, as
  trainability.train.sgd does: the weights are read and written once, and no gradient is
  ever stored. c is 1, or the member's clipping factor (`clip_fused` hooks).
- stored members (an optimizer rule other than SGD, penalties, clipping by value, a
  transformed weight): z^T g is written once into a persistent (K, P_weights) buffer laid
  out like TrickMLP.flat_weights, for the tricks' penalty and clipping hooks and the
  member's optimizer. When a trick transforms the weights (a `weight` hook, W = f(V)), z^T g
  is the gradient of W as used, for every member, and autograd takes it back through f
  (`through_transform`) to V and to the transform's own parameters.

Clipping by norm needs each member's total gradient norm, biases and the tricks' parameters
included (torch.nn.utils.clip_grad_norm_). The weights' part comes from B x B Gram matrices
instead of the (n_in, n_out) gradient: ||z^T g||_F^2 = sum((z z^T) * (g g^T)) (both sides are
sum_ij (z_i . z_j)(g_i . g_j)), `rank_b_sq_norms`.

Each member's weights are a row of the flat buffer, so a run's (G, n_in, n_out) view of one
layer is strided across members. cuBLAS multiplies into such views natively; on the CPU torch
updates them member by member, which at the paper's layer costs nothing extra but for small
layers costs more in calls than one batched product into a contiguous temporary and one
subtraction (an extra pass over weights that fit in cache): `IN_PLACE_MIN` is the crossover.

Shapes are static and nothing reads a tensor value on the host, so the update can be
captured as a CUDA graph (trainability.train.engine).
"""

from __future__ import annotations

import torch

from trainability.tricks.net import TrickMLP

#: On the CPU, weight matrices with at least this many entries are updated in place
#: (member by member); smaller ones through one batched product (see the module docstring).
#: Measured on an AMD EPYC with 2 threads, K = 4-200: in place is 1.7x faster at 1000 x 1000,
#: even at 512 x 512, 3x slower at 256 x 256 and 20x slower at 64 x 64.
IN_PLACE_MIN = 2**18


def rank_b_sq_norms(inputs: list[torch.Tensor], grads: list[torch.Tensor]) -> torch.Tensor:
    """(K,) squared Frobenius norms of sum over layers of z_l^T g_l, per member, from Grams.

    Args:
        inputs: per layer, z (K, B, n_in).
        grads: per layer, g (K, B, n_out).
    """
    total = None
    for z, g in zip(inputs, grads, strict=True):
        gram = torch.bmm(z, z.transpose(1, 2)) * torch.bmm(g, g.transpose(1, 2))  # (K, B, B)
        part = gram.sum(dim=(1, 2))
        total = part if total is None else total + part
    return total


class WeightUpdate:
    """Turns each layer's (z, g) into the weights' update of a TrickMLP's members.

    Attributes:
        net: the bundle.
        fused_runs, stored_runs: contiguous runs of members of each kind (TrickMLP.fused).
        written: runs whose z^T g is written: the stored ones, or every member when the
            weights are transformed (the transform's backward reads every row).
        weights: per layer, W (K, n_in, n_out): views of net.flat_weights outside autograd.
        in_place: per layer, whether its products go straight into the strided views.
        buffer: (K, P_weights), the stored members' weight gradients (rows of fused members
            hold nothing meaningful); when no member stores, a read-only zero of that shape
            that holds no memory.
        grads: per layer, the (K, n_in, n_out) view of `buffer` (empty without one).
    """

    def __init__(self, net: TrickMLP):
        self.net = net
        self.fused_runs = net.fused_runs
        self.stored_runs = net.stored_runs
        self.written = [slice(None)] if net.transforms_weights else self.stored_runs
        self.weights = [w.detach() for w in net.weights]
        self.in_place = [w.device.type != "cpu" or w[0].numel() >= IN_PLACE_MIN
                         for w in self.weights]
        flat = net.flat_weights
        self.buffer = (torch.empty_like(flat) if self.written
                       else flat.new_zeros(()).expand(flat.shape))
        self.grads: list[torch.Tensor] = []
        if self.written:
            offset = 0
            for w in self.weights:
                size = w[0].numel()
                self.grads.append(self.buffer[:, offset:offset + size].view(w.shape))
                offset += size

    @torch.no_grad()
    def store(self, inputs: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        """Write z^T g of every layer into `buffer`, for the `written` members' rows."""
        if not self.written:
            return
        for z, g, out, in_place in zip(inputs, grads, self.grads, self.in_place, strict=True):
            for run in self.written:
                if in_place:
                    out[run].baddbmm_(z[run].transpose(1, 2), g[run], beta=0.0)
                else:
                    out[run].copy_(torch.bmm(z[run].transpose(1, 2), g[run]))

    def through_transform(self, graph_parameters: list[torch.Tensor]) -> list[torch.Tensor]:
        """With transformed weights W = f(V) (TrickMLP.transformed), after `store`: replace
        the buffer's dCost/dW by dCost/dV, and return dCost/dp of each of
        `graph_parameters` through f (zero where f does not use it)."""
        n = len(self.grads)
        back = torch.autograd.grad(self.net.transformed, [*self.net.weights, *graph_parameters],
                                   grad_outputs=self.grads, allow_unused=True,
                                   materialize_grads=True)
        self.net.transformed = []  # their graph is spent; do not hold it until the next step
        with torch.no_grad():
            for out, grad in zip(self.grads, back[:n], strict=True):
                out.copy_(grad)
        return list(back[n:])

    @torch.no_grad()
    def apply(self, inputs: list[torch.Tensor], grads: list[torch.Tensor],
              scale: torch.Tensor, updated: torch.Tensor) -> None:
        """W <- W - scale z^T g for the fused members that are `updated`.

        Args:
            inputs, grads: per layer, z (K, B, n_in) and g (K, B, n_out).
            scale: (K,) the learning rate times any clipping factor.
            updated: (K,) bool; other members are left untouched.
        """
        for run in self.fused_runs:
            keep = updated[run].view(-1, 1, 1)
            factor = scale[run].view(-1, 1, 1).to(grads[0].dtype)
            for w, z, g, in_place in zip(self.weights, inputs, grads, self.in_place,
                                         strict=True):
                # torch.where, not a product: a diverged member's g and z may hold NaN or inf,
                # and NaN * 0 = inf * 0 = NaN.
                step = torch.where(keep, g[run] * factor, 0.0)  # (G, B, n_out)
                z_t = torch.where(keep, z[run], 0.0).transpose(1, 2)  # (G, n_in, B)
                if in_place:
                    w[run].baddbmm_(z_t, step, alpha=-1.0)
                else:
                    w[run].sub_(torch.bmm(z_t, step))
