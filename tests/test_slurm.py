"""The workflow on a real Slurm cluster.

A private one-node cluster on this host (tests/slurm/cluster.sh: Debian's slurm-wlm and munge,
daemons started by hand as root, their config, ports, munged, state and logs all in a
directory of their own, two pretend GPUs) runs, at the same time:

- the smoke preset on Shapeset up to the merged tables, with profiles/local-test (the CI's
  CPU profile): every job must have run as a Slurm job, training jobs with the runtime and
  memory the workflow estimated, and the tables must equal those of
- the same targets run locally (--cores 2): training is deterministic on the CPU;
- one training job with each GPU profile (profiles/slurm, profiles/slurm-gres, their site
  placeholders filled in for this cluster): Slurm must have been asked for, and have granted,
  a GPU for it (--gpus, resp. --gres), and nothing else must have asked for one.

The test runs wherever the daemons can be started, and is skipped, with the reason, where
they cannot (not root; slurm-wlm or munge not installed). A cluster that should start but
does not is a failure, not a skip. Every failure message ends with the tails of Snakemake's
output, of the failed jobs' Slurm logs and of slurmctld's and slurmd's logs. The cluster is
stopped by PID however the tests end; its directory (/var/tmp/trainability-slurm-*) is
removed when they pass and kept, for its logs, when one fails.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from trainability.pipeline import plan, resources, settings

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
#: The paper's depth sweep (every fused-path bundle shape of the smoke run) and one small
#: trick bundle (the autograd path, standardized inputs): the whole smoke grid would add
#: minutes of Snakemake starts and nothing the cluster path does not already show.
CONFIG = ("scale=smoke", "datasets=[shapeset]", "run_studies=[depth_sweep,tricks_selu]")
TARGET = "results/tables"  # every training job, the selections and the merged tables
GPU_SHAPE = "shapeset-d1-w48"  # the one training job run with each GPU profile
GPU_PROFILES = {  # profile -> what `scontrol show job` says of its training job's request
    "slurm": ["TresPerJob=gres:gpu:fake:1", "CpusPerTres=gres:gpu:1"],
    "slurm-gres": ["TresPerNode=gres:gpu:1", "CPUs/Task=1"],
}
#: Provenance and timing columns: they differ between any two runs.
PROVENANCE = {"wall_seconds", "train_seconds", "updates_per_second", "host", "created",
              "git_commit", "device_name"}
#: The test cluster: two pretend GPUs, and more CPUs than this host has (slurmd is told to
#: believe the config), so that Slurm never keeps a job waiting for a CPU: most of a test
#: job's time goes into starting Snakemake (twice), not into computing.
CLUSTER_ENV = {"TRAINABILITY_SLURM_FAKE_GPUS": "2", "TRAINABILITY_SLURM_CPUS": "8"}
START_TIMEOUT_S = 180
RUNS_TIMEOUT_S = 3600  # the four runs together: a guard against a hang (they take about 5
#                       minutes on a quiet 2-core machine)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def tail_of(path: Path, lines: int) -> str:
    try:
        return tail(path.read_text(errors="replace"), lines)
    except OSError as error:
        return f"({error})"


@dataclass
class Cluster:
    """A running test cluster: its directory and the environment its clients need."""

    directory: Path
    env: dict[str, str] = field(repr=False)

    def client(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, env=self.env,
                              timeout=30)

    def report(self, lines: int = 30) -> str:
        """The queue and the tails of the daemons' logs, for failure messages."""
        parts = []
        for command in (["sinfo", "-N", "-o", "%N %T %c %m %G %E"],
                        ["squeue", "--states=all", "-o", "%i %j %T %r %l %m %C"]):
            try:
                shown = self.client(*command)
                parts.append(f"--- {' '.join(command)}\n{shown.stdout}{shown.stderr}")
            except (OSError, subprocess.SubprocessError) as error:
                parts.append(f"--- {' '.join(command)}: {error}")
        for log in ("log/slurmctld.log", "log/slurmd.log"):
            parts.append(f"--- last {lines} lines of {self.directory / log}\n"
                         f"{tail_of(self.directory / log, lines)}")
        return "\n".join(parts)


@dataclass
class Run:
    workdir: Path
    status: int | None
    output: str
    seconds: float


