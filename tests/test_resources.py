"""Training jobs' resource requests: estimated from the bundle, close to what they need."""

from pathlib import Path

import pytest
import yaml

from trainability.data import shapeset
from trainability.data.catalog import DATASETS
from trainability.nets.mlp import BundledMLP
from trainability.pipeline import plan, resources
from trainability.train.config import BundleConfig, MemberConfig

REPO = Path(__file__).resolve().parents[1]


def workflow_config(**overrides):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return config | {"datasets": ["shapeset", "mnist", "cifar10"]} | overrides


def bundle(members=1, **fields):
    members = tuple(MemberConfig("tanh", "normalized", 0.01, seed) for seed in range(members))
    return BundleConfig(**{"width": 1000, "depth": 5, **fields}, members=members)


def job_bundle(config, name):
    """A sweep job's bundle."""
    return plan.plan(config).job(name).bundle()


def requested(config, name, speed=resources.CPU_MEASURED):
    """(runtime minutes, memory MB) the workflow asks for job `name`, sweep or seeds."""
    job = plan.plan(config).job(name)
    return (resources.runtime_minutes(job.sweep, speed, members=job.n_members),
            resources.memory_mb(job.sweep, speed, members=job.n_members))


def test_weight_count_is_the_networks():
    assert (DATASETS["shapeset"].n_inputs, DATASETS["shapeset"].n_classes) == (
        shapeset.ShapesetConfig().image_size ** 2, shapeset.N_CLASSES)
    assert (DATASETS["mnist"].n_inputs, DATASETS["mnist"].n_classes) == (28 * 28, 10)
    assert (DATASETS["cifar10"].n_inputs, DATASETS["cifar10"].n_classes) == (32 * 32 * 3, 10)
    for dataset, depth, width in [("shapeset", 1, 48), ("mnist", 3, 100), ("cifar10", 2, 20)]:
        inputs, classes = DATASETS[dataset].n_inputs, DATASETS[dataset].n_classes
        net = BundledMLP.initialize(inputs, classes, depth, width, ["tanh"], ["normalized"], [0])
        count = sum(w[0].numel() for w in net.weights) + sum(b[0].numel() for b in net.biases)
        assert resources.weights_per_member(dataset, depth, width) == count


def test_cpu_cost_is_the_measured_update_time():
    # One member at width 1000 costs about 0.2 + 0.75 x depth ms per update on the 2-core CPU.
    for depth in (1, 3, 5):
        one = bundle(depth=depth, updates=100_000, eval_every=100_000, monitor_every=0)
        seconds = resources.estimate_seconds(one) - resources.STARTUP_SECONDS
        jacobians = 2 * (depth - 1) * one.jacobian_examples * resources.CPU_MEASURED.eig_seconds
        per_update_ms = (seconds - jacobians) / 1.1 / 100_000 * 1000
        assert per_update_ms == pytest.approx(0.2 + 0.75 * depth, rel=0.05)


def test_quick_preset_estimate_matches_a_measured_job():
    # Measured here (Snakemake's benchmark of the quick preset): shapeset-d1-w1000-sweep,
    # 12 members x 10,000 updates (the quick preset then evaluated every 1,000 updates),
    # 151 s and 1138 MB max RSS. The request covers it without asking for several times more.
    config = workflow_config(scale="quick", updates=10_000, eval_every=1_000,
                             monitor_every=1_000)
    job = job_bundle(config, "shapeset-d1-w1000-sweep")
    assert len(job.members) == 12
    assert 151 <= resources.estimate_seconds(job) <= 1.5 * 151
    assert 1138 <= resources.memory_mb(job) <= 2.5 * 1138
    # Smoke jobs: about 850 MB max RSS, under 20 s: the minimum wall time.
    smoke = job_bundle(workflow_config(scale="smoke"), "shapeset-d5-w48-sweep")
    assert resources.runtime_minutes(smoke) == resources.MIN_RUNTIME_MINUTES
    assert 850 <= resources.memory_mb(smoke) <= 2.5 * 850


def test_paper_scale_requests_are_sized_not_worst_case():
    config = workflow_config(scale="paper")
    sweep = job_bundle(config, "cifar10-d5-w1000-sweep")  # the largest bundle
    small_minutes, _ = requested(config, "shapeset-d1-w1000-seeds")
    cpu_minutes = resources.runtime_minutes(sweep)
    expected = resources.estimate_seconds(sweep) / 60
    assert expected <= cpu_minutes <= resources.RUNTIME_MARGIN * expected + 1
    assert small_minutes < cpu_minutes / 4  # sized by the bundle
    gpu = resources.speed_from_config(config | {"gpu": 1})
    assert gpu == resources.GPU_GUESS
    assert resources.runtime_minutes(sweep, gpu) < cpu_minutes / 10
    # Memory: weights, data and records of the largest paper bundle, within 16 GB.
    weights_mb = 4 * len(sweep.members) * resources.weights_per_member("cifar10", 5, 1000) / 2**20
    assert weights_mb < resources.memory_mb(sweep) < 16_000


