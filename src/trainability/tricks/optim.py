"""Per-member optimizers for stacked (bundled) parameters.

A bundle stacks K member networks along dim 0: a weight is (K, n_in, n_out), a bias
(K, 1, n_out), a PReLU slope (K, 1, 1), a BatchNorm gain (K, 1, n); gradients have the same
shapes. Slice k of every tensor belongs to member k, which is a network of its own.

Why hand-written rather than torch.optim: a torch optimizer applies one set of
hyper-parameters (one lr, one momentum, one weight decay, one rule) to a whole tensor, but here
each slice along dim 0 is a different network with its own optimizer, learning rate and
weight decay. Splitting the stacked tensors into K*L leaf tensors for torch.optim
would cost K Python-level optimizer steps per update and break the single batched pass.
(Clipping and the L1 penalty, per member likewise, live in their trick units:
trainability.tricks.units.clipping and .penalties.)

Every rule reproduces its torch.optim counterpart with torch's defaults (tests/test_optim.py
checks them step for step against torch.optim and torch.nn.utils):

    "sgd"       torch.optim.SGD (momentum 0)
    "momentum"  torch.optim.SGD(momentum=m), dampening 0, nesterov False
    "adagrad"   torch.optim.Adagrad: lr_decay 0, initial_accumulator_value 0, eps 1e-10
    "rmsprop"   torch.optim.RMSprop: alpha 0.99, eps 1e-8, centered False, momentum 0
    "adam"      torch.optim.Adam: betas (0.9, 0.999), eps 1e-8, amsgrad False

Weight decay (`l2`) is torch.optim's coupled `weight_decay`: grad += l2 * p before the rule.

"sgd", "momentum" and "adam" run torch's fused kernels (what torch.optim's `fused=True` runs),
one call per member and parameter: one pass reads a member's parameter, gradient and state
and writes them back, where one torch operation per arithmetic step would make a pass each
(at the paper's layer the update is memory-bound, so passes are its cost). A member that is
not updated is skipped by the kernel itself (its `found_inf` flag), so NaN or inf in its
gradient cannot leak. "adagrad" and "rmsprop", every rule on a device without fused kernels,
and on the CPU parameters whose rows are small (`FUSED_MIN`: biases, the tricks' parameters,
the weights of narrow networks, where a call costs more than the passes) run the formulas
below on the group's rows, vectorized over its members, and mask with torch.where.

Nothing here reads a tensor value on the host during a step (no .item(), no branching on
values), so a step never stalls a GPU and can be captured in a CUDA graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

from trainability.tricks.base import rows as _rows

# The hyper-parameters each kind takes, with torch.optim's defaults ("momentum" defaults to
# the classic 0.9: with torch's default of 0 it would be plain "sgd").
_DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "adagrad": {"eps": 1e-10},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}
_HYPER = ("momentum", "alpha", "eps", "beta1", "beta2")
#: The rules, in the order the trick units register them (trainability.tricks.spec.OPTIMIZERS).
KINDS = tuple(_DEFAULTS)
#: Rules run by torch's fused kernels where the device has them (see the module docstring).
FUSED_KINDS = ("sgd", "momentum", "adam")
#: On the CPU, parameters whose rows (one member's) hold fewer entries run the formulas: a
#: fused kernel's call costs ~0.2 ms there (AMD EPYC, 2 threads), which the formulas beat,
#: vectorized over a group's members, below ~16k entries a row (measured, K = 4 and 128).
FUSED_MIN = 2**14

# Optimizer state kept per kind, one tensor per parameter; names follow torch.optim's state.
_BUFFERS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "adagrad": ("sum",),
    "rmsprop": ("square_avg",),
    "adam": ("exp_avg", "exp_avg_sq"),
}


@dataclass(frozen=True)
class OptimizerSpec:
    """One member's optimizer: a kind and the hyper-parameters that kind uses.

    Hyper-parameters left at None take torch.optim's defaults for the kind (see the module
    docstring), so `OptimizerSpec("adam") == OptimizerSpec("adam", beta1=0.9, beta2=0.999,
    eps=1e-8)`. Giving a hyper-parameter the kind does not use is an error. The learning
    rate and weight decay are not part of the spec: they are (K,) tensors of the
    BundleOptimizer, so schedules can change them in place.

    Attributes:
        name: "sgd", "momentum", "adagrad", "rmsprop" or "adam".
        momentum: "momentum" only (default 0.9); momentum buffer b = momentum * b + grad.
        alpha: "rmsprop" only (default 0.99); smoothing of the squared-gradient average.
        eps: "adagrad" (default 1e-10), "rmsprop" and "adam" (default 1e-8).
        beta1, beta2: "adam" only (defaults 0.9, 0.999).
    """

    name: str = "sgd"
    momentum: float | None = None
    alpha: float | None = None
    eps: float | None = None
    beta1: float | None = None
    beta2: float | None = None

    def __post_init__(self) -> None:
        if self.name not in _DEFAULTS:
            raise ValueError(f"unknown optimizer {self.name!r}; valid names: {', '.join(KINDS)}")
        defaults = _DEFAULTS[self.name]
        for key in _HYPER:
            value = getattr(self, key)
            if key not in defaults:
                if value is not None:
                    raise ValueError(f"optimizer {self.name!r} takes no {key} (got {value!r})")
                continue
            value = float(defaults[key] if value is None else value)
            if key == "eps" and not value >= 0.0:
                raise ValueError(f"optimizer {self.name!r}: eps must be >= 0, got {value!r}")
            if key != "eps" and not 0.0 <= value < 1.0:
                raise ValueError(f"optimizer {self.name!r}: {key} must be in [0, 1), got {value!r}")
            object.__setattr__(self, key, value)

    @property
    def buffers(self) -> tuple[str, ...]:
        """Names of the state tensors this kind keeps per parameter."""
        return _BUFFERS[self.name]


class _Group:
    """The members of a bundle that share one optimizer kind, and that kind's state.

    Attributes:
        kind: the optimizer kind.
        members: member indices, ascending.
        select: slice(a, b) when the members are a contiguous run (a view, no gather; the
            whole bundle when every member has this kind), else a (G,) int64 index tensor.
        hyper: name -> (G,) tensor of the kind's per-member hyper-parameters (param dtype).
        buffers: name -> list of state tensors, one per parameter, each (G, *param.shape[1:]).
    """

    def __init__(self, kind: str, members: list[int], specs: Sequence[OptimizerSpec],
                 params: list[torch.Tensor]):
        self.kind = kind
        self.members = members
        device, dtype = params[0].device, params[0].dtype
        if members == list(range(members[0], members[-1] + 1)):
            self.select: slice | torch.Tensor = slice(members[0], members[-1] + 1)
        else:
            self.select = torch.tensor(members, dtype=torch.long, device=device)
        # Bias corrections are computed in float64 (torch computes them in Python floats);
        # MPS has no float64.
        wide = torch.float32 if device.type == "mps" else torch.float64
        self.hyper: dict[str, torch.Tensor] = {}
        for key in _DEFAULTS[kind]:
            values = [getattr(specs[k], key) for k in members]
            self.hyper[key] = torch.tensor(values, dtype=dtype, device=device)
            if key in ("beta1", "beta2"):
                self.hyper[key + "_wide"] = torch.tensor(values, dtype=wide, device=device)
        self.buffers: dict[str, list[torch.Tensor]] = {
            name: [p.new_zeros((len(members), *p.shape[1:])) for p in params]
            for name in _BUFFERS[kind]
        }

    def take(self, x: torch.Tensor) -> torch.Tensor:
        """x[members]: a view for a contiguous run, a gather otherwise. (K, ...) -> (G, ...)."""
        if isinstance(self.select, slice):
            return x[self.select]
        return x.index_select(0, self.select)

    def put(self, x: torch.Tensor, value: torch.Tensor) -> None:
        """x[members] = value, in place. x (K, ...), value (G, ...)."""
        if isinstance(self.select, slice):
            x[self.select].copy_(value)
        else:
            x.index_copy_(0, self.select, value)

    def row(self, member: int) -> int:
        """The row of `member` in this group's (G, ...) state tensors."""
        return self.members.index(member)


