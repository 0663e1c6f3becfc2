"""Starting a job is cheap: planning the workflow and checking the command line load no torch.

A stand-in `torch` package that refuses to be imported goes first on PYTHONPATH: the workflow
must still plan (`snakemake -n`) and the command line must still answer --help and refuse bad
arguments with its own one-line errors. Training then needs torch, and the stand-in says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def no_torch_env(tmp_path_factory) -> dict[str, str]:
    fake = tmp_path_factory.mktemp("no_torch")
    for name in ("torch", "torchvision"):
        (fake / name).mkdir()
        (fake / name / "__init__.py").write_text(
            f"raise ImportError('{name} imported while planning or checking arguments')\n")
    path = os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def run(env, *args, cwd=None):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_the_stand_in_really_blocks_torch(no_torch_env):
    result = run(no_torch_env, "-c", "import torch")
    assert result.returncode != 0 and "imported while planning" in result.stderr


def test_the_workflow_plans_without_torch(no_torch_env, tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    for scale in ("smoke", "paper"):
        result = run(no_torch_env, "-m", "snakemake", "-s", REPO / "Snakefile", "-d", tmp_path,
                     "-n", "--config", f"scale={scale}", "datasets=[shapeset,mnist,cifar10]")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "train_sweep" in result.stdout


@pytest.mark.parametrize("args,fragment", [
    (["--help"], "usage: trainability"),
    (["train", "--help"], "--threads"),
    (["select", "--help"], "--sweep"),
    (["train", "--activation", "swish", "--out", "x"], "error: members[0].activation: "
                                                       "unknown activation 'swish'"),
    (["train", "--lr", "0", "--out", "x"], "error: members[0].lr must be a finite number"),
    (["train", "--trick", "adam+adagrad", "--out", "x"], "choose one optimizer"),
])
def test_the_command_line_checks_arguments_without_torch(no_torch_env, tmp_path, args,
                                                         fragment):
    result = run(no_torch_env, "-m", "trainability.cli", *args, cwd=tmp_path)
    assert "imported while planning" not in result.stderr, result.stderr
    assert fragment in result.stdout + result.stderr
    assert not (tmp_path / "x").exists()


def test_the_pipeline_steps_other_than_training_import_no_torch(no_torch_env):
    modules = ("trainability.pipeline.select", "trainability.pipeline.aggregate",
               "trainability.analysis", "trainability.figures", "trainability.report")
    result = run(no_torch_env, "-c", f"import {', '.join(modules)}")
    assert result.returncode == 0, result.stderr[-2000:]
