"""Bad input and faults: each ends with one line on stderr that says what to do, a non-zero
exit, and nothing left behind that looks complete or lingers (temporary files included).

The disk-full cases use a real full disk: a small tmpfs mounted in a private mount namespace
(`unshare`, root only; skipped elsewhere), so that the bytes really do not fit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from trainability.train.checkpoint import default_path
from trainability.train.outputs import read_run

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--depth", "2", "--width", "16", "--updates", "40", "--eval-every", "10",
         "--monitor-size", "20", "--valid-size", "50", "--test-size", "50", "--quiet",
         "--device", "cpu"]


def cli(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "trainability.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def one_error_line(result) -> str:
    """The single stderr line of a failed command (asserts there is exactly one)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=16k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(),
                                 reason="needs root and unshare to mount a small tmpfs")


def in_mount_namespace(setup: str, *args, then: str = ""):
    """Run the CLI after the shell command `setup` (mounts), in a private mount namespace
    that vanishes with it; `then` runs after the CLI (its exit status is kept)."""
    command = (f"{setup} && {sys.executable} -m trainability.cli {' '.join(map(str, args))}; "
               f"rc=$?; {then} exit $rc")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           command], capture_output=True, text=True, timeout=300)


def on_small_disk(folder: Path, kilobytes: int, *args):
    """Run the CLI with a `kilobytes` tmpfs mounted on `folder`; stdout ends with the listing
    of the tmpfs after the command, under a '--' line."""
    folder.mkdir(parents=True, exist_ok=True)
    return in_mount_namespace(f"mount -t tmpfs -o size={kilobytes}k tmpfs {folder}", *args,
                              then=f"echo --; ls -A {folder};")


# ---- checkpoints ---------------------------------------------------------------------------
def test_checkpoint_under_a_file_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("train", *SMALL, "--out", tmp_path / "run", "--checkpoint-every", "10",
                 "--checkpoint", blocker / "run.ckpt")
    line = one_error_line(result)
    assert "cannot save checkpoints to" in line and "--checkpoint" in line
    assert not (tmp_path / "run").exists()


