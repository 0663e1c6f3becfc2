"""The workflow on a real Slurm cluster: a one-node cluster on this host (tests/slurm/cluster.sh,
Debian's slurm-wlm and munge, daemons started by hand as root), the smoke preset submitted
with profiles/local-test, every training job checked to have run as a Slurm job with the
runtime and memory the workflow estimated, and the merged tables checked equal to a local
run's (training is deterministic on the CPU).

Skipped, with the reason, where no cluster can be brought up here (not root, packages
absent, a Slurm not ours already configured, the node never idle).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from trainability.pipeline import plan, resources

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
CONFIG = ("scale=smoke", "datasets=[shapeset]")
TARGET = "results/tables"  # every training job, the selections and the merged tables

#: Provenance and timing columns: they differ between any two runs.
PROVENANCE = {"wall_seconds", "train_seconds", "updates_per_second", "host", "created",
              "git_commit", "device_name"}

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def snakemake(workdir, *args):
    """Start the repository's workflow in `workdir` (returns the Popen)."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(REPO / "config.yaml"), *map(str, args)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def finish(process, timeout=600):
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"snakemake ran past {timeout} s:\n{output[-4000:]}")
    return process.returncode, output


@pytest.fixture(scope="module")
def cluster():
    """A running one-node Slurm cluster, stopped (by PID) after the module's tests."""
    started = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True,
                             timeout=180)
    if started.returncode == 3:
        lines = [line for line in started.stderr.splitlines() if line.strip()]
        pytest.skip(lines[-1] if lines else "cannot start a Slurm cluster here")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield started.stdout
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The smoke preset on Slurm and, alongside (its jobs mostly wait on the scheduler), the
    same targets run locally with --cores 2."""
    on_slurm = tmp_path_factory.mktemp("slurm")
    local = tmp_path_factory.mktemp("local")
    slurm_run = snakemake(on_slurm, TARGET, "--profile", REPO / "profiles" / "local-test",
                          "--config", *CONFIG)
    local_run = snakemake(local, TARGET, "--cores", "2", "--config", *CONFIG)
    slurm_status, slurm_log = finish(slurm_run)
    local_status, local_log = finish(local_run)
    assert slurm_status == 0, slurm_log[-6000:]
    assert local_status == 0, local_log[-4000:]
    return on_slurm, slurm_log, local


def submitted_jobs(log: str) -> dict[tuple[str, str], tuple[str, Path]]:
    """(rule, wildcards) -> (Slurm job id, Slurm log) from the Slurm executor's messages."""
    jobs = {}
    for slurm_id, logfile in re.findall(
            r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log):
        logfile = Path(logfile)
        rule = logfile.parent.parent.name.removeprefix("rule_")
        jobs[rule, logfile.parent.name] = slurm_id, logfile
    return jobs


def slurm_minutes(limit: str) -> int:
    """squeue's %l ([days-]hours:minutes:seconds, or minutes:seconds) in minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, minutes, seconds = [0] * (3 - len(parts)) + parts
    return (int(days or 0) * 24 + hours) * 60 + minutes + (seconds > 0)


def test_every_training_job_ran_as_a_slurm_job_with_its_estimated_resources(runs):
    workdir, log, _ = runs
    config = {**yaml.safe_load((REPO / "config.yaml").read_text()),
              "scale": "smoke", "datasets": ["shapeset"]}
    training = plan.plan_jobs(config)
    assert len(training) == 10
    jobs = submitted_jobs(log)
    ids = {}
    for job in training:
        shape = job.name.rsplit("-", 1)[0]
        key = (f"train_{job.stage}", shape)
        assert key in jobs, f"{key} was not submitted to Slurm:\n{log[-3000:]}"
        slurm_id, logfile = jobs[key]
        assert logfile.is_file(), logfile
        assert f"Finished jobid: 0 (Rule: train_{job.stage})" in logfile.read_text()
        ids[slurm_id] = plan.bundle_config(config, job)
    # Every job of the run was submitted to Slurm, none ran on the submitting host.
    assert {rule for rule, _ in jobs} == {"data", "train_sweep", "select_learning_rates",
                                          "train_seeds", "aggregate"}
    assert len(jobs) == 1 + 10 + 5 + 1
    assert "localrule" not in log
    table = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%l|%m|%C",
                            "--jobs", ",".join(ids)], capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    seen = {}
    for line in table.stdout.split():
        slurm_id, state, limit, memory, cpus = line.split("|")
        seen[slurm_id] = state
        bundle = ids[slurm_id]
        assert state == "COMPLETED", line
        assert slurm_minutes(limit) == resources.runtime_minutes(bundle), line
        assert memory == f"{resources.memory_mb(bundle)}M", line
        assert cpus == "2", line  # the rules' threads; no GPU asked for on this CPU cluster
    assert set(seen) == set(ids)
    assert (workdir / "results" / "tables" / "runs.parquet").exists()


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c in PROVENANCE])
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    return frame.sort_values(keys).reset_index(drop=True)


def test_slurm_results_equal_a_local_run(runs):
    on_slurm, _, local = runs
    tables = sorted(p.name for p in (local / "results" / "tables").glob("*.parquet"))
    assert tables == ["curves.parquet", "histograms.parquet", "layer_stats.parquet",
                      "runs.parquet"]
    for name in tables:
        ours = comparable(pd.read_parquet(on_slurm / "results" / "tables" / name))
        theirs = comparable(pd.read_parquet(local / "results" / "tables" / name))
        assert len(ours) > 0
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-6, atol=1e-9,
                                      obj=name)
