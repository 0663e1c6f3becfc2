# Load and validate the config, and turn it into job lists. Helpers only: no science here.
import json
import shlex
import sys
from pathlib import Path

from trainability.data.catalog import DATASETS as ALL_DATASETS
from trainability.figures import FIGURES
from trainability.pipeline import plan as planning
from trainability.pipeline import resources as job_resources
from trainability.pipeline.validate import checked_config
from trainability.plugins import load_plugins

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
# A bad config or study stops here with one line (no traceback, no schema dump).
try:
    load_plugins()  # components from outside the package ($TRAINABILITY_PLUGINS)
    config.update(checked_config(config, workflow.configfiles, SCHEMA))  # with defaults
    PLAN = planning.plan(config)  # the one computation of the plan (results/plan.json)
except ValueError as error:
    sys.exit(f"error: {str(error).splitlines()[0]}")

# Rules call the `trainability` command installed beside the interpreter running Snakemake,
# so they work whether or not its virtual environment is activated.
shell.prefix(f'set -euo pipefail; export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"; ')
DATASETS = list(PLAN.datasets)
SHAPES = sorted({job.name.rsplit("-", 1)[0] for job in PLAN.jobs})
TABLE_FIGURES = [name for name, spec in FIGURES.items() if spec.needs_tables]


wildcard_constraints:
    shape="|".join(SHAPES) or "none",
    dataset="|".join(ALL_DATASETS),
    figure="|".join(FIGURES),


def job_of(wildcards, stage):
    """The planned job (trainability.pipeline.plan.PlannedJob) of a training rule."""
    return PLAN.job(f"{wildcards.shape}-{stage}")


def sweep_bundle(wildcards):
    """Params: the bundle a sweep trains, as JSON (a change reruns the job)."""
    return json.dumps(job_of(wildcards, "sweep").bundle().to_dict())


def seeds_job(wildcards):
    """Params: the seeds job as the plan holds it (its rates come from the selection)."""
    return json.dumps(job_of(wildcards, "seeds").to_dict())


def checkpoint_interval(wildcards):
    """Updates between checkpoints: one per evaluation, so a killed or preempted job loses at
    most one evaluation interval (a rerun, or Slurm's requeue, resumes from it)."""
    return job_of(wildcards, "sweep").budget.eval_every


SPEED = job_resources.speed_from_config(config)


def train_runtime(stage):
    """Resource function: the training job's wall time in minutes, estimated from its bundle
    and the budget (trainability.pipeline.resources); a retry asks for `attempt` times as
    much and resumes from the last checkpoint."""

    def runtime(wildcards, attempt):
        job = job_of(wildcards, stage)
        return job_resources.runtime_minutes(job.sweep, SPEED, attempt, job.n_members)

    return runtime


def train_mem_mb(stage):
    """Resource function: the training job's memory in MB, estimated likewise."""

    def mem_mb(wildcards, attempt):
        job = job_of(wildcards, stage)
        return job_resources.memory_mb(job.sweep, SPEED, attempt, job.n_members)

    return mem_mb


def gpu_resources():
    """`gpu` and `cpus_per_gpu` for the training rules when config asks for GPUs (gpu: 1);
    nothing otherwise, so that CPU runs and CPU clusters never ask for a GPU."""
    if not config.get("gpu"):
        return {}
    return {"gpu": int(config["gpu"]),
            "cpus_per_gpu": lambda wildcards, threads: max(1, threads // int(config["gpu"]))}


def data_marker(wildcards):
    return f"results/data/{job_of(wildcards, 'sweep').job.dataset}.json"


def run_folders(wildcards):
    """Every training job's run folder, and each sweep's selection beside it."""
    folders = [f"results/runs/{job.name.rsplit('-', 1)[0]}/{job.stage}" for job in PLAN.jobs]
    selections = [f"results/runs/{job.name.rsplit('-', 1)[0]}/selection.json"
                  for job in PLAN.jobs if job.stage == "sweep"]
    return {"runs": folders, "selections": selections}


def figure_inputs(wildcards):
    return {"tables": rules.aggregate.output.tables} if wildcards.figure in TABLE_FIGURES else {}


def figure_tables_flag(wildcards, input):
    return f"--tables {input.tables}" if "tables" in input.keys() else ""


def figure_caption(wildcards):
    spec = FIGURES[wildcards.figure]
    return f"{spec.caption} Paper: {spec.claim}"
