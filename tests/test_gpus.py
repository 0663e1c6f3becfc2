"""One GPU per concurrent training job without a scheduler: the lock logic, on simulated
devices (TRAINABILITY_GPUS), so no CUDA is needed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from trainability.pipeline import gpus


def test_visible_devices_come_from_the_environment():
    assert gpus.visible_devices({"TRAINABILITY_GPUS": "0,1,2"}) == ["0", "1", "2"]
    assert gpus.visible_devices({"CUDA_VISIBLE_DEVICES": "2, 3"}) == ["2", "3"]
    # TRAINABILITY_GPUS wins over CUDA_VISIBLE_DEVICES; empty or -1 means no device
    assert gpus.visible_devices({"TRAINABILITY_GPUS": "1", "CUDA_VISIBLE_DEVICES": "0"}) == ["1"]
    assert gpus.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpus.visible_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def test_without_nvidia_smi_there_is_no_device(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert gpus.visible_devices({}) == []


def test_nvidia_smi_lines_are_counted_as_gpus_not_mig_devices():
    listing = ["GPU 0: NVIDIA H100 (UUID: GPU-1)", "  MIG 1g.10gb Device 0: (UUID: MIG-1)",
               "GPU 1: NVIDIA H100 (UUID: GPU-2)"]
    assert [line for line in listing if gpus.line_is_gpu(line)] == [listing[0], listing[2]]


def test_each_lock_holder_gets_its_own_device_until_it_lets_go(tmp_path):
    devices = ["0", "1", "2"]
    held = [gpus.try_acquire(devices, tmp_path) for _ in devices]
    assert sorted(device for device, _ in held) == devices
    assert gpus.try_acquire(devices, tmp_path) is None  # all taken
    with pytest.raises(TimeoutError):
        gpus.acquire(devices, tmp_path, poll_seconds=0.01, timeout=0.05)
    device, fd = held[1]
    os.close(fd)  # the job on device 1 ends
    again = gpus.try_acquire(devices, tmp_path)
    assert again is not None and again[0] == device
    for _, fd in [held[0], held[2], again]:
        os.close(fd)


def test_training_on_the_cpu_needs_no_gpu():
    bundle = json.dumps({"device": "cpu", "depth": 3})
    assert gpus.wants_cpu(["trainability", "train", "--config-json", bundle])
    assert gpus.wants_cpu(["trainability", "train", "--device", "cpu"])
    assert not gpus.wants_cpu(["trainability", "train", "--config-json",
                               json.dumps({"device": "auto"})])
    assert not gpus.wants_cpu(["trainability", "train", "--device", "cuda"])


def _wrapped(tmp_path, script, env_extra=None, **kwargs):
    env = {key: value for key, value in os.environ.items()
           if key not in ("SLURM_JOB_ID", "SLURM_JOBID", "TRAINABILITY_GPUS",
                          "CUDA_VISIBLE_DEVICES")}
    env |= {"TRAINABILITY_GPU_LOCKS": str(tmp_path / "locks"), **(env_extra or {})}
    command = [sys.executable, "-m", "trainability.pipeline.gpus", "--poll", "0.05", "--",
               sys.executable, "-c", script]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


# Record (device, start, end) of a job that holds its GPU for a while.
JOB = """
import os, sys, time
start = time.monotonic()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.4)
print(os.environ.get("CUDA_VISIBLE_DEVICES", "unset"), start, time.monotonic())
"""


def test_concurrent_jobs_never_share_a_device_and_wait_for_a_free_one(tmp_path):
    # Five jobs on two simulated devices: at most two run at once, each alone on its device.
    jobs = [_wrapped(tmp_path, JOB, {"TRAINABILITY_GPUS": "0,1"}) for _ in range(5)]
    runs = []
    for job in jobs:
        out, err = job.communicate(timeout=60)
        assert job.returncode == 0, err
        device, start, end = out.split()
        runs.append((device, float(start), float(end)))
    assert {device for device, _, _ in runs} == {"0", "1"}
    for i, (device, start, end) in enumerate(runs):
        for other, other_start, other_end in runs[i + 1:]:
            if other == device:  # same device: the two jobs did not overlap in time
                assert end <= other_start or other_end <= start, runs


def test_a_killed_job_frees_its_device(tmp_path):
    env = {"TRAINABILITY_GPUS": "7"}
    holder = _wrapped(tmp_path, "import time; time.sleep(60)", env)
    lock = tmp_path / "locks" / "gpu-7.lock"
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text().strip()):
        assert time.monotonic() < deadline, "the wrapper never took the lock"
        time.sleep(0.05)
    # The lock is held by the exec'd command itself (same PID as the wrapper).
    assert lock.read_text().strip() == str(holder.pid)
    waiter = _wrapped(tmp_path, JOB, env)
    time.sleep(0.5)
    assert waiter.poll() is None  # waiting for device 7
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert out.split()[0] == "7"


@pytest.mark.parametrize("env", [{"TRAINABILITY_GPUS": ""}, {"CUDA_VISIBLE_DEVICES": "-1"},
                                 {"TRAINABILITY_GPUS": "0,1", "SLURM_JOB_ID": "42"}])
def test_a_no_op_without_devices_or_under_slurm(tmp_path, env):
    script = "import os; print(os.environ.get('CUDA_VISIBLE_DEVICES', 'unset'))"
    before = env.get("CUDA_VISIBLE_DEVICES", "unset")
    job = _wrapped(tmp_path, script, env)
    out, _ = job.communicate(timeout=30)
    assert job.returncode == 0
    assert out.strip() == before
    assert not (tmp_path / "locks").exists()


def test_the_command_exit_status_is_the_job_status(tmp_path):
    job = _wrapped(tmp_path, "raise SystemExit(3)", {"TRAINABILITY_GPUS": "0"})
    job.communicate(timeout=30)
    assert job.returncode == 3
    missing = subprocess.run([sys.executable, "-m", "trainability.pipeline.gpus", "--",
                              "no-such-command-xyz"], capture_output=True, text=True)
    assert missing.returncode == 127 and "cannot run no-such-command-xyz" in missing.stderr