def _update(kind: str, p: torch.Tensor, g: torch.Tensor, bufs: list[torch.Tensor],
            hyper: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None
            ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One step of rule `kind` for G members, out of place.

    Args:
        p, g: (G, ...) parameter and gradient (weight decay already in g).
        bufs: the kind's state tensors, each (G, ...), in _BUFFERS order.
        hyper: the group's (G,) hyper-parameters.
        lr: (G,) learning rates.
        step: (G,) int64 step counts including this step ("adam" only).

    Returns:
        The new parameter (G, ...) and the new state tensors.
    """
    n = p.dim()
    lr = _rows(lr, n)
    if kind == "sgd":
        return p - lr * g, []
    if kind == "momentum":
        (buf,) = bufs
        # torch starts the buffer at grad; 0 * momentum + grad is the same.
        buf = _rows(hyper["momentum"], n) * buf + g
        return p - lr * buf, [buf]
    if kind == "adagrad":
        (acc,) = bufs
        acc = acc + g * g
        return p - lr * g / (acc.sqrt() + _rows(hyper["eps"], n)), [acc]
    if kind == "rmsprop":
        (avg,) = bufs
        alpha = _rows(hyper["alpha"], n)
        avg = alpha * avg + (1.0 - alpha) * g * g
        return p - lr * g / (avg.sqrt() + _rows(hyper["eps"], n)), [avg]
    if kind == "adam":
        m, v = bufs
        beta2 = _rows(hyper["beta2"], n)
        m = torch.lerp(m, g, _rows(1.0 - hyper["beta1"], n))
        v = beta2 * v + (1.0 - beta2) * g * g
        # A masked member may still be at step 0; clamping keeps its (discarded) update finite.
        t = step.clamp(min=1).to(hyper["beta1_wide"].dtype)
        correction1 = 1.0 - hyper["beta1_wide"] ** t
        correction2_sqrt = (1.0 - hyper["beta2_wide"] ** t).sqrt()
        step_size = _rows(lr.flatten().to(t.dtype) / correction1, n).to(p.dtype)
        denom = v.sqrt() / _rows(correction2_sqrt, n).to(p.dtype) + _rows(hyper["eps"], n)
        return p - step_size * m / denom, [m, v]
    raise AssertionError(kind)


class BundleOptimizer:
    """Updates stacked parameters in place, each member with its own optimizer and settings.

    Members are grouped by optimizer kind once, here; each group keeps state for its own
    members only, and a step gathers the group's rows, applies the rule and scatters them
    back (a contiguous run of members, in particular a bundle with one kind, is handled
    through views, without gather or scatter).

    Attributes:
        params: the stacked parameters, each (K, ...), updated in place by `step`.
        specs: K optimizer specs.
        lr: (K,) learning rates. The caller's tensor, read at every step, so an in-place
            schedule (`opt.lr.mul_(0.5)`) takes effect; assign a new (K,) tensor likewise.
        l2: (K,) coupled weight decay or None (see __init__).
        no_decay: indices into `params` that get no weight decay (biases, BatchNorm, ...).
        skip: index into `params` -> members whose rows of it this optimizer leaves alone.
        steps: (K,) int64, the number of steps each member has taken (masked steps excluded).
    """

    def __init__(self, params: list[torch.Tensor], specs: Sequence[OptimizerSpec],
                 lr: torch.Tensor, l2: torch.Tensor | None = None,
                 no_decay: Collection[int] = frozenset(),
                 skip: Mapping[int, Collection[int]] | None = None,
                 fused: bool | None = None):
        """
        Args:
            params: tensors with dim 0 = K members, on one device, of one floating dtype.
            specs: K optimizer specs, member k's at index k.
            lr: (K,) learning rates.
            l2: (K,) weight decay, as torch.optim's `weight_decay`: grad += l2 * p before the
                optimizer's rule, for every kind. None: no weight decay. Read once, here (the
                fused kernels take it as a number).
            no_decay: indices into `params` that get no weight decay.
            skip: index into `params` -> members whose rows of that parameter are updated
                elsewhere (trainability.tricks.fused: the weights of members trained by
                rank-B products); their gradient rows may hold anything. None: none.
            fused: None (the default) runs torch's fused kernels where the device has them
                and, on the CPU, rows are large enough (`FUSED_MIN`); True wherever the
                device has them, False nowhere (the formulas for every rule); tests compare
                both.
        """
        if not params:
            raise ValueError("BundleOptimizer needs at least one parameter tensor")
        k = params[0].shape[0]
        for i, p in enumerate(params):
            if p.dim() < 1 or p.shape[0] != k:
                raise ValueError(f"params[{i}] has shape {tuple(p.shape)}; expected dim 0 = {k}")
            if p.device != params[0].device or p.dtype != params[0].dtype:
                raise ValueError("all params must share one device and dtype")
        if len(specs) != k:
            raise ValueError(f"{len(specs)} optimizer specs for a bundle of {k} members")
        for name, value in (("lr", lr), ("l2", l2)):
            if value is not None and tuple(value.shape) != (k,):
                raise ValueError(f"{name} has shape {tuple(value.shape)}; expected ({k},)")
        skip = {i: frozenset(members) for i, members in (skip or {}).items()}
        bad = [i for i in [*no_decay, *skip] if not 0 <= i < len(params)]
        if bad:
            raise ValueError(f"parameter indices {bad} out of range for {len(params)} params")
        device = params[0].device
        self.params = list(params)
        self.specs = tuple(specs)
        self.lr = lr
        self.l2 = None if l2 is None else l2.detach().to(device=device, dtype=params[0].dtype)
        self.no_decay = frozenset(no_decay)
        self.skip = skip
        self.steps = torch.zeros(k, dtype=torch.long, device=device)
        #: The step counts as torch's fused kernels read them (float32, as torch.optim keeps).
        self._float_steps = torch.zeros(k, dtype=torch.float32, device=device)
        self._decay = [0.0] * k if l2 is None else [float(d) for d in l2.tolist()]
        members: dict[str, list[int]] = {}
        for index, spec in enumerate(self.specs):
            members.setdefault(spec.name, []).append(index)
        self._groups = [_Group(kind, members[kind], self.specs, self.params)
                        for kind in KINDS if kind in members]
        kernels = fused is not False and device.type in _get_fused_kernels_supported_devices()
        large = [fused or device.type != "cpu" or p[0].numel() >= FUSED_MIN for p in self.params]
        #: Per group, per parameter: True when it runs torch's fused kernels, member by member.
        self._fused = [[kernels and g.kind in FUSED_KINDS and big
                        and all(p[m].is_contiguous() for m in g.members)
                        for p, big in zip(self.params, large, strict=True)]
                       for g in self._groups]
        # With a skipped member, the generic path masks the member's rows of that parameter.
        self._skip_masks = {i: torch.tensor([m not in members for m in range(k)], device=device)
                            for i, members in skip.items()}

    def step(self, grads: list[torch.Tensor], update_mask: torch.Tensor) -> None:
        """Apply one update to the members where `update_mask` is True.

        Args:
            grads: one gradient per parameter, same shapes as `params`. Not modified.
            update_mask: (K,) bool. Members where False keep their parameters and optimizer
                state, step count included, exactly as they were, whatever their gradient
                holds (NaN and inf included).
        """
        if len(grads) != len(self.params):
            raise ValueError(f"{len(grads)} gradients for {len(self.params)} parameters")
        device, dtype = self.params[0].device, self.params[0].dtype
        mask = update_mask.to(device=device, dtype=torch.bool)
        self.steps.add_(mask.to(torch.long))
        self._float_steps.add_(mask.to(torch.float32))
        lr = self.lr.to(device=device, dtype=dtype)
        # The fused kernels read a device's learning rate as float32 (the CPU's as a number).
        fused_lr = lr if device.type == "cpu" else lr.to(torch.float32)
        grads = [g.to(dtype) for g in grads]
        skipped = (~mask).to(torch.float32)
        for group, fused in zip(self._groups, self._fused, strict=True):
            for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                if fused[i]:
                    self._fused_step(group, i, p, g, fused_lr, skipped)
                else:
                    self._generic_step(group, i, p, g, lr, mask)

    def _fused_step(self, group: _Group, i: int, p: torch.Tensor, g: torch.Tensor,
                    lr: torch.Tensor, skipped: torch.Tensor) -> None:
        """Torch's fused kernel of the group's rule on parameter i, member by member (row
        views: no copies); `skipped` (K,) float32 is 1 where the kernel must leave the member
        alone (torch's found_inf)."""
        for row, k in enumerate(group.members):
            spec = self.specs[k]
            if k in self.skip.get(i, ()):
                continue
            decay = 0.0 if i in self.no_decay else self._decay[k]
            common = {"lr": lr[k], "weight_decay": decay, "maximize": False,
                      "found_inf": skipped[k]}
            if group.kind == "adam":
                torch._fused_adam_(
                    [p[k]], [g[k].contiguous()], [group.buffers["exp_avg"][i][row]],
                    [group.buffers["exp_avg_sq"][i][row]], [], [self._float_steps[k]],
                    beta1=spec.beta1, beta2=spec.beta2, eps=spec.eps, amsgrad=False, **common)
            else:  # "sgd", "momentum": the momentum buffer starts at 0, so that m * 0 + grad
                # is torch's first step (buffer = grad)
                buffers = group.buffers.get("momentum_buffer")
                torch._fused_sgd_(
                    [p[k]], [g[k].contiguous()], [] if buffers is None else [buffers[i][row]],
                    momentum=spec.momentum or 0.0, dampening=0.0, nesterov=False,
                    is_first_step=False, **common)

    def _generic_step(self, group: _Group, i: int, p: torch.Tensor, g: torch.Tensor,
                      lr: torch.Tensor, mask: torch.Tensor) -> None:
        """The group's rule on parameter i as torch operations on its rows, masked with
        torch.where."""
        p_g = group.take(p)
        g_g = group.take(g)
        if self.l2 is not None and i not in self.no_decay:
            g_g = g_g + _rows(group.take(self.l2), p.dim()) * p_g
        bufs = [group.buffers[name][i] for name in _BUFFERS[group.kind]]
        step_g = group.take(self.steps) if group.kind == "adam" else None
        new_p, new_bufs = _update(group.kind, p_g, g_g, bufs, group.hyper, group.take(lr),
                                  step_g)
        keep_g = group.take(mask)
        if i in self.skip:
            keep_g = keep_g & group.take(self._skip_masks[i])
        keep = _rows(keep_g, p.dim())
        for buf, new in zip(bufs, new_bufs, strict=True):
            buf.copy_(torch.where(keep, new, buf))
        group.put(p, torch.where(keep, new_p, p_g))

    def member_state(self, member: int) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Member `member`'s state: {"step": () int64, buffer name: [one tensor per param]}.

        Copies; buffer tensors have the parameters' shapes without dim 0.
        """
        group = next(g for g in self._groups if member in g.members)
        row = group.row(member)
        state: dict[str, torch.Tensor | list[torch.Tensor]] = {
            "step": self.steps[member].clone()}
        for name, bufs in group.buffers.items():
            state[name] = [b[row].clone() for b in bufs]
        return state

    def state_dict(self) -> dict:
        """Tensors and plain data only (loads with torch.load(weights_only=True)).

        {"specs": [K dicts], "steps": (K,) int64,
         "buffers": {kind: {buffer name: [one (G, ...) tensor per param]}}}. The learning
        rates and weight decay are the caller's tensors and are not included. Copies.
        """
        return {
            "specs": [dataclasses.asdict(s) for s in self.specs],
            "steps": self.steps.clone(),
            "buffers": {g.kind: {name: [b.clone() for b in bufs]
                                 for name, bufs in g.buffers.items()}
                        for g in self._groups},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`'s output, copying into this optimizer's tensors (so onto
        its device). Raises ValueError when the specs or shapes differ."""
        specs = [dataclasses.asdict(s) for s in self.specs]
        if list(state["specs"]) != specs:
            raise ValueError("optimizer state was saved for different optimizer specs")
        if tuple(state["steps"].shape) != tuple(self.steps.shape):
            raise ValueError("optimizer state was saved for a bundle of another size")
        for group in self._groups:
            saved = state["buffers"][group.kind]
            for name, bufs in group.buffers.items():
                if len(saved[name]) != len(bufs) or any(
                        s.shape != b.shape for s, b in zip(saved[name], bufs, strict=True)):
                    raise ValueError(f"optimizer state {group.kind}/{name} has other shapes")
        self.steps.copy_(state["steps"])
        self._float_steps.copy_(self.steps)
        for group in self._groups:
            for name, bufs in group.buffers.items():
                for buf, saved in zip(bufs, state["buffers"][group.kind][name], strict=True):
                    buf.copy_(saved)

