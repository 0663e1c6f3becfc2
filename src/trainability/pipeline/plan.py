"""From studies to jobs: which bundles to train.

A *grid point* is one network configuration: (dataset, activation, initializer, depth, width,
trick), trained under a budget (the preset's, or a study's own) and, optionally, on a training
subset. The studies of config.yaml are cross-products of axes; their union, deduplicated, is
the grid. Grid points that share dataset, depth, width, budget and training subset train
together as one bundle, whichever studies ask for them, so the DAG has one job per shape and
stage instead of one per network. Members whose shapes or schedules cannot be stacked get a
bundle of their own: maxout with k pieces (wider weights), and DAE pretraining (a phase the
other members would sit through).

- stage "sweep": every grid point of the bundle x every learning rate of the grid, with the
  first seed;
- stage "seeds": every grid point at its selected learning rate (lowest final validation
  error in the sweep) x the remaining seeds. The sweep's run at that rate is seed one.

`plan(config)` is the one function that computes all of it; the workflow writes its result
to results/plan.json (`write_plan`), the file the report reads for the networks that should
exist. A seeds job's bundle is written after its sweep (`trainability seeds`), from the plan's
job and the selection, so that every job trains exactly the bundle it is given.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trainability import SCHEMA_VERSION
from trainability.atomic import write_json
from trainability.nets.activations import ACTIVATIONS
from trainability.pipeline.settings import PRESET, Budget, resolve_budget, resolve_datasets
from trainability.train.config import BundleConfig, MemberConfig, canonical_member
from trainability.tricks.spec import NONE, OPTIMIZERS, parse_trick

STAGES = ("sweep", "seeds")


@dataclass(frozen=True, order=True)
class GridPoint:
    dataset: str
    depth: int
    width: int
    activation: str
    initializer: str
    trick: str = NONE
    budget: str = PRESET
    train_size: int | None = None

    @property
    def variant(self) -> str:
        """What forces a bundle of its own: "" or tags like "maxout2", "dae"."""
        tags = []
        pieces = ACTIVATIONS.build(self.activation).pieces
        if pieces > 1:
            tags.append(f"maxout{pieces}")
        pretraining = parse_trick(self.trick).pretraining
        if pretraining is not None:
            tags.append(f"dae{pretraining.updates}")
        return "_".join(tags)

    @property
    def bundle_key(self) -> tuple:
        return (self.dataset, self.depth, self.width, self.budget, self.train_size or 0,
                self.variant)


@dataclass(frozen=True, order=True)
class BundleJob:
    """One training job: a bundle key and a stage. `name` is its wildcard-friendly id."""

    dataset: str
    depth: int
    width: int
    budget: str
    train_size: int
    variant: str
    stage: str

    @property
    def name(self) -> str:
        tags = [f"{self.dataset}-d{self.depth}-w{self.width}"]
        if self.budget != PRESET:
            tags.append(self.budget)
        if self.train_size:
            tags.append(f"n{self.train_size}")
        if self.variant:
            tags.append(self.variant)
        return "-".join(tags + [self.stage])

    @property
    def key(self) -> tuple:
        return (self.dataset, self.depth, self.width, self.budget, self.train_size,
                self.variant)


def grid_points(config: dict[str, Any]) -> list[GridPoint]:
    """The union of every study's grid points on the selected datasets, sorted."""
    # Snakemake asks for every job's bundle several times while it builds the DAG (params,
    # resources); the grid depends on the config only, so it is computed once per config.
    return list(_grid_points(json.dumps(config, sort_keys=True, default=str)))


@functools.lru_cache(maxsize=8)
def _grid_points(config_json: str) -> tuple[GridPoint, ...]:
    config = json.loads(config_json)
    datasets = set(resolve_datasets(config))
    points = set()
    for name, study in selected_studies(config).items():
        budget_name = study.get("budget", PRESET)
        budget = resolve_budget(config, budget_name)
        widths = study.get("widths") or [budget.width]
        tricks = study.get("tricks") or [NONE]
        for dataset, activation, initializer, depth, width, trick in itertools.product(
                study["datasets"], study["activations"], study["initializers"],
                study["depths"], widths, tricks):
            if dataset in datasets and depth <= (budget.max_depth or depth):
                # One spelling per network: "leaky_relu" and "leaky_relu:0.01" are one point.
                try:
                    member = canonical_member(MemberConfig(activation, initializer,
                                                           trick=trick))
                except ValueError as error:
                    raise ValueError(f"study {name!r}: {error}") from None
                points.add(GridPoint(dataset, depth, width, member.activation,
                                     member.initializer, member.trick, budget_name,
                                     study.get("train_size")))
    return tuple(sorted(points, key=lambda p: (p.bundle_key, p)))


def selected_studies(config: dict[str, Any]) -> dict[str, dict]:
    """The studies to run: all of them, or those named by `run_studies`."""
    chosen = config.get("run_studies")
    if not chosen:
        return dict(config["studies"])
    unknown = sorted(set(chosen) - set(config["studies"]))
    if unknown:
        raise ValueError(f"run_studies names unknown studies {unknown}; the studies are "
                         f"{', '.join(config['studies'])}")
    return {name: config["studies"][name] for name in chosen}


def study_points(config: dict[str, Any], study: str) -> list[GridPoint]:
    """The grid points of one study (on the selected datasets)."""
    selected = {study: config["studies"][study]}
    return grid_points({**config, "studies": selected, "run_studies": None})