@needs_tmpfs
def test_checkpoint_on_a_read_only_folder_fails_before_training(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    result = in_mount_namespace(f"mount --bind {folder} {folder} && "
                                f"mount -o remount,bind,ro {folder}", "train", *SMALL, "--out",
                                tmp_path / "run", "--checkpoint-every", "10", "--checkpoint",
                                folder / "run.ckpt")
    line = one_error_line(result)
    assert "Read-only file system" in line and "--checkpoint" in line
    assert not (tmp_path / "run").exists()


@needs_tmpfs
def test_disk_full_during_a_checkpoint_is_one_line_and_leaves_no_partial_file(tmp_path):
    disk = tmp_path / "disk"
    result = on_small_disk(disk, 16, "train", *SMALL, "--width", "64", "--out",
                           tmp_path / "run", "--checkpoint-every", "10", "--checkpoint",
                           disk / "run.ckpt")
    stdout, _, listing = result.stdout.partition("--\n")
    line = one_error_line(result)
    assert "no space left on device" in line and "free disk space" in line
    assert listing.split() == [], listing  # no partial checkpoint left on the full disk
    assert not (tmp_path / "run").exists()


@needs_tmpfs
def test_disk_full_while_writing_the_run_is_one_line_and_leaves_nothing(tmp_path):
    disk = tmp_path / "disk"
    result = on_small_disk(disk, 8, "train", *SMALL, "--width", "64", "--out", disk / "run")
    _, _, listing = result.stdout.partition("--\n")
    line = one_error_line(result)
    assert "no space left on device" in line and "free disk space" in line
    assert listing.split() == [], listing  # no staging folder, nothing that looks complete


def test_stale_partial_checkpoints_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "run"
    checkpoint = default_path(out)
    finished = subprocess.Popen(["true"])  # a process that has ended, like a killed save
    finished.wait()
    stale = checkpoint.with_name(f".{checkpoint.name}.partial-{finished.pid}")
    stale.write_bytes(b"half a checkpoint")
    result = cli("train", *SMALL, "--out", out, "--checkpoint-every", "10")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_checkpoint_says_delete_it(tmp_path, damage):
    out = tmp_path / "run"
    checkpoint = default_path(out)
    if damage == "garbage":
        checkpoint.write_bytes(b"not a checkpoint at all" * 10)
    else:  # a real checkpoint cut short, as by a crash without the atomic rename
        torch.save({"schema_version": 1, "weights": [torch.zeros(1000)]}, checkpoint)
        checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    result = cli("train", *SMALL, "--out", out, "--checkpoint-every", "10")
    line = one_error_line(result)
    assert "unreadable" in line and "delete it to start afresh" in line and str(checkpoint) in line
    assert not out.exists()


# ---- numbers and sizes ---------------------------------------------------------------------
@pytest.mark.parametrize("lr", ["inf", "nan", "-inf", "1e999"])
def test_non_finite_learning_rate_is_refused(tmp_path, lr):
    result = cli("train", *SMALL, f"--lr={lr}", "--out", tmp_path / "run")
    line = one_error_line(result)
    assert "--lr" in line and "finite" in line
    assert not list(tmp_path.iterdir())


def test_non_finite_learning_rate_in_a_config_is_refused(tmp_path):
    result = cli("train", "--config-json", '{"members": [{"lr": Infinity}]}', "--out",
                 tmp_path / "run")
    assert "lr must be a finite number > 0, got inf" in one_error_line(result)


@pytest.mark.parametrize("spec,fragment", [
    ("--trick=clip_norm:inf", "not a finite number"),
    ("--activation=elu:inf", "not a finite number"),
    ("--initializer=variance_scaling:scale=.nan", "not a finite number"),
])
def test_non_finite_spec_arguments_are_refused(tmp_path, spec, fragment):
    result = cli("train", *SMALL, spec, "--out", tmp_path / "run")
    assert fragment in one_error_line(result)


def test_bundle_too_large_for_memory_is_one_line_naming_the_memory(tmp_path):
    result = cli("train", *SMALL, "--width", "10000000", "--out", tmp_path / "run")
    line = one_error_line(result)
    assert "GiB for its parameters" in line and "reduce the width" in line
    assert not list(tmp_path.iterdir())


def test_a_duplicate_key_in_a_bundle_config_is_refused(tmp_path):
    config = tmp_path / "bundle.yaml"
    config.write_text("depth: 2\nwidth: 8\ndepth: 3\n")
    result = cli("train", "--config", config, "--out", tmp_path / "run")
    line = one_error_line(result)
    assert "'depth' appears twice" in line and "lines 1 and 3" in line


# ---- one spelling per network ----------------------------------------------------------------
def test_equivalent_spellings_train_as_one_network(tmp_path):
    out = tmp_path / "run"
    result = cli("train", *SMALL, "--updates", "10", "--activation",
                 "leaky_relu,leaky_relu:0.01", "--trick",
                 "adam+clip_norm:1,clip_norm:1+adam,clip_norm:1.0+adam", "--out", out)
    assert result.returncode == 0, result.stderr
    info, _ = read_run(out)
    assert {m["activation"] for m in info["members"]} == {"leaky_relu:0.01"}
    assert {m["trick"] for m in info["members"]} == {"clip_norm:1+adam"}


# ---- wall time of a resumed run -------------------------------------------------------------
def test_wall_seconds_of_a_resumed_run_counts_every_segment(tmp_path, monkeypatch):
    """Interrupt a run after its second checkpoint, resume it, and compare the recorded wall
    time with the first segment's (as saved in the checkpoint)."""
    from trainability.train import trainer
    from trainability.train.config import BundleConfig

    config = BundleConfig.from_dict({
        "dataset": "shapeset", "depth": 2, "width": 16, "updates": 40, "eval_every": 10,
        "monitor_every": 0, "monitor_size": 20, "valid_size": 50, "test_size": 50,
        "histogram_bins": 0, "device": "cpu"})
    out = tmp_path / "run"
    saves = []
    real_save = trainer.checkpoints.save

    def save_then_stop(checkpoint, path):
        real_save(checkpoint, path)
        saves.append(checkpoint.wall_seconds)
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer.checkpoints, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_bundle(config, out, progress=False, checkpoint_every=10)
    monkeypatch.setattr(trainer.checkpoints, "save", real_save)
    first_segment = torch.load(default_path(out), weights_only=False)["wall_seconds"]
    assert first_segment == saves[-1] > 0
    info, _ = read_run(trainer.train_bundle(config, out, progress=False, checkpoint_every=10))
    assert info["resumed_from_update"] == 20
    assert info["wall_seconds"] > first_segment


# ---- the pipeline's config ------------------------------------------------------------------
#: What Snakemake itself prints when --config adds to a config file (not an error).
SNAKEMAKE_NOTICE = "Config file config.yaml is extended by additional config"


def snakemake_dry_run(workdir: Path, *args):
    """`snakemake -n` of the repository's workflow in `workdir`, with its config.yaml (the
    repository's unless the test wrote one there)."""
    if not (workdir / "config.yaml").exists():
        shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
                           "-d", str(workdir), "-n", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("override,fragment", [
    ("datset=[shapeset]", "config key 'datset' is not a setting; did you mean 'datasets'?"),
    ("scale=quik", "config key scale must be one of smoke, quick, paper; got 'quik'"),
    ("lr_grid=[.inf]", "config key lr_grid[0] must be a finite number"),
    ("updates=many", "config key updates must be of type integer or null"),
])
def test_a_bad_config_value_is_one_line_naming_the_key(tmp_path, override, fragment):
    result = snakemake_dry_run(tmp_path, "--config", override)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).strip().splitlines()
             if not line.startswith(SNAKEMAKE_NOTICE)]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_two_studies_of_one_name_are_refused(tmp_path):
    text = (REPO / "config.yaml").read_text().replace("  depth_sweep:\n", "  table1:\n", 1)
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = snakemake_dry_run(tmp_path)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and "key 'table1' appears twice" in lines[0], lines


