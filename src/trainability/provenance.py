"""Where a result came from: package versions, git commit, device, host and time."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import socket
import subprocess
from pathlib import Path

import torch

PACKAGES = ("trainability", "torch", "torchvision", "numpy", "pandas", "pyarrow", "scipy")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(where: Path | None = None) -> str:
    """The commit of the checkout holding this package ("+dirty" if modified), or "unknown"."""
    where = where or Path(__file__).resolve().parent
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(where), *args], capture_output=True,
                                  text=True, check=True, timeout=10).stdout.strip()
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def resolve_device(requested: str) -> torch.device:
    """"auto" -> CUDA when present, else CPU. Asking for "cuda" without one is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA device is available; "
                           "use device: auto or cpu")
    return torch.device(requested)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: torch.device) -> dict[str, object]:
    return {
        "versions": package_versions(),
        "git_commit": git_commit(),
        "device": str(device),
        "device_name": device_name(device),
        "host": socket.gethostname(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
