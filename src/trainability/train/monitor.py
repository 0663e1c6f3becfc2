"""Instrumentation: what the paper measured, layer by layer, on a fixed set of test examples.

At each monitor point the monitor runs the fixed monitor set (the paper's 300 test examples)
through every member, back-propagates, and records for each member and hidden layer l:

- activations z^l: mean, std, 2nd and 98th percentiles, saturated fraction (see
  trainability.nets.activations); for the ReLU family, the dead-unit fraction (units with
  f'(s) = 0, i.e. no gradient, on every monitor example: ReLU units stuck at s <= 0, never a
  leaky one) and the negative fraction (units with s <= 0 on every example); NaN otherwise;
- back-propagated gradients dCost/ds^l, per example (Cost = that example's NLL): mean, std,
  percentiles;
- weight gradients dCost/dW^{l-1} of the mean NLL over the monitor set (the weights feeding
  layer l): mean and std;
- histograms of the three, with bin edges fixed for the whole run (see `_fix_edges`): per bin
  the count and the fraction of the layer's values (values outside the edges count in the
  first or last bin), and per histogram what TensorBoard's raw histograms need beside the
  counts: the number of values, their minimum, maximum, sum and sum of squares (unclamped);
- every `jacobian_every` updates, the mean singular value of the layer Jacobian
  J^l = dz^l/dz^{l-1} = diag(f'(s^l)) (W^{l-1})^T (paper Sec. 4.2.2), for hidden layers
  l >= 2, averaged over `jacobian_examples` monitor examples ("mean_singular_value"), and
  from the same eigenvalues the mean squared singular value ("mean_sq_singular_value",
  tr(J J^T)/n_l averaged over the examples: what the mean-field theory predicts,
  sigma_w^2 E[f'(s)^2]; trainability.analysis.mean_field).

Rows are tidy: (member, update, layer, quantity, stat, value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from trainability.nets.mlp import BundledMLP, nll_per_member

PERCENTILES = {"p02": 0.02, "p98": 0.98}
#: Gradient histograms span +-GRADIENT_RANGE_IN_STDS times the largest per-layer std at init.
GRADIENT_RANGE_IN_STDS = 5.0


@dataclass
class MonitorRecords:
    """Tidy rows, as column lists ready for pandas.DataFrame."""

    stats: dict[str, list] = field(default_factory=lambda: {
        k: [] for k in ("member", "update", "layer", "quantity", "stat", "value")})
    histograms: dict[str, list] = field(default_factory=lambda: {
        k: [] for k in ("member", "update", "layer", "quantity", "bin", "bin_left",
                        "bin_right", "count", "fraction", "n", "min", "max", "sum",
                        "sum_squares")})

    #: (K,) bool: members still training; diverged members' statistics are recorded as NaN.
    active: torch.Tensor | None = None

    def add_stats(self, update: int, quantity: str, stat: str, values: torch.Tensor,
                  first_layer: int = 1) -> None:
        """values: (K, L), member by layer, for layers first_layer .. first_layer + L - 1."""
        table = values.detach().double().cpu()
        if self.active is not None:
            table[~self.active] = float("nan")
        members, layers = table.shape
        for m in range(members):
            for i in range(layers):
                self.stats["member"].append(m)
                self.stats["update"].append(update)
                self.stats["layer"].append(first_layer + i)
                self.stats["quantity"].append(quantity)
                self.stats["stat"].append(stat)
                self.stats["value"].append(float(table[m, i]))


def _per_layer(tensors: list[torch.Tensor], reduce) -> torch.Tensor:
    """Apply `reduce` ((K, N) -> (K,)) to each layer's values flattened per member -> (K, L)."""
    return torch.stack([reduce(t.flatten(1)) for t in tensors], dim=1)


def _percentile(values: torch.Tensor, q: float) -> torch.Tensor:
    """(K, N) -> (K,): the q-quantile as the ceil(q N)-th smallest value (no interpolation).

    kthvalue is several times faster than torch.quantile for a couple of order statistics.
    """
    n = values.shape[-1]
    return values.kthvalue(min(n, max(1, math.ceil(q * n - 1e-9))), dim=-1).values


