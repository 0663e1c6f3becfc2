"""Early stopping on validation error, per member, restoring the best weights at the end.

At every evaluation a member with `early_stopping` whose validation error improved (strictly)
has its parameters and buffers copied into a snapshot. With a patience of n evaluations, a
member that has not improved for n evaluations in a row stops being updated. At the end,
`restore()` puts every early-stopping member back at its best snapshot.
"""

from __future__ import annotations

import torch

from trainability.tricks.spec import TrickSet


class EarlyStopping:
    """Best-weights snapshots for the members of a bundle that use early stopping.

    Args:
        tensors: the bundle's parameters and buffers, each (K, ...).
        tricks: one TrickSet per member.
    """

    def __init__(self, tensors: list[torch.Tensor], tricks: list[TrickSet]):
        device = tensors[0].device
        self.tensors = tensors
        self.enabled = torch.tensor([t.early_stopping for t in tricks], device=device)
        big = 2**31 - 1
        self.patience = torch.tensor([t.patience or big for t in tricks], device=device)
        k = len(tricks)
        self.best_error = torch.full((k,), float("inf"), device=device)
        self.best_update = torch.full((k,), -1, dtype=torch.long, device=device)
        self.stale = torch.zeros(k, dtype=torch.long, device=device)
        self.snapshot = [t.detach().clone() for t in tensors]

    @property
    def stopped(self) -> torch.Tensor:
        """(K,) bool: members whose patience ran out (no longer updated)."""
        return self.enabled & (self.stale >= self.patience)

    @torch.no_grad()
    def observe(self, valid_error: torch.Tensor, update: int) -> None:
        """Record an evaluation: valid_error (K,) at `update` (NaN for diverged members)."""
        improved = self.enabled & ~self.stopped & (valid_error < self.best_error)
        watching = self.enabled & ~self.stopped
        self.best_error = torch.where(improved, valid_error, self.best_error)
        self.best_update = torch.where(improved, update, self.best_update)
        self.stale = torch.where(improved, 0, torch.where(watching, self.stale + 1, self.stale))
        for saved, current in zip(self.snapshot, self.tensors, strict=True):
            mask = improved.view(-1, *[1] * (current.dim() - 1))
            saved.copy_(torch.where(mask, current.detach(), saved))

    @torch.no_grad()
    def restore(self) -> None:
        """Put every early-stopping member that has a snapshot back at its best weights."""
        have = self.enabled & (self.best_update >= 0)
        for saved, current in zip(self.snapshot, self.tensors, strict=True):
            mask = have.view(-1, *[1] * (current.dim() - 1))
            current.copy_(torch.where(mask, saved, current.detach()))

    def state(self) -> dict:
        return {"best_error": self.best_error.cpu(), "best_update": self.best_update.cpu(),
                "stale": self.stale.cpu(), "snapshot": [s.cpu() for s in self.snapshot]}

    def load_state(self, state: dict) -> None:
        device = self.best_error.device
        self.best_error = state["best_error"].to(device)
        self.best_update = state["best_update"].to(device)
        self.stale = state["stale"].to(device)
        for target, saved in zip(self.snapshot, state["snapshot"], strict=True):
            target.copy_(saved)
