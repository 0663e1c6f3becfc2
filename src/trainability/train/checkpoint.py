"""Checkpoints: a bundle's whole training state, saved atomically, so a killed job resumes.

A checkpoint holds everything `train_bundle` needs to continue exactly where it stopped: the
weights, the divergence and loss accumulators, the data stream's position, the curves and
monitor records so far, and the monitor's fixed histogram edges. Training is deterministic
given these (the data streams are counter-based, minibatch orders are derived from seeds), so
an interrupted-and-resumed run ends bitwise identical to an uninterrupted one on the CPU.

The file is written to a temporary name and renamed, so a kill during a save leaves the
previous checkpoint intact; a save that fails (a full disk) removes its temporary file and
stops training with one line, and temporary files left by killed processes are removed when
the next run of the same checkpoint starts. It records the bundle config it belongs to; a
checkpoint of another config is refused rather than silently resumed, and an unreadable one
(truncated, corrupt) is reported with what to do.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainability import SCHEMA_VERSION
from trainability.atomic import OutputError, partial_name, write_bytes


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
    #: Wall time of every earlier segment of the run (setup, evaluation and monitor included).
    wall_seconds: float = 0.0
    #: How back-propagation was computed (trainability.nets.formulations): kept on resume.
    formulation: str | None = None
    #: The trick path's state (optimizer, batch-norm statistics, noise RNG, early stopping).
    extra: dict[str, Any] | None = None


def default_path(out_dir: str | Path) -> Path:
    """Where a run's checkpoint lives: beside the run folder, never inside it."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".ckpt")


def check_writable(path: Path) -> None:
    """OutputError (one line) now, before any training, if checkpoints cannot be saved at
    `path`: its folder cannot be made, is not a folder, or is read-only; or it is a folder."""
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = partial_name(path)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputError(f"cannot save checkpoints to {path}: {error.strerror}; choose a "
                          "writable --checkpoint file") from None


def remove_stale_partials(path: Path) -> None:
    """Delete temporary files of `path` left by processes that no longer run (killed during
    a save); a live process's file is left alone."""
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        partial.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def save(checkpoint: Checkpoint, path: Path) -> None:
    """Write `checkpoint` to `path` atomically (trainability.atomic): a failed save (a full
    disk) raises OutputError in one line and leaves the previous checkpoint intact."""
    # Serialized in memory first: torch's own writer turns a full disk into "unexpected
    # pos ...", whereas a plain write raises OSError with its errno.
    buffer = io.BytesIO()
    torch.save({"schema_version": SCHEMA_VERSION, **vars(checkpoint)}, buffer)
    write_bytes(path, buffer.getbuffer(), advice="choose a writable --checkpoint file")


#: What torch.load raises on a truncated or corrupt file.
_UNREADABLE = (OSError, EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile,
               KeyError, TypeError, ValueError, AttributeError)


def load(path: Path, config: dict[str, Any]) -> Checkpoint | None:
    """The checkpoint at `path` if there is one for this config; None if there is none.

    Raises ValueError (one line) when the file belongs to another config or schema version,
    or cannot be read (truncated by a crash, corrupt).
    """
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        version = payload.pop("schema_version", None)
        matches = version == SCHEMA_VERSION and payload["config"] == config
    except _UNREADABLE as error:
        reason = " ".join(str(error).split())[:120] or type(error).__name__
        raise ValueError(f"checkpoint {path} is unreadable (truncated or corrupt: {reason}); "
                         "delete it to start afresh") from None
    if not matches:
        raise ValueError(f"checkpoint {path} belongs to another run or version; delete it to "
                         "start afresh")
    try:
        return Checkpoint(**payload)
    except TypeError:
        raise ValueError(f"checkpoint {path} belongs to another version of trainability; "
                         "delete it to start afresh") from None