@dataclass
class Runs:
    cluster: Cluster
    runs: dict[str, Run]

    def explain(self, *names: str) -> str:
        """Snakemake's output, its failed Slurm jobs' logs and the cluster's logs."""
        parts = []
        for name in names:
            run = self.runs[name]
            parts.append(f"=== the {name} run ({run.workdir}): exit status {run.status} "
                         f"after {run.seconds:.0f} s; last 60 lines of Snakemake's output\n"
                         f"{tail(run.output, 60)}")
            unfinished = [log for log in sorted(run.workdir.glob(".snakemake/slurm_logs/**/*.log"))
                          if "steps (100%) done" not in log.read_text(errors="replace")]
            for log in unfinished[:3]:
                parts.append(f"--- last 30 lines of the Slurm job log {log}\n{tail_of(log, 30)}")
        parts.append(f"=== the test cluster ({self.cluster.directory})\n{self.cluster.report()}")
        return "\n".join(parts)


@contextlib.contextmanager
def explained(runs: Runs, *names: str):
    """Add the runs' and the cluster's logs to an assertion error raised inside."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{error}\n\n{runs.explain(*names)}") from None


def workflow_config(**overrides):
    """config.yaml with CONFIG's overrides, as the runs see it."""
    overrides = {**dict(item.split("=", 1) for item in CONFIG), **overrides}
    return settings.normalize({**yaml.safe_load((REPO / "config.yaml").read_text()),
                               **overrides})


def snakemake(workdir: Path, env: dict[str, str], target: str, *args) -> subprocess.Popen:
    """Start the repository's workflow on `target` in `workdir`, its output going to
    `workdir`/../<name>.out (a file, not a pipe that could fill while nobody reads it). As when
    run from a checkout, the workflow reads config.yaml from its working directory (a copy of
    the repository's), so that a profile's own `configfile` applies."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    command = [str(SNAKEMAKE), target, "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), *map(str, args)]
    with open(workdir.parent / f"{workdir.name}.out", "w") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True,
                                env=env)


def site_profile(name: str, folder: Path) -> Path:
    """profiles/<name> with its "edit for your site" placeholders filled in for the test
    cluster: partition `test`, GPU model `fake`, no account, one CPU per training job."""
    profile = folder / name
    shutil.copytree(REPO / "profiles" / name, profile)
    text = (profile / "config.yaml").read_text()
    for placeholder, value in [('"EDIT-cpu-partition"', "test"), ('"EDIT-gpu-partition"', "test"),
                               ("slurm-keep-successful-logs: false",
                                "slurm-keep-successful-logs: true\n"
                                "slurm-init-seconds-before-status-checks: 5")]:
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    text = text.replace('"EDIT-gpu-model"', "fake")
    text = re.sub(r"(cpus_per_gpu|cpus_per_task): \d+", r"\1: 1", text)
    text = re.sub(r"^ *slurm_account: .*\n", "", text, flags=re.MULTILINE)
    assert not any("EDIT-" in line.split("#")[0] for line in text.splitlines())
    (profile / "config.yaml").write_text(text)
    return profile


@pytest.fixture(scope="module")
def cluster(request):
    """A running private one-node Slurm cluster with two pretend GPUs, stopped by PID after
    the module's tests, however they end."""
    if os.geteuid() != 0:
        pytest.skip("cannot start a Slurm cluster here: not root (the daemons are started by "
                    "hand as root)")
    # /var/tmp, not pytest's tmp_path: munged wants its socket's directories searchable by
    # all, and pytest's are private.
    directory = Path(tempfile.mkdtemp(prefix="trainability-slurm-", dir="/var/tmp"))
    venv_bin = str(Path(sys.executable).parent)  # snakemake, and trainability in the jobs
    # DIR/bin first: the Slurm clients pinned to this cluster, for the jobs' `srun` (see
    # write_clients in cluster.sh). OMP_WAIT_POLICY=PASSIVE: a training job's idle OpenMP
    # threads sleep instead of spinning; with a dozen jobs on two cores, spinning doubled
    # the CPU time of training (the numbers are the same either way).
    ours = Cluster(directory, {**os.environ, "SLURM_CONF": str(directory / "slurm.conf"),
                               "PATH": f"{directory / 'bin'}:{venv_bin}:{os.environ['PATH']}",
                               "OMP_WAIT_POLICY": "PASSIVE"})
    failures_before = request.session.testsfailed
    keep = True
    try:
        try:
            started = subprocess.run(["bash", str(CLUSTER), "start", str(directory)],
                                     capture_output=True, text=True, timeout=START_TIMEOUT_S,
                                     env={**os.environ, **CLUSTER_ENV})
        except subprocess.TimeoutExpired as timeout:
            pytest.fail(f"cluster.sh start did not finish in {START_TIMEOUT_S} s:\n"
                        f"{timeout.stdout or ''}{timeout.stderr or ''}\n"
                        f"{ours.report()}")
        if started.returncode == 3:
            keep = False
            lines = [line for line in started.stderr.splitlines() if line.strip()]
            pytest.skip(lines[-1] if lines else "cannot start a Slurm cluster here")
        assert started.returncode == 0, (
            f"cluster.sh start failed (exit status {started.returncode}):\n"
            f"{started.stdout}{started.stderr}")
        yield ours
        keep = request.session.testsfailed > failures_before
    finally:
        stopped = subprocess.run(["bash", str(CLUSTER), "stop", str(directory)],
                                 capture_output=True, text=True, timeout=180)
        if stopped.returncode != 0:
            print(f"cluster.sh stop failed:\n{stopped.stdout}{stopped.stderr}", file=sys.stderr)
        if keep:
            print(f"\nthe test cluster's logs are kept in {directory}/log", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def finish(process: subprocess.Popen, deadline: float) -> int | None:
    """Wait for `process` until `deadline` (time.monotonic()); past it, interrupt it as Ctrl-C
    would (Snakemake then cancels its Slurm jobs), and kill it if that does not end it."""
    try:
        return process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return None


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory) -> Runs:
    """The four runs, started together: Slurm jobs spend much of their time waiting on the
    scheduler and on Snakemake starting."""
    base = tmp_path_factory.mktemp("runs")
    env = cluster.env
    workdirs = {"on-slurm": base / "on-slurm", "local": base / "local",
                **{name: base / f"gpu-{name}" for name in GPU_PROFILES}}
    started = time.monotonic()
    processes = {
        "on-slurm": snakemake(workdirs["on-slurm"], env, TARGET, "--profile",
                              REPO / "profiles" / "local-test", "--config", *CONFIG),
        "local": snakemake(workdirs["local"], env, TARGET, "--cores", "2", "--config", *CONFIG),
    }
    for name in GPU_PROFILES:
        processes[name] = snakemake(workdirs[name], env, f"results/runs/{GPU_SHAPE}/sweep",
                                    "--profile", site_profile(name, base / "profiles"),
                                    "--config", *CONFIG)
    deadline = started + RUNS_TIMEOUT_S
    results = {}
    for name, process in processes.items():
        status = finish(process, deadline)
        output = (base / f"{workdirs[name].name}.out").read_text(errors="replace")
        if status is None:
            output += f"\n[interrupted by the test after {RUNS_TIMEOUT_S} s]"
        results[name] = Run(workdirs[name], status, output, time.monotonic() - started)
    return Runs(cluster, results)


