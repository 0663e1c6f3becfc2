"""Preemption: a training process killed with SIGKILL resumes from its checkpoint and ends
bitwise identical to a run that was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from trainability.train.checkpoint import default_path
from trainability.train.outputs import read_run

ARGS = ["--dataset", "shapeset", "--depth", "3", "--width", "64", "--updates", "600",
        "--eval-every", "100", "--monitor-every", "150", "--monitor-size", "50",
        "--valid-size", "200", "--test-size", "200", "--device", "cpu", "--quiet",
        "--activation", "tanh,relu", "--initializer", "standard,normalized", "--lr", "0.05"]


def train(out, *extra):
    command = [sys.executable, "-m", "trainability", "train", *ARGS, "--out", str(out), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_same_tables(a, b):
    for name in ("curves", "layer_stats", "histograms"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


def test_sigkill_then_rerun_gives_bitwise_identical_results(tmp_path):
    reference = train(tmp_path / "reference")
    assert reference.wait(timeout=600) == 0, reference.stderr.read()

    out = tmp_path / "killed"
    checkpoint = default_path(out)
    process = train(out, "--checkpoint-every", "50")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists():
            saved = torch.load(checkpoint, weights_only=False)
            if saved["update"] >= 200:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()  # a killed run leaves nothing that looks complete
    killed_at = torch.load(checkpoint, weights_only=False)["update"]
    assert 200 <= killed_at < 600

    resumed = train(out, "--checkpoint-every", "50")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    info, tables = read_run(out)
    assert info["resumed_from_update"] == killed_at
    assert not checkpoint.exists()  # removed once the results are complete
    _, expected = read_run(tmp_path / "reference")
    assert_same_tables(tables, expected)


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    out = tmp_path / "run"
    process = train(out, "--checkpoint-every", "50", "--seed", "1")
    deadline = time.monotonic() + 300
    while not default_path(out).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    other = train(out, "--checkpoint-every", "50", "--seed", "2")
    assert other.wait(timeout=300) == 2
    assert "belongs to another run" in other.stderr.read()


@pytest.mark.parametrize("value", ["-1"])
def test_bad_checkpoint_interval(tmp_path, value):
    process = train(tmp_path / "run", "--checkpoint-every", value)
    assert process.wait(timeout=300) == 2