def test_equivalent_spellings_in_studies_plan_one_network():
    from trainability.config_files import load_yaml
    from trainability.pipeline import plan, settings

    config = settings.normalize(load_yaml(REPO / "config.yaml")) | {
        "scale": "smoke", "datasets": ["shapeset"], "run_studies": ["spellings"]}
    config["studies"] = {"spellings": {
        "datasets": ["shapeset"], "activations": ["leaky_relu", "leaky_relu:0.01"],
        "initializers": ["orthogonal", "orthogonal:1.0"], "depths": [2],
        "tricks": ["adam+clip_norm:1", "clip_norm:1+adam", "clip_norm:1.0+adam",
                   "momentum", "momentum:0.9"]}}
    points = plan.grid_points(config)
    assert sorted({(p.activation, p.initializer, p.trick) for p in points}) == [
        ("leaky_relu:0.01", "orthogonal", "clip_norm:1+adam"),
        ("leaky_relu:0.01", "orthogonal", "momentum:0.9")]


def test_missing_dataset_in_the_pipeline_names_the_pipeline_setting(tmp_path):
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    root = tmp_path / "nowhere"
    result = cli("data", "mnist", "--root", root, "--out", tmp_path / "mnist.json", env=env)
    line = one_error_line(result)
    assert "--config data_root=" in line and "--data-root" not in line
    assert not root.exists()  # the failed download leaves no empty MNIST/raw folders
    assert not (tmp_path / "mnist.json").exists()