def succeeded(runs: Runs, name: str) -> tuple[Path, str]:
    run = runs.runs[name]
    with explained(runs, name):
        assert run.status == 0, f"the {name} run failed"
    return run.workdir, run.output


def shape_of(job: plan.PlannedJob) -> str:
    """The `shape` wildcard of a training job (as workflow/rules/common.smk names it)."""
    return job.name.rsplit("-", 1)[0]


def submitted_jobs(log: str) -> dict[tuple[str, str], tuple[str, Path]]:
    """(rule, wildcards) -> (Slurm job id, Slurm log) from the Slurm executor's messages."""
    jobs = {}
    for slurm_id, logfile in re.findall(
            r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log):
        # .snakemake/slurm_logs/rule_<rule>[/<wildcards>]/<id>.log: no folder for a rule
        # without wildcards (aggregate)
        rule, wildcards = re.search(r"/rule_(\w+)(?:/([^/]+))?/\d+\.log$", logfile).groups()
        jobs[rule, wildcards or ""] = slurm_id, Path(logfile)
    return jobs


def slurm_minutes(limit: str) -> int:
    """squeue's %l ([days-]hours:minutes:seconds, or minutes:seconds) in minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, minutes, seconds = [0] * (3 - len(parts)) + parts
    return (int(days or 0) * 24 + hours) * 60 + minutes + (seconds > 0)


def slurm_mb(memory: str) -> float:
    """Slurm's memory figures (1500M, 2G, 1.50G) in MB (MiB, as Slurm counts)."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", memory).groups()
    return float(number) * {"K": 1 / 1024, "M": 1, "": 1, "G": 1024, "T": 1024**2}[unit]


