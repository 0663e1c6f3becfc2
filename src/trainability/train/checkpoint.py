"""Checkpoints: a bundle's whole training state, saved atomically, so a killed job resumes.

A checkpoint holds everything `train_bundle` needs to continue exactly where it stopped: the
weights, the divergence and loss accumulators, the data stream's position, the curves and
monitor records so far, and the monitor's fixed histogram edges. Training is deterministic
given these (the data streams are counter-based, minibatch orders are derived from seeds), so
an interrupted-and-resumed run ends bitwise identical to an uninterrupted one on the CPU.

The file is written to a temporary name and renamed, so a kill during a save leaves the
previous checkpoint intact. It records the bundle config it belongs to; a checkpoint of
another config is refused rather than silently resumed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainability import SCHEMA_VERSION


@dataclass
class Checkpoint:
    """Training state after `update` updates (tensors on the CPU)."""

    config: dict[str, Any]
    update: int
    data_position: int
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    diverged_at: torch.Tensor
    loss_sum: torch.Tensor
    loss_count: torch.Tensor
    curves: dict[str, list]
    monitor_stats: dict[str, list]
    monitor_histograms: dict[str, list]
    monitor_edges: dict[str, torch.Tensor] | None
    train_seconds: float
    #: The trick path's state (optimizer, batch-norm statistics, noise RNG, early stopping).
    extra: dict[str, Any] | None = None


def default_path(out_dir: str | Path) -> Path:
    """Where a run's checkpoint lives: beside the run folder, never inside it."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".ckpt")


def save(checkpoint: Checkpoint, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    torch.save({"schema_version": SCHEMA_VERSION, **vars(checkpoint)}, partial)
    os.replace(partial, path)


def load(path: Path, config: dict[str, Any]) -> Checkpoint | None:
    """The checkpoint at `path` if there is one for this config; None if there is none.

    Raises ValueError when the file belongs to another config or schema version.
    """
    if not path.exists():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if payload.pop("schema_version", None) != SCHEMA_VERSION or payload["config"] != config:
        raise ValueError(f"checkpoint {path} belongs to another run or version; delete it to "
                         "start afresh")
    return Checkpoint(**payload)
