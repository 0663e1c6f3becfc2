"""From studies to jobs: which bundles to train.

A *grid point* is one network configuration: (dataset, activation, initializer, depth, width).
The studies of config.yaml are cross-products of axes; their union, deduplicated, is the grid.
Grid points that share (dataset, depth, width) train together as one bundle, whichever
studies ask for them, so the DAG has one job per shape and stage instead of one per network:

- stage "sweep": every grid point of the bundle x every learning rate of the grid, with the
  first seed;
- stage "seeds": every grid point at its selected learning rate (lowest final validation
  error in the sweep) x the remaining seeds. The sweep's run at that rate is seed one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from trainability.pipeline.settings import Budget, resolve_budget, resolve_datasets
from trainability.train.config import BundleConfig, MemberConfig

STAGES = ("sweep", "seeds")


@dataclass(frozen=True, order=True)
class GridPoint:
    dataset: str
    depth: int
    width: int
    activation: str
    initializer: str


@dataclass(frozen=True, order=True)
class BundleJob:
    """One training job: a shape and a stage. `name` is its wildcard-friendly id."""

    dataset: str
    depth: int
    width: int
    stage: str

    @property
    def name(self) -> str:
        return f"{self.dataset}-d{self.depth}-w{self.width}-{self.stage}"

    @property
    def shape(self) -> tuple[str, int, int]:
        return self.dataset, self.depth, self.width


def grid_points(config: dict[str, Any]) -> list[GridPoint]:
    """The union of every study's grid points on the selected datasets, sorted."""
    budget = resolve_budget(config)
    datasets = set(resolve_datasets(config))
    points = set()
    for study in config["studies"].values():
        widths = study.get("widths") or [budget.width]
        for dataset, activation, initializer, depth, width in itertools.product(
                study["datasets"], study["activations"], study["initializers"],
                study["depths"], widths):
            if dataset in datasets:
                points.add(GridPoint(dataset, depth, width, activation, initializer))
    return sorted(points)


def study_points(config: dict[str, Any], study: str) -> list[GridPoint]:
    """The grid points of one study (on the selected datasets)."""
    selected = {study: config["studies"][study]}
    return grid_points({**config, "studies": selected})


def plan_jobs(config: dict[str, Any]) -> list[BundleJob]:
    """Every training job, sweeps first. No "seeds" jobs when there is a single seed."""
    budget = resolve_budget(config)
    shapes = sorted({(p.dataset, p.depth, p.width) for p in grid_points(config)})
    stages = STAGES if len(budget.seeds) > 1 else STAGES[:1]
    return [BundleJob(*shape, stage) for stage in stages for shape in shapes]


def job_by_name(config: dict[str, Any], name: str) -> BundleJob:
    for job in plan_jobs(config):
        if job.name == name:
            return job
    raise ValueError(f"no training job named {name!r} in this config")


def _points_of(config: dict[str, Any], job: BundleJob) -> list[GridPoint]:
    return [p for p in grid_points(config) if (p.dataset, p.depth, p.width) == job.shape]


def _bundle(config: dict[str, Any], budget: Budget, job: BundleJob,
            members: list[MemberConfig]) -> BundleConfig:
    return BundleConfig(
        dataset=job.dataset, depth=job.depth, width=job.width, batch_size=budget.batch_size,
        updates=budget.updates, eval_every=budget.eval_every,
        monitor_every=budget.monitor_every, monitor_size=budget.monitor_size,
        valid_size=budget.valid_size, test_size=budget.test_size, seed=int(config["seed"]),
        device=config.get("device", "auto"), data_root=str(config.get("data_root", "data")),
        members=tuple(members),
    ).validate()


def bundle_config(config: dict[str, Any], job: BundleJob) -> BundleConfig:
    """The job's bundle. For the seeds stage, learning rates are placeholders (1.0) that
    `with_selected_rates` replaces once the sweep has run."""
    budget = resolve_budget(config)
    points = _points_of(config, job)
    if job.stage == "sweep":
        members = [MemberConfig(p.activation, p.initializer, lr, budget.seeds[0])
                   for p in points for lr in budget.lr_grid]
    else:
        members = [MemberConfig(p.activation, p.initializer, 1.0, seed)
                   for p in points for seed in budget.seeds[1:]]
    return _bundle(config, budget, job, members)


def with_selected_rates(bundle: BundleConfig, rates: dict[tuple[str, str], float]
                        ) -> BundleConfig:
    """Replace each member's learning rate by the one selected for its configuration."""
    members = []
    for member in bundle.members:
        key = (member.activation, member.initializer)
        if key not in rates:
            raise ValueError(f"no selected learning rate for {key[0]}/{key[1]}; "
                             "rerun the sweep stage")
        members.append(MemberConfig(member.activation, member.initializer, rates[key],
                                    member.seed))
    return bundle.replace(members=tuple(members))
