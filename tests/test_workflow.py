"""The Snakemake workflow, run for real: smoke preset end to end, dry runs, config errors."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def snakemake(workdir, *args, timeout=3600):
    """Run the repository's workflow with `workdir` as its working directory."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(REPO / "config.yaml"), *map(str, args)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts per rule from a dry run's 'Job stats' table."""
    counts = {}
    table = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    for line in table.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One real smoke-preset run on Shapeset, shared by the tests that inspect it."""
    workdir = tmp_path_factory.mktemp("smoke")
    result = snakemake(workdir, "--cores", "2", "--config", "scale=smoke",
                       "datasets=[shapeset]")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


@pytest.mark.slow
def test_smoke_preset_runs_end_to_end(smoke_run):
    report = (smoke_run / "reports" / "report.html").read_text()
    assert "Table 1" in report and "16.27" in report  # the paper's column is there
    for claim in ([f"P{i}" for i in range(1, 13)] + [f"S{i}" for i in range(1, 15)]
                  + [f"T{i}" for i in range(1, 6)]):
        assert claim in report
    assert "Training tricks" in report and "Signal propagation" in report
    figures = sorted(p.stem for p in (smoke_run / "reports" / "figures").glob("*.png"))
    from trainability.figures import FIGURES

    assert figures == sorted(FIGURES)
    table1 = (smoke_run / "reports" / "table1.csv").read_text()
    assert "Tanh N" in table1
    claims = json.loads((smoke_run / "reports" / "claims.json").read_text())["claims"]
    assert {c["id"] for c in claims} >= ({f"P{i}" for i in range(1, 13)}
                                         | {f"S{i}" for i in range(1, 15)}
                                         | {f"T{i}" for i in range(1, 6)})
    assert all(c["verdict"] in ("supported", "not supported", "inconclusive") for c in claims)
    benchmarks = sorted(p.stem for p in
                        (smoke_run / "results" / "benchmarks" / "train").glob("*.tsv"))
    # The paper's studies: 5 Shapeset depths x (sweep, seeds). The trick studies (one seed and
    # depths up to 5 at smoke scale, so sweeps only): depths 2 and 5, maxout at 5, the
    # pretraining bundle at depth 5, and SELU on standardized inputs at depth 5. The signal
    # studies (one seed, depths up to 50 at smoke scale): 10, 20 and 50, and the residual
    # arms at 50.
    assert len(benchmarks) == 19, benchmarks
    assert "shapeset-d50-w16-signal-sweep" in benchmarks
    assert "shapeset-d50-w16-signal_residual-sweep" in benchmarks
    assert "shapeset-d2-w16-tricks-sweep" in benchmarks
    assert "shapeset-d5-w16-tricks-dae200-sweep" in benchmarks
    assert "shapeset-d5-w16-tricks-maxout2-sweep" in benchmarks
    assert "shapeset-d5-w16-tricks_standardized-sweep" in benchmarks
    runs = pd.read_parquet(smoke_run / "results" / "tables" / "runs.parquet")
    assert {"batchnorm", "residual", "adam", "clip_norm:1"} <= set(runs.trick)
    assert set(runs.budget) == {"preset", "tricks", "tricks_standardized", "signal",
                                "signal_residual"}
    assert set(runs.loc[runs.budget == "tricks_standardized", "inputs"]) == {"standardized"}
    assert set(runs.loc[runs.budget != "tricks_standardized", "inputs"]) == {"raw"}


