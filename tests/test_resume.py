"""Preemption: a training process killed with SIGKILL resumes from its checkpoint and ends
bitwise identical to a run that was never interrupted."""

import signal
import subprocess
import sys

import pandas as pd
import pytest
import torch

from trainability.train.checkpoint import default_path
from trainability.train.outputs import read_run

ARGS = ["--dataset", "shapeset", "--depth", "3", "--width", "64", "--updates", "600",
        "--eval-every", "100", "--monitor-every", "150", "--monitor-size", "50",
        "--valid-size", "200", "--test-size", "200", "--device", "cpu", "--quiet",
        "--activation", "tanh,relu", "--initializer", "standard,normalized", "--lr", "0.05"]


def train(out, *extra, kill_after_update=None):
    """`trainability train` in a subprocess; with `kill_after_update`, the process SIGKILLs
    itself right after saving the checkpoint of that update (deterministic, unlike a kill
    timed from outside, which a fast machine can outrun)."""
    command = [sys.executable, "-m", "trainability", "train", *ARGS, "--out", str(out), *extra]
    if kill_after_update is not None:
        command[1:3] = ["-c", KILL_AFTER_SAVE.format(update=kill_after_update)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


KILL_AFTER_SAVE = """
import os, signal, sys
from trainability.train import checkpoint
save = checkpoint.save
def save_then_die(state, path):
    save(state, path)
    if state.update == {update}:
        os.kill(os.getpid(), signal.SIGKILL)
checkpoint.save = save_then_die
from trainability.cli import main
sys.exit(main(sys.argv[1:]))
"""


def assert_same_tables(a, b):
    for name in ("curves", "layer_stats", "histograms"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


def test_sigkill_then_rerun_gives_bitwise_identical_results(tmp_path):
    reference = train(tmp_path / "reference")
    assert reference.wait(timeout=600) == 0, reference.stderr.read()

    out = tmp_path / "killed"
    checkpoint = default_path(out)
    process = train(out, "--checkpoint-every", "50", kill_after_update=200)
    assert process.wait(timeout=600) == -signal.SIGKILL, process.stderr.read()
    assert not out.exists()  # a killed run leaves nothing that looks complete
    killed_at = torch.load(checkpoint, weights_only=False)["update"]
    assert killed_at == 200

    resumed = train(out, "--checkpoint-every", "50")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    info, tables = read_run(out)
    assert info["resumed_from_update"] == killed_at
    assert not checkpoint.exists()  # removed once the results are complete
    _, expected = read_run(tmp_path / "reference")
    assert_same_tables(tables, expected)


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    out = tmp_path / "run"
    process = train(out, "--checkpoint-every", "50", "--seed", "1", kill_after_update=50)
    assert process.wait(timeout=600) == -signal.SIGKILL, process.stderr.read()
    other = train(out, "--checkpoint-every", "50", "--seed", "2")
    assert other.wait(timeout=300) == 2
    assert "belongs to another run" in other.stderr.read()


@pytest.mark.parametrize("value", ["-1"])
def test_bad_checkpoint_interval(tmp_path, value):
    process = train(tmp_path / "run", "--checkpoint-every", value)
    assert process.wait(timeout=300) == 2