def job_details(cluster: Cluster, slurm_id: str) -> str:
    shown = cluster.client("scontrol", "show", "job", slurm_id)
    assert shown.returncode == 0, f"scontrol show job {slurm_id}: {shown.stderr}"
    return shown.stdout


def test_every_job_ran_on_slurm_training_jobs_with_their_estimated_resources(runs):
    _, log = succeeded(runs, "on-slurm")
    with explained(runs, "on-slurm"):
        config = workflow_config()
        training = plan.plan(config).jobs
        assert {job.stage for job in training} == {"sweep", "seeds"}
        jobs = submitted_jobs(log)
        # Every job of the run was submitted to Slurm; none ran on the submitting host.
        expected = {("data", "shapeset"), ("aggregate", "")}
        for job in training:
            expected.add((f"train_{job.stage}", shape_of(job)))
            if job.stage == "sweep":  # aggregation reads every sweep's selection
                expected.add(("select_learning_rates", shape_of(job)))
            if job.stage == "seeds":
                expected.add(("seeds_bundle", shape_of(job)))
        assert set(jobs) == expected
        assert "localrule" not in log
        bundles = {}
        for job in training:
            slurm_id, logfile = jobs[f"train_{job.stage}", shape_of(job)]
            assert f"Finished jobid: 0 (Rule: train_{job.stage})" in logfile.read_text()
            bundles[slurm_id] = job
        table = runs.cluster.client("squeue", "--states=all", "--noheader",
                                    "--format=%i|%T|%l|%m|%C", "--jobs", ",".join(bundles))
        assert table.returncode == 0, table.stderr
        seen = set()
        for line in table.stdout.split():
            slurm_id, state, limit, memory, cpus = line.split("|")
            job = bundles[slurm_id]
            assert state == "COMPLETED", line
            minutes = resources.runtime_minutes(job.sweep, members=job.n_members)
            assert slurm_minutes(limit) == minutes, line
            memory_mb = resources.memory_mb(job.sweep, members=job.n_members)
            assert slurm_mb(memory) == pytest.approx(memory_mb, abs=6), line
            assert cpus == "2", line  # the rules' threads
            # no GPU asked for on a CPU cluster
            assert "TresPer" not in job_details(runs.cluster, slurm_id)
            seen.add(slurm_id)
        assert seen == set(bundles)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c in PROVENANCE])
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    return frame.sort_values(keys).reset_index(drop=True)


def test_slurm_results_equal_a_local_run(runs):
    on_slurm, _ = succeeded(runs, "on-slurm")
    local, _ = succeeded(runs, "local")
    with explained(runs, "on-slurm", "local"):
        tables = sorted(p.name for p in (local / TARGET).glob("*.parquet"))
        assert tables == ["curves.parquet", "histograms.parquet", "layer_stats.parquet",
                          "runs.parquet"]
        for name in tables:
            ours = comparable(pd.read_parquet(on_slurm / TARGET / name))
            theirs = comparable(pd.read_parquet(local / TARGET / name))
            assert len(ours) > 0
            pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-6,
                                          atol=1e-9, obj=name)


@pytest.mark.parametrize("name", GPU_PROFILES)
def test_gpu_profiles_get_a_gpu_for_each_training_job(runs, name):
    _, log = succeeded(runs, name)
    with explained(runs, name):
        jobs = submitted_jobs(log)
        assert set(jobs) == {("data", "shapeset"), ("train_sweep", GPU_SHAPE)}
        details = job_details(runs.cluster, jobs["train_sweep", GPU_SHAPE][0])
        assert "JobState=COMPLETED" in details, details
        for ask in GPU_PROFILES[name]:
            assert ask in details, details
        # The profile's config overlay (gpu: 1) sized the job at GPU speed.
        config = workflow_config(gpu=1)
        speed = resources.speed_from_config(config)
        assert speed.gpu
        bundle = plan.plan(config).job(f"{GPU_SHAPE}-sweep").bundle()
        minutes = resources.runtime_minutes(bundle, speed)
        assert f"TimeLimit={minutes // 60:02d}:{minutes % 60:02d}:00" in details, details
        memory = re.search(r"MinMemoryNode=(\S+)", details).group(1)
        assert slurm_mb(memory) == pytest.approx(resources.memory_mb(bundle, speed),
                                                 abs=6), details
        data = job_details(runs.cluster, jobs["data", "shapeset"][0])
        assert "TresPer" not in data, data  # only the training rules ask for GPUs
