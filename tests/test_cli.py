"""The command line, run as a user runs it: a subprocess, its output, its exit status."""

import json
import os
import subprocess
import sys

import pytest
import torch

from trainability.train.outputs import read_run


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "trainability.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


SMALL = ["--depth", "2", "--width", "16", "--updates", "20", "--eval-every", "10",
         "--monitor-size", "20", "--valid-size", "50", "--test-size", "50", "--quiet",
         "--device", "cpu"]


def test_train_from_flags_makes_one_member_per_combination(tmp_path):
    out = tmp_path / "run"
    result = run("train", *SMALL, "--activation", "tanh,softsign",
                 "--initializer", "standard,normalized", "--lr", "0.1", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    info, tables = read_run(out)
    pairs = [(m["activation"], m["initializer"]) for m in info["members"]]
    assert pairs == [("tanh", "standard"), ("tanh", "normalized"),
                     ("softsign", "standard"), ("softsign", "normalized")]
    assert set(tables["curves"].member) == {0, 1, 2, 3}


def test_train_from_yaml_with_flag_override(tmp_path):
    config = tmp_path / "bundle.yaml"
    config.write_text("depth: 3\nwidth: 8\nupdates: 5\neval_every: 5\nmonitor_size: 10\n"
                      "valid_size: 20\ntest_size: 20\ndevice: cpu\n"
                      "members:\n  - {activation: sigmoid, initializer: standard, lr: 0.5}\n")
    result = run("train", "--config", config, "--width", "12", "--quiet", "--out",
                 tmp_path / "run")
    assert result.returncode == 0, result.stderr
    info, _ = read_run(tmp_path / "run")
    assert info["config"]["depth"] == 3 and info["config"]["width"] == 12
    assert info["members"][0]["activation"] == "sigmoid"


def test_variance_scaling_spec_survives_comma_splitting(tmp_path):
    result = run("train", *SMALL, "--initializer",
                 "variance_scaling:scale=2,mode=fan_in,distribution=uniform,standard",
                 "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    info, _ = read_run(tmp_path / "run")
    assert [m["initializer"] for m in info["members"]] == [
        "variance_scaling:scale=2,mode=fan_in,distribution=uniform", "standard"]


@pytest.mark.parametrize("flags,fragment", [
    (["--activation", "swish"], "unknown activation 'swish'; valid names"),
    (["--initializer", "glorot"], "unknown initializer 'glorot'; valid names"),
    (["--depth", "0"], "depth must be an integer >= 1"),
    (["--width", "0"], "width must be an integer >= 1"),
    (["--lr", "0"], "lr must be a finite number > 0"),
    (["--lr", "-0.1"], "lr must be a finite number > 0"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1"),
    (["--dataset", "imagenet"], "dataset must be one of"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path, flags, fragment):
    out = tmp_path / "run"
    result = run("train", *SMALL, *flags, "--out", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # nothing that looks like a run


def test_missing_dataset_files_name_the_folder(tmp_path):
    env = {**os.environ, "TRAINABILITY_DATA": str(tmp_path / "nowhere")}
    # Make any download attempt fail fast and offline-like.
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"
    result = run("train", *SMALL, "--dataset", "mnist", "--out", tmp_path / "run", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere" in lines[0] and "train-images" in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("train", *SMALL, "--out", blocker / "run")
    assert result.returncode == 2
    assert "choose a writable --out" in result.stderr


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--out", out).returncode == 0
    result = run("train", *SMALL, "--out", out)
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert run("train", *SMALL, "--out", out, "--overwrite").returncode == 0


def test_info_reports_versions_and_schema():
    result = run("info")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["versions"]["torch"].startswith("2.13.0") and "schema_version" in info


def test_shapeset_preview_and_export(tmp_path):
    png = tmp_path / "fig1.png"
    result = run("shapeset", "preview", "--out", png, "--n", "12")
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    export = tmp_path / "samples.pt"
    result = run("shapeset", "export", "--out", export, "--count", "30", "--split", "valid")
    assert result.returncode == 0, result.stderr
    data = torch.load(export)
    assert data["images"].shape == (30, 32, 32) and data["labels"].shape == (30,)
    assert data["split"] == "valid"


def test_help_documents_every_option():
    result = run("train", "--help")
    assert result.returncode == 0
    for flag in ("--activation", "--initializer", "--lr", "--init-seed", "--depth", "--width",
                 "--batch-size", "--updates", "--eval-every", "--monitor-every", "--seed",
                 "--device", "--data-root", "--pixel-range", "--out", "--overwrite", "--quiet"):
        assert flag in result.stdout
