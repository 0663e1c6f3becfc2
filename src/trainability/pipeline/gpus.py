"""One GPU per training job on a machine without a scheduler.

Snakemake counts GPUs (`snakemake --cores all --resources gpu=2` runs at most two jobs that
each declare `gpu=1`) but does not say which GPU a job gets: every job would see every device
and train on the first. This wrapper picks a free device for the command it runs:

    python -m trainability.pipeline.gpus -- trainability train ...

It holds an exclusive lock (`fcntl.flock`) on one lock file per device under a temporary
folder, sets `CUDA_VISIBLE_DEVICES` to that device, and replaces itself with the command
(`exec`): the lock lives in an inherited file descriptor, so it is held exactly as long as
the command runs and is released by the kernel however the command ends (even by SIGKILL).
When every device is taken it waits for one. Two concurrent jobs never share a device.

It is a no-op (the command runs unchanged) where there is nothing to choose: no CUDA device
(no `nvidia-smi`, or `CUDA_VISIBLE_DEVICES` empty or -1), inside a Slurm job, where the
scheduler has already handed out the GPUs (`SLURM_JOB_ID` set), or for a training command
that runs on the CPU (`--device cpu`, or "device": "cpu" in its `--config-json`).

Devices: `TRAINABILITY_GPUS` (comma-separated ids, e.g. "0,1,2"), else
`CUDA_VISIBLE_DEVICES` when set (so `CUDA_VISIBLE_DEVICES=2,3 snakemake ...` shares out only
those two), else the indices `nvidia-smi -L` lists. Locks: `--lock-dir`, else
`TRAINABILITY_GPU_LOCKS`, else `/tmp/trainability-gpus-<uid>`.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

NO_DEVICE = ("", "-1", "none", "NoDevFiles")


def default_lock_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("TRAINABILITY_GPU_LOCKS"):
        return Path(env["TRAINABILITY_GPU_LOCKS"])
    # Not $TMPDIR: Snakemake sets it per job (the `tmpdir` resource), and every job on the
    # machine must see the same locks.
    return Path("/tmp") / f"trainability-gpus-{os.getuid()}"


def _nvidia_smi_devices() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = [line for line in out.splitlines() if line_is_gpu(line)]
    return [str(index) for index in range(len(gpus))]


def line_is_gpu(line: str) -> bool:
    """`nvidia-smi -L` lists "GPU 0: <name> (UUID: ...)", and MIG devices indented below."""
    return line.startswith("GPU ")


def visible_devices(env: Mapping[str, str] | None = None) -> list[str]:
    """The device ids this process may share out (see the module docstring); [] for none."""
    env = os.environ if env is None else env
    for key in ("TRAINABILITY_GPUS", "CUDA_VISIBLE_DEVICES"):
        if key in env:
            value = env[key].strip()
            if value in NO_DEVICE:
                return []
            return [d.strip() for d in value.split(",") if d.strip()]
    return _nvidia_smi_devices()


def under_scheduler(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID"))


def wants_cpu(command: Sequence[str]) -> bool:
    """Whether a `trainability train` command trains on the CPU: `--device cpu`, or a
    `--config-json` whose device is "cpu" (then it needs no GPU and waits for none)."""
    for flag, value in zip(command, command[1:], strict=False):
        if flag == "--device" and value == "cpu":
            return True
        if flag == "--config-json":
            try:
                settings = json.loads(value)
            except ValueError:
                continue
            if isinstance(settings, dict) and settings.get("device") == "cpu":
                return True
    return any(arg == "--device=cpu" for arg in command)


def _lock_name(device: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in device)
    return f"gpu-{safe}.lock"


def try_acquire(devices: Sequence[str], lock_dir: Path) -> tuple[str, int] | None:
    """Lock the first free device: (device, open file descriptor holding its lock), or None.

    The lock is released when every copy of the descriptor is closed (os.close, or the
    process, and whatever it exec'd or forked, ending).
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    for device in devices:
        fd = os.open(lock_dir / _lock_name(device), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return device, fd
    return None


def acquire(devices: Sequence[str], lock_dir: Path, poll_seconds: float = 1.0,
            timeout: float | None = None) -> tuple[str, int]:
    """Lock a free device, waiting for one when all are taken (TimeoutError after `timeout`)."""
    if not devices:
        raise ValueError("no device to acquire")
    start = time.monotonic()
    while True:
        got = try_acquire(devices, lock_dir)
        if got is not None:
            return got
        if timeout is not None and time.monotonic() - start >= timeout:
            raise TimeoutError(f"every GPU of {list(devices)} stayed busy for {timeout} s")
        time.sleep(poll_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainability.pipeline.gpus",
        description="Run a command on a GPU of its own (CUDA_VISIBLE_DEVICES), chosen among "
                    "the free ones with a lock file per device; a no-op without CUDA or "
                    "inside a Slurm job.")
    parser.add_argument("--lock-dir", type=Path, help="folder of the per-device lock files")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between tries")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command and arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (python -m trainability.pipeline.gpus -- CMD ...)")
    env = dict(os.environ)
    devices = [] if under_scheduler(env) or wants_cpu(command) else visible_devices(env)
    if devices:
        device, fd = acquire(devices, args.lock_dir or default_lock_dir(env), args.poll)
        os.set_inheritable(fd, True)
        env["CUDA_VISIBLE_DEVICES"] = device
        print(f"trainability: GPU {device} (of {','.join(devices)}) for this job",
              file=sys.stderr, flush=True)
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        print(f"trainability: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