def test_retries_ask_for_more_and_short_jobs_for_a_few_minutes():
    tiny = bundle(depth=1, width=8, updates=10, eval_every=5, monitor_every=5)
    assert resources.runtime_minutes(tiny) == resources.MIN_RUNTIME_MINUTES
    assert resources.runtime_minutes(tiny, attempt=2) == 2 * resources.MIN_RUNTIME_MINUTES
    assert resources.memory_mb(tiny, attempt=2) == 2 * resources.memory_mb(tiny)
    long = bundle(updates=1_000_000, eval_every=10_000, monitor_every=10_000)
    shorter = long.replace(updates=500_000)
    assert resources.runtime_minutes(long) > resources.runtime_minutes(shorter)
    wide = bundle(members=8, updates=1_000_000)
    assert resources.runtime_minutes(wide) > resources.runtime_minutes(wide.replace(
        members=wide.members[:2]))


def test_trick_bundles_ask_for_the_slower_autograd_path():
    plain = bundle(members=4, updates=10_000, eval_every=1000, monitor_every=1000)
    tricky = plain.replace(members=tuple(m.__class__(**{**vars(m), "trick": "adam"})
                                         for m in plain.members))
    assert tricky.needs_tricks() and not plain.needs_tricks()
    assert resources.estimate_seconds(tricky) - resources.STARTUP_SECONDS > \
        3 * (resources.estimate_seconds(plain) - resources.STARTUP_SECONDS)
    assert resources.memory_mb(tricky) > resources.memory_mb(plain)


def test_config_overrides_the_cost_model():
    config = workflow_config()
    assert resources.speed_from_config(config) == resources.CPU_MEASURED
    faster = resources.speed_from_config(config | {"update_cost": {"mweight_ms": 0.1,
                                                                    "member_ms": None}})
    assert faster.mweight_ms == 0.1 and faster.member_ms == resources.CPU_MEASURED.member_ms
    gpu = resources.speed_from_config(config | {"gpu": 1, "update_cost": {"layer_ms": 0.05}})
    assert gpu.gpu and gpu.layer_ms == 0.05 and gpu.mweight_ms == resources.GPU_GUESS.mweight_ms


def planned_resources(workdir, **config):
    """{(rule, shape): resources} of the training jobs Snakemake plans for the paper preset
    on Shapeset (a dry run through Snakemake's Python API: the CLI's dry run shows the
    rules' messages, not their resources)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=2),
            config_settings=ConfigSettings(
                config={"scale": "paper", "datasets": ["shapeset"], **config},
                configfiles=[REPO / "config.yaml"]),
            storage_settings=StorageSettings(), workflow_settings=WorkflowSettings(),
            snakefile=REPO / "Snakefile", workdir=Path(workdir))
        dag = workflow.dag(dag_settings=DAGSettings())
        dag.execute_workflow(executor="dryrun")
        return {(job.rule.name, job.wildcards.get("shape", "")): dict(job.resources.items())
                for job in dag.workflow_api._workflow.dag.jobs}


def test_training_rules_declare_runtime_memory_and_gpus_only_when_asked(tmp_path):
    config = workflow_config(scale="paper", datasets=["shapeset"])
    cpu = planned_resources(tmp_path)
    training = {key: value for key, value in cpu.items() if key[0].startswith("train_")}
    # The paper's 5 Shapeset bundles and the trick studies' 10 (depths 2, 5, 10, 20, 50,
    # maxout at 5 and 20, pretraining, SELU on standardized inputs at 5 and 20), two stages
    # each; the signal studies' 6 (depths 10, 20, 50, 100; the residual arms at 50 and 100),
    # one seed, so sweeps only.
    assert len(training) == 36
    for (rule, shape), asked in training.items():
        name = f"{shape}-{rule.removeprefix('train_')}"
        assert (asked["runtime"], asked["mem_mb"]) == requested(config, name)
        assert "gpu" not in asked and "cpus_per_gpu" not in asked
    gpu = planned_resources(tmp_path, gpu=1)
    speed = resources.GPU_GUESS
    for (rule, shape), asked in gpu.items():
        if rule.startswith("train_"):
            name = f"{shape}-{rule.removeprefix('train_')}"
            assert asked["gpu"] == 1 and asked["cpus_per_gpu"] == 2
            assert asked["runtime"] == requested(config, name, speed)[0]
        else:
            assert "gpu" not in asked