def plan_jobs(config: dict[str, Any]) -> list[BundleJob]:
    """Every training job, sweeps first. No "seeds" jobs for a budget with a single seed."""
    keys = sorted({p.bundle_key for p in grid_points(config)})
    jobs = []
    for stage in STAGES:
        for key in keys:
            if stage == "seeds" and len(resolve_budget(config, key[3]).seeds) < 2:
                continue
            jobs.append(BundleJob(*key, stage))
    return jobs


def _member_order(point: GridPoint) -> tuple:
    """Order of a bundle's members: by optimizer, then trick, then activation, so that each
    optimizer's members, and each trick's, form contiguous runs, which the trick path
    updates, normalizes and clips through views instead of gathers. A bundle without
    tricks keeps one run per activation."""
    optimizer = parse_trick(point.trick).optimizer
    return (OPTIMIZERS.index(optimizer), point.trick, point.activation, point.initializer)


def _points_of(config: dict[str, Any], job: BundleJob) -> list[GridPoint]:
    return sorted((p for p in grid_points(config) if p.bundle_key == job.key),
                  key=_member_order)


def _bundle(config: dict[str, Any], budget: Budget, job: BundleJob,
            members: list[MemberConfig]) -> BundleConfig:
    return BundleConfig(
        dataset=job.dataset, depth=job.depth, width=job.width, batch_size=budget.batch_size,
        updates=budget.updates, eval_every=budget.eval_every,
        monitor_every=budget.monitor_every, monitor_size=budget.monitor_size,
        valid_size=budget.valid_size, test_size=budget.test_size, seed=int(config["seed"]),
        histogram_bins=budget.histogram_bins, inputs=budget.inputs,
        device=config.get("device", "auto"), data_root=str(config.get("data_root", "data")),
        train_size=job.train_size or None, budget=job.budget, members=tuple(members),
    ).validate()


@dataclass(frozen=True)
class PlannedJob:
    """One training job of the plan: its networks (grid points) and what they train with.

    Attributes:
        job: the bundle key and stage (its `name` is the workflow's wildcard value).
        budget: how long and how often.
        points: its networks, in member order.
        sweep: the sweep stage's bundle of these points (every rate of the grid, first seed):
            for a "sweep" job the bundle it trains; for a "seeds" job its shape and settings.
    """

    job: BundleJob
    budget: Budget
    points: tuple[GridPoint, ...]
    sweep: BundleConfig

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def stage(self) -> str:
        return self.job.stage

    @property
    def seeds(self) -> tuple[int, ...]:
        """The init seeds this stage trains: the first for the sweep, the others after it."""
        return self.budget.seeds[:1] if self.stage == "sweep" else self.budget.seeds[1:]

    @property
    def n_members(self) -> int:
        rates = len(self.budget.lr_grid) if self.stage == "sweep" else 1
        return len(self.points) * rates * len(self.seeds)

    def bundle(self) -> BundleConfig:
        """The bundle a sweep job trains. A seeds job's bundle exists only once its sweep has
        run: trainability.pipeline.select.seeds_bundle fills in the selected rates."""
        if self.stage != "sweep":
            raise ValueError(f"{self.name} trains the rates selected on its sweep: its bundle "
                             "is written by `trainability seeds` after the sweep")
        return self.sweep

    def to_dict(self) -> dict[str, Any]:
        """The job as the plan file holds it: its bundle with every network (a seeds job's
        learning rates are null: they are selected on the sweep)."""
        bundle = self.sweep.to_dict()
        if self.stage == "seeds":
            bundle["members"] = [asdict(MemberConfig(p.activation, p.initializer, 1.0, seed,
                                                     p.trick)) | {"lr": None}
                                 for p in self.points for seed in self.seeds]
        return {"name": self.name, "stage": self.stage, "budget": asdict(self.budget),
                "bundle": bundle}


@dataclass(frozen=True)
class Plan:
    """Every training job the config asks for. Computed once per config (`plan`); the
    workflow writes it to results/plan.json, which the report reads."""

    config: dict[str, Any]
    datasets: tuple[str, ...]
    jobs: tuple[PlannedJob, ...]

    def job(self, name: str) -> PlannedJob:
        for planned in self.jobs:
            if planned.name == name:
                return planned
        raise ValueError(f"no training job named {name!r} in this config")

    def budgets(self) -> dict[str, Budget]:
        """Every budget by name: the preset's own and those its jobs train with."""
        return {PRESET: resolve_budget(self.config)} | {j.job.budget: j.budget
                                                        for j in self.jobs}

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "config": self.config,
                "datasets": list(self.datasets),
                "budgets": {name: asdict(b) for name, b in self.budgets().items()},
                "jobs": [j.to_dict() for j in self.jobs]}


def plan(config: dict[str, Any]) -> Plan:
    """The plan of a workflow config: every job, its networks and its bundle."""
    return _plan(json.dumps(config, sort_keys=True, default=str))


@functools.lru_cache(maxsize=8)
def _plan(config_json: str) -> Plan:
    config = json.loads(config_json)
    jobs = []
    for job in plan_jobs(config):
        budget = resolve_budget(config, job.budget)
        points = tuple(_points_of(config, job))
        sweep = _bundle(config, budget, job, [
            MemberConfig(p.activation, p.initializer, lr, budget.seeds[0], p.trick)
            for p in points for lr in budget.lr_grid])
        jobs.append(PlannedJob(job, budget, points, sweep))
    return Plan(config, tuple(resolve_datasets(config)), tuple(jobs))


def write_plan(config: dict[str, Any], out: str | Path) -> Path:
    """Write the plan of `config` to `out` (JSON, atomically)."""
    return write_json(out, plan(config).to_dict())
