"""The workflow's config.yaml, resolved: the preset's budget with overrides, and the datasets.

Values given with `snakemake --config key=value` arrive as strings inside lists and mappings
(Snakemake parses them with YAML's BaseLoader); `normalize` re-reads such strings as YAML
scalars so that the schema sees numbers where numbers were meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from trainability.data.catalog import DATASETS

OVERRIDABLE = ("updates", "eval_every", "monitor_every", "lr_grid", "seeds", "width")
#: The name of a preset's own budget (studies without a `budget` key use it).
PRESET = "preset"
BUDGET_DEFAULTS = {"batch_size": 10, "monitor_size": 300, "valid_size": 10_000,
                   "test_size": 10_000, "histogram_bins": 100}


def normalize(value: Any) -> Any:
    """Recursively turn strings that spell numbers, lists or mappings ("3", "0.1", "[0, 1]")
    into those values; any other string (a description with a colon, say) stays a string."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            return value
        structured = text[:1] in "[{" and isinstance(parsed, list | dict)
        numeric = isinstance(parsed, int | float) and not isinstance(parsed, bool)
        boolean = text.lower() in ("true", "false")  # not YAML 1.1's yes/no/on/off
        return normalize(parsed) if structured or numeric or boolean else value
    return value


@dataclass(frozen=True)
class Budget:
    """How long and how often: one preset with its overrides applied.

    Units: updates, eval_every and monitor_every count SGD updates of `batch_size` examples.
    """

    updates: int
    eval_every: int
    monitor_every: int
    lr_grid: tuple[float, ...]
    seeds: tuple[int, ...]
    width: int
    batch_size: int = 10
    monitor_size: int = 300
    valid_size: int = 10_000
    test_size: int = 10_000
    histogram_bins: int = 100
    #: Skip the studies' depths above this under this budget (None: train them all).
    max_depth: int | None = None
    #: "raw" or "standardized" inputs (trainability.train.config.BundleConfig.inputs).
    inputs: str = "raw"


def resolve_budget(config: dict[str, Any], name: str = PRESET) -> Budget:
    """The budget `name` of the selected preset: "preset" is the preset's own; any other name
    is an entry of the preset's `budgets` (a study's own budget), which overrides it. The
    command-line overrides (`--config updates=...`) apply to every budget."""
    preset = dict(BUDGET_DEFAULTS) | dict(config["presets"][config["scale"]])
    variants = preset.pop("budgets", None) or {}
    if name != PRESET:
        if name not in variants:
            raise ValueError(f"budget {name!r} is not defined by preset {config['scale']!r}; "
                             f"add it under presets.{config['scale']}.budgets in config.yaml")
        preset |= dict(variants[name])
    for key in OVERRIDABLE:
        if config.get(key) is not None:
            preset[key] = config[key]
    preset["lr_grid"] = tuple(float(v) for v in preset["lr_grid"])
    preset["seeds"] = tuple(int(v) for v in preset["seeds"])
    return Budget(**preset)


def resolve_datasets(config: dict[str, Any]) -> list[str]:
    """The datasets to run, in the registry's order: those listed, or with "auto" every
    generated dataset and every finite one whose files are under data_root."""
    chosen = config.get("datasets", "auto")
    root = config.get("data_root", "data")
    return [name for name, dataset in DATASETS.items()
            if (name in chosen if chosen != "auto" else dataset.present(root))]