@pytest.mark.slow
def test_changing_one_value_reruns_only_the_jobs_it_touches(smoke_run):
    unchanged = snakemake(smoke_run, "-n", "--config", "scale=smoke", "datasets=[shapeset]")
    assert unchanged.returncode == 0, unchanged.stderr[-3000:]
    assert "Nothing to be done" in unchanged.stdout + unchanged.stderr
    # Other seeds: the seed reruns (and what reads them) rerun, no learning-rate sweep does.
    changed = snakemake(smoke_run, "-n", "--config", "scale=smoke", "datasets=[shapeset]",
                        "seeds=[0,7]")
    assert changed.returncode == 0, changed.stderr[-3000:]
    jobs = planned_jobs(changed.stdout)
    # --config seeds=... applies to every budget: the trick and signal studies get a seeds
    # stage too.
    assert jobs.get("train_seeds") == 5 + 5 + 4 and "train_sweep" not in jobs, jobs
    assert jobs.get("report") == 1


def test_paper_preset_dry_run_plans_every_bundle(tmp_path):
    data_root = tmp_path / "data"
    result = snakemake(tmp_path, "-n", "--config", "scale=paper",
                       "datasets=[shapeset,mnist,cifar10]", f"data_root={data_root}",
                       timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    # The paper's studies: Shapeset depths 1-5 + MNIST and CIFAR-10 depths 4 and 5 = 9
    # bundles. The trick studies: Shapeset depths 2, 5, 10, 20, 50 + maxout at 5 and 20 +
    # pretraining + SELU on standardized inputs at 5 and 20 = 10; MNIST the same without
    # pretraining, plus the 1,000-example regularization bundle = 10. Two stages each. The
    # signal studies (Shapeset, one seed: sweeps only): depths 10, 20, 50, 100 and the
    # residual arms at 50 and 100 = 6.
    assert jobs["train_sweep"] == 29 + 6 and jobs["train_seeds"] == 29, jobs
    assert jobs["data"] == 3 and jobs["report"] == 1


@pytest.mark.parametrize("override,fragment", [
    ("scale=huge", "config key scale must be one of smoke, quick, paper; got 'huge'"),
    ("datasets=[imagenet]", "config key datasets[0] must be one of shapeset, mnist, cifar10; "
                            "got 'imagenet'"),
    ("updates=0", "config key updates: 0 is less than the minimum of 1"),
    ("lr_grid=[-0.1]", "config key lr_grid[0]: -0.1 is less than or equal to the minimum of 0"),
    ("device=tpu", "config key device must be one of auto, cpu, cuda; got 'tpu'"),
])
def test_invalid_config_stops_before_any_job(tmp_path, override, fragment):
    result = snakemake(tmp_path, "-n", "--config", override, timeout=600)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0] == f"error: {fragment}", lines[-20:]
    assert not (tmp_path / "results").exists()


def test_missing_dataset_stops_at_its_data_step_with_advice(tmp_path):
    result = snakemake(tmp_path, "--cores", "1", "--config", "datasets=[mnist]",
                       f"data_root={tmp_path / 'nowhere'}", "--until", "data", timeout=300)
    assert result.returncode != 0
    message = [line for line in result.stderr.splitlines() if "train-images" in line]
    assert message, result.stderr[-3000:]
    assert "datasets=[shapeset]" in message[0] and "nowhere" in message[0]
    assert "--config data_root=" in message[0] and "--data-root" not in message[0]
    assert not (tmp_path / "nowhere").exists()  # no empty folders from the failed download
    assert not (tmp_path / "results" / "data" / "mnist.json").exists()


def test_workflow_lints_clean():
    result = subprocess.run([str(SNAKEMAKE), "--lint", "--snakefile", str(REPO / "Snakefile")],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]



@pytest.mark.slow
def test_snakemake_report_has_a_caption_for_every_figure(smoke_run):
    import zipfile

    from trainability.figures import FIGURES

    result = snakemake(smoke_run, "--config", "scale=smoke", "datasets=[shapeset]",
                       "--report", "reports/snakemake-report.zip", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(smoke_run / "reports" / "snakemake-report.zip") as archive:
        page = archive.read("snakemake-report/report.html").decode()
    for name in FIGURES:
        assert f"{name}.png" in page
    assert page.count("Paper:") >= len(FIGURES)  # each figure's caption ends with the claim