class Monitor:
    """Records layer statistics of a bundle on fixed monitor examples.

    Args:
        x: (M, n_inputs) monitor inputs; y: (M,) labels.
        bins: histogram bins.
        jacobian_examples: examples whose layer Jacobians are decomposed.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, bins: int, jacobian_examples: int):
        self.x, self.y = x, y
        self.bins = bins
        self.jacobian_examples = min(jacobian_examples, len(x))
        self.edges: dict[str, torch.Tensor] | None = None  # quantity -> (K, 2) [low, high]
        self.records = MonitorRecords()

    def record(self, net: BundledMLP, update: int, with_jacobian: bool,
               active: torch.Tensor | None = None) -> None:
        """Record every statistic of every member at `update`.

        `active` (K,) bool marks members still training; diverged ones get NaN statistics
        and no histograms (their frozen weights may be astronomically large).
        """
        self.records.active = (torch.ones(net.n_members, dtype=torch.bool) if active is None
                               else active.cpu())
        forward = net.forward(self.x, track_input_grad=True, mode="monitor")
        # Sum, not mean, over examples: each row of dCost/ds is then one example's gradient.
        total = nll_per_member(forward.logits, self.y).sum() * len(self.y)
        linear = forward.linear_outputs
        wanted = forward.pre_activations + (linear or [])
        all_grads = torch.autograd.grad(total, wanted)
        grads = all_grads[:len(forward.pre_activations)]
        linear_grads = all_grads[len(forward.pre_activations):] or grads
        with torch.no_grad():
            s = [t.detach() for t in forward.pre_activations]  # each (K, M, width * pieces)
            z = [t.detach() for t in forward.activations]
            inputs = forward.layer_inputs or [
                self.x.unsqueeze(0).expand(net.n_members, *self.x.shape), *z[:-1]]
            # dCost/dW^{l-1} = (h^{l-1})^T dCost/da^l, a^l the layer's affine output.
            weight_grads = [a.detach().transpose(1, 2) @ g / len(self.y)  # (K, n_in, n_out)
                            for a, g in zip(inputs, linear_grads, strict=True)]
            quantities = {"activation": z, "backprop_grad": list(grads),
                          "weight_grad": weight_grads}
            if self.edges is None:
                self.edges = self._fix_edges(net, quantities)
            for name, tensors in quantities.items():
                self._summaries(update, name, tensors)
                self._histograms(update, name, tensors)
            self._saturation(net, update, s)
            if with_jacobian and net.depth >= 2:
                mean, mean_sq = self._jacobian_singular_values(net, s)
                self.records.add_stats(update, "jacobian", "mean_singular_value", mean,
                                       first_layer=2)
                self.records.add_stats(update, "jacobian", "mean_sq_singular_value", mean_sq,
                                       first_layer=2)

    # ---- statistics -----------------------------------------------------------------------
    def _summaries(self, update: int, name: str, tensors: list[torch.Tensor]) -> None:
        self.records.add_stats(update, name, "mean", _per_layer(tensors, lambda t: t.mean(-1)))
        self.records.add_stats(update, name, "std", _per_layer(tensors, lambda t: t.std(-1)))
        if name == "weight_grad":
            return
        for stat, q in PERCENTILES.items():
            self.records.add_stats(update, name, stat,
                                   _per_layer(tensors, lambda t, q=q: _percentile(t, q)))

    def _saturation(self, net: BundledMLP, update: int, s: list[torch.Tensor]) -> None:
        stacked = torch.stack(s, dim=1)  # (K, L, M, width)
        saturated = torch.full(stacked.shape[:2], float("nan"))
        dead = torch.full(stacked.shape[:2], float("nan"))
        negative = torch.full(stacked.shape[:2], float("nan"))
        for activation, members in net.activation_groups:
            block = stacked[members]
            if activation.pieces > 1:  # maxout is piecewise linear: saturation undefined
                continue
            slope = activation.derivative(block)  # f'(s), (k, L, M, width)
            saturated[members] = activation.saturated_slope(slope).float().mean((-1, -2)).cpu()
            if activation.relu_family:
                # Dead: no gradient passes for any monitor example (f'(s) = 0 on all of them);
                # ReLU units with s <= 0 everywhere, never a leaky unit, whose slope is > 0.
                dead[members] = (slope == 0).all(dim=-2).float().mean(-1).cpu()
                # In the negative regime on every example (dead for ReLU; still learning, at
                # the leak's slope, for the leaky variants).
                negative[members] = (block <= 0).all(dim=-2).float().mean(-1).cpu()
        # A residual branch's last layer applies no activation (TrickMLP.no_activation): no
        # unit there saturates or dies, whatever f'(s) would say.
        for layer, mask in enumerate(getattr(net, "no_activation", None) or []):
            if mask is not None:
                linear = mask.view(-1).cpu()
                for table in (saturated, dead, negative):
                    table[linear, layer] = float("nan")
        self.records.add_stats(update, "activation", "saturated_fraction", saturated)
        self.records.add_stats(update, "activation", "dead_fraction", dead)
        self.records.add_stats(update, "activation", "negative_fraction", negative)

    def _jacobian_singular_values(self, net: BundledMLP, s: list[torch.Tensor]
                                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, depth-1) twice: the mean singular value and the mean squared singular value of
        dz^l/dz^{l-1} for l = 2..depth (means over the n_l singular values and the examples;
        both from the one eigendecomposition of J J^T)."""
        e = self.jacobian_examples
        result = torch.full((net.n_members, net.depth - 1), float("nan"))
        result_sq = result.clone()
        active = self.records.active
        supported = net.jacobian_supported()
        if not bool(supported.any()):
            return result, result_sq
        for layer in range(1, net.depth):
            slope = torch.cat([act.derivative(s[layer][members, :e]) if act.pieces == 1
                               else torch.zeros_like(s[layer][members, :e])
                               for act, members in net.activation_groups])  # (K, e, n_out)
            for member in range(net.n_members):
                if (active is not None and not active[member]) or not supported[member]:
                    continue
                weight = net.weights[layer][member].double()  # (n_in, n_out): z^layer -> s
                d = slope[member].double()  # (e, n_out)
                # J J^T = D W^T W D with D = diag(f'(s)); its eigenvalues are the squared
                # singular values of J.
                jjt = (weight.T @ weight).unsqueeze(0) * d.unsqueeze(-1) * d.unsqueeze(-2)
                try:
                    eig = torch.linalg.eigvalsh(jjt).clamp_min(0)  # (e, n_out): squared
                except torch.linalg.LinAlgError:
                    continue  # left NaN: an ill-conditioned Jacobian has no reliable spectrum
                result[member, layer - 1] = float(eig.sqrt().mean())
                result_sq[member, layer - 1] = float(eig.mean())
        return result, result_sq

    # ---- histograms -----------------------------------------------------------------------
    def _fix_edges(self, net: BundledMLP, quantities: dict[str, list[torch.Tensor]]
                   ) -> dict[str, torch.Tensor]:
        """Bin ranges per quantity and member, chosen once at the first monitor point.

        Bounded activations use their value range. Unbounded activations and gradients use a
        range from the first (initialization) pass, shared by all layers so that layers are
        comparable; gradient ranges are also shared by all members (so the standard and
        normalized panels of Figs. 7 and 8 use one axis).
        """
        members = net.n_members
        edges = {}
        activation_edges = torch.empty(members, 2)
        largest = _per_layer(quantities["activation"], lambda t: t.abs().amax(-1))  # (K, L)
        largest = largest.amax(-1)  # (K,)
        for m, activation in enumerate(net.member_activations):
            low, high = activation.value_range
            observed = float(largest[m]) * 1.5 or 1.0
            activation_edges[m, 0] = low if low > -float("inf") else -observed
            activation_edges[m, 1] = high if high < float("inf") else observed
        edges["activation"] = activation_edges
        for name in ("backprop_grad", "weight_grad"):
            stds = _per_layer(quantities[name], lambda t: t.std(-1))  # (K, L)
            finite = torch.nan_to_num(stds, nan=0.0, posinf=0.0)
            half = GRADIENT_RANGE_IN_STDS * float(finite.max()) or 1.0
            edges[name] = torch.tensor([[-half, half]]).expand(members, 2).clone()
        return edges

    def _histograms(self, update: int, name: str, tensors: list[torch.Tensor]) -> None:
        assert self.edges is not None
        if self.bins == 0:
            return
        rows = self.records.histograms
        bins = self.bins
        for m in range(tensors[0].shape[0]):
            if not self.records.active[m]:
                continue
            low, high = (float(v) for v in self.edges[name][m])
            width = (high - low) / bins
            lefts = [low + i * width for i in range(bins)]
            for layer, tensor in enumerate(tensors, start=1):
                raw = tensor[m].flatten()
                values = raw.clamp(low, high)
                counts = torch.histc(values, bins=bins, min=low, max=high)
                n = max(values.numel(), 1)
                fractions = (counts / n).cpu().tolist()
                exact = raw.double()
                moments = torch.stack([exact.min(), exact.max(), exact.sum(),
                                       (exact * exact).sum()]).cpu().tolist()
                rows["member"] += [m] * bins
                rows["update"] += [update] * bins
                rows["layer"] += [layer] * bins
                rows["quantity"] += [name] * bins
                rows["bin"] += list(range(bins))
                rows["bin_left"] += lefts
                rows["bin_right"] += [left + width for left in lefts]
                rows["count"] += [round(c) for c in counts.cpu().tolist()]
                rows["fraction"] += fractions
                rows["n"] += [values.numel()] * bins
                for key, value in zip(("min", "max", "sum", "sum_squares"), moments,
                                      strict=True):
                    rows[key] += [value] * bins
