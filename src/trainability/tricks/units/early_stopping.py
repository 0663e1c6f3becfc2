"""early_stopping[:patience=<n>]: end at the weights of the best validation error.

At every evaluation a member with early stopping whose validation error improved (strictly)
has its parameters and buffers copied into a snapshot. With a patience of n evaluations, a
member that has not improved for n evaluations in a row stops being updated. At the end of
training every such member is put back at its best snapshot, and run.json records the update
it came from (`best_update`).
"""

from __future__ import annotations

from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, register, whole

torch = lazy_import("torch")

#: Patience of members that never stop early (they only restore their best weights).
_NEVER = 2**31 - 1


@register
@dataclass(frozen=True)
class EarlyStopping(Trick):
    """Attributes: patience: evaluations without improvement before the member stops
    updating (None: never stop early, only restore at the end)."""

    name = "early_stopping"
    family = "regularization"
    label = "Early stopping"
    color = "#d65f5f"
    results = ("best_update",)
    fused_update = True  # it only holds members back and snapshots their weights
    patience: int | None = None

    def __post_init__(self) -> None:
        if self.patience is not None:
            whole("early_stopping patience", self.patience)

    @classmethod
    def hooks(cls, net, members) -> EarlyStoppingHooks:
        return EarlyStoppingHooks(net, members)


class EarlyStoppingHooks(TrickHooks):
    """Best-weights snapshots of the members that use early stopping.

    Attributes (besides TrickHooks'):
        enabled: (K,) bool; patience: (K,) int64.
        best_error: (K,) the best validation error so far (inf before any).
        best_update: (K,) int64, the update of the snapshot (-1: none yet).
        stale: (K,) int64, evaluations since the last improvement.
        tensors: the tracked tensors (the network's flat buffers and buffers); snapshot:
            their copies at each member's best evaluation.
    """

    def __init__(self, net, members):
        super().__init__(net, members)
        device = self.mask.device
        self.enabled = self.mask.view(-1)
        self.patience = torch.tensor([_NEVER if m is None or m.patience is None
                                      else m.patience for m in members], device=device)
        k = len(members)
        self.best_error = torch.full((k,), float("inf"), device=device)
        self.best_update = torch.full((k,), -1, dtype=torch.long, device=device)
        self.stale = torch.zeros(k, dtype=torch.long, device=device)
        self.tensors: list[torch.Tensor] = []
        self.snapshot: list[torch.Tensor] = []

    def attach(self):
        net = self.net
        self.track([net.flat_weights, net.flat_others, *net.buffers()])

    def track(self, tensors: list[torch.Tensor]) -> None:
        """Snapshot these (K, ...) tensors at every improvement (and restore them)."""
        self.tensors = tensors
        self.snapshot = [t.detach().clone() for t in tensors]

    @property
    def stopped(self) -> torch.Tensor:
        """(K,) bool: members whose patience ran out (no longer updated)."""
        return self.enabled & (self.stale >= self.patience)

    def updating(self):
        return ~self.stopped

    def observe(self, valid_error, update):
        with torch.no_grad():
            improved = self.enabled & ~self.stopped & (valid_error < self.best_error)
            watching = self.enabled & ~self.stopped
            self.best_error = torch.where(improved, valid_error, self.best_error)
            self.best_update = torch.where(improved, update, self.best_update)
            self.stale = torch.where(improved, 0,
                                     torch.where(watching, self.stale + 1, self.stale))
            for saved, current in zip(self.snapshot, self.tensors, strict=True):
                mask = improved.view(-1, *[1] * (current.dim() - 1))
                saved.copy_(torch.where(mask, current.detach(), saved))

    def finish(self):
        """Put every early-stopping member that has a snapshot back at its best weights."""
        with torch.no_grad():
            have = self.enabled & (self.best_update >= 0)
            for saved, current in zip(self.snapshot, self.tensors, strict=True):
                mask = have.view(-1, *[1] * (current.dim() - 1))
                current.copy_(torch.where(mask, saved, current.detach()))
        return True

    def member_results(self):
        best = self.best_update.cpu().tolist()
        return {"best_update": [b if enabled and b >= 0 else None
                                for b, enabled in zip(best, self.enabled.tolist(), strict=True)]}

    def state(self):
        return {"best_error": self.best_error.cpu(), "best_update": self.best_update.cpu(),
                "stale": self.stale.cpu(), "snapshot": [s.cpu() for s in self.snapshot]}

    def load_state(self, state):
        device = self.best_error.device
        self.best_error = state["best_error"].to(device)
        self.best_update = state["best_update"].to(device)
        self.stale = state["stale"].to(device)
        for target, saved in zip(self.snapshot, state["snapshot"], strict=True):
            target.copy_(saved)
